//! The sandbox's fake of Facebook Login and of the Graph API calls it opens up
//! (graph.facebook.com): the login dialog, the code and long-lived token exchanges, a user's
//! Pages with their linked Instagram business accounts, and those accounts' profiles and media.
//! Mounted under `/sandbox/facebook/`.
//!
//! Its Facebook users (`sandbox_fb_user=<name>` on the dialog URL; the first by default):
//!
//! | user | Pages (id, name) | linked Instagram account (id, username) |
//! |---|---|---|
//! | `manager` | 110000000000001 Sandbox Tags | 17841400000000101 `sandbox.tags` |
//! | | 110000000000002 Sandbox Manager Notes | none |
//! | `agency` | 110000000000003 Sandbox Studio North | 17841400000000102 `sandbox.north` |
//! | | 110000000000004 Sandbox Studio South | 17841400000000103 `sandbox.south` |
//! | `nolink` | 110000000000005 Sandbox Unlinked Page | none |

mod login;
mod tables;
mod tokens;
mod users;

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

pub use users::FACEBOOK_USERS;

use self::tokens::Codes;
use self::users::FacebookUser;
use super::media::GraphError;
use super::tokens::Lifetime;
use super::{graph_error, request_base};

pub(super) use users::cdn_files;

const INVALID_TOKEN: GraphError = (
    190,
    "Invalid OAuth access token - Cannot parse access token",
);
/// A node the token cannot see (Graph also sends subcode 33).
const NO_NODE: GraphError = (
    100,
    "Unsupported get request. Object does not exist, cannot be loaded due to missing \
     permissions, or does not support this operation",
);

/// The Facebook side's memory: the issued codes.
#[derive(Default)]
pub(super) struct State {
    codes: Codes,
}

/// The routes under `/sandbox/facebook`.
pub(super) fn scope() -> Scope {
    let graph = |path: &str| format!("/graph/{{version}}{path}");
    web::scope("/facebook")
        .route("/dialog/oauth", web::get().to(login::authorize))
        .route(
            &graph("/oauth/access_token"),
            web::get().to(login::exchange_token),
        )
        .route(&graph("/me/accounts"), web::get().to(users::list_pages))
        .route(&graph("/{id}"), web::get().to(find_node))
        .route(&graph("/{id}/media"), web::get().to(users::list_media))
}

/// The Facebook user of a long-lived token: the only kind data calls take.
fn data_user(token: Option<&str>) -> Result<&'static FacebookUser, GraphError> {
    tokens::user_of(token, Lifetime::Long)
        .map(|(_, user)| user)
        .ok_or(INVALID_TOKEN)
}

fn respond(result: Result<Value, GraphError>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().json(body),
        Err((code, message)) => graph_error(code, message),
    }
}

#[derive(Deserialize)]
struct NodeQuery {
    access_token: Option<String>,
    fields: Option<String>,
}

/// `/{id}`: a linked Instagram account's profile.
async fn find_node(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<NodeQuery>,
) -> HttpResponse {
    let (_, id) = path.into_inner();
    let node = || {
        let user = data_user(q.access_token.as_deref())?;
        let account = user.reaches(&id).ok_or(NO_NODE)?;
        let base = request_base(&req);
        let fields = q.fields.as_deref();
        Ok(users::render_profile(account, fields, &base, Utc::now()))
    };
    respond(node())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use actix_web::{App, test as actix_test};
    use url::Url;

    use serde_json::json;

    use super::super::{FACEBOOK_APP_ID, FACEBOOK_APP_SECRET, Sandbox, configure};
    use super::*;

    const CALLBACK: &str = "http://gw.test/oauth/facebook/callback";
    const GRAPH: &str = "/sandbox/facebook/graph/v25.0";

    /// `uri` answered by a sandbox app sharing `sandbox`: status, `Location`, body.
    async fn call(sandbox: &web::Data<Sandbox>, uri: &str) -> (u16, String, Value) {
        let app =
            actix_test::init_service(App::new().app_data(sandbox.clone()).configure(configure))
                .await;
        let request = actix_test::TestRequest::get().uri(uri).to_request();
        let response = actix_test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = actix_test::read_body(response).await;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, location, body)
    }

    fn sandbox() -> web::Data<Sandbox> {
        web::Data::new(Sandbox::new(CALLBACK.to_owned()))
    }

    fn dialog(user: Option<&str>) -> String {
        let public = Url::parse("http://gw.test").unwrap();
        let (mut url, graph) = super::super::facebook_endpoints(&public);
        assert_eq!(graph.as_str(), "http://gw.test/sandbox/facebook/graph");
        url.query_pairs_mut()
            .append_pair("client_id", FACEBOOK_APP_ID)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("response_type", "code")
            .append_pair("config_id", "123")
            .append_pair("state", "st4te");
        if let Some(user) = user {
            url = super::super::with_facebook_user(&url, user);
        }
        format!("{}?{}", url.path(), url.query().unwrap())
    }

    fn code_exchange(code: &str) -> String {
        format!(
            "{GRAPH}/oauth/access_token?client_id={FACEBOOK_APP_ID}&client_secret=\
             {FACEBOOK_APP_SECRET}&redirect_uri={CALLBACK}&code={code}"
        )
    }

    /// The gateway's login: dialog, code, short-lived then long-lived token.
    async fn log_in(sandbox: &web::Data<Sandbox>, user: Option<&str>) -> String {
        let (status, location, _) = call(sandbox, &dialog(user)).await;
        assert_eq!(status, 302);
        let location = Url::parse(&location).unwrap();
        assert!(location.as_str().starts_with(&format!("{CALLBACK}?code=")));
        assert!(location.fragment().is_none(), "no #_ on Facebook");
        let param = |name: &str| {
            let mut pairs = location.query_pairs();
            pairs.find(|(k, _)| k == name).unwrap().1.into_owned()
        };
        assert_eq!(param("state"), "st4te");
        let (status, _, short) = call(sandbox, &code_exchange(&param("code"))).await;
        assert_eq!(status, 200);
        assert_eq!(
            (&short["token_type"], &short["expires_in"]),
            (&json!("bearer"), &json!(5183))
        );
        let (status, _, again) = call(sandbox, &code_exchange(&param("code"))).await;
        assert_eq!(status, 400);
        assert_eq!(again["error"]["code"], 100);
        assert_eq!(
            again["error"]["message"],
            "This authorization code has been used."
        );
        let short = short["access_token"].as_str().unwrap();
        let exchange = format!(
            "{GRAPH}/oauth/access_token?grant_type=fb_exchange_token&client_id={FACEBOOK_APP_ID}\
             &client_secret={FACEBOOK_APP_SECRET}&fb_exchange_token={short}"
        );
        let (status, _, long) = call(sandbox, &exchange).await;
        assert_eq!((status, &long["expires_in"]), (200, &json!(5_183_944)));
        // A short-lived token lists the Pages but reads no data.
        let (status, _, _) = call(
            sandbox,
            &format!("{GRAPH}/me/accounts?access_token={short}"),
        )
        .await;
        assert_eq!(status, 200);
        let uri = format!("{GRAPH}/17841400000000101?access_token={short}");
        assert_eq!(call(sandbox, &uri).await.2["error"]["code"], 190);
        long["access_token"].as_str().unwrap().to_owned()
    }

    async fn linked(sandbox: &web::Data<Sandbox>, token: &str) -> Vec<String> {
        let uri = format!(
            "{GRAPH}/me/accounts?fields=id,name,instagram_business_account{{id,username}}\
             &access_token={token}"
        );
        let (status, _, body) = call(sandbox, &uri).await;
        assert_eq!(status, 200);
        let pages = body["data"].as_array().unwrap();
        pages
            .iter()
            .filter_map(|page| page["instagram_business_account"]["username"].as_str())
            .map(str::to_owned)
            .collect()
    }

    #[actix_web::test]
    async fn each_facebook_user_logs_in_to_their_pages() {
        let sandbox = sandbox();
        let manager = log_in(&sandbox, None).await;
        assert_eq!(linked(&sandbox, &manager).await, ["sandbox.tags"]);
        let agency = log_in(&sandbox, Some("agency")).await;
        assert_eq!(
            linked(&sandbox, &agency).await,
            ["sandbox.north", "sandbox.south"]
        );
        let nolink = log_in(&sandbox, Some("nolink")).await;
        assert!(linked(&sandbox, &nolink).await.is_empty());
        // Pages of another user's account are out of reach.
        let uri = format!("{GRAPH}/17841400000000101?fields=username&access_token={agency}");
        assert_eq!(call(&sandbox, &uri).await.2["error"]["code"], 100);
        let uri =
            format!("{GRAPH}/17841400000000101?fields=username,media_count&access_token={manager}");
        let (_, _, profile) = call(&sandbox, &uri).await;
        assert_eq!(
            profile,
            json!({"id": "17841400000000101", "username": "sandbox.tags", "media_count": 18})
        );
        let uri = format!(
            "{GRAPH}/17841400000000101/media?fields=id,username&limit=5&access_token={manager}"
        );
        let (status, _, media) = call(&sandbox, &uri).await;
        assert_eq!(status, 200);
        assert_eq!(media["data"].as_array().unwrap().len(), 5);
        assert_eq!(media["data"][0]["username"], "sandbox.tags");
        assert!(media["paging"]["next"].is_string());
    }

    #[actix_web::test]
    async fn the_dialog_and_the_exchanges_refuse_bad_requests() {
        let sandbox = sandbox();
        let (status, _, _) = call(&sandbox, &dialog(Some("nobody"))).await;
        assert_eq!(status, 400);
        let wrong_app = dialog(None).replace(FACEBOOK_APP_ID, super::super::CLIENT_ID);
        assert_eq!(call(&sandbox, &wrong_app).await.0, 400);
        let (status, _, body) = call(&sandbox, &code_exchange("AQBforged")).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            "Invalid verification code format."
        );
        let exchange = format!(
            "{GRAPH}/oauth/access_token?grant_type=fb_exchange_token&client_id={FACEBOOK_APP_ID}\
             &client_secret={FACEBOOK_APP_SECRET}&fb_exchange_token=IGSBXS0abc"
        );
        assert_eq!(call(&sandbox, &exchange).await.2["error"]["code"], 190);
        for uri in [
            format!("{GRAPH}/me/accounts"),
            format!("{GRAPH}/me/accounts?access_token=IGSBXL0abc"),
        ] {
            assert_eq!(call(&sandbox, &uri).await.2["error"]["code"], 190, "{uri}");
        }
    }
}
