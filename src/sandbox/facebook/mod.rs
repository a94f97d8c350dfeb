//! The sandbox's fake of Facebook Login and of the Graph API calls it opens up
//! (graph.facebook.com): the login dialog, the code and long-lived token exchanges, a user's
//! Pages with their linked Instagram business accounts, those accounts' profiles and media, and
//! hashtag search with Meta's budget. Mounted under `/sandbox/facebook/`.
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
//!
//! Hashtag search: `nsfw`, `blocked` and `forbidden` are sensitive (Meta's generic error);
//! `nothinghere` and tags starting with `zzz` have no posts; every other word is a tag with 120
//! top and 40 recent posts by made-up people (see `public.rs`).

mod hashtags;
mod login;
mod public;
mod tables;
mod tokens;
mod users;

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

pub use users::FACEBOOK_USERS;

use self::hashtags::{Budget, Names};
use self::tokens::Codes;
use self::users::FacebookUser;
use super::fields::Fields;
use super::media::GraphError;
use super::tokens::Lifetime;
use super::users::User;
use super::{Sandbox, graph_error, request_base};

pub(super) use public::still as public_still;
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
const NOT_REACHABLE: GraphError = (100, "(#100) Invalid user id");

/// The Facebook side's memory: codes, the hashtag budget and the names behind issued ids.
#[derive(Default)]
pub(super) struct State {
    codes: Codes,
    budget: Budget,
    names: Names,
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
        .route(
            &graph("/ig_hashtag_search"),
            web::get().to(hashtags::search_hashtag),
        )
        .route(&graph("/{id}"), web::get().to(find_node))
        .route(&graph("/{id}/media"), web::get().to(users::list_media))
        .route(
            &graph("/{id}/top_media"),
            web::get().to(public::list_top_media),
        )
        .route(
            &graph("/{id}/recent_media"),
            web::get().to(public::list_recent_media),
        )
        .route(
            &graph("/{id}/recently_searched_hashtags"),
            web::get().to(hashtags::list_searched_hashtags),
        )
}

/// The Facebook user of a long-lived token: the only kind data calls take.
fn data_user(token: Option<&str>) -> Result<&'static FacebookUser, GraphError> {
    tokens::user_of(token, Lifetime::Long)
        .map(|(_, user)| user)
        .ok_or(INVALID_TOKEN)
}

/// The Instagram account `ig_user_id`, if one of `user`'s Pages links it.
fn reach(user: &FacebookUser, ig_user_id: Option<&str>) -> Result<&'static User, GraphError> {
    ig_user_id
        .and_then(|id| user.reaches(id))
        .ok_or(NOT_REACHABLE)
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

/// `/{id}`: the token's Facebook user (`me`), a linked Instagram account's profile, or a
/// hashtag the sandbox issued.
async fn find_node(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<NodeQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    let (_, id) = path.into_inner();
    let node = || {
        let user = data_user(q.access_token.as_deref())?;
        let fields = q.fields.as_deref();
        if id == "me" {
            // The Facebook user: an app-scoped id made of its place in the table.
            let index = tokens::user_of(q.access_token.as_deref(), Lifetime::Long)
                .map_or(0, |(index, _)| index);
            return Ok(json!({"id": format!("1016000000000{index:04}"), "name": user.name}));
        }
        if let Some(account) = user.reaches(&id) {
            let base = request_base(&req);
            return Ok(users::render_profile(account, fields, &base, Utc::now()));
        }
        let name = sandbox.facebook.names.name_of(&id).ok_or(NO_NODE)?;
        if Fields::parse(fields.unwrap_or_default()).wants("name") {
            Ok(json!({"id": id, "name": name}))
        } else {
            Ok(json!({ "id": id }))
        }
    };
    respond(node())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use actix_web::{App, test as actix_test};
    use url::Url;

    use super::super::{FACEBOOK_APP_ID, FACEBOOK_APP_SECRET, configure};
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
            format!("{GRAPH}/ig_hashtag_search?user_id=17841400000000101&q=coffee"),
        ] {
            assert_eq!(call(&sandbox, &uri).await.2["error"]["code"], 190, "{uri}");
        }
    }

    async fn search(sandbox: &web::Data<Sandbox>, token: &str, q: &str) -> (u16, Value) {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let uri = format!(
            "{GRAPH}/ig_hashtag_search?user_id=17841400000000101&q={q}&access_token={token}"
        );
        let (status, _, body) = call(sandbox, &uri).await;
        (status, body)
    }

    #[actix_web::test]
    async fn hashtag_search_and_its_budget() {
        let sandbox = sandbox();
        let token = log_in(&sandbox, None).await;
        let (status, body) = search(&sandbox, &token, "Coffee").await;
        assert_eq!(status, 200);
        let coffee = body["data"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(body, json!({"data": [{"id": hashtags::id_of("coffee")}]}));
        let uri = format!("{GRAPH}/{coffee}?fields=id,name&access_token={token}");
        assert_eq!(
            call(&sandbox, &uri).await.2,
            json!({"id": coffee, "name": "coffee"})
        );
        let (status, sensitive) = search(&sandbox, &token, "nsfw").await;
        assert_eq!(status, 400);
        assert_eq!(
            sensitive,
            json!({"error": {"message": "Invalid parameter", "type": "OAuthException",
                "code": 100, "error_subcode": 2_207_006, "fbtrace_id": "SandboxTrace"}})
        );
        for q in ["☕", "", "coffee shop"] {
            let (status, body) = search(&sandbox, &token, q).await;
            assert_eq!(
                (status, &body["error"]["code"]),
                (400, &json!(100)),
                "{q:?}"
            );
        }
        assert_eq!(
            search(&sandbox, &token, "zzzquiet").await.1,
            json!({"data": []})
        );
        // Another account's id, through this token: refused.
        let uri =
            format!("{GRAPH}/ig_hashtag_search?user_id=17841400000000102&q=x&access_token={token}");
        assert_eq!(call(&sandbox, &uri).await.2["error"]["code"], 100);
        for n in 1..30 {
            assert_eq!(
                search(&sandbox, &token, &format!("tag{n}")).await.0,
                200,
                "{n}"
            );
        }
        let (status, limit) = search(&sandbox, &token, "onetoomany").await;
        assert_eq!(status, 400);
        assert_eq!(
            limit,
            json!({"error": {
                "message": "(#24) The user has reached the limit of 30 unique hashtags queried in a rolling 7 day period",
                "type": "OAuthException", "code": 24, "error_subcode": 2_207_034,
                "fbtrace_id": "SandboxTrace"}})
        );
        assert_eq!(
            search(&sandbox, &token, "coffee").await.0,
            200,
            "a repeat is free"
        );
        let uri =
            format!("{GRAPH}/17841400000000101/recently_searched_hashtags?access_token={token}");
        let (_, _, recent) = call(&sandbox, &uri).await;
        assert_eq!(recent["data"].as_array().unwrap().len(), 25);
        assert_eq!(recent["data"][0]["id"], hashtags::id_of("tag29"));
        let (_, _, recent) = call(&sandbox, &format!("{uri}&limit=30")).await;
        assert_eq!(recent["data"].as_array().unwrap().len(), 30);
        assert_eq!(recent["data"][29]["id"], coffee);
    }

    #[actix_web::test]
    async fn tag_media_for_a_reachable_account() {
        let sandbox = sandbox();
        let token = log_in(&sandbox, None).await;
        let coffee = hashtags::id_of("coffee");
        let top = |user: &str, extra: &str| {
            format!(
                "{GRAPH}/{coffee}/top_media?user_id={user}&fields=id,caption&access_token={token}{extra}"
            )
        };
        let (status, _, body) = call(&sandbox, &top("17841400000000101", "&limit=50")).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"].as_array().unwrap().len(), 50);
        let next = Url::parse(body["paging"]["next"].as_str().unwrap()).unwrap();
        assert!(next.path().ends_with("/top_media"));
        let (status, _, body) = call(&sandbox, &top("17841400000000102", "")).await;
        assert_eq!((status, &body["error"]["code"]), (400, &json!(100)));
        let (_, _, body) = call(&sandbox, &top("17841400000000101", "&limit=51")).await;
        assert_eq!(body["error"]["code"], 100);
        let recent = format!(
            "{GRAPH}/{coffee}/recent_media?user_id=17841400000000101&fields=id,media_type,\
             media_url&limit=50&access_token={token}"
        );
        let (status, _, body) = call(&sandbox, &recent).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"].as_array().unwrap().len(), 40);
        assert!(body["paging"].get("next").is_none());
        // An id the sandbox never issued.
        let unknown = format!(
            "{GRAPH}/17843000000000001/top_media?user_id=17841400000000101&access_token={token}"
        );
        assert_eq!(call(&sandbox, &unknown).await.2["error"]["code"], 100);
        // The pictures are on the sandbox CDN.
        let image = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["media_type"] == "IMAGE")
            .unwrap();
        let url = Url::parse(image["media_url"].as_str().unwrap()).unwrap();
        let app = actix_test::init_service(App::new().configure(configure)).await;
        let request = actix_test::TestRequest::get()
            .uri(&format!("{}?{}", url.path(), url.query().unwrap()))
            .to_request();
        let response = actix_test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 200);
        let jpeg = actix_test::read_body(response).await;
        assert!(image::load_from_memory(&jpeg).is_ok());
    }
}
