//! `/admin/accounts/{slug}/hashtags`: the account's weekly hashtag budget, and searching a tag
//! on the operator's share of it. Every handler takes `AdminAuth`.

use actix_web::{HttpRequest, get, post, web};
use utoipa::IntoParams;

use super::account::SlugAccount;
use super::admin_auth::AdminAuth;
use super::admin_errors::{AccountNotFound, AdminFailures};
use super::examples;
use crate::error::{ApiError, Problem};
use crate::hashtags::{BudgetUsage, Hashtag, HashtagError, PublicSearch, Warmed};

/// Documented only: `SlugAccount` reads the slug and the handler the tag.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "documented only")]
pub struct TagPath {
    /// The account's slug.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,31}$", example = "tags")]
    slug: String,
    /// One hashtag, with or without `#` (as `%23`): letters, digits and `_`.
    #[param(min_length = 1, max_length = 101, example = "coffee")]
    tag: String,
}

/// The account's hashtag budget: used, left, and each counted tag with its expiry.
///
/// Meta lets an Instagram account search 30 unique hashtags per rolling 7 days; a tag counts
/// once, for 7 days from its first search. The gateway counts them in the store for every
/// replica (and reconciles with Meta's own list on connect and when Meta reports the limit),
/// and refuses a new tag beyond `hashtags.weekly_budget` without calling Meta. Visitors may use
/// the budget minus `hashtags.operator_reserve`. A tag Meta counts that this gateway did not
/// search shows with `tag: null` and its `hashtag_id`.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `404 account_not_found`. `409 public_search_unavailable`: the account uses
/// Instagram Login. `409 token_missing`: not connected yet. `401`, `429`, `503`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(super::account::SlugPath),
    responses(
        (status = 200, description = "The account's hashtag budget", body = BudgetUsage,
         example = json!(examples::hashtag_budget())),
        (status = 409, description = "The account uses Instagram Login (`public_search_unavailable`) or is not connected (`token_missing`)",
         body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("public_search_unavailable", "Public search unavailable", 409, "public hashtag search needs an account connected through Facebook Login; `shop` uses Instagram Login (create one with \"login\": \"facebook\")"))),
        AccountNotFound,
        AdminFailures,
    )
)]
#[get("/accounts/{slug}/hashtags")]
pub async fn get_hashtag_budget(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    public_search: web::Data<PublicSearch>,
) -> Result<web::Json<BudgetUsage>, ApiError> {
    Ok(web::Json(
        public_search.usage(&account).await.map_err(admin_error)?,
    ))
}

/// Searches a hashtag now, on the operator's budget (the reserve included), for both orders.
///
/// For tags a site shows: the results are cached (`hashtags.refresh_secs`) so that visitors'
/// first searches are answered at once, and the tag is counted before visitors could use up
/// the budget. Works whatever `hashtags.allowed` lists. Searching a tag counted already costs
/// nothing.
///
/// Requires the admin bearer token. Never cached (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: not one hashtag (letters, digits and `_`; no spaces, no
/// emoji). `404 account_not_found`; `404 hashtag_not_found`: Instagram knows no such tag. `409
/// public_search_unavailable`: the account uses Instagram Login. `422 hashtag_unavailable`: Meta
/// refuses the tag (sensitive or offensive). `429 hashtag_budget_exhausted` with `Retry-After`:
/// the whole budget is used. `409 token_missing` / `reauth_required`: the account is not
/// connected or needs a new login. `502 upstream_error`. `401`, `429 rate_limited`, `503`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(TagPath),
    responses(
        (status = 200, description = "Searched: how many posts are cached per order, and the budget", body = Warmed,
         example = json!(examples::hashtag_warmed())),
        (status = 400, description = "Not one hashtag", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("`tag`: a hashtag is one word of letters, digits and `_`"))),
        (status = 404, description = "No account with this slug, or no such hashtag on Instagram", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("hashtag_not_found", "Hashtag not found", 404, "Instagram knows no hashtag #nothinghere"))),
        (status = 409, description = "The account uses Instagram Login, or is not connected", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("public_search_unavailable", "Public search unavailable", 409, "public hashtag search needs an account connected through Facebook Login; `shop` uses Instagram Login (create one with \"login\": \"facebook\")"))),
        (status = 422, description = "Meta refuses to search this tag", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("hashtag_unavailable", "Hashtag unavailable", 422, "Instagram refuses to search #blocked (it answers this for tags it deems sensitive or offensive, and for malformed ones)"))),
        (status = 429, description = "The weekly budget is used up (`hashtag_budget_exhausted`), or too many admin requests (`rate_limited`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds until the budget has a slot again (counted tags leave it 7 days after their first search), or until the next admin request is allowed")),
         example = json!(examples::hashtag_budget_exhausted())),
        (status = 502, description = "Instagram failed", body = Problem, content_type = "application/problem+json",
         example = json!(examples::upstream_error("Instagram refused the request (HTTP 400)"))),
        AdminFailures,
    )
)]
#[post("/accounts/{slug}/hashtags/{tag}/warm")]
pub async fn warm_hashtag(
    _: AdminAuth,
    SlugAccount(account): SlugAccount,
    req: HttpRequest,
    public_search: web::Data<PublicSearch>,
) -> Result<web::Json<Warmed>, ApiError> {
    // Read here rather than by `web::Path`, whose parameters would be documented twice.
    let tag = req.match_info().get("tag").unwrap_or_default();
    let tag = Hashtag::parse(tag).map_err(|e| ApiError::BadRequest(format!("`tag`: {e}")))?;
    Ok(web::Json(
        public_search
            .warm(&account, &tag)
            .await
            .map_err(admin_error)?,
    ))
}

/// For operators, a token that is missing or needs a new login is the account's state (409
/// `token_missing` / `reauth_required`, as on the other admin routes), not an outage.
fn admin_error(e: HashtagError) -> ApiError {
    match e.token_problem() {
        Some(auth) => ApiError::Auth(auth),
        None => e.into(),
    }
}
