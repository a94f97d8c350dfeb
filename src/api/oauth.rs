//! Callbacks that Instagram and Meta call: the OAuth redirect, deauthorize, data deletion.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::examples;
use crate::accounts::{AccountError, Completion, Connected, Connections};
use crate::auth::{AuthError, CallbackParams, DataDeletions, DeletionStatus, GrantedAccount};
use crate::error::{ApiError, Problem};
use crate::instagram::Login;

/// Where the callback sends the operator, and the service's public base URL.
pub struct OAuthPages {
    pub success_redirect: Option<String>,
    pub public_url: String,
}

/// The query Instagram appends to the redirect URI.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code (valid for one hour, once).
    #[param(max_length = 2048)]
    code: Option<String>,
    /// The one-time state from `POST /admin/reauth` (43 base64url characters).
    #[param(
        pattern = "^[A-Za-z0-9_-]{43}$",
        example = "3q2-7wQm0kq0G1jq4mW6bS5QdL7i2k8x9yZaBcDeFgH"
    )]
    state: Option<String>,
    /// Set instead of `code` when the user declined, e.g. `access_denied`.
    #[param(max_length = 100, example = "access_denied")]
    error: Option<String>,
    /// Instagram's reason code for `error`, e.g. `user_denied`.
    #[param(max_length = 100, example = "user_denied")]
    error_reason: Option<String>,
    /// Instagram's human-readable explanation of `error`.
    #[param(max_length = 1000, example = "The user denied your request")]
    error_description: Option<String>,
}

/// Meta's form post to the deauthorize and data-deletion callbacks.
#[derive(Deserialize, ToSchema)]
pub struct SignedRequestForm {
    /// `<base64url signature>.<base64url JSON payload>`, signed with the app secret.
    #[schema(
        max_length = 8192,
        example = "c2lnbmF0dXJl.eyJ1c2VyX2lkIjoiMjE4NDcxIiwiYWxnb3JpdGhtIjoiSE1BQy1TSEEyNTYifQ"
    )]
    signed_request: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeauthorizeResponse {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct DataDeletionResponse {
    /// Where the user can check the deletion's status.
    #[schema(example = "https://gateway.example.com/oauth/data-deletion/k3J9sQ2mXc8VbN4tR7wZ")]
    url: String,
    #[schema(example = "k3J9sQ2mXc8VbN4tR7wZ")]
    confirmation_code: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeletionPath {
    /// The confirmation code returned by the data-deletion callback.
    #[param(pattern = "^[A-Za-z0-9]{20}$")]
    code: String,
}

/// Instagram's (or Facebook's) redirect after the operator logged in: stores the new token.
///
/// Not called by frontends: Instagram sends the operator's browser here after the login that
/// `POST /admin/reauth` started, with `?code=...&state=...`, or with
/// `?error=access_denied&error_reason=...&error_description=...` when the user declined.
///
/// For an account created with `login: facebook`, Facebook sends the browser here: the code
/// becomes a long-lived Facebook user token and the user's Pages are read. One Page with a
/// linked Instagram account: that account is connected (the same page, or `303`). Several:
/// `200` with a page listing them, each a form posting to `POST /oauth/choose` with a one-time
/// choice. None: `409` with a page saying how to link the Instagram account to a Page.
///
/// The one-time `state` is checked and consumed first (atomically, so a replay or a race is
/// refused) and nothing is sent to Instagram without it. Then the service exchanges the code,
/// exchanges the short-lived token for a 60-day one, reads the account (`/me`), and only then
/// stores the token, encrypted. A sync of the account's media starts in the background; a
/// different account's cached feed is dropped first. The answer is a small HTML page naming the
/// account, or a `303` to `oauth.success_redirect` when that is set. Never cached
/// (`Cache-Control: no-store`, like everything under `/oauth`).
///
/// **Errors.** `400 invalid_state`: the state is missing, unknown, expired (after
/// `oauth.state_ttl_secs`, 10 minutes) or already used; start again with `POST /admin/reauth`.
/// `400 authorization_denied`: the user declined (the state is consumed too). `400
/// invalid_request`: `code` is missing. `502 upstream_error`: Instagram failed an exchange; the
/// previously stored token is left untouched. `503 store_unavailable`: Redis did not answer.
#[utoipa::path(
    tag = "oauth",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Connected; a small HTML page names the account", content_type = "text/html", body = String,
         example = json!(concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Instagram connected</title>",
            "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>",
            "<body><h1>Instagram connected</h1><p>The gateway now serves the media of <strong>@sandbox.gallery</strong>.</p>",
            "<p>The token is valid until 2027-01-30T02:34:17.505904085+00:00 and is refreshed automatically.</p><p>You can close this page.</p></body></html>",
         ))),
        (status = 303, description = "Connected; redirect to `oauth.success_redirect`",
         headers(("Location" = String, description = "The configured `oauth.success_redirect`"))),
        (status = 409, description = "The Instagram account is connected under another slug (`account_conflict`, problem+json); or, for a Facebook Login, none of the user's Pages has a linked Instagram account (an HTML page explains how to link one). Nothing is stored",
         content(
            (Problem = "application/problem+json", example = json!(examples::problem("account_conflict", "Instagram account already connected", 409, "the Instagram account @sandbox.tags is already connected as `tags`; delete or re-connect that account first"))),
            (String = "text/html"),
         )),
        (status = 400, description = "State missing, unknown, expired or used; code missing; or access denied", body = Problem, content_type = "application/problem+json",
         examples(
            ("invalid_state" = (summary = "Unknown, expired or used state", value = json!(examples::problem("invalid_state", "Invalid OAuth state", 400, "the `state` is unknown, expired or already used; start again with POST /admin/reauth")))),
            ("authorization_denied" = (summary = "The user declined", value = json!(examples::problem("authorization_denied", "Authorization denied", 400, "Instagram did not grant access: The user denied your request")))),
            ("invalid_request" = (summary = "No code", value = json!(examples::invalid_request("the `code` parameter is missing")))),
         )),
        (status = 414, description = "Query string over the 8 KiB URI limit", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("uri_too_long", "URI too long", 414, "request URIs are limited to 8192 bytes"))),
        (status = 502, description = "Instagram failed; the previously stored token is unchanged", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "When Instagram throttles (its estimate, else 60) or on a transient failure (5)")),
         example = json!(examples::upstream_error("Instagram refused the request (HTTP 400)"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         example = json!(examples::store_unavailable())),
    )
)]
#[get("/callback")]
pub async fn handle_oauth_callback(
    query: web::Query<CallbackQuery>,
    connections: web::Data<Connections>,
    pages: web::Data<OAuthPages>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let completion = connections
        .complete(CallbackParams {
            code: q.code,
            state: q.state,
            error: q.error,
            error_reason: q.error_reason,
            error_description: q.error_description,
        })
        .await;
    match completion {
        Ok(Completion::Connected(connected)) => Ok(connected_response(&connected, &pages)),
        Ok(Completion::Choose {
            slug,
            choice,
            accounts,
        }) => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            // The page's forms post back here, and only here.
            .insert_header((header::CONTENT_SECURITY_POLICY, CHOICE_PAGE_CSP))
            .body(choice_page(slug.as_str(), &choice, &accounts))),
        Err(AccountError::Auth(AuthError::NoLinkedAccount)) => {
            Ok(html(StatusCode::CONFLICT, no_linked_account_page()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The operator's pick on the page a Facebook Login reaching several Instagram accounts
/// showed.
///
/// Not called by frontends: the page `GET /oauth/callback` shows after a Facebook Login whose
/// user manages several Pages with linked Instagram accounts posts here. `choice` is the
/// one-time value of that page (valid for `oauth.state_ttl_secs`, once); `account` is the
/// Instagram account id picked among those offered. The token is then stored as for a callback
/// that connects directly, and the answer is the same page (or `303` to
/// `oauth.success_redirect`). Never cached.
///
/// **Errors.** `400 invalid_choice`: the choice is unknown, expired or used, or the account
/// was not offered. `409 account_conflict`: that Instagram account is connected under another
/// slug. `400 invalid_request`, `413`, `415`, `503 store_unavailable`.
#[utoipa::path(
    tag = "oauth",
    request_body(content = ChoiceForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Connected; a small HTML page names the account", content_type = "text/html", body = String),
        (status = 303, description = "Connected; redirect to `oauth.success_redirect`",
         headers(("Location" = String, description = "The configured `oauth.success_redirect`"))),
        (status = 400, description = "Unknown, expired or used choice, or an account that was not offered", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("invalid_choice", "Invalid choice", 400, "the Page choice is unknown, expired or already used; connect again"))),
        (status = 409, description = "The Instagram account is connected under another slug", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("account_conflict", "Instagram account already connected", 409, "the Instagram account @sandbox.tags is already connected as `tags`; delete or re-connect that account first"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send application/x-www-form-urlencoded"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         example = json!(examples::store_unavailable())),
    )
)]
#[post("/choose")]
pub async fn handle_choice(
    form: web::Form<ChoiceForm>,
    connections: web::Data<Connections>,
    pages: web::Data<OAuthPages>,
) -> Result<HttpResponse, ApiError> {
    let connected = connections.choose(&form.choice, &form.account).await?;
    Ok(connected_response(&connected, &pages))
}

/// The operator's pick among the Instagram accounts a Facebook Login reached.
#[derive(Deserialize, ToSchema)]
pub struct ChoiceForm {
    /// The one-time value of the choice page (43 base64url characters).
    #[schema(
        pattern = "^[A-Za-z0-9_-]{43}$",
        example = "Zq2-7wQm0kq0G1jq4mW6bS5QdL7i2k8x9yZaBcDeFgH"
    )]
    choice: String,
    /// The picked Instagram account's id.
    #[schema(pattern = "^[0-9]{1,30}$", example = "17841400000000101")]
    account: String,
}

/// Lets the choice page's forms post to `/oauth/choose` (the rest of `/oauth` allows no form).
const CHOICE_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn connected_response(connected: &Connected, pages: &OAuthPages) -> HttpResponse {
    if let Some(target) = &pages.success_redirect {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target.as_str()))
            .finish();
    }
    let record = &connected.record;
    let who = record.username.as_deref().map_or_else(
        || format!("account {}", record.user_id),
        |u| format!("@{u}"),
    );
    let renewal = match record.login {
        Login::Instagram => "is refreshed automatically",
        Login::Facebook => {
            "cannot be refreshed by the gateway (Facebook Login): connect the account again before then; the operator page and /admin/status warn a week ahead"
        }
    };
    html(
        StatusCode::OK,
        connected_page(&who, &record.expires_at.to_rfc3339(), renewal),
    )
}

const PAGE_HEAD: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">";
const PAGE_STYLE: &str = "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>";

fn connected_page(who: &str, expires_at: &str, renewal: &str) -> String {
    format!(
        "{PAGE_HEAD}<title>Instagram connected</title>{PAGE_STYLE}\
         <body><h1>Instagram connected</h1><p>The gateway now serves the media of <strong>{}</strong>.</p>\
         <p>The token is valid until {} and {}.</p><p>You can close this page.</p></body></html>",
        escape_html(who),
        escape_html(expires_at),
        escape_html(renewal),
    )
}

fn choice_page(slug: &str, choice: &str, accounts: &[GrantedAccount]) -> String {
    let mut items = String::new();
    for account in accounts {
        let who = account.username.as_deref().map_or_else(
            || format!("account {}", account.user_id),
            |u| format!("@{u}"),
        );
        items.push_str(&format!(
            "<li><form method=\"post\" action=\"choose\">\
             <input type=\"hidden\" name=\"choice\" value=\"{}\">\
             <input type=\"hidden\" name=\"account\" value=\"{}\">\
             <button type=\"submit\">Connect <strong>{}</strong></button> (Page {})</form></li>",
            escape_html(choice),
            escape_html(&account.user_id),
            escape_html(&who),
            escape_html(&account.page_name),
        ));
    }
    format!(
        "{PAGE_HEAD}<title>Choose the Instagram account</title>{PAGE_STYLE}\
         <body><h1>Choose the Instagram account</h1>\
         <p>Your Facebook Pages are linked to several Instagram professional accounts. Which one should the gateway's account <strong>{}</strong> serve?</p>\
         <ul>{items}</ul><p>This choice expires with the login (10 minutes by default).</p></body></html>",
        escape_html(slug),
    )
}

fn no_linked_account_page() -> String {
    format!(
        "{PAGE_HEAD}<title>No linked Instagram account</title>{PAGE_STYLE}\
         <body><h1>No linked Instagram account</h1>\
         <p>The Facebook login worked, but none of the Pages you manage has an Instagram professional account linked to it, so there is nothing to connect. Nothing was stored.</p>\
         <ol><li>Make sure the Instagram account is a professional (business or creator) account.</li>\
         <li>Link it to a Facebook Page you manage: in the Page's settings, <em>Linked accounts</em> &gt; Instagram, or in the Instagram app under <em>Settings &gt; Account type and tools</em>.</li>\
         <li>Grant the Page and the Instagram account to the app when Facebook asks, then connect again (<code>POST /admin/accounts/{{slug}}/reauth</code> or the operator page).</li></ol></body></html>"
    )
}

fn escape_html(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

/// Meta's deauthorize callback: the user removed the app; forget their token.
///
/// Not called by frontends: Meta posts here when a user removes the app (the app's
/// "Deauthorize callback URL"). The form field `signed_request` is `<base64url
/// signature>.<base64url JSON payload>`, signed with HMAC-SHA256 and the app secret; the
/// payload needs `algorithm` (`HMAC-SHA256`), `user_id` and `issued_at`.
///
/// When `user_id` is the connected account (its Instagram id or the app-scoped id), the stored
/// token and the cached feed are deleted, on every replica. A request issued before the
/// account's current authorization is a replay: the token is kept. The answer is
/// `{"status":"ok"}` either way. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_signed_request`: malformed, wrongly signed, or a payload without
/// `issued_at` or with a missing or unsupported algorithm; nothing is deleted. `413
/// payload_too_large` (body over 16 KiB), `415 unsupported_media_type` (not a form),
/// `408 request_timeout` (the body did not arrive within `server.body_timeout_secs`), `503
/// store_unavailable`.
#[utoipa::path(
    tag = "oauth",
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Handled (whether or not the user's token was stored)", body = DeauthorizeResponse,
         example = json!({"status": "ok"})),
        (status = 400, description = "Bad or missing signed_request; nothing deleted", body = Problem, content_type = "application/problem+json",
         examples(
            ("signature" = (summary = "Wrong signature", value = json!(examples::problem("invalid_signed_request", "Invalid signed_request", 400, "signed_request signature does not match")))),
            ("form" = (summary = "Not <signature>.<payload>", value = json!(examples::problem("invalid_signed_request", "Invalid signed_request", 400, "signed_request is not of the form <signature>.<payload>")))),
         )),
        (status = 408, description = "The body did not arrive within `server.body_timeout_secs`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("request_timeout", "Request timeout", 408, "the request body did not arrive in time"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "Body is not a form", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/x-www-form-urlencoded"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         example = json!(examples::store_unavailable())),
    )
)]
#[post("/deauthorize")]
pub async fn handle_deauthorize(
    form: web::Form<SignedRequestForm>,
    connections: web::Data<Connections>,
) -> Result<web::Json<DeauthorizeResponse>, ApiError> {
    connections.forget_signed_user(&form.signed_request).await?;
    Ok(web::Json(DeauthorizeResponse { status: "ok" }))
}

/// Meta's data-deletion callback: deletes the user's token and cached data, returns a
/// confirmation code and a status URL.
///
/// Not called by frontends: Meta posts here for a user's data-deletion request (the app's
/// "Data deletion request URL"). It takes the same `signed_request` form as
/// `POST /oauth/deauthorize` and verifies it the same way. When the user is the connected
/// account, the token and the cached feed (the only user data the service holds) are deleted.
/// Every valid request is recorded for 90 days under a confirmation code; `url` is where the
/// user checks its status (`GET /oauth/data-deletion/{code}`), on `server.public_url`. Never
/// cached (`Cache-Control: no-store`).
///
/// **Errors** as for `POST /oauth/deauthorize`: `400 invalid_signed_request` (nothing is
/// deleted or recorded), `408`, `413`, `415`, `503 store_unavailable`.
#[utoipa::path(
    tag = "oauth",
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Deleted; where to check the status", body = DataDeletionResponse,
         example = json!({
            "url": "http://127.0.0.1:8080/oauth/data-deletion/k3J9sQ2mXc8VbN4tR7wZ",
            "confirmation_code": "k3J9sQ2mXc8VbN4tR7wZ"
         })),
        (status = 400, description = "Bad or missing signed_request; nothing deleted", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("invalid_signed_request", "Invalid signed_request", 400, "signed_request payload is not valid JSON with a user_id and an issued_at"))),
        (status = 408, description = "The body did not arrive within `server.body_timeout_secs`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("request_timeout", "Request timeout", 408, "the request body did not arrive in time"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "Body is not a form", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/x-www-form-urlencoded"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         example = json!(examples::store_unavailable())),
    )
)]
#[post("/data-deletion")]
pub async fn handle_data_deletion(
    form: web::Form<SignedRequestForm>,
    connections: web::Data<Connections>,
    deletions: web::Data<DataDeletions>,
    pages: web::Data<OAuthPages>,
) -> Result<web::Json<DataDeletionResponse>, ApiError> {
    let requested_at = Utc::now();
    connections.forget_signed_user(&form.signed_request).await?;
    let status = deletions.record(requested_at).await?;
    Ok(web::Json(DataDeletionResponse {
        url: format!(
            "{}/oauth/data-deletion/{}",
            pages.public_url, status.confirmation_code
        ),
        confirmation_code: status.confirmation_code,
    }))
}

/// The status of a data-deletion request.
///
/// The page behind the `url` that `POST /oauth/data-deletion` returned: Meta shows it to the
/// user who asked for the deletion. Deletion runs synchronously, so every known request is
/// `completed`. Codes can be looked up for 90 days. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: the code is not 20 letters and digits. `404 not_found`:
/// no request with this code (or it is older than 90 days). `503 store_unavailable`.
#[utoipa::path(
    tag = "oauth",
    params(DeletionPath),
    responses(
        (status = 200, description = "The request and its status", body = DeletionStatus,
         example = json!({
            "confirmation_code": "k3J9sQ2mXc8VbN4tR7wZ",
            "status": "completed",
            "requested_at": "2026-12-01T02:41:07.118532904Z",
            "completed_at": "2026-12-01T02:41:07.121947316Z"
         })),
        (status = 400, description = "Not a confirmation code", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("a confirmation code is 20 letters and digits"))),
        (status = 404, description = "Unknown confirmation code", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("not_found", "Not found", 404, "no data-deletion request with this code"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         example = json!(examples::store_unavailable())),
    )
)]
#[get("/data-deletion/{code}")]
pub async fn get_data_deletion_status(
    path: web::Path<DeletionPath>,
    deletions: web::Data<DataDeletions>,
) -> Result<web::Json<DeletionStatus>, ApiError> {
    if !DataDeletions::is_code(&path.code) {
        return Err(ApiError::BadRequest(
            "a confirmation code is 20 letters and digits".to_owned(),
        ));
    }
    deletions
        .find(&path.code)
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::NotFound("no data-deletion request with this code".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_escaped_in_the_page() {
        let page = connected_page(
            "@<script>x</script>",
            "2027-01-01T00:00:00+00:00",
            "is refreshed",
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
