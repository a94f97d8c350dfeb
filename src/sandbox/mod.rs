//! A built-in fake Instagram for local runs and demos (`instagram.mode = "sandbox"`): the
//! authorize page and the token, long-lived, refresh, `/me` and `/me/media` endpoints, with the
//! same shapes as the real ones, plus a CDN serving the posts' (generated) images. Mounted under
//! `/sandbox/`; never part of the OpenAPI contract.
//!
//! It has several accounts ([`SANDBOX_USERS`]); `sandbox_user=<username>` on the authorize URL
//! picks one, and the code and every token issued from it answer for that account.
//!
//! Facebook Login and the graph.facebook.com calls the gateway makes with it (Pages, linked
//! Instagram accounts, hashtag search) are faked under `/sandbox/facebook/` (`facebook/`).
//!
//! Tests never use it as a stand-in for Instagram: they fake Instagram with wiremock.

mod bootstrap;
mod cdn;
mod facebook;
mod fields;
mod images;
mod media;
mod posts;
mod profile;
mod tables;
mod tokens;
mod users;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use url::Url;

pub use bootstrap::connect_at_startup;
pub use facebook::FACEBOOK_USERS;
pub use users::{SANDBOX_USERS, USER_ID, USERNAME};

use self::tokens::{Codes, Lifetime};
use crate::instagram::Endpoints;

pub const CLIENT_ID: &str = "1000000000000001";
pub const CLIENT_SECRET: &str = "sandbox-app-secret";
/// The authorize URL's parameter naming the account to log in as (one of [`SANDBOX_USERS`]).
const USER_PARAM: &str = "sandbox_user";
const LONG_LIVED_SECS: i64 = 60 * 24 * 3600;

pub const FACEBOOK_APP_ID: &str = "2000000000000002";
pub const FACEBOOK_APP_SECRET: &str = "sandbox-facebook-app-secret";
/// The Facebook login dialog's parameter naming the Facebook user to log in as (one of
/// [`FACEBOOK_USERS`]).
pub const FACEBOOK_USER_PARAM: &str = "sandbox_fb_user";

/// Upstream URLs pointing at the sandbox mounted on this service.
pub fn endpoints(public_url: &Url, api_version: &str) -> Endpoints {
    // Keep a path prefix of the public URL (a gateway served under /instagram, say).
    let base = public_url.path().trim_end_matches('/').to_owned();
    let at = |path: &str| {
        let mut url = public_url.clone();
        url.set_path(&format!("{base}{path}"));
        url
    };
    Endpoints {
        authorize_url: at("/sandbox/oauth/authorize"),
        token_url: at("/sandbox/oauth/access_token"),
        graph_url: at("/sandbox/graph"),
        api_version: api_version.to_owned(),
    }
}

/// `authorize_url` (an authorization the gateway started) logging in as `username`, one of
/// [`SANDBOX_USERS`]; without it the sandbox logs in as the first.
pub fn with_sandbox_user(authorize_url: &Url, username: &str) -> Url {
    let mut url = authorize_url.clone();
    url.query_pairs_mut().append_pair(USER_PARAM, username);
    url
}

/// The Facebook Login sandbox's `(authorize_url, graph_url)`: its login dialog and its
/// graph.facebook.com, on this service (keeping a path prefix of the public URL).
pub fn facebook_endpoints(public_url: &Url) -> (Url, Url) {
    let base = public_url.path().trim_end_matches('/').to_owned();
    let at = |path: &str| {
        let mut url = public_url.clone();
        url.set_path(&format!("{base}/sandbox/facebook{path}"));
        url
    };
    (at("/dialog/oauth"), at("/graph"))
}

/// `authorize_url` (a Facebook Login the gateway started) logging in as the Facebook user
/// `name`, one of [`FACEBOOK_USERS`]; without it the sandbox logs in as the first.
pub fn with_facebook_user(authorize_url: &Url, name: &str) -> Url {
    let mut url = authorize_url.clone();
    url.query_pairs_mut().append_pair(FACEBOOK_USER_PARAM, name);
    url
}

/// The sandbox's memory: issued authorization codes (one use, one hour), with their account,
/// and the Facebook side's codes and hashtag budget.
pub struct Sandbox {
    redirect_uri: String,
    codes: Codes,
    facebook: facebook::State,
}

impl Sandbox {
    pub fn new(redirect_uri: String) -> Self {
        Self {
            redirect_uri,
            codes: Codes::default(),
            facebook: facebook::State::default(),
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/sandbox")
            .route("/oauth/authorize", web::get().to(authorize))
            .route("/oauth/access_token", web::post().to(access_token))
            .route("/graph/access_token", web::get().to(long_lived))
            .route("/graph/refresh_access_token", web::get().to(refresh))
            .route("/graph/{version}/me", web::get().to(profile::me))
            .route("/graph/{version}/me/media", web::get().to(media::list))
            .route("/cdn/{file}", web::get().to(cdn::serve))
            .service(facebook::scope()),
    );
}

/// Meta's error envelope, as the real Graph API sends it.
fn graph_error(code: i64, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "SandboxTrace"}
    }))
}

/// [`graph_error`] with Meta's `error_subcode`.
fn graph_error_with_subcode(code: i64, subcode: i64, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": {
            "message": message, "type": "OAuthException", "code": code,
            "error_subcode": subcode, "fbtrace_id": "SandboxTrace"
        }
    }))
}

fn invalid_token() -> HttpResponse {
    graph_error(
        190,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

/// `scheme://host[:port]` of the request, to build absolute URLs that work on any host and port.
fn request_base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
    sandbox_user: Option<String>,
}

fn bad_authorize(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(format!("Invalid Request: {message}"))
}

/// Approves at once, as the account `sandbox_user` names (the first without it), and redirects
/// back with a code and the state (and Instagram's `#_`).
async fn authorize(q: web::Query<AuthorizeQuery>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    if q.client_id.as_deref() != Some(CLIENT_ID)
        || q.response_type.as_deref() != Some("code")
        || q.redirect_uri.as_deref() != Some(sandbox.redirect_uri.as_str())
    {
        return bad_authorize(
            "client_id, response_type=code and a registered redirect_uri are required",
        );
    }
    let user = match q.sandbox_user.as_deref() {
        None => 0,
        Some(name) => match users::index_of(name) {
            Some(user) => user,
            None => return bad_authorize("sandbox_user is not a sandbox account"),
        },
    };
    let Ok(mut target) = Url::parse(&sandbox.redirect_uri) else {
        return HttpResponse::BadRequest().finish();
    };
    target
        .query_pairs_mut()
        .append_pair("code", &sandbox.codes.issue(user))
        .append_pair("state", q.state.as_deref().unwrap_or_default());
    target.set_fragment(Some("_"));
    HttpResponse::Found()
        .insert_header((header::LOCATION, target.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: String,
    client_secret: String,
    grant_type: String,
    redirect_uri: String,
    code: String,
}

async fn access_token(form: web::Form<TokenForm>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let valid_request = form.client_id == CLIENT_ID
        && form.client_secret == CLIENT_SECRET
        && form.grant_type == "authorization_code"
        && form.redirect_uri == sandbox.redirect_uri;
    let redeemed = valid_request
        .then(|| sandbox.codes.redeem(&form.code))
        .flatten();
    let Some((user, account)) = redeemed.and_then(|u| Some((u, users::get(u)?))) else {
        return HttpResponse::BadRequest().json(json!({
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used"
        }));
    };
    // The documented shape; the real service sometimes answers flat, which the client handles.
    HttpResponse::Ok().json(json!({
        "data": [{
            "access_token": tokens::issue(Lifetime::Short, user),
            "user_id": account.app_scoped_id,
            "permissions": "instagram_business_basic"
        }]
    }))
}

#[derive(Deserialize)]
struct TokenQuery {
    grant_type: Option<String>,
    client_secret: Option<String>,
    access_token: Option<String>,
}

/// A new long-lived token for the account `presented` (a token of that lifetime) was issued
/// for: the exchange and the refresh answer alike.
fn long_lived_body(presented: Option<&str>, lifetime: Lifetime) -> HttpResponse {
    let Some((user, _)) = tokens::user_of(presented, lifetime) else {
        return invalid_token();
    };
    HttpResponse::Ok().json(json!({
        "access_token": tokens::issue(Lifetime::Long, user),
        "token_type": "bearer",
        "expires_in": LONG_LIVED_SECS
    }))
}

async fn long_lived(q: web::Query<TokenQuery>) -> HttpResponse {
    if q.grant_type.as_deref() != Some("ig_exchange_token")
        || q.client_secret.as_deref() != Some(CLIENT_SECRET)
    {
        return graph_error(100, "Invalid parameter");
    }
    long_lived_body(q.access_token.as_deref(), Lifetime::Short)
}

async fn refresh(q: web::Query<TokenQuery>) -> HttpResponse {
    if q.grant_type.as_deref() != Some("ig_refresh_token") {
        return graph_error(100, "Invalid parameter");
    }
    long_lived_body(q.access_token.as_deref(), Lifetime::Long)
}

#[cfg(test)]
mod endpoint_tests {
    use super::*;

    #[test]
    fn sandbox_urls_keep_a_public_path_prefix() {
        let root = endpoints(&Url::parse("http://127.0.0.1:8080").unwrap(), "v25.0");
        assert_eq!(
            root.graph_url.as_str(),
            "http://127.0.0.1:8080/sandbox/graph"
        );
        let prefixed = endpoints(&Url::parse("https://example.com/ig/").unwrap(), "v25.0");
        assert_eq!(
            prefixed.token_url.as_str(),
            "https://example.com/ig/sandbox/oauth/access_token"
        );
    }

    #[test]
    fn facebook_urls_keep_a_public_path_prefix() {
        let (authorize, graph) =
            facebook_endpoints(&Url::parse("https://example.com/ig/").unwrap());
        assert_eq!(
            authorize.as_str(),
            "https://example.com/ig/sandbox/facebook/dialog/oauth"
        );
        assert_eq!(
            graph.as_str(),
            "https://example.com/ig/sandbox/facebook/graph"
        );
        let manager = with_facebook_user(&authorize, "agency");
        assert!(manager.as_str().ends_with("?sandbox_fb_user=agency"));
    }

    const CALLBACK: &str = "http://gw.test/oauth/callback";

    /// `sandbox` answering `uri` (a `POST` when a form is given): status, `Location`, body.
    async fn call(
        sandbox: &web::Data<Sandbox>,
        uri: &str,
        form: Option<&[(&str, &str)]>,
    ) -> (u16, String, Vec<u8>) {
        use actix_web::{App, test as actix_test};
        let sandbox = sandbox.clone();
        let app = actix_test::init_service(App::new().app_data(sandbox).configure(configure)).await;
        let request = match form {
            Some(form) => actix_test::TestRequest::post().uri(uri).set_form(form),
            None => actix_test::TestRequest::get().uri(uri),
        };
        let response = actix_test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            location,
            actix_test::read_body(response).await.to_vec(),
        )
    }

    fn authorize_url() -> Url {
        let mut url = Url::parse("http://gw.test/sandbox/oauth/authorize").unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("response_type", "code")
            .append_pair("state", "st4te");
        url
    }

    fn path_and_query(url: &Url) -> String {
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    }

    /// What the gateway does with a sandbox authorization: follow the redirect, exchange the
    /// code, then the short-lived token, refresh, and read `/me`. Returns the username.
    async fn log_in(authorize: &Url) -> String {
        let sandbox = web::Data::new(Sandbox::new(CALLBACK.to_owned()));
        let (status, location, _) = call(&sandbox, &path_and_query(authorize), None).await;
        assert_eq!(status, 302, "an immediate redirect");
        let location = Url::parse(&location).unwrap();
        assert!(location.as_str().starts_with(&format!("{CALLBACK}?code=")));
        let param = |name: &str| {
            let pairs = location.query_pairs();
            pairs
                .into_iter()
                .find(|(k, _)| k == name)
                .unwrap()
                .1
                .into_owned()
        };
        assert_eq!(param("state"), "st4te");
        let code = param("code");
        let form = [
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
            ("code", code.as_str()),
        ];
        let (_, _, body) = call(&sandbox, "/sandbox/oauth/access_token", Some(&form)).await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let short = body["data"][0]["access_token"].as_str().unwrap().to_owned();
        let app_scoped_id = body["data"][0]["user_id"].as_str().unwrap().to_owned();
        let (status, _, _) = call(&sandbox, "/sandbox/oauth/access_token", Some(&form)).await;
        assert_eq!(status, 400, "a code works once");
        let mut token = short;
        for uri in [
            "/sandbox/graph/access_token?grant_type=ig_exchange_token&client_secret=sandbox-app-secret&access_token=",
            "/sandbox/graph/refresh_access_token?grant_type=ig_refresh_token&access_token=",
        ] {
            let (status, _, body) = call(&sandbox, &format!("{uri}{token}"), None).await;
            assert_eq!(status, 200);
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            token = body["access_token"].as_str().unwrap().to_owned();
        }
        let (_, _, body) = call(
            &sandbox,
            &format!("/sandbox/graph/v25.0/me?access_token={token}"),
            None,
        )
        .await;
        let me: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(me["id"], app_scoped_id.as_str());
        me["username"].as_str().unwrap().to_owned()
    }

    #[actix_web::test]
    async fn sandbox_user_picks_the_account_for_every_later_token() {
        assert_eq!(log_in(&authorize_url()).await, USERNAME, "the default");
        for username in SANDBOX_USERS {
            let url = with_sandbox_user(&authorize_url(), username);
            assert!(url.as_str().ends_with(&format!("&sandbox_user={username}")));
            assert_eq!(log_in(&url).await, *username);
        }
        let unknown = with_sandbox_user(&authorize_url(), "sandbox.nobody");
        let sandbox = web::Data::new(Sandbox::new(CALLBACK.to_owned()));
        assert_eq!(call(&sandbox, &path_and_query(&unknown), None).await.0, 400);
    }
}
