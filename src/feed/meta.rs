//! What is known about the last sync, shared by all replicas through the store.

use std::time::Duration;

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
    /// The first failure since the last success: when this failure episode started.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    /// `sync.failing` was sent for this episode: the next success sends `sync.recovered`.
    #[serde(default)]
    pub failing_reported: bool,
}

impl SyncMeta {
    /// How fresh the snapshot this meta describes is at `now`.
    pub fn freshness(&self, refresh_interval: Duration, now: DateTime<Utc>) -> Freshness {
        let age = self
            .synced_at
            .map_or(0, |t| (now - t).num_seconds().max(0).unsigned_abs());
        Freshness {
            stale: age >= refresh_interval.as_secs() || self.last_error.is_some(),
            failed_status: self.last_error.as_ref().and(self.last_error_status),
            age_secs: age,
        }
    }
}

/// How fresh what was served is.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Older than the refresh interval, or the last sync attempt failed.
    pub stale: bool,
    /// What Instagram answered on the failed attempt, if it failed.
    pub failed_status: Option<u16>,
    /// Seconds since the snapshot was synced.
    pub age_secs: u64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meta_stored_before_failure_episodes_reads_as_none_started() {
        let stored = r#"{"version":"v1","synced_at":null,"items":3,"urls_expire_at":null,"last_error":null,"last_error_status":null,"retry_not_before":null}"#;
        let meta: SyncMeta = serde_json::from_str(stored).unwrap_or_default();
        assert_eq!(meta.version.as_deref(), Some("v1"));
        assert_eq!(meta.failing_since, None);
        assert!(!meta.failing_reported);
    }
}
