//! Operator endpoints. Every handler takes `AdminAuth`, so none runs without the bearer token.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::admin_auth::AdminAuth;
use crate::auth::{TokenService, TokenStatus};
use crate::error::{ApiError, Problem};
use crate::feed::{Feed, FeedStatus};

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
}

#[derive(Serialize, ToSchema)]
pub struct SyncResponse {
    feed: FeedStatus,
}

/// Starts (re-)authorization: returns the Instagram authorize URL for the operator to open.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Authorize URL with a fresh one-time state", body = ReauthResponse),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reauth")]
pub async fn start_reauth(
    _: AdminAuth,
    tokens: web::Data<TokenService>,
) -> Result<web::Json<ReauthResponse>, ApiError> {
    let request = tokens.start_authorization().await?;
    Ok(web::Json(ReauthResponse {
        authorize_url: request.authorize_url.into(),
        state_expires_at: request.state_expires_at,
    }))
}

/// The token's state, expiry and last error.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Current status", body = AdminStatus),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed"))),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/status")]
pub async fn get_admin_status(
    _: AdminAuth,
    tokens: web::Data<TokenService>,
    feed: web::Data<Feed>,
) -> Result<web::Json<AdminStatus>, ApiError> {
    Ok(web::Json(AdminStatus {
        token: tokens.status().await?,
        feed: feed.status(),
    }))
}

/// Refreshes the long-lived token now (Instagram requires it to be at least 24 hours old).
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Refreshed; the new status", body = AdminStatus),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed"))),
        (status = 409, description = "No token, token invalid/expired (re-auth required), younger than 24 h, or a refresh already running", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Instagram refused or failed the refresh", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/token/refresh")]
pub async fn refresh_token(
    _: AdminAuth,
    tokens: web::Data<TokenService>,
    feed: web::Data<Feed>,
) -> Result<web::Json<AdminStatus>, ApiError> {
    Ok(web::Json(AdminStatus {
        token: tokens.refresh_now().await?,
        feed: feed.status(),
    }))
}

/// Syncs the feed now, ignoring the failure backoff; joins a sync already running.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Synced; the new feed status", body = SyncResponse),
        (status = 401, description = "Missing or wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed"))),
        (status = 409, description = "No usable token: re-authorization required", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Instagram failed the sync; the last snapshot is still served", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable, or another replica is syncing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sync")]
pub async fn sync_feed(
    _: AdminAuth,
    feed: web::Data<Feed>,
) -> Result<web::Json<SyncResponse>, ApiError> {
    let feed = feed.into_inner();
    feed.start_sync(true).await?;
    Ok(web::Json(SyncResponse {
        feed: feed.status(),
    }))
}
