//! What a read of the feed and a sync can fail with.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::auth::AuthError;
use crate::instagram::UpstreamError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("no media with this id")]
    NotFound,
    #[error("the feed is not available yet: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Duration,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    /// A token problem the operator must fix (missing, expired, invalid).
    #[error("{0}")]
    NeedsOperator(Arc<AuthError>),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("syncing is paused after a failure until {0}")]
    BackingOff(DateTime<Utc>),
    #[error("another replica is syncing")]
    Busy,
    #[error("store: {0}")]
    Store(String),
    #[error("the sync task stopped unexpectedly")]
    Aborted,
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e.to_string())
    }
}

impl SyncError {
    /// What a frontend may be told (no upstream text).
    pub fn client_reason(&self) -> String {
        match self {
            SyncError::NeedsOperator(_) => {
                "no Instagram account is connected; the operator must re-authorize".to_owned()
            }
            SyncError::Upstream(UpstreamError::Throttled { .. }) => {
                "Instagram is rate-limiting this app".to_owned()
            }
            SyncError::Upstream(_) => "Instagram could not be synced".to_owned(),
            SyncError::BackingOff(_) => {
                "syncing with Instagram is paused after a failure".to_owned()
            }
            SyncError::Busy => "the first sync is running on another replica".to_owned(),
            SyncError::Store(_) => "the store is unavailable".to_owned(),
            SyncError::Aborted => "the sync stopped unexpectedly".to_owned(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::BackingOff(until) => (*until - Utc::now())
                .to_std()
                .ok()
                .map(|d| d.max(Duration::from_secs(1))),
            SyncError::Upstream(UpstreamError::Throttled { retry_after, .. }) => *retry_after,
            SyncError::NeedsOperator(_) => Some(Duration::from_secs(60)),
            _ => None,
        }
    }
}
