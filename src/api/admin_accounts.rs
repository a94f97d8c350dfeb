//! `/admin/accounts`: adding, listing, inspecting and deleting accounts, and the per-account
//! versions of `/admin/reauth`, `/admin/token/refresh` and `/admin/sync` (which share their
//! code with `admin.rs`). Every handler takes `AdminAuth`.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::account::{SlugAccount, SlugPath};
use super::admin::{self, AdminStatus, ReauthResponse, SyncResponse};
use super::admin_auth::AdminAuth;
use super::admin_errors::{AccountNotFound, AdminFailures};
use super::examples;
use crate::accounts::{Account, AccountError, Accounts, Connections, Slug};
use crate::assets::Assets;
use crate::auth::TokenStatus;
use crate::error::{ApiError, Problem};
use crate::feed::FeedStatus;
use crate::instagram::Login;

const MAX_LABEL_CHARS: usize = 100;

/// `POST /admin/accounts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// The account's name in URLs (`/accounts/{slug}/images`) and store keys; cannot change.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$", example = "shop")]
    slug: String,
    /// A name for operators: 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
        example = "The shop in Lyon"
    )]
    label: Option<String>,
    /// How the account connects; cannot change. `instagram` (default): Instagram Login, the
    /// token refreshed by the gateway. `facebook`: Facebook Login through a Page linked to the
    /// account, needed for public hashtag search (`source=public`); its token lasts ~60 days
    /// and needs a new login before then.
    #[serde(default)]
    login: Login,
}

/// One account: its registration, token and feed.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,31}$", example = "shop")]
    slug: String,
    /// The operator's name for it; null when none was given.
    #[schema(required = true, example = "The shop in Lyon")]
    label: Option<String>,
    created_at: DateTime<Utc>,
    /// How the account connects (Instagram Login or Facebook Login).
    login: Login,
    /// Whether this is `accounts.default`, the account `/images`, `/search` and the
    /// single-account admin routes serve. It cannot be unregistered, only emptied.
    default: bool,
    token: TokenStatus,
    feed: FeedStatus,
}

#[derive(Serialize, ToSchema)]
pub struct AccountList {
    /// Every account, by slug.
    accounts: Vec<AccountView>,
    /// `accounts.max`: how many accounts may exist.
    #[schema(example = 100)]
    max: usize,
}

async fn view(account: &Account, accounts: &Accounts) -> Result<AccountView, ApiError> {
    let record = account.record();
    Ok(AccountView {
        slug: account.slug.to_string(),
        label: record.label,
        created_at: record.created_at,
        login: record.login,
        default: account.slug == *accounts.default_slug(),
        token: account.tokens.status().await?,
        feed: account.feed.status(),
    })
}

fn check_label(label: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(label) = label else { return Ok(None) };
    let chars = label.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "`label` must be 1 to {MAX_LABEL_CHARS} characters, without control characters"
        )));
    }
    Ok(Some(label))
}

/// Adds an account (not connected yet).
///
/// Registers `slug` on every replica; connect it with `POST /admin/accounts/{slug}/reauth`.
/// Until then, its feed answers `503 feed_unavailable`. At most `accounts.max` accounts exist
/// (100 by default).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: a slug not matching `^[a-z0-9][a-z0-9-]{0,31}$`, a label
/// over 100 characters or with control characters, an unknown field, or a body that is not
/// JSON. `409 account_exists`: the slug is taken. `409 accounts_full`: `accounts.max` accounts
/// exist. `409 facebook_not_configured`: `login` is `facebook` and `facebook.app_id` /
/// `facebook.app_secret` are not set. `415 unsupported_media_type`: the body is not `application/json`. `401`, `429`, `503
/// store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    request_body(content = NewAccount, content_type = "application/json",
                 example = json!({"slug": "shop", "label": "The shop in Lyon"})),
    responses(
        (status = 201, description = "Added; not connected yet", body = AccountView,
         headers(("Location" = String, description = "`/admin/accounts/{slug}`")),
         example = json!(examples::new_account())),
        (status = 400, description = "Invalid slug or label, unknown field, or not JSON", body = Problem, content_type = "application/problem+json",
         examples(
            ("slug" = (summary = "slug=Shop", value = json!(examples::invalid_request("`Shop` is not a valid account slug: 1 to 32 characters, lowercase letters, digits and `-`, not starting with `-`")))),
            ("label" = (summary = "A label of 101 characters", value = json!(examples::invalid_request("`label` must be 1 to 100 characters, without control characters")))),
         )),
        (status = 409, description = "The slug is taken, or `accounts.max` accounts exist", body = Problem, content_type = "application/problem+json",
         examples(
            ("account_exists" = (summary = "The slug is taken", value = json!(examples::problem("account_exists", "Account exists", 409, "the account `shop` already exists")))),
            ("accounts_full" = (summary = "accounts.max reached", value = json!(examples::problem("accounts_full", "Too many accounts", 409, "`accounts.max` (100) accounts exist already; delete one first")))),
         )),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/json"))),
        AdminFailures,
    )
)]
#[post("/accounts")]
pub async fn create_account(
    _: AdminAuth,
    accounts: web::Data<Accounts>,
    body: web::Json<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let NewAccount { slug, label, login } = body.into_inner();
    let slug = Slug::parse(&slug).map_err(AccountError::from)?;
    let label = check_label(label)?;
    let account = accounts.create(slug, label, login).await?;
    let body = view(&account, &accounts).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/admin/accounts/{}", account.slug),
        ))
        .json(body))
}

/// Every account, with its token's state and expiry and its feed's status.
///
/// `token` and `feed` are what `GET /admin/status` says of the default account, for each one
/// (`token.reauth_required: true`: connect it with `POST /admin/accounts/{slug}/reauth`).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The accounts, by slug", body = AccountList,
         example = json!(examples::account_list())),
        AdminFailures,
    )
)]
#[get("/accounts")]
pub async fn list_accounts(
    _: AdminAuth,
    accounts: web::Data<Accounts>,
) -> Result<web::Json<AccountList>, ApiError> {
    let all = accounts.all();
    let views = try_join_all(all.iter().map(|account| view(account, &accounts))).await?;
    Ok(web::Json(AccountList {
        accounts: views,
        max: accounts.max(),
    }))
}

/// One account, with its token's state and expiry and its feed's status.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`: no account `{slug}`. `401`, `429`, `503
/// store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(SlugPath),
    responses(
        (status = 200, description = "The account", body = AccountView,
         example = json!(examples::account())),
        AccountNotFound,
        AdminFailures,
    )
)]
#[get("/accounts/{slug}")]
pub async fn get_account(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    accounts: web::Data<Accounts>,
) -> Result<web::Json<AccountView>, ApiError> {
    Ok(web::Json(view(&account, &accounts).await?))
}

/// Deletes an account: its token, snapshot and stored pictures, and its background work.
///
/// On every replica within about `feed.version_poll_ms`; `/accounts/{slug}/...` then answers
/// `404 account_not_found`. Instagram is not called: the app's access is not revoked there.
/// The default account (`accounts.default`) stays registered, emptied: `/images` answers `503
/// feed_unavailable` until it is connected again.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`: no account `{slug}`. `401`, `429`, `503
/// store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(SlugPath),
    responses(
        (status = 204, description = "Deleted (the default account: emptied)"),
        AccountNotFound,
        AdminFailures,
    )
)]
#[delete("/accounts/{slug}")]
pub async fn delete_account(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    connections: web::Data<Connections>,
) -> Result<HttpResponse, ApiError> {
    connections.delete(account.slug.as_str()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts (re-)authorization of the account `{slug}`: the Instagram authorize URL.
///
/// The same as `POST /admin/reauth`, for the account `{slug}`: its one-time `state` names the
/// account, so `GET /oauth/callback` stores the token as `{slug}`'s. An Instagram account
/// already connected under another slug is refused there (`409 account_conflict`).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`: no account `{slug}`. `401`, `429`, `503
/// store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(SlugPath),
    responses(
        (status = 200, description = "Authorize URL with a fresh one-time state naming the account", body = ReauthResponse,
         example = json!(examples::reauth_response())),
        AccountNotFound,
        AdminFailures,
    )
)]
#[post("/accounts/{slug}/reauth")]
pub async fn start_account_reauth(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<ReauthResponse>, ApiError> {
    admin::reauth(&account).await
}

/// Refreshes the account `{slug}`'s long-lived token now.
///
/// The same as `POST /admin/token/refresh`, for the account `{slug}`: the token must be at
/// least 24 hours old; returns the new status (`assets` covers every account's pictures).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`: no account `{slug}`. `409 token_too_young`,
/// `token_missing`, `reauth_required`, `refresh_in_progress` and `502 upstream_error` as for
/// `POST /admin/token/refresh`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(SlugPath),
    responses(
        (status = 200, description = "Refreshed; the new status", body = AdminStatus,
         example = json!(examples::refreshed_status())),
        (status = 409, description = "No token, token invalid/expired (re-auth required), younger than 24 h, or a refresh already running", body = Problem, content_type = "application/problem+json",
         examples(
            ("token_too_young" = (summary = "Under 24 hours old", value = json!(examples::problem("token_too_young", "Token too young to refresh", 409, "Instagram only refreshes tokens at least 24 hours old; this one can be refreshed from 2026-12-02 02:34:17.507219945 UTC")))),
            ("token_missing" = (summary = "The account is not connected", value = json!(examples::problem("token_missing", "No token", 409, "no Instagram account is connected; run POST /admin/reauth")))),
         )),
        (status = 502, description = "Instagram refused or failed the refresh", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "When Instagram throttles (its estimate, else 60) or on a transient failure (5)")),
         example = json!(examples::upstream_error("Instagram rejected the access token"))),
        AccountNotFound,
        AdminFailures,
    )
)]
#[post("/accounts/{slug}/token/refresh")]
pub async fn refresh_account_token(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    assets: web::Data<Assets>,
) -> Result<web::Json<AdminStatus>, ApiError> {
    admin::refresh(&account, &assets).await
}

/// Syncs the account `{slug}`'s feed now, ignoring the failure backoff.
///
/// The same as `POST /admin/sync`, for the account `{slug}`; other accounts are not synced.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`: no account `{slug}`. `409 reauth_required`, `502
/// upstream_error`, `503 sync_unavailable` as for `POST /admin/sync`. `401`, `429`, `503
/// store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(SlugPath),
    responses(
        (status = 200, description = "Synced; the new feed status", body = SyncResponse,
         example = json!(examples::sync_response())),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json",
         headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"admin\"`")),
         example = json!(examples::unauthorized())),
        (status = 404, description = "No account with this slug", body = Problem, content_type = "application/problem+json",
         example = json!(examples::account_not_found())),
        (status = 409, description = "No usable token: re-authorization required", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("reauth_required", "Re-authorization required", 409, "no Instagram account is connected; the operator must re-authorize"))),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`, 60 by default)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 502, description = "Instagram failed the sync; the last snapshot is still served", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "When Instagram throttles (its estimate, else 60) or on a transient failure (5)")),
         example = json!(examples::upstream_error("Instagram is temporarily unavailable"))),
        (status = 503, description = "The store is unavailable, or another replica is syncing", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         examples(
            ("sync_unavailable" = (summary = "Another replica's sync did not finish in time", value = json!(examples::problem("sync_unavailable", "Sync unavailable", 503, "the first sync is running on another replica")))),
            ("store_unavailable" = (summary = "Redis did not answer", value = json!(examples::store_unavailable()))),
         )),
    )
)]
#[post("/accounts/{slug}/sync")]
pub async fn sync_account(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<SyncResponse>, ApiError> {
    admin::sync(&account).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_and_printable() {
        assert_eq!(check_label(None).unwrap(), None);
        let ok = "é".repeat(100);
        assert_eq!(check_label(Some(ok.clone())).unwrap(), Some(ok));
        for bad in [
            String::new(),
            "x".repeat(101),
            "a\nb".to_owned(),
            "\u{7f}".to_owned(),
        ] {
            assert!(check_label(Some(bad.clone())).is_err(), "{bad:?}");
        }
    }
}
