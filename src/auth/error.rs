//! Errors of the token lifecycle. Mapped to HTTP in `crate::error`, nowhere else.

use chrono::{DateTime, Utc};

use super::signed_request::SignedRequestError;
use super::state::StateError;
use super::token::TokenState;
use crate::instagram::UpstreamError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    InvalidState(#[from] StateError),
    #[error("the authorization was not granted: {reason}")]
    Denied { reason: String },
    #[error("the `code` parameter is missing")]
    MissingCode,
    #[error("no Instagram account is connected; run POST /admin/reauth")]
    NoToken,
    #[error("the token is {0}; only a new authorization (POST /admin/reauth) helps")]
    ReauthRequired(TokenState),
    #[error(
        "Instagram only refreshes tokens at least 24 hours old; this one can be refreshed from {refreshable_at}"
    )]
    TooYoung { refreshable_at: DateTime<Utc> },
    #[error("another refresh is in progress")]
    RefreshInProgress,
    #[error(transparent)]
    SignedRequest(#[from] SignedRequestError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
