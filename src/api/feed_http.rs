//! What `/images` and `/search` share: parameter validation and the cached response with its
//! HTTP caching headers (ETag, Cache-Control, Cache-Status, Age).

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{Account, Accounts};
use crate::config::FeedSettings;
use crate::error::ApiError;
use crate::feed::{Cursor, FeedQuery, MediaType, PageRequest, Served, accepts_gzip};
use crate::metrics::Metrics;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// `type` values.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TypeParam {
    Image,
    Video,
    CarouselAlbum,
}

/// What the feed endpoints need, as one piece of app data: one lookup per request.
pub struct FeedEndpoint {
    accounts: Arc<Accounts>,
    /// The `Cache-Control` of feed responses, from configuration.
    cache_control: HeaderValue,
    metrics: Arc<Metrics>,
}

impl FeedEndpoint {
    pub fn new(accounts: Arc<Accounts>, settings: &FeedSettings, metrics: Arc<Metrics>) -> Self {
        let value = format!(
            "public, max-age={}, stale-while-revalidate={}, stale-if-error={}",
            settings.client_max_age.as_secs(),
            settings.stale_while_revalidate.as_secs(),
            settings.stale_if_error.as_secs()
        );
        Self {
            accounts,
            cache_control: HeaderValue::from_str(&value)
                .unwrap_or(HeaderValue::from_static("public, max-age=60")),
            metrics,
        }
    }

    /// The cached answer to `query` about the account `slug` (the default account when
    /// `None`), as 200 or 304.
    pub async fn serve(
        &self,
        req: &HttpRequest,
        slug: Option<&str>,
        query: &FeedQuery,
    ) -> Result<HttpResponse, ApiError> {
        let account = self.account(slug)?;
        let served = account.feed.read(query).await.map_err(ApiError::from);
        respond(req, served, &self.cache_control, &self.metrics)
    }

    /// The account `slug` (the default account when `None`).
    pub fn account(&self, slug: Option<&str>) -> Result<Arc<Account>, ApiError> {
        match slug {
            None => Ok(self.accounts.default_account()?),
            Some(slug) => self
                .accounts
                .get(slug)
                .ok_or_else(|| super::account::unknown(slug)),
        }
    }

    /// An answer served like the feed's (ETag/304, `Cache-Control`, `Cache-Status`, `Age`).
    pub fn respond<E: Into<ApiError>>(
        &self,
        req: &HttpRequest,
        served: Result<Served, E>,
    ) -> Result<HttpResponse, ApiError> {
        respond(
            req,
            served.map_err(Into::into),
            &self.cache_control,
            &self.metrics,
        )
    }
}

/// The values of an endpoint's query parameters, in the order of `names`. What `web::Query`
/// would give, without its allocations: `+` and percent-escapes decoded, and a parameter
/// not in `names`, or given twice, refused.
pub fn query_params<'q, const N: usize>(
    query: &'q str,
    names: &[&str; N],
) -> Result<[Option<Cow<'q, str>>; N], ApiError> {
    let mut values: [Option<Cow<'q, str>>; N] = std::array::from_fn(|_| None);
    for (name, value) in query_pairs(query) {
        let Some(slot) = names.iter().position(|known| *known == name) else {
            let expected = names
                .iter()
                .map(|known| format!("`{known}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::BadRequest(format!(
                "invalid query string: unknown parameter `{name}`, expected one of {expected}"
            )));
        };
        if values[slot].replace(value).is_some() {
            return Err(ApiError::BadRequest(format!(
                "invalid query string: `{name}` is given more than once"
            )));
        }
    }
    Ok(values)
}

/// The query's pairs, decoded as a form is. Most queries need no decoding: their pairs are
/// borrowed as they are, without the decoder's passes over every byte.
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            if pair.bytes().any(|b| b == b'%' || b == b'+') {
                form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .unwrap_or_default()
            } else {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (Cow::Borrowed(name), Cow::Borrowed(value))
            }
        })
}

/// Validates `limit` (optional) into a page size.
pub fn page_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("`limit` must be an integer from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// Validates `type` (optional).
pub fn media_type_param(media_type: Option<&str>) -> Result<Option<MediaType>, ApiError> {
    media_type
        .map(|raw| match raw {
            "image" => Ok(MediaType::Image),
            "video" => Ok(MediaType::Video),
            "carousel_album" => Ok(MediaType::CarouselAlbum),
            _ => Err(ApiError::BadRequest(
                "`type` must be one of image, video, carousel_album".to_owned(),
            )),
        })
        .transpose()
}

/// Validates `limit`, `cursor` and `type` (all optional) into a page request.
pub fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
    media_type: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let limit = page_limit(limit)?;
    let cursor = cursor
        .map(|raw| Cursor::decode(raw).map_err(|e| ApiError::BadRequest(e.to_string())))
        .transpose()?;
    let media_type = media_type_param(media_type)?;
    Ok(PageRequest {
        limit,
        cursor,
        media_type,
    })
}

/// 200 with the cached bytes, or 304 when the client already has them.
fn respond(
    req: &HttpRequest,
    served: Result<Served, ApiError>,
    cache_control: &HeaderValue,
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
        .is_some_and(|v| accepts_gzip(v.as_bytes()));
    let variant = rendered.variant(gzip);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| variant.matches(v.as_bytes()));
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
    // Headers go straight into the map: the builder would re-validate every pair.
    let mut response = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::with_body(StatusCode::OK, variant.body.clone()).map_into_boxed_body()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, variant.etag.clone());
    headers.insert(header::CACHE_CONTROL, cache_control.clone());
    headers.insert(CACHE_STATUS, cache_status);
    headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if !not_modified {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if variant.gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if freshness.stale {
        headers.insert(header::AGE, HeaderValue::from(freshness.age_secs));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(error: ApiError) -> String {
        match error {
            ApiError::BadRequest(detail) => detail,
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn query_params_decode_like_a_form() {
        let [q, limit, cursor] = query_params(
            "limit=20&q=cr%C3%A8me+br%C3%BBl%C3%A9e",
            &["q", "limit", "cursor"],
        )
        .unwrap();
        assert_eq!(q.as_deref(), Some("crème brûlée"));
        assert_eq!(limit.as_deref(), Some("20"));
        assert_eq!(cursor, None);
        // Plain values are borrowed from the query string, not copied.
        assert!(matches!(limit, Some(Cow::Borrowed(_))));
        let [limit] = query_params("", &["limit"]).unwrap();
        assert_eq!(limit, None);
        let [limit] = query_params("limit=", &["limit"]).unwrap();
        assert_eq!(limit.as_deref(), Some(""));
        let [limit] = query_params("&limit&&", &["limit"]).unwrap();
        assert_eq!(limit.as_deref(), Some(""));
        let [q, limit] = query_params("q=a=b&li%6dit=2", &["q", "limit"]).unwrap();
        assert_eq!(q.as_deref(), Some("a=b"));
        assert_eq!(limit.as_deref(), Some("2"));
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let err = detail(query_params("limit=2&foo=1", &["limit", "type"]).unwrap_err());
        assert_eq!(
            err,
            "invalid query string: unknown parameter `foo`, expected one of `limit`, `type`"
        );
        let err = detail(query_params("limit=2&limit=3", &["limit"]).unwrap_err());
        assert_eq!(err, "invalid query string: `limit` is given more than once");
    }
}
