//! `WebhookError`: what the admin operations on endpoints can fail with.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no webhook endpoint `{0}`")]
    NotFound(String),
    /// Malformed input (400).
    #[error("{0}")]
    Invalid(String),
    /// A well-formed URL this deployment will not call (422).
    #[error("{0}")]
    UrlRefused(String),
    #[error("`webhooks.max_endpoints` ({0}) endpoints exist already; delete one first")]
    Full(usize),
    #[error("the endpoint `{0}` is disabled; enable it first (PATCH with `\"enabled\": true`)")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<super::url_guard::UrlError> for WebhookError {
    fn from(e: super::url_guard::UrlError) -> Self {
        match e {
            super::url_guard::UrlError::Invalid(m) => WebhookError::Invalid(m),
            super::url_guard::UrlError::Refused(m) => WebhookError::UrlRefused(m),
        }
    }
}
