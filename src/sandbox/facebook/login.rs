//! The Facebook Login dialog and the `oauth/access_token` exchanges: a code for a short-lived
//! user token, a short-lived token for a long-lived one.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::super::media::GraphError;
use super::super::tokens::Lifetime;
use super::super::{FACEBOOK_APP_ID, FACEBOOK_APP_SECRET, Sandbox, bad_authorize};
use super::tokens::{self, CodeError};
use super::{INVALID_TOKEN, respond, users};

/// Token lifetimes in seconds: about 1.4 hours (the gateway's contract) and Facebook's
/// documented 60 days.
const SHORT_LIVED_SECS: i64 = 5183;
const LONG_LIVED_SECS: i64 = 5_183_944;

#[derive(Deserialize)]
pub(super) struct DialogQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
    sandbox_fb_user: Option<String>,
}

/// Approves at once, as the Facebook user `sandbox_fb_user` names (the first without it), and
/// redirects back with a code and the state (no `#_`, unlike Instagram).
pub(super) async fn authorize(
    q: web::Query<DialogQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    if q.client_id.as_deref() != Some(FACEBOOK_APP_ID)
        || q.response_type.as_deref() != Some("code")
        || q.redirect_uri.as_deref() != Some(sandbox.redirect_uri.as_str())
    {
        return bad_authorize(
            "client_id, response_type=code and a registered redirect_uri are required",
        );
    }
    let user = match q.sandbox_fb_user.as_deref() {
        None => 0,
        Some(name) => match users::index_of(name) {
            Some(user) => user,
            None => return bad_authorize("sandbox_fb_user is not a sandbox Facebook user"),
        },
    };
    let Ok(mut target) = Url::parse(&sandbox.redirect_uri) else {
        return HttpResponse::BadRequest().finish();
    };
    target
        .query_pairs_mut()
        .append_pair("code", &sandbox.facebook.codes.issue(user))
        .append_pair("state", q.state.as_deref().unwrap_or_default());
    HttpResponse::Found()
        .insert_header((header::LOCATION, target.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
    fb_exchange_token: Option<String>,
}

/// `oauth/access_token`: a code for a short-lived user token, or (`grant_type=
/// fb_exchange_token`) a short-lived token for a long-lived one.
pub(super) async fn exchange_token(
    q: web::Query<TokenQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    respond(token_body(&q, &sandbox))
}

fn token_body(q: &TokenQuery, sandbox: &Sandbox) -> Result<Value, GraphError> {
    if q.client_id.as_deref() != Some(FACEBOOK_APP_ID) {
        return Err((101, "Error validating application. Invalid application ID."));
    }
    if q.client_secret.as_deref() != Some(FACEBOOK_APP_SECRET) {
        return Err((1, "Error validating client secret."));
    }
    let (lifetime, user) = match q.grant_type.as_deref() {
        Some("fb_exchange_token") => {
            let token = q.fb_exchange_token.as_deref();
            let (user, _) = tokens::user_of(token, Lifetime::Short).ok_or(INVALID_TOKEN)?;
            (Lifetime::Long, user)
        }
        Some(_) => return Err((100, "Invalid parameter")),
        None => {
            if q.redirect_uri.as_deref() != Some(sandbox.redirect_uri.as_str()) {
                return Err((
                    100,
                    "Error validating verification code. Please make sure your redirect_uri \
                     is identical to the one you used in the OAuth dialog request",
                ));
            }
            let code = q.code.as_deref().unwrap_or_default();
            match sandbox.facebook.codes.redeem(code) {
                Ok(user) => (Lifetime::Short, user),
                Err(CodeError::Invalid) => return Err((100, "Invalid verification code format.")),
                Err(CodeError::Used) => {
                    return Err((100, "This authorization code has been used."));
                }
            }
        }
    };
    let expires_in = match lifetime {
        Lifetime::Short => SHORT_LIVED_SECS,
        Lifetime::Long => LONG_LIVED_SECS,
    };
    Ok(json!({
        "access_token": tokens::issue(lifetime, user),
        "token_type": "bearer",
        "expires_in": expires_in
    }))
}
