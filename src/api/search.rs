//! `GET /search`: the account's own posts by words or hashtags, over the whole snapshot.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, get, web};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::account::{SlugPath, path_slug};
use super::examples;
use super::feed_http::{
    FeedEndpoint, TypeParam, media_type_param, page_limit, page_request, query_params,
};
use crate::error::{ApiError, Problem};
use crate::feed::{FeedQuery, MediaPageSchema, Search};
use crate::hashtags::{Hashtag, PageSpec, PublicSearch, decode_cursor};
use crate::instagram::HashtagOrder;

const MAX_Q_CHARS: usize = 100;

/// Where to search: the account's own posts (`account`), or everyone's public posts with a
/// hashtag (`public`, accounts connected through Facebook Login).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceParam {
    Account,
    Public,
}

/// The order of public results: `top` (most popular) or `recent` (the last 24 hours).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderParam {
    Top,
    Recent,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery<'q> {
    /// Words that must all occur in the caption (case- and accent-insensitive, whole words),
    /// or `#tag` to match a hashtag exactly (case-insensitive).
    #[param(required = true, value_type = String, min_length = 1, max_length = 100, example = "#sunset")]
    q: Option<Cow<'q, str>>,
    /// Items per page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20)]
    limit: Option<Cow<'q, str>>,
    /// `paging.next_cursor` of the previous page.
    #[param(value_type = Option<Cow<'q, str>>, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<Cow<'q, str>>,
    /// Only this kind of post.
    #[param(rename = "type", value_type = Option<TypeParam>, inline)]
    media_type: Option<Cow<'q, str>>,
    /// Where to search (default `account`).
    #[param(value_type = Option<SourceParam>, inline)]
    source: Option<Cow<'q, str>>,
    /// With `source=public` only: `top` (default) or `recent`.
    #[param(value_type = Option<OrderParam>, inline)]
    order: Option<Cow<'q, str>>,
}

impl<'q> SearchQuery<'q> {
    fn parse(query: &'q str) -> Result<Self, ApiError> {
        let [q, limit, cursor, media_type, source, order] =
            query_params(query, &["q", "limit", "cursor", "type", "source", "order"])?;
        Ok(Self {
            q,
            limit,
            cursor,
            media_type,
            source,
            order,
        })
    }
}

/// Searches the account's posts, newest first, or everyone's public posts with a hashtag.
///
/// For a search box or a hashtag filter. No authentication; no match is a `200` with an empty
/// `data`. Searches the captions of the whole
/// snapshot in memory, not only the posts a client has paged through.
///
/// **`source=public`** searches public Instagram posts of any user with one hashtag instead,
/// for an account connected through Facebook Login (`409 public_search_unavailable` otherwise):
/// `q` is one hashtag (`#` optional; letters, digits and `_`; no spaces, no emoji; case and
/// Unicode composition do not matter), `order` is `top` (default, the most popular) or
/// `recent` (only posts of the last 24 hours), `limit`/`cursor`/`type` as below, at most
/// `hashtags.max_items` (100) posts per tag and order. Posts have `username: null` (Meta does
/// not return it). Meta allows each account **30 distinct hashtags per rolling 7 days**: a new
/// tag beyond the gateway's budget is refused with `429 hashtag_budget_exhausted` and
/// `Retry-After` without calling Meta; searching a counted tag again is free. Results are
/// cached per tag and order for `hashtags.refresh_secs` (900) and served like the feed's
/// (ETag/304, `Cache-Status`, stale while a refresh runs or fails).
///
/// **`q`** (required, 1 to 100 characters):
/// - `#tag` (when `q` starts with `#`): every hashtag in `q` must be one of the post's
///   `hashtags`, exactly and case-insensitively (`#SUNSET` finds `#sunset`; `#cafe` does not find
///   `#café`). Words without `#` are ignored in this form.
/// - Words otherwise: every word must occur in the caption as a whole word, case- and
///   accent-insensitively, in any order (`cafe` finds `Café`, `creme brulee` finds
///   `crème brûlée`, `sun` does not find `sunset`; `sunset` finds `#sunset`).
/// - Composed and decomposed Unicode match alike. A `q` with nothing to search for (`!!!`, `#`)
///   matches nothing. In a URL, write `#` as `%23`.
///
/// The answer has the shape of `GET /images`, and `limit`, `cursor` and `type` work the same way:
/// pass `paging.next_cursor` as `cursor` (with the same `q`, `limit` and `type`) until it is
/// `null`. Cursors stay valid across re-syncs.
///
/// **Caching** as for `GET /images`: each answer is rendered once per snapshot version and query;
/// a strong `ETag` (send it back as `If-None-Match` for a `304` without body), `Cache-Control:
/// public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (configurable),
/// `Cache-Status: instagram-gateway; hit` (with `fwd=stale`, `Age` and, after a failed sync,
/// `fwd-status=<code>` when the snapshot is stale; a stale read starts one background sync),
/// and a precomputed gzip variant with its own ETag for bodies of 1 KiB or more.
///
/// **Errors.** `400 invalid_request` when `q` is missing, empty, over 100 characters or not
/// valid UTF-8 once percent-decoded, for a `source` other than `account` or `public`, `order`
/// without `source=public` or other than `top`/`recent`, with `source=public` a `q` that is not
/// one hashtag, and as for `/images` (unknown or repeated parameter, `limit` or `type` out of
/// range, a cursor the service did not issue). `429 rate_limited` with `Retry-After` beyond
/// `rate_limit.search_per_minute` requests per minute from one client (300 by default).
/// `503 feed_unavailable` with `Retry-After` while there is no snapshot yet. With
/// `source=public`: `403 hashtag_not_allowed` (not in `hashtags.allowed`), `404
/// hashtag_not_found`, `409 public_search_unavailable` (an Instagram Login account), `422
/// hashtag_unavailable` (Meta refuses the tag), `429 hashtag_budget_exhausted`, `502
/// upstream_error`, `503 public_search_unavailable` (the token needs a new login) or
/// `hashtag_busy`.
#[utoipa::path(
    tag = "feed",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of matching posts, newest first (`data` is empty when nothing matches)", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         examples(
            ("Hashtag" = (summary = "q=%23sunset&limit=2", value = json!(examples::hashtag_search()))),
            ("Words" = (summary = "q=creme%20brulee: case and accents do not matter", value = json!(examples::word_search()))),
            ("No match" = (summary = "q=nothing-here", value = json!(examples::no_match()))),
         )),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "Missing, empty or too long `q`, an unknown `source`, an unknown or repeated parameter, a bad value or cursor",
         body = Problem, content_type = "application/problem+json",
         examples(
            ("q" = (summary = "q missing or empty", value = json!(examples::invalid_request("`q` must be 1 to 100 characters")))),
            ("source" = (summary = "source=galaxy", value = json!(examples::invalid_request("`source` must be `account` or `public`")))),
            ("hashtag" = (summary = "source=public&q=%23tea%20time", value = json!(examples::invalid_request("`q`: a hashtag is one word of letters, digits and `_`: `#tea time` has a space")))),
            ("unknown parameter" = (summary = "foo=1", value = json!(examples::invalid_request("invalid query string: unknown parameter `foo`, expected one of `q`, `limit`, `cursor`, `type`, `source`")))),
         )),
        PublicSearchFailures,
        (status = 404, description = "`source=public`: Instagram knows no such hashtag", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("hashtag_not_found", "Hashtag not found", 404, "Instagram knows no hashtag #nothinghere"))),
        (status = 503, description = "No snapshot yet (`feed_unavailable`: the first sync is running, no account is connected, or the first sync failed); with `source=public`, the account's token needs a new login (`public_search_unavailable`) or another replica is fetching the tag (`hashtag_busy`)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("no Instagram account is connected; the operator must re-authorize"))),
    )
)]
#[get("")]
pub async fn search_images(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
    public_search: web::Data<PublicSearch>,
) -> Result<HttpResponse, ApiError> {
    search(&req, &endpoint, &public_search, None).await
}

/// Searches the posts of the account `{slug}`: `GET /search` for that account.
///
/// The same as `GET /search` (`q`, paging, `type`, `source`, caching headers, ETag/304, HEAD,
/// `rate_limit.search_per_minute`, errors), over the snapshot of the account `{slug}` instead
/// of the default account.
///
/// **Errors.** As for `GET /search`, and `404 account_not_found` when no account has this slug.
#[utoipa::path(
    tag = "feed",
    params(SlugPath, SearchQuery),
    responses(
        (status = 200, description = "A page of the account's matching posts, newest first (`data` is empty when nothing matches)", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         example = json!(examples::hashtag_search())),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "Missing, empty or too long `q`, an unknown `source`, an unknown or repeated parameter, a bad value or cursor",
         body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("`q` must be 1 to 100 characters"))),
        PublicSearchFailures,
        (status = 404, description = "No account with this slug (`account_not_found`), or with `source=public` no such hashtag (`hashtag_not_found`)", body = Problem, content_type = "application/problem+json",
         examples(
            ("account_not_found" = (summary = "Unknown slug", value = json!(examples::account_not_found()))),
            ("hashtag_not_found" = (summary = "Unknown hashtag", value = json!(examples::problem("hashtag_not_found", "Hashtag not found", 404, "Instagram knows no hashtag #nothinghere")))),
         )),
        (status = 503, description = "No snapshot yet (`feed_unavailable`); with `source=public`, the token needs a new login (`public_search_unavailable`) or another replica is fetching the tag (`hashtag_busy`)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("no Instagram account is connected; the operator must re-authorize"))),
    )
)]
#[get("")]
pub async fn search_account_images(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
    public_search: web::Data<PublicSearch>,
) -> Result<HttpResponse, ApiError> {
    search(&req, &endpoint, &public_search, Some(path_slug(&req))).await
}

/// The answers `source=public` adds (documented once for both search routes), with the 429
/// they share with the per-client limit.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: ApiError builds these responses")]
pub enum PublicSearchFailures {
    #[response(status = 403, description = "`source=public`: the hashtag is not in `hashtags.allowed`",
               content_type = "application/problem+json",
               example = json!(examples::problem("hashtag_not_allowed", "Hashtag not allowed", 403, "#tea is not one of the hashtags this site may search (hashtags.allowed)")))]
    NotAllowed(Problem),
    #[response(status = 409, description = "`source=public` on an account connected through Instagram Login: public hashtag search needs Facebook Login",
               content_type = "application/problem+json",
               example = json!(examples::problem("public_search_unavailable", "Public search unavailable", 409, "public hashtag search needs an account connected through Facebook Login; `default` uses Instagram Login (create one with \"login\": \"facebook\")")))]
    NotFacebook(Problem),
    #[response(status = 422, description = "`source=public`: Meta refuses to search this hashtag (its generic error for sensitive or offensive tags)",
               content_type = "application/problem+json",
               example = json!(examples::problem("hashtag_unavailable", "Hashtag unavailable", 422, "Instagram refuses to search #blocked (it answers this for tags it deems sensitive or offensive, and for malformed ones)")))]
    Refused(Problem),
    #[response(status = 429, description = "Too many requests from this client (`rate_limited`, `rate_limit.search_per_minute`, 300 by default), or with `source=public` a new hashtag beyond the account's weekly budget (`hashtag_budget_exhausted`; Meta was not called)",
               content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "Seconds until the next request is allowed, or until the budget has a slot for visitors again (counted hashtags leave it 7 days after their first search)")),
               examples(
                  ("rate_limited" = (summary = "Over the per-client limit", value = json!(examples::rate_limited()))),
                  ("hashtag_budget_exhausted" = (summary = "A new hashtag beyond the budget", value = json!(examples::hashtag_budget_exhausted()))),
               ))]
    TooMany(Problem),
    #[response(status = 502, description = "`source=public`: Instagram failed and nothing is cached for this tag yet",
               content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "When Instagram throttles (its estimate, else 60) or on a transient failure (5)")),
               example = json!(examples::upstream_error("Instagram refused the request (HTTP 400)")))]
    Upstream(Problem),
}

/// `GET /search` and `GET /accounts/{slug}/search`: in the account `slug` (the default
/// account when `None`).
async fn search(
    req: &HttpRequest,
    endpoint: &FeedEndpoint,
    public_search: &Arc<PublicSearch>,
    slug: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    check_utf8(req.query_string())?;
    let q = SearchQuery::parse(req.query_string())?;
    let public = match q.source.as_deref() {
        None | Some("account") => false,
        Some("public") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "`source` must be `account` or `public`".to_owned(),
            ));
        }
    };
    let text = q.q.as_deref().unwrap_or_default();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_Q_CHARS {
        return Err(ApiError::BadRequest(format!(
            "`q` must be 1 to {MAX_Q_CHARS} characters"
        )));
    }
    if public {
        return search_public(req, endpoint, public_search, slug, &q, text).await;
    }
    if q.order.is_some() {
        return Err(ApiError::BadRequest(
            "`order` applies to `source=public` only".to_owned(),
        ));
    }
    let search = Search::parse(text);
    let request = page_request(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        q.media_type.as_deref(),
    )?;
    endpoint
        .serve(req, slug, &FeedQuery::Search(search, request))
        .await
}

/// `source=public`: one hashtag, Meta's public posts with it, through the account's
/// Facebook Login and within its weekly budget.
async fn search_public(
    req: &HttpRequest,
    endpoint: &FeedEndpoint,
    public_search: &Arc<PublicSearch>,
    slug: Option<&str>,
    q: &SearchQuery<'_>,
    text: &str,
) -> Result<HttpResponse, ApiError> {
    let tag = Hashtag::parse(text).map_err(|e| ApiError::BadRequest(format!("`q`: {e}")))?;
    let order = match q.order.as_deref() {
        None | Some("top") => HashtagOrder::Top,
        Some("recent") => HashtagOrder::Recent,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "`order` must be `top` or `recent`".to_owned(),
            ));
        }
    };
    let offset = match q.cursor.as_deref() {
        None => 0,
        Some(raw) => decode_cursor(raw, public_search.max_items())
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    let spec = PageSpec {
        offset,
        limit: page_limit(q.limit.as_deref())?,
        media_type: media_type_param(q.media_type.as_deref())?,
    };
    let account = endpoint.account(slug)?;
    let served = public_search.search(&account, &tag, order, spec).await;
    endpoint.respond(req, served)
}

/// Query decoding turns invalid UTF-8 lossily (into U+FFFD), which would search for something
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
