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
    #[error(
        "a Facebook Login token cannot be refreshed by a server; connect the account again (POST /admin/accounts/{{slug}}/reauth) before it expires"
    )]
    NotRefreshable,
    #[error(
        "Facebook Login is not configured: set facebook.app_id and facebook.app_secret (IGW__FACEBOOK__APP_ID, IGW__FACEBOOK__APP_SECRET)"
    )]
    FacebookNotConfigured,
    #[error(
        "none of your Facebook Pages has an Instagram professional account linked; link one (Instagram app: Settings > Account type and tools, or the Page's settings: Linked accounts) and connect again"
    )]
    NoLinkedAccount,
    #[error("the Page choice is unknown, expired or already used; connect again")]
    UnknownChoice,
    #[error("the chosen Instagram account is not one the login offered")]
    NotOffered,
    #[error(transparent)]
    SignedRequest(#[from] SignedRequestError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
