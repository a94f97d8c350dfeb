//! What is known about the last sync, shared by all replicas through the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::instagram::RateLimitUsage;

/// Stored next to the snapshot and polled by every replica (a few hundred bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncMeta {
    pub version: Option<String>,
    pub synced_at: Option<DateTime<Utc>>,
    pub items: usize,
    pub urls_expire_at: Option<DateTime<Utc>>,
    /// The last attempt's failure, cleared by a successful sync.
    pub last_error: Option<String>,
    /// What Instagram answered on that failure (for `Cache-Status: fwd-status`).
    pub last_error_status: Option<u16>,
    /// No new attempt before this (failure backoff or throttling), unless forced.
    pub retry_not_before: Option<DateTime<Utc>>,
    /// Set when the account's media was deleted (deauthorize, data deletion, another
    /// account): every replica drops a snapshot synced before this.
    #[serde(default)]
    pub purged_at: Option<DateTime<Utc>>,
}

/// `/admin/status` → `feed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedStatus {
    /// Content hash of the snapshot being served; null before the first sync.
    #[schema(required = true, example = "3f9a0c51d2e47b8a6c1d0e2f")]
    pub version: Option<String>,
    #[schema(required = true)]
    pub synced_at: Option<DateTime<Utc>>,
    /// Posts in the snapshot.
    pub items: usize,
    #[schema(required = true)]
    pub next_sync_at: Option<DateTime<Utc>>,
    /// The earliest expiry of a signed media URL in the snapshot.
    #[schema(required = true)]
    pub urls_expire_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// The latest usage figures Instagram reported to this replica.
    #[schema(required = true)]
    pub rate_limit: Option<RateLimitUsage>,
}
