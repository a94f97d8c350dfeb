//! Extractors that resolve the account of a request once.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use utoipa::IntoParams;

use crate::accounts::{Account, AccountError, Accounts};
use crate::error::ApiError;

/// The account `accounts.default` names.
pub struct DefaultAccount(pub Arc<Account>);

/// The account the path's `{slug}` names; `404 account_not_found` when there is none.
pub struct SlugAccount(pub Arc<Account>);

/// The `{slug}` path parameter, for the OpenAPI document (the handlers take [`SlugAccount`],
/// or read the segment themselves on the feed's hot path).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SlugPath {
    /// The account's slug, chosen when it was added (`POST /admin/accounts`).
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,31}$", example = "shop")]
    #[expect(
        dead_code,
        reason = "documented only: handlers read the segment themselves"
    )]
    slug: String,
}

fn registry(req: &HttpRequest) -> Result<&Accounts, ApiError> {
    req.app_data::<web::Data<Accounts>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| ApiError::NotReady("the account registry is not configured".to_owned()))
}

/// The `{slug}` segment of the matched route (empty when the route has none).
pub fn path_slug(req: &HttpRequest) -> &str {
    req.match_info().get("slug").unwrap_or_default()
}

impl FromRequest for DefaultAccount {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(registry(req).and_then(|accounts| Ok(Self(accounts.default_account()?))))
    }
}

impl FromRequest for SlugAccount {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(registry(req).and_then(|accounts| {
            let slug = path_slug(req);
            accounts.get(slug).map(Self).ok_or_else(|| unknown(slug))
        }))
    }
}

/// `404 account_not_found` for a path's slug, echoed bounded and printable.
pub fn unknown(slug: &str) -> ApiError {
    let shown = slug
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    AccountError::NotFound(shown).into()
}
