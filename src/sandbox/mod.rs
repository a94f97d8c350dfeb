//! A built-in fake Instagram for local runs and demos (`instagram.mode = "sandbox"`): the
//! authorize page and the token, long-lived, refresh, `/me` and `/me/media` endpoints, with the
//! same shapes as the real ones, plus a CDN serving the posts' (generated) images. Mounted under
//! `/sandbox/`; never part of the OpenAPI contract.
//!
//! Tests never use it as a stand-in for Instagram: they fake Instagram with wiremock.

mod bootstrap;
mod cdn;
mod fields;
mod images;
mod media;
mod posts;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use url::Url;

pub use bootstrap::connect_at_startup;

use crate::instagram::Endpoints;

pub const CLIENT_ID: &str = "1000000000000001";
pub const CLIENT_SECRET: &str = "sandbox-app-secret";
pub const USER_ID: &str = "17841400000000001";
pub const USERNAME: &str = "sandbox.gallery";
/// The app-scoped id the code exchange reports, different from the account id as on Instagram.
const APP_SCOPED_USER_ID: &str = "1020000000000001";
const SHORT_PREFIX: &str = "IGSBXS";
const LONG_PREFIX: &str = "IGSBXL";
const CODE_TTL: Duration = Duration::from_secs(3600);
const LONG_LIVED_SECS: i64 = 60 * 24 * 3600;

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

/// The sandbox's memory: issued authorization codes (one use, one hour).
pub struct Sandbox {
    redirect_uri: String,
    codes: Mutex<HashMap<String, Instant>>,
}

impl Sandbox {
    pub fn new(redirect_uri: String) -> Self {
        Self {
            redirect_uri,
            codes: Mutex::new(HashMap::new()),
        }
    }

    fn issue_code(&self) -> String {
        let code = format!("AQD{}", crate::random::token_urlsafe(24));
        let now = Instant::now();
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, issued| now.duration_since(*issued) < CODE_TTL);
        codes.insert(code.clone(), now);
        code
    }

    fn redeem_code(&self, code: &str) -> bool {
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes
            .remove(code)
            .is_some_and(|issued| issued.elapsed() < CODE_TTL)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/sandbox")
            .route("/oauth/authorize", web::get().to(authorize))
            .route("/oauth/access_token", web::post().to(access_token))
            .route("/graph/access_token", web::get().to(long_lived))
            .route("/graph/refresh_access_token", web::get().to(refresh))
            .route("/graph/{version}/me", web::get().to(me))
            .route("/graph/{version}/me/media", web::get().to(media::list))
            .route("/cdn/{file}", web::get().to(cdn::serve)),
    );
}

/// Meta's error envelope, as the real Graph API sends it.
fn graph_error(code: i64, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "SandboxTrace"}
    }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
}

/// Approves at once and redirects back with a code and the state (and Instagram's `#_`).
async fn authorize(q: web::Query<AuthorizeQuery>, sandbox: web::Data<Sandbox>) -> HttpResponse {
    if q.client_id.as_deref() != Some(CLIENT_ID)
        || q.response_type.as_deref() != Some("code")
        || q.redirect_uri.as_deref() != Some(sandbox.redirect_uri.as_str())
    {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("Invalid Request: client_id, response_type=code and a registered redirect_uri are required");
    }
    let Ok(mut target) = Url::parse(&sandbox.redirect_uri) else {
        return HttpResponse::BadRequest().finish();
    };
    target
        .query_pairs_mut()
        .append_pair("code", &sandbox.issue_code())
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
    if form.client_id != CLIENT_ID
        || form.client_secret != CLIENT_SECRET
        || form.grant_type != "authorization_code"
        || form.redirect_uri != sandbox.redirect_uri
        || !sandbox.redeem_code(&form.code)
    {
        return HttpResponse::BadRequest().json(json!({
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used"
        }));
    }
    // The documented shape; the real service sometimes answers flat, which the client handles.
    HttpResponse::Ok().json(json!({
        "data": [{
            "access_token": format!("{SHORT_PREFIX}{}", crate::random::token_urlsafe(24)),
            "user_id": APP_SCOPED_USER_ID,
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

fn long_lived_body() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "access_token": format!("{LONG_PREFIX}{}", crate::random::token_urlsafe(32)),
        "token_type": "bearer",
        "expires_in": LONG_LIVED_SECS
    }))
}

fn has_prefix(token: Option<&str>, prefix: &str) -> bool {
    token.is_some_and(|t| t.starts_with(prefix))
}

async fn long_lived(q: web::Query<TokenQuery>) -> HttpResponse {
    if q.grant_type.as_deref() != Some("ig_exchange_token")
        || q.client_secret.as_deref() != Some(CLIENT_SECRET)
    {
        return graph_error(100, "Invalid parameter");
    }
    if !has_prefix(q.access_token.as_deref(), SHORT_PREFIX) {
        return graph_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    long_lived_body()
}

async fn refresh(q: web::Query<TokenQuery>) -> HttpResponse {
    if q.grant_type.as_deref() != Some("ig_refresh_token") {
        return graph_error(100, "Invalid parameter");
    }
    if !has_prefix(q.access_token.as_deref(), LONG_PREFIX) {
        return graph_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    long_lived_body()
}

async fn me(q: web::Query<TokenQuery>) -> HttpResponse {
    if !has_prefix(q.access_token.as_deref(), LONG_PREFIX) {
        return graph_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    HttpResponse::Ok()
        .json(json!({"user_id": USER_ID, "username": USERNAME, "id": APP_SCOPED_USER_ID}))
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
}
