//! The error responses the admin operations share, documented once (for the OpenAPI document;
//! the answers themselves come from `ApiError`). Listed in an operation's `responses(...)`
//! next to its own.

use utoipa::IntoResponses;

use super::examples;
use crate::error::Problem;

/// What every admin operation may answer besides its own results.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: errors are answered by ApiError")]
pub enum AdminFailures {
    /// Missing or wrong bearer token
    #[response(status = 401, content_type = "application/problem+json",
               headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"admin\"`")),
               example = json!(examples::unauthorized()))]
    Unauthorized(Problem),
    /// Too many admin requests from this client (`rate_limit.admin_per_minute`, 60 by default)
    #[response(status = 429, content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "Seconds until the next request is allowed")),
               example = json!(examples::rate_limited()))]
    RateLimited(Problem),
    /// The store is unavailable
    #[response(status = 503, content_type = "application/problem+json",
               headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
               example = json!(examples::store_unavailable()))]
    StoreUnavailable(Problem),
}

/// No account with this slug
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: errors are answered by ApiError")]
#[response(status = 404, content_type = "application/problem+json",
           example = json!(examples::account_not_found()))]
pub struct AccountNotFound(Problem);
