//! `/admin/accounts/{slug}/{hidden,pinned,filters,curation}`: what an account's feed shows,
//! set by operators. Each change reaches every replica within about `feed.version_poll_ms`,
//! and takes effect here before the response. Every handler takes `AdminAuth`.

use actix_web::{HttpResponse, delete, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::account::SlugAccount;
use super::admin_auth::AdminAuth;
use super::examples;
use crate::accounts::Account;
use crate::curation::{self, Curation, CurationError, FilterEntry, Filters, MAX_HIDDEN};
use crate::error::{ApiError, Problem};
use crate::feed::{CuratedPost, FeedError, MediaType};

/// The errors every operation here may answer besides its own.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: ApiError builds these responses")]
pub enum CurationErrors {
    #[response(status = 401, description = "Missing or wrong bearer token",
               content_type = "application/problem+json",
               headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"admin\"`")),
               example = json!(examples::unauthorized()))]
    Unauthorized(Problem),
    #[response(status = 404, description = "No account with this slug",
               content_type = "application/problem+json",
               example = json!(examples::account_not_found()))]
    NotFound(Problem),
    #[response(status = 429, description = "Too many admin requests from this client (`rate_limit.admin_per_minute`, 60 by default)",
               content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
               example = json!(examples::rate_limited()))]
    RateLimited(Problem),
    #[response(status = 503, description = "The store is unavailable, another change to this account's curation is under way (`curation_busy`), or, for `…/posts`, no snapshot is held yet (`feed_unavailable`)",
               content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
               example = json!(examples::store_unavailable()))]
    Unavailable(Problem),
}

/// What `…/hidden/{media_id}` answers to an id that cannot name a post.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: ApiError builds this response")]
pub enum MediaIdErrors {
    #[response(status = 400, description = "Not a media id",
               content_type = "application/problem+json",
               example = json!(examples::invalid_request("a media id is 1 to 32 digits (the `id` of a post in /images)")))]
    BadRequest(Problem),
}

/// The `{slug}` and `{media_id}` path parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MediaPath {
    /// The account's slug.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,31}$", example = "shop")]
    #[expect(dead_code, reason = "resolved by SlugAccount")]
    slug: String,
    /// A post's `id` (digits), as in `/images`.
    #[param(pattern = "^[0-9]{1,32}$", example = "17918195224117851")]
    media_id: String,
}

/// A list of posts: hidden ones, or pinned ones in order.
#[derive(Serialize, ToSchema)]
pub struct MediaIds {
    /// Media ids, as in `/images`.
    #[schema(value_type = BTreeSet<MediaId>, example = json!(["17918195224117851", "17841400008460056"]))]
    media_ids: Vec<String>,
}

/// `PUT /admin/accounts/{slug}/pinned`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// The posts to pin, in order: at most 12, none twice; `[]` unpins all.
    #[schema(value_type = BTreeSet<MediaId>, max_items = 12, example = json!(["17918195224117851", "17841400008460056"]))]
    media_ids: Vec<String>,
}

/// A post's id: digits, as in `/images`.
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]{1,32}$", example = "17918195224117851")]
pub struct MediaId(#[expect(dead_code, reason = "documented only")] String);

/// `PUT /admin/accounts/{slug}/filters`: every field optional (missing: no such filter); see
/// `Filters`.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FiltersBody {
    types: Vec<MediaType>,
    #[schema(value_type = Vec<FilterEntry>, max_items = 100)]
    caption_includes: Vec<String>,
    #[schema(value_type = Vec<FilterEntry>, max_items = 100)]
    caption_excludes: Vec<String>,
    hide_without_caption: bool,
}

/// The whole curation of an account.
#[derive(Serialize, ToSchema)]
pub struct CurationView {
    /// Changes with every change of the curation (opaque); empty before the first.
    #[schema(example = "q3ZPb1x9V0KAcTmE")]
    revision: String,
    /// Hidden posts, by id.
    hidden: Vec<String>,
    /// Pinned posts, in the order they lead the feed.
    pinned: Vec<String>,
    filters: Filters,
}

impl From<Curation> for CurationView {
    fn from(c: Curation) -> Self {
        Self {
            revision: c.revision,
            hidden: c.hidden.into_iter().collect(),
            pinned: c.pinned,
            filters: c.filters,
        }
    }
}

/// Hides or shows `{media_id}` (idempotent either way).
async fn set_hidden(
    account: &Account,
    path: &MediaPath,
    hidden: bool,
) -> Result<HttpResponse, ApiError> {
    curation::check_media_id(&path.media_id)?;
    let id = path.media_id.clone();
    account
        .feed
        .curate(|c| {
            if !hidden {
                c.hidden.remove(&id);
            } else if !c.hidden.contains(&id) {
                if c.hidden.len() >= MAX_HIDDEN {
                    return Err(CurationError::HiddenFull(MAX_HIDDEN));
                }
                c.hidden.insert(id);
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The account's curation: hidden posts, pins and filters.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "The account's curation", body = CurationView,
         example = json!(examples::curation())),
        CurationErrors,
    )
)]
#[get("/accounts/{slug}/curation")]
pub async fn get_curation(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<CurationView>, ApiError> {
    Ok(web::Json(account.feed.curation().await?.into()))
}

/// Every post of the account's last sync, with what the curation does to it.
#[derive(Serialize, ToSchema)]
pub struct CuratedPosts {
    /// Newest first, as synced: hidden and filtered posts too.
    data: Vec<CuratedPost>,
}

/// Every synced post of the account, shown or not, with its curation.
///
/// For curating: each post with a small still, whether it is hidden, its place among the pins
/// and whether the feed shows it. Newest first, as synced, up to `feed.max_items`.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `503 feed_unavailable`: no snapshot is held yet (the account is not connected or
/// not synced). `404 account_not_found`. `401`, `429`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "Every synced post with its curation", body = CuratedPosts,
         example = json!(examples::curated_posts())),
        CurationErrors,
    )
)]
#[get("/accounts/{slug}/posts")]
pub async fn list_posts(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<CuratedPosts>, ApiError> {
    let data = account
        .feed
        .curated_posts()
        .ok_or_else(|| FeedError::Unavailable {
            reason: "the account has no synced posts yet".to_owned(),
            retry_after: std::time::Duration::from_secs(5),
        })?;
    Ok(web::Json(CuratedPosts { data }))
}

/// The account's hidden posts.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "The hidden posts, by id", body = MediaIds,
         example = json!({"media_ids": ["17841400008460056"]})),
        CurationErrors,
    )
)]
#[get("/accounts/{slug}/hidden")]
pub async fn list_hidden(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<MediaIds>, ApiError> {
    let hidden = account.feed.curation().await?.hidden;
    Ok(web::Json(MediaIds {
        media_ids: hidden.into_iter().collect(),
    }))
}

/// Hides a post from the account's feed.
///
/// The post leaves `/accounts/{slug}/images` (and `/images` for the default account), its
/// search results and page counts; `…/images/{id}` answers `404`. Idempotent. An id the feed
/// does not hold (yet) may be hidden: it stays hidden when it appears. A hidden post shows
/// neither when pinned. At most 1000 posts per account are hidden.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: the id is not 1 to 32 digits. `409 curation_full`: 1000
/// posts are hidden already. `404 account_not_found`. `401`, `429`, `503`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(MediaPath),
    responses(
        (status = 204, description = "Hidden"),
        MediaIdErrors,
        (status = 409, description = "1000 posts are hidden already", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("curation_full", "Too many hidden posts", 409, "1000 posts are hidden already, the most an account may hide; unhide some first"))),
        CurationErrors,
    )
)]
#[put("/accounts/{slug}/hidden/{media_id}")]
pub async fn hide_post(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    path: web::Path<MediaPath>,
) -> Result<HttpResponse, ApiError> {
    set_hidden(&account, &path, true).await
}

/// Shows a hidden post again.
///
/// Idempotent: unhiding a post that is not hidden succeeds too.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: the id is not 1 to 32 digits. `404 account_not_found`.
/// `401`, `429`, `503`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(MediaPath),
    responses(
        (status = 204, description = "Shown again"),
        MediaIdErrors,
        CurationErrors,
    )
)]
#[delete("/accounts/{slug}/hidden/{media_id}")]
pub async fn unhide_post(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    path: web::Path<MediaPath>,
) -> Result<HttpResponse, ApiError> {
    set_hidden(&account, &path, false).await
}

/// The account's pinned posts, in order.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "The pinned posts, in order", body = MediaIds,
         example = json!({"media_ids": ["17918195224117851"]})),
        CurationErrors,
    )
)]
#[get("/accounts/{slug}/pinned")]
pub async fn list_pinned(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<MediaIds>, ApiError> {
    Ok(web::Json(MediaIds {
        media_ids: account.feed.curation().await?.pinned,
    }))
}

/// Pins posts: they lead the account's feed in this order, then the rest newest first.
///
/// Replaces the pins (`[]` unpins all); up to 12, none twice. A pinned post shows even when a
/// filter would leave it out, but not when hidden; a pin of an id the feed does not hold (yet)
/// is kept for when it does. Paging stays consistent: a post never shows twice, and the
/// cursors of a page that ends among the pins go on with the rest.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: more than 12 ids, an id twice, an id that is not 1 to 32
/// digits, an unknown field, or not JSON. `404 account_not_found`. `401`, `429`, `503`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    request_body(content = Pins, content_type = "application/json",
                 example = json!({"media_ids": ["17918195224117851", "17841400008460056"]})),
    responses(
        (status = 200, description = "The new pins, in order", body = MediaIds,
         example = json!({"media_ids": ["17918195224117851", "17841400008460056"]})),
        (status = 400, description = "Too many ids, an id twice, not a media id, or not JSON", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("13 posts to pin; at most 12"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/json"))),
        CurationErrors,
    )
)]
#[put("/accounts/{slug}/pinned")]
pub async fn pin_posts(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    body: web::Json<Pins>,
) -> Result<web::Json<MediaIds>, ApiError> {
    let ids = body.into_inner().media_ids;
    curation::check_pins(&ids)?;
    let curation = account
        .feed
        .curate(|c| {
            c.pinned = ids;
            Ok(())
        })
        .await?;
    Ok(web::Json(MediaIds {
        media_ids: curation.pinned,
    }))
}

/// The account's filters.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "The filters", body = Filters, example = json!(examples::filters())),
        CurationErrors,
    )
)]
#[get("/accounts/{slug}/filters")]
pub async fn get_filters(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
) -> Result<web::Json<Filters>, ApiError> {
    Ok(web::Json(account.feed.curation().await?.filters))
}

/// Sets which posts the account's feed shows at all.
///
/// Replaces the filters; a missing field is no filter. `types`: only posts of these types.
/// `caption_includes`: only posts whose caption matches at least one entry. `caption_excludes`:
/// no post whose caption matches any entry. `hide_without_caption`: no post without a caption.
/// An entry matches as `/search` does: each of its words whole, case- and accent-insensitive
/// (`cafe` matches `Café`, not `cafeteria`); a `#tag` entry matches the hashtag. At most 100
/// entries per list, each at most 100 characters; entries without a word or tag are dropped. Pinned posts are exempt from filters; hidden
/// ones are not shown whatever the filters.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: more than 100 entries in a list, an entry over 100
/// characters, an unknown type or field, or not JSON. `404 account_not_found`. `401`, `429`, `503`.
#[utoipa::path(
    tag = "curation",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    request_body(content = FiltersBody, content_type = "application/json", example = json!(examples::filters())),
    responses(
        (status = 200, description = "The new filters", body = Filters, example = json!(examples::filters())),
        (status = 400, description = "Too many or too long entries, an unknown type or field, or not JSON", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("101 entries in `caption_excludes`; at most 100"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/json"))),
        CurationErrors,
    )
)]
#[put("/accounts/{slug}/filters")]
pub async fn set_filters(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    body: web::Json<FiltersBody>,
) -> Result<web::Json<Filters>, ApiError> {
    let FiltersBody {
        types,
        caption_includes,
        caption_excludes,
        hide_without_caption,
    } = body.into_inner();
    let filters = Filters {
        types,
        caption_includes,
        caption_excludes,
        hide_without_caption,
    }
    .validated()?;
    let curation = account
        .feed
        .curate(|c| {
            c.filters = filters;
            Ok(())
        })
        .await?;
    Ok(web::Json(curation.filters))
}
