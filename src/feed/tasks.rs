//! Background work of each replica: pick up new snapshots, and sync when due.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::service::Feed;

const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// Spawns the version poll (a small store read every `version_poll`, so a snapshot written
/// by any replica is served everywhere within that time) and the sync scheduler.
pub fn spawn_feed_tasks(feed: Arc<Feed>) {
    let poller = feed.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(poller.config.version_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = poller.load_stored().await {
                tracing::debug!(error = %e, "version poll could not reach the store");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SCHEDULER_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if feed.sync_due(Utc::now()) && feed.tokens.usable_token().await.is_ok() {
                // Errors are logged by the sync itself; the scheduler just tries again when due.
                let _ = feed.start_sync(false).await;
            }
        }
    });
}
