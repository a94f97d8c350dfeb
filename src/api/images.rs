//! `GET /images` and `GET /images/{id}`: the account's media, newest first.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::feed_http::{FeedCacheControl, TypeParam, page_request, respond};
use crate::error::{ApiError, Problem};
use crate::feed::{Feed, FeedQuery, Media, MediaPageSchema};
use crate::metrics::Metrics;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImagesQuery {
    /// Items per page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20)]
    limit: Option<String>,
    /// `paging.next_cursor` of the previous page.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<String>,
    /// Only this kind of post.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<TypeParam>, inline)]
    media_type: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ImagePath {
    /// The media id.
    #[param(pattern = "^[0-9]{1,32}$", example = "17918195224117851")]
    id: String,
}

/// The account's posts, newest first, a page at a time.
#[utoipa::path(
    tag = "feed",
    params(ImagesQuery),
    responses(
        (status = 200, description = "A page of posts", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body; send it back as If-None-Match"),
            ("Cache-Control" = String, description = "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400 (configurable)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` (and `fwd-status=<code>` after a failed sync) when served stale"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         )),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 400, description = "Unknown parameter, out-of-range value or malformed cursor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No snapshot yet (first sync running or no account connected)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
#[get("")]
pub async fn list_images(
    req: HttpRequest,
    query: web::Query<ImagesQuery>,
    feed: web::Data<Feed>,
    cache_control: web::Data<FeedCacheControl>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let request = page_request(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        q.media_type.as_deref(),
    )?;
    let served = feed.into_inner().read(&FeedQuery::Images(request)).await;
    respond(&req, served, &cache_control, &metrics)
}

/// One post.
#[utoipa::path(
    tag = "feed",
    params(ImagePath),
    responses(
        (status = 200, description = "The post", body = Media,
         headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "As for /images"),
            ("Cache-Status" = String, description = "As for /images"),
         )),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 400, description = "The id is not digits", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No post with this id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No snapshot yet", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
#[get("/{id}")]
pub async fn get_image(
    req: HttpRequest,
    path: web::Path<ImagePath>,
    feed: web::Data<Feed>,
    cache_control: web::Data<FeedCacheControl>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner().id;
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest("a media id is digits only".to_owned()));
    }
    let served = feed.into_inner().read(&FeedQuery::One(id)).await;
    respond(&req, served, &cache_control, &metrics)
}
