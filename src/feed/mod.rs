//! The feed: the account's media synced into one snapshot, served as ready-made response
//! bytes from an in-process cache, paged and searched without touching Redis or Instagram.

mod media;
mod meta;
mod query;
mod render;
mod service;
mod snapshot;
mod sync;
mod tasks;
mod text;

use std::time::Duration;

pub use media::{Child, Media, MediaType};
pub use meta::FeedStatus;
pub use query::{Cursor, MediaPageSchema, PageRequest, Paging, QueryError, Search};
pub use render::{Rendered, Variant, accepts_gzip};
pub use service::{Feed, FeedError, FeedQuery, Freshness, Served};
pub use snapshot::{AccountRef, Snapshot};
pub use sync::SyncError;
pub use tasks::spawn_feed_tasks;

/// What the feed needs from the configuration.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub max_items: usize,
    pub page_size: usize,
    pub refresh_interval: Duration,
    pub url_expiry_margin: Duration,
    pub cold_wait: Duration,
    pub failure_backoff: Duration,
    pub throttle_backoff: Duration,
    pub version_poll: Duration,
    pub sync_lock_ttl: Duration,
    pub cache_max_bytes: u64,
}

impl FeedConfig {
    pub fn from_settings(s: &crate::config::FeedSettings) -> Self {
        Self {
            max_items: s.max_items,
            page_size: s.page_size,
            refresh_interval: Duration::from_secs(s.refresh_interval_secs),
            url_expiry_margin: Duration::from_secs(s.url_expiry_margin_secs),
            cold_wait: Duration::from_millis(s.cold_wait_ms),
            failure_backoff: Duration::from_secs(s.failure_backoff_secs),
            throttle_backoff: Duration::from_secs(s.throttle_backoff_secs),
            version_poll: Duration::from_millis(s.version_poll_ms),
            sync_lock_ttl: Duration::from_millis(s.sync_lock_ttl_ms),
            cache_max_bytes: s.cache_max_bytes,
        }
    }
}
