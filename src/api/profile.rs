//! `GET /accounts/{slug}`: the account's Instagram profile, cached like the feed.

use actix_web::{HttpRequest, HttpResponse, get, web};

use super::account::{SlugPath, path_slug};
use super::examples;
use super::feed_http::{FeedEndpoint, query_params};
use crate::error::{ApiError, Problem};
use crate::feed::{AccountProfile, FeedQuery};

/// The account's Instagram profile: username, name, biography, website, picture and counts.
///
/// For a header above an account's gallery. Synced with the account's media (every
/// `feed.refresh_interval_secs`) and served from memory with the same caching headers as
/// `GET /images` (strong `ETag`, `304` on `If-None-Match`, `Cache-Control`, `Cache-Status`,
/// HEAD). The fields Instagram Login offers; those Instagram does not return for the account
/// (a creator without a website, say) are `null`, and so are all but `username` until the
/// first profile read. `profile_picture_url` is the gateway's re-hosted copy once ready
/// (`profile_picture` then describes it), Instagram's expiring URL until then.
///
/// **Errors.** `400 invalid_request` (any query parameter), `404 account_not_found`, `503
/// feed_unavailable` (the account is not connected or its first sync has not finished; with
/// `Retry-After`), `429 rate_limited` (under `rate_limit.images_per_minute`).
#[utoipa::path(
    tag = "feed",
    params(SlugPath),
    responses(
        (status = 200, description = "The profile", body = AccountProfile,
         headers(
            ("ETag" = String, description = "Strong validator of the body; send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211, as on `GET /images`"),
         ),
         example = json!({
            "slug": "shop",
            "username": "sandbox.shop",
            "name": "Sandbox Shop",
            "biography": null,
            "website": null,
            "profile_picture_url": "https://gw.example.com/assets/5d41402abc4b2a76b9719d911017c592.webp",
            "profile_picture": {
                "width": 320, "height": 320,
                "placeholder": "mPcFDQJ4h4d4h4eIh3eIiHiAAAAAAA==",
                "color": "#b58a66",
                "sizes": [{"width": 320, "height": 320, "url": "https://gw.example.com/assets/5d41402abc4b2a76b9719d911017c592.webp"}]
            },
            "followers_count": 1250,
            "follows_count": 180,
            "media_count": 36,
            "synced_at": "2026-12-01T10:43:42Z"
         })),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body."),
        (status = 400, description = "A query parameter was given", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("invalid query string: unknown parameter `x`, expected one of "))),
        (status = 404, description = "No account with this slug", body = Problem, content_type = "application/problem+json",
         example = json!(examples::account_not_found())),
        (status = 429, description = "Too many requests from this client; only when `rate_limit.images_per_minute` is set",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 503, description = "The account is not connected, or its first sync has not finished",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("the first sync with Instagram is still running"))),
    )
)]
#[get("")]
pub async fn get_profile(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
) -> Result<HttpResponse, ApiError> {
    query_params(req.query_string(), &[])?;
    endpoint
        .serve(&req, Some(path_slug(&req)), &FeedQuery::Profile)
        .await
}
