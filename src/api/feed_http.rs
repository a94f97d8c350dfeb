//! What `/images` and `/search` share: parameter validation and the cached response with its
//! HTTP caching headers (ETag, Cache-Control, Cache-Status, Age).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::feed::{Cursor, FeedError, MediaType, PageRequest, Served, accepts_gzip};
use crate::metrics::Metrics;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
const CACHE_STATUS: &str = "cache-status";

/// `type` values.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeParam {
    Image,
    Video,
    CarouselAlbum,
}

/// The `Cache-Control` of feed responses, from configuration.
pub struct FeedCacheControl(pub HeaderValue);

impl FeedCacheControl {
    pub fn new(feed: &crate::config::FeedSettings) -> Self {
        let value = format!(
            "public, max-age={}, stale-while-revalidate={}, stale-if-error={}",
            feed.client_max_age.as_secs(),
            feed.stale_while_revalidate.as_secs(),
            feed.stale_if_error.as_secs()
        );
        Self(
            HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("public, max-age=60")),
        )
    }
}

/// Validates `limit`, `cursor` and `type` (all optional) into a page request.
pub fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
    media_type: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("`limit` must be an integer from 1 to {MAX_LIMIT}"))
            })?,
    };
    let cursor = cursor
        .map(|raw| Cursor::decode(raw).map_err(|e| ApiError::BadRequest(e.to_string())))
        .transpose()?;
    let media_type = media_type
        .map(|raw| match raw {
            "image" => Ok(MediaType::Image),
            "video" => Ok(MediaType::Video),
            "carousel_album" => Ok(MediaType::CarouselAlbum),
            _ => Err(ApiError::BadRequest(
                "`type` must be one of image, video, carousel_album".to_owned(),
            )),
        })
        .transpose()?;
    Ok(PageRequest {
        limit,
        cursor,
        media_type,
    })
}

/// 200 with the cached bytes, or 304 when the client already has them.
pub fn respond(
    req: &HttpRequest,
    served: Result<Served, FeedError>,
    cache_control: &FeedCacheControl,
    metrics: &Metrics,
) -> Result<HttpResponse, ApiError> {
    let Served {
        rendered,
        freshness,
        cache_miss,
    } = served?;
    let cache_status = match (freshness.stale, freshness.failed_status) {
        (false, _) => HeaderValue::from_static("instagram-gateway; hit"),
        (true, None) => HeaderValue::from_static("instagram-gateway; hit; fwd=stale"),
        (true, Some(status)) => HeaderValue::from_str(&format!(
            "instagram-gateway; hit; fwd=stale; fwd-status={status}"
        ))
        .unwrap_or(HeaderValue::from_static(
            "instagram-gateway; hit; fwd=stale",
        )),
    };
    // Precomputed gzip for clients that accept it; nothing is compressed per request.
    let gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let variant = rendered.variant(gzip);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| variant.matches(v));
    let results = &metrics.feed_responses;
    let result = if not_modified {
        &results.not_modified
    } else if freshness.stale {
        &results.stale
    } else if cache_miss {
        &results.miss
    } else {
        &results.hit
    };
    result.inc();
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, variant.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache_control.0.clone()))
        .insert_header((CACHE_STATUS, cache_status))
        .append_header((header::VARY, HeaderValue::from_static("Accept-Encoding")));
    if variant.gzipped {
        response.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    }
    if freshness.stale {
        response.insert_header((header::AGE, freshness.age_secs.to_string()));
    }
    Ok(if not_modified {
        response.finish()
    } else {
        response
            .content_type(mime_json())
            .body(variant.body.clone())
    })
}

fn mime_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}
