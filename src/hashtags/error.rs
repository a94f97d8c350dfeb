//! Why a public hashtag search did not answer with posts. Mapped to HTTP in `crate::error`.

use chrono::{DateTime, Utc};

use crate::auth::AuthError;
use crate::instagram::UpstreamError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HashtagError {
    #[error(
        "public hashtag search needs an account connected through Facebook Login; `{0}` uses Instagram Login (create one with \"login\": \"facebook\")"
    )]
    NotFacebook(String),
    #[error("#{0} is not one of the hashtags this site may search (hashtags.allowed)")]
    NotAllowed(String),
    #[error(
        "the account's weekly hashtag budget is used up ({used} of {limit} new hashtags in 7 days); #{tag} can be searched from {retry_at}"
    )]
    Exhausted {
        tag: String,
        used: usize,
        limit: usize,
        retry_at: DateTime<Utc>,
    },
    #[error("Instagram knows no hashtag #{0}")]
    NotFound(String),
    #[error(
        "Instagram refuses to search #{0} (it answers this for tags it deems sensitive or offensive, and for malformed ones)"
    )]
    Refused(String),
    #[error("another replica is fetching #{0}; try again in a moment")]
    Busy(String),
    /// A fetch shared by several requests ended with this.
    #[error(transparent)]
    Fetch(std::sync::Arc<HashtagError>),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HashtagError {
    /// The token problem behind this error, when the account is not connected or needs a new
    /// login (also when a shared fetch ended so).
    pub fn token_problem(&self) -> Option<AuthError> {
        match self {
            HashtagError::Auth(AuthError::NoToken) => Some(AuthError::NoToken),
            HashtagError::Auth(AuthError::ReauthRequired(state)) => {
                Some(AuthError::ReauthRequired(*state))
            }
            HashtagError::Fetch(e) => e.token_problem(),
            _ => None,
        }
    }

    /// The label of `igw_hashtag_refusals_total`, for the errors that refuse a search.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self {
            HashtagError::NotFacebook(_) => Some("not_facebook"),
            HashtagError::NotAllowed(_) => Some("not_allowed"),
            HashtagError::Exhausted { .. } => Some("budget"),
            HashtagError::NotFound(_) => Some("not_found"),
            HashtagError::Refused(_) => Some("refused_by_meta"),
            HashtagError::Fetch(e) => e.refusal_reason(),
            _ => None,
        }
    }
}
