//! `GET /images` and `GET /images/{id}`: the account's media, newest first; the same under
//! `/accounts/{slug}/images` for the account `{slug}`.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::account::{SlugPath, path_slug};
use super::examples;
use super::feed_http::{FeedEndpoint, TypeParam, page_request, query_params};
use crate::error::{ApiError, Problem};
use crate::feed::{FeedQuery, Media, MediaPageSchema};

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImagesQuery<'q> {
    /// Items per page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20)]
    limit: Option<Cow<'q, str>>,
    /// `paging.next_cursor` of the previous page.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    cursor: Option<Cow<'q, str>>,
    /// Only this kind of post.
    #[param(rename = "type", value_type = Option<TypeParam>, inline)]
    media_type: Option<Cow<'q, str>>,
}

impl<'q> ImagesQuery<'q> {
    fn parse(query: &'q str) -> Result<Self, ApiError> {
        let [limit, cursor, media_type] = query_params(query, &["limit", "cursor", "type"])?;
        Ok(Self {
            limit,
            cursor,
            media_type,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ImagePath {
    /// The media id.
    #[param(pattern = "^[0-9]{1,32}$", example = "17918195224117851")]
    id: String,
}

/// `/accounts/{slug}/images/{id}` (documented as [`SlugPath`] and [`ImagePath`]).
#[derive(Deserialize)]
pub struct AccountImagePath {
    slug: String,
    id: String,
}

/// The account's posts, newest first, a page at a time.
///
/// What a gallery calls to show the feed. No authentication. The answer comes from the
/// snapshot held in memory (the service syncs it from Instagram in the background), so it is
/// fast and never waits for Instagram once a snapshot exists.
///
/// **Paging.** `limit` posts per page (1 to 100, default 20). To read on, pass the page's
/// `paging.next_cursor` as `cursor`, with the same `limit` and `type`, until `next_cursor` is
/// `null`. A cursor is an opaque position (just after the last post of its page), not an offset:
/// it does not expire and stays valid across re-syncs, without duplicates or gaps; new posts
/// appear on the first page.
///
/// **Caching.** Each answer is rendered once per snapshot version and query, then served as the
/// same bytes, so browsers, CDNs and proxies can cache it:
/// - `ETag` is strong: a hash of the body, the same on every replica and after a restart, kept by
///   a re-sync that finds the feed unchanged. Send it back as `If-None-Match` (one tag, a list or
///   `*`) to get `304 Not Modified` with no body and the same caching headers.
/// - `Cache-Control: public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` on
///   every 200 and 304 (the defaults of `feed.client_max_age_secs`,
///   `feed.stale_while_revalidate_secs` and `feed.stale_if_error_secs`). Errors do not carry it.
/// - `Cache-Status` (RFC 9211) is `instagram-gateway; hit` from a fresh snapshot. It adds
///   `fwd=stale` when the snapshot is older than `feed.refresh_interval_secs`: the answer is
///   immediate and one background sync starts (stale-while-revalidate). After a failed sync it
///   also adds `fwd-status=<code>`, what Instagram answered (such as `500`, `429` when
///   throttled, `401` for a rejected token, `504` for a timeout). Stale answers carry `Age`.
/// - With `Accept-Encoding: gzip`, bodies of 1 KiB or more come precompressed
///   (`Content-Encoding: gzip`) with their own ETag (`"<hash>-gz"`); every answer carries
///   `Vary: Accept-Encoding`.
///
/// **Errors.** `400 invalid_request` for an unknown or repeated parameter, a `limit` or `type`
/// out of range, or a `cursor` the service did not issue. `503 feed_unavailable` with
/// `Retry-After` while there is no snapshot yet: the first sync is still running (5 s), no
/// account is connected (60 s), or the first sync failed. Once a snapshot exists, Instagram's
/// failures never turn a read into an error: the last snapshot is served, marked stale.
/// `429 rate_limited` only when `rate_limit.images_per_minute` is set (off by default).
#[utoipa::path(
    tag = "feed",
    params(ImagesQuery),
    responses(
        (status = 200, description = "A page of posts, newest first", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body, such as `\"745dc645fe2004883e0aa40da0eec2fb\"` (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         examples(
            ("First page" = (summary = "limit=2", value = json!(examples::first_page()))),
            ("Next page" = (summary = "limit=2&cursor=MTc5MzQwMzQ0MC4xNzk0ODc2NTQzMjU4NDAwNw", value = json!(examples::second_page()))),
         )),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "Unknown or repeated parameter, out-of-range `limit` or `type`, or a cursor the service did not issue",
         body = Problem, content_type = "application/problem+json",
         examples(
            ("limit" = (summary = "limit=0", value = json!(examples::invalid_request("`limit` must be an integer from 1 to 100")))),
            ("unknown parameter" = (summary = "foo=1", value = json!(examples::invalid_request("invalid query string: unknown parameter `foo`, expected one of `limit`, `cursor`, `type`")))),
            ("cursor" = (summary = "cursor=abc", value = json!(examples::invalid_request("`cursor` is not a cursor from a previous page")))),
         )),
        (status = 429, description = "Too many requests from this client; only when `rate_limit.images_per_minute` is set (0, off, by default)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 503, description = "No snapshot yet: the first sync is running, no account is connected, or the first sync failed",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         examples(
            ("no account" = (summary = "No account connected (Retry-After: 60)", value = json!(examples::feed_unavailable("no Instagram account is connected; the operator must re-authorize")))),
            ("first sync" = (summary = "First sync still running (Retry-After: 5)", value = json!(examples::feed_unavailable("the first sync with Instagram is still running")))),
         )),
    )
)]
#[get("")]
pub async fn list_images(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
) -> Result<HttpResponse, ApiError> {
    list(&req, &endpoint, None).await
}

/// `GET /images` and `GET /accounts/{slug}/images`: the page of the account `slug` (the
/// default account when `None`).
async fn list(
    req: &HttpRequest,
    endpoint: &FeedEndpoint,
    slug: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let q = ImagesQuery::parse(req.query_string())?;
    let request = page_request(
        q.limit.as_deref(),
        q.cursor.as_deref(),
        q.media_type.as_deref(),
    )?;
    endpoint.serve(req, slug, &FeedQuery::Images(request)).await
}

/// One post.
///
/// A single Media object (not wrapped in `data`), for a post page or a lightbox. No
/// authentication; answered from the snapshot in memory, like `GET /images`. The id is the `id`
/// of a post from `/images` or `/search` (album children are not posts of their own).
///
/// **Caching** as for `GET /images`: a strong `ETag` (send it back as `If-None-Match` for a
/// `304` without body), `Cache-Control: public, max-age=60, stale-while-revalidate=300,
/// stale-if-error=86400` (configurable), `Cache-Status: instagram-gateway; hit` (with
/// `fwd=stale`, `Age` and, after a failed sync, `fwd-status=<code>` when the snapshot is stale;
/// a stale read starts one background sync), and a precomputed gzip variant with its own ETag
/// for bodies of 1 KiB or more.
///
/// **Errors.** `400 invalid_request` when the id is not 1 to 32 digits. `404 not_found` when no
/// post in the snapshot has this id (it was deleted, or never existed). `503 feed_unavailable`
/// with `Retry-After` while there is no snapshot yet. `429 rate_limited` only when
/// `rate_limit.images_per_minute` is set (off by default).
#[utoipa::path(
    tag = "feed",
    params(ImagePath),
    responses(
        (status = 200, description = "The post", body = Media,
         headers(
            ("ETag" = String, description = "Strong validator of the body (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         examples(
            ("Reel" = (summary = "A reel whose media_url Instagram withholds: show display_url, link to permalink", value = json!(examples::reel()))),
            ("Album" = (summary = "A carousel album and its children", value = json!(examples::one_album()))),
         )),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "The id is not 1 to 32 digits", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("a media id is digits only"))),
        (status = 404, description = "No post with this id in the snapshot", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("not_found", "Not found", 404, "no media with this id"))),
        (status = 429, description = "Too many requests from this client; only when `rate_limit.images_per_minute` is set (0, off, by default)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 503, description = "No snapshot yet: the first sync is running, no account is connected, or the first sync failed",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("the first sync with Instagram is still running"))),
    )
)]
#[get("/{id}")]
pub async fn get_image(
    req: HttpRequest,
    path: web::Path<ImagePath>,
    endpoint: web::Data<FeedEndpoint>,
) -> Result<HttpResponse, ApiError> {
    one(&req, &endpoint, None, path.into_inner().id).await
}

/// `GET /images/{id}` and `GET /accounts/{slug}/images/{id}`.
async fn one(
    req: &HttpRequest,
    endpoint: &FeedEndpoint,
    slug: Option<&str>,
    id: String,
) -> Result<HttpResponse, ApiError> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest("a media id is digits only".to_owned()));
    }
    endpoint.serve(req, slug, &FeedQuery::One(id)).await
}

/// The account's posts, newest first, a page at a time: `GET /images` for the account `{slug}`.
///
/// The same as `GET /images` (paging, `limit`, `cursor`, `type`, caching headers, ETag/304,
/// HEAD, `rate_limit.images_per_minute`, errors), for the account `{slug}` instead of the
/// default account. Each account has its own snapshot, so its own ETags and cursors.
///
/// **Errors.** As for `GET /images`, and `404 account_not_found` when no account has this slug.
#[utoipa::path(
    tag = "feed",
    params(SlugPath, ImagesQuery),
    responses(
        (status = 200, description = "A page of the account's posts, newest first", body = MediaPageSchema,
         headers(
            ("ETag" = String, description = "Strong validator of the body (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         example = json!(examples::first_page())),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "Unknown or repeated parameter, out-of-range `limit` or `type`, or a cursor the service did not issue",
         body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("`limit` must be an integer from 1 to 100"))),
        (status = 404, description = "No account with this slug", body = Problem, content_type = "application/problem+json",
         example = json!(examples::account_not_found())),
        (status = 429, description = "Too many requests from this client; only when `rate_limit.images_per_minute` is set (0, off, by default)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 503, description = "No snapshot yet: the first sync is running, the account is not connected, or the first sync failed",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("no Instagram account is connected; the operator must re-authorize"))),
    )
)]
#[get("")]
pub async fn list_account_images(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
) -> Result<HttpResponse, ApiError> {
    list(&req, &endpoint, Some(path_slug(&req))).await
}

/// One post of the account `{slug}`: `GET /images/{id}` for that account.
///
/// The same as `GET /images/{id}` (caching headers, ETag/304, HEAD, limits, errors), for the
/// account `{slug}` instead of the default account.
///
/// **Errors.** As for `GET /images/{id}`; `404 account_not_found` when no account has this
/// slug, `404 not_found` when the account has no post with this id.
#[utoipa::path(
    tag = "feed",
    params(SlugPath, ImagePath),
    responses(
        (status = 200, description = "The post", body = Media,
         headers(
            ("ETag" = String, description = "Strong validator of the body (`\"<hash>-gz\"` for the gzip variant); send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300, stale-if-error=86400` (from `feed.*` settings)"),
            ("Cache-Status" = String, description = "RFC 9211: `instagram-gateway; hit`, plus `fwd=stale` when the snapshot is stale, and `fwd-status=<code>` after a failed sync"),
            ("Age" = u64, description = "Seconds since the snapshot was synced; only on stale responses"),
         ),
         example = json!(examples::reel())),
        (status = 304, description = "Not modified: `If-None-Match` names the current ETag. No body.",
         headers(
            ("ETag" = String, description = "The current ETag (the one sent)"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cache-Status" = String, description = "As on the 200"),
            ("Age" = u64, description = "Only when the snapshot is stale"),
         )),
        (status = 400, description = "The id is not 1 to 32 digits", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("a media id is digits only"))),
        (status = 404, description = "No account with this slug, or no post with this id in its snapshot", body = Problem, content_type = "application/problem+json",
         examples(
            ("account_not_found" = (summary = "Unknown slug", value = json!(examples::account_not_found()))),
            ("not_found" = (summary = "Unknown media id", value = json!(examples::problem("not_found", "Not found", 404, "no media with this id")))),
         )),
        (status = 429, description = "Too many requests from this client; only when `rate_limit.images_per_minute` is set (0, off, by default)",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
         example = json!(examples::rate_limited())),
        (status = 503, description = "No snapshot yet: the first sync is running, the account is not connected, or the first sync failed",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::feed_unavailable("the first sync with Instagram is still running"))),
    )
)]
#[get("/{id}")]
pub async fn get_account_image(
    req: HttpRequest,
    path: web::Path<AccountImagePath>,
    endpoint: web::Data<FeedEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let AccountImagePath { slug, id } = path.into_inner();
    one(&req, &endpoint, Some(&slug), id).await
}
