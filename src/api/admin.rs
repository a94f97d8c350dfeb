//! Operator endpoints. Every handler takes `AdminAuth`, so none runs without the bearer token.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::account::DefaultAccount;
use super::admin_auth::AdminAuth;
use super::admin_errors::AdminFailures;
use super::examples;
use crate::accounts::Account;
use crate::assets::{AssetStatus, Assets};
use crate::auth::TokenStatus;
use crate::error::{ApiError, Problem};
use crate::feed::FeedStatus;

#[derive(Serialize, ToSchema)]
pub struct ReauthResponse {
    /// Open this in a browser and log in to the Instagram professional account.
    #[schema(
        example = "https://www.instagram.com/oauth/authorize?client_id=990602627938098&redirect_uri=https%3A%2F%2Fgateway.example.com%2Foauth%2Fcallback&response_type=code&scope=instagram_business_basic&state=3q2-7wQm0kq0G1jq4mW6bS5QdL7i2k8x9yZaBcDeFgH&force_authentication=1&enable_fb_login=0"
    )]
    authorize_url: String,
    /// The URL's one-time `state` is accepted until then.
    state_expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminStatus {
    token: TokenStatus,
    feed: FeedStatus,
    /// The re-hosted pictures of the feed.
    assets: AssetStatus,
}

#[derive(Serialize, ToSchema)]
pub struct AssetsRetryResponse {
    /// Failed pictures queued again.
    requeued: usize,
    assets: AssetStatus,
}

#[derive(Serialize, ToSchema)]
pub struct SyncResponse {
    feed: FeedStatus,
}

/// Starts (re-)authorization: returns the Instagram authorize URL for the operator to open.
///
/// Connects the Instagram professional account the first time, and again whenever the token is
/// missing, expired or invalid (`GET /admin/status` says `reauth_required: true`). Open
/// `authorize_url` in a browser and log in; Instagram then redirects to `GET /oauth/callback`,
/// which stores the token. The URL is `instagram.authorize_url` with `client_id`,
/// `redirect_uri` (the configured one, whatever the request's headers say), `response_type=code`,
/// `scope`, `force_authentication=1`, `enable_fb_login=0` and a fresh one-time `state` (256
/// random bits) that expires after `oauth.state_ttl_secs` (10 minutes).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `401`, `429`, `503 store_unavailable` (the state could not be stored).
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Authorize URL with a fresh one-time state", body = ReauthResponse,
         example = json!({
            "authorize_url": "http://127.0.0.1:8080/sandbox/oauth/authorize?client_id=1000000000000001&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fcallback&response_type=code&scope=instagram_business_basic&state=BnZI2wcViwJDEr6uBH0Hnie-IE1Zj0Cc84Rr-U-rmtA&force_authentication=1&enable_fb_login=0",
            "state_expires_at": "2026-12-01T02:44:21.491844507Z"
         })),
        AdminFailures,
    )
)]
#[post("/reauth")]
pub async fn start_reauth(
    _: AdminAuth,
    DefaultAccount(account): DefaultAccount,
) -> Result<web::Json<ReauthResponse>, ApiError> {
    reauth(&account).await
}

/// `POST /admin/reauth` and `POST /admin/accounts/{slug}/reauth`: the state names `account`.
pub(super) async fn reauth(account: &Account) -> Result<web::Json<ReauthResponse>, ApiError> {
    let request = account.tokens.start_authorization().await?;
    Ok(web::Json(ReauthResponse {
        authorize_url: request.authorize_url.into(),
        state_expires_at: request.state_expires_at,
    }))
}

/// The token's state, expiry and last error.
///
/// What an operator or a dashboard checks: whether an account is connected and its token
/// usable (`token.state`: `missing`, `valid`, `refresh_due`, `expired` or `invalid`;
/// `token.reauth_required` is true when only `POST /admin/reauth` can help), and the state of
/// the feed's sync under `feed`: the snapshot's `version`, `synced_at`, `items`,
/// `next_sync_at`, `urls_expire_at` (the earliest expiry of a signed media URL), the last sync
/// error and the latest usage figures Instagram reported (`rate_limit`), and the re-hosted
/// pictures under `assets`: how many of the feed's pictures are `ready`, `pending` or `failed`
/// (retried with backoff; Instagram's URL is served meanwhile) and the `bytes` stored.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `401`, `429`, `503 store_unavailable` (the token could not be read).
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Current status", body = AdminStatus,
         examples(
            ("Connected" = (summary = "The sandbox account, synced", value = json!(examples::admin_status()))),
            ("Not connected" = (summary = "No account yet: run POST /admin/reauth", value = json!(examples::admin_status_missing()))),
         )),
        AdminFailures,
    )
)]
#[get("/status")]
pub async fn get_admin_status(
    _: AdminAuth,
    DefaultAccount(account): DefaultAccount,
    assets: web::Data<Assets>,
) -> Result<web::Json<AdminStatus>, ApiError> {
    Ok(web::Json(AdminStatus {
        token: account.tokens.status().await?,
        feed: account.feed.status(),
        assets: assets.status(),
    }))
}

/// Refreshes the long-lived token now (Instagram requires it to be at least 24 hours old).
///
/// The service refreshes the token by itself once it expires within `token.refresh_margin_secs`
/// (10 days); this forces a refresh now, ignoring the margin, and returns the new status. One
/// replica at a time refreshes (a Redis lock).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `409 token_too_young`: the token is under 24 hours old, so Instagram would
/// refuse (the detail says from when it can be refreshed). `409 token_missing`: no token is
/// stored. `409 reauth_required`: the token is invalid or expired. `409 refresh_in_progress`:
/// another replica is refreshing. `502 upstream_error`: Instagram refused or failed; the stored
/// token is unchanged. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Refreshed; the new status", body = AdminStatus,
         example = json!(examples::refreshed_status())),
        (status = 409, description = "No token, token invalid/expired (re-auth required), younger than 24 h, or a refresh already running", body = Problem, content_type = "application/problem+json",
         examples(
            ("token_too_young" = (summary = "Under 24 hours old", value = json!(examples::problem("token_too_young", "Token too young to refresh", 409, "Instagram only refreshes tokens at least 24 hours old; this one can be refreshed from 2026-12-02 02:34:17.507219945 UTC")))),
            ("token_missing" = (summary = "No account connected", value = json!(examples::problem("token_missing", "No token", 409, "no Instagram account is connected; run POST /admin/reauth")))),
            ("reauth_required" = (summary = "Invalid or expired", value = json!(examples::problem("reauth_required", "Re-authorization required", 409, "the token is expired; only a new authorization (POST /admin/reauth) helps")))),
            ("refresh_in_progress" = (summary = "Another replica is refreshing", value = json!(examples::problem("refresh_in_progress", "Refresh in progress", 409, "another refresh is in progress")))),
         )),
        (status = 502, description = "Instagram refused or failed the refresh", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "When Instagram throttles (its estimate, else 60) or on a transient failure (5)")),
         example = json!(examples::upstream_error("Instagram rejected the access token"))),
        AdminFailures,
    )
)]
#[post("/token/refresh")]
pub async fn refresh_token(
    _: AdminAuth,
    DefaultAccount(account): DefaultAccount,
    assets: web::Data<Assets>,
) -> Result<web::Json<AdminStatus>, ApiError> {
    refresh(&account, &assets).await
}

/// `POST /admin/token/refresh` and `POST /admin/accounts/{slug}/token/refresh`.
pub(super) async fn refresh(
    account: &Account,
    assets: &Assets,
) -> Result<web::Json<AdminStatus>, ApiError> {
    Ok(web::Json(AdminStatus {
        token: account.tokens.refresh_now().await?,
        feed: account.feed.status(),
        assets: assets.status(),
    }))
}

/// Syncs the feed now, ignoring the failure backoff; joins a sync already running.
///
/// The service syncs by itself every `feed.refresh_interval_secs` (15 minutes), before the
/// media URLs expire, and when a read finds the snapshot stale; call this after publishing a
/// post to show it at once. It ignores the pause after a failure (a throttling pause too).
/// Concurrent calls join the sync that is running; when a scheduled sync is already running,
/// this one runs right after it, so what it returns was fetched after the call. When another
/// replica holds the sync lock, it waits up to `feed.cold_wait_ms` for that replica's snapshot.
/// A new snapshot reaches every replica within about `feed.version_poll_ms`; an unchanged feed
/// keeps its version, and so its ETags.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `409 reauth_required`: no usable token (missing, invalid or expired); no call
/// is made. `502 upstream_error`: Instagram failed the sync; reads keep serving the last
/// snapshot and `feed.last_error` in `GET /admin/status` says what happened. `503
/// sync_unavailable`: another replica's sync did not finish in time, or the sync stopped
/// unexpectedly. `503 store_unavailable`: Redis did not answer. `401`, `429`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Synced; the new feed status", body = SyncResponse,
         example = json!(examples::sync_response())),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json",
         headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"admin\"`")),
         example = json!(examples::unauthorized())),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`, 60 by default)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 409, description = "No usable token: re-authorization required", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("reauth_required", "Re-authorization required", 409, "no Instagram account is connected; the operator must re-authorize"))),
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
#[post("/sync")]
pub async fn sync_feed(
    _: AdminAuth,
    DefaultAccount(account): DefaultAccount,
) -> Result<web::Json<SyncResponse>, ApiError> {
    sync(&account).await
}

/// `POST /admin/sync` and `POST /admin/accounts/{slug}/sync`.
pub(super) async fn sync(account: &Account) -> Result<web::Json<SyncResponse>, ApiError> {
    account.feed.start_sync(true).await?;
    Ok(web::Json(SyncResponse {
        feed: account.feed.status(),
    }))
}

/// Tries every failed picture again now.
///
/// A picture that could not be re-hosted (the CDN refused or timed out, the bytes were not a
/// picture or too large, the asset store failed) keeps Instagram's URL and is retried with a
/// backoff that doubles from `assets.retry_backoff_secs` up to 6 hours (an expired CDN URL: at
/// the next sync's fresh URL). This forgets those failures on every replica, so they are
/// processed again within about a second. Returns how many were queued and the new status.
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
        (status = 200, description = "Failed pictures queued again", body = AssetsRetryResponse,
         example = json!(examples::assets_retry())),
        AdminFailures,
    )
)]
#[post("/assets/retry")]
pub async fn retry_assets(
    _: AdminAuth,
    assets: web::Data<Assets>,
) -> Result<web::Json<AssetsRetryResponse>, ApiError> {
    let requeued = assets.retry_failed().await?;
    Ok(web::Json(AssetsRetryResponse {
        requeued,
        assets: assets.status(),
    }))
}
