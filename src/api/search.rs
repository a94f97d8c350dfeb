//! `GET /search`: the account's own posts by words or hashtags, over the whole snapshot.

use actix_web::{HttpRequest, HttpResponse, get, web};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::feed_http::{FeedCacheControl, TypeParam, page_request, respond};
use crate::error::{ApiError, Problem};
use crate::feed::{Feed, FeedQuery, MediaPageSchema, Search};
use crate::metrics::Metrics;

const MAX_Q_CHARS: usize = 100;

/// Where to search. Only the connected account's own posts today; public hashtag search
/// (through Facebook Login) would be another source.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceParam {
    Account,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words that must all occur in the caption (case- and accent-insensitive, whole words),
    /// or `#tag` to match a hashtag exactly (case-insensitive).
    #[param(required = true, value_type = String, min_length = 1, max_length = 100, example = "#sunset")]
    q: Option<String>,
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
    /// Where to search (default `account`).
    #[param(value_type = Option<SourceParam>, inline)]
    source: Option<String>,
}

/// Searches the account's posts, newest first. No match is a 200 with an empty `data`.
#[utoipa::path(
    tag = "feed",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of matching posts", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "As for /images"),
            ("Cache-Status" = String, description = "As for /images"),
            ("Age" = u64, description = "Only on stale responses"),
         )),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 400, description = "Missing or too long `q`, unknown parameter, bad value or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`rate_limit.search_per_minute`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed"))),
        (status = 503, description = "No snapshot yet", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
#[get("")]
pub async fn search_images(
    req: HttpRequest,
    query: web::Query<SearchQuery>,
    feed: web::Data<Feed>,
    cache_control: web::Data<FeedCacheControl>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    check_utf8(req.query_string())?;
    let q = query.into_inner();
    match q.source.as_deref() {
        None | Some("account") => {}
        Some(_) => {
            return Err(ApiError::BadRequest(
                "`source` must be `account`".to_owned(),
            ));
        }
    }
    let text = q.q.as_deref().unwrap_or_default();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_Q_CHARS {
        return Err(ApiError::BadRequest(format!(
            "`q` must be 1 to {MAX_Q_CHARS} characters"
        )));
    }
    let search = Search::parse(text);
    let request = page_request(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        q.media_type.as_deref(),
    )?;
    let served = feed
        .into_inner()
        .read(&FeedQuery::Search(search, request))
        .await;
    respond(&req, served, &cache_control, &metrics)
}

/// `web::Query` decodes invalid UTF-8 lossily (into U+FFFD), which would search for something
/// the client did not send: refuse it instead.
fn check_utf8(query_string: &str) -> Result<(), ApiError> {
    let valid = |part: &str| percent_decode_str(part).decode_utf8().is_ok();
    for pair in query_string.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !valid(name) || !valid(value) {
            return Err(ApiError::BadRequest(format!(
                "`{}` is not valid UTF-8 once percent-decoded",
                percent_decode_str(name).decode_utf8_lossy()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_refused_after_percent_decoding() {
        for good in [
            "",
            "q=caf%C3%A9",
            "q=%23cafe%CC%81&limit=2",
            "q=a+b&type=image",
            "q",
        ] {
            assert!(check_utf8(good).is_ok(), "{good}");
        }
        for bad in ["q=%FF", "q=%C3%28", "limit=1&q=caf%C3", "%FF=1"] {
            assert!(check_utf8(bad).is_err(), "{bad}");
        }
    }
}
