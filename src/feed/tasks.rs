//! The feed's part in the background work the account registry drives for every account: the
//! version poll hands it the shared meta (see [`Feed::take_meta`]), the scheduler asks it
//! once a second whether to sync.

use std::sync::Arc;

use chrono::Utc;

use super::service::Feed;
use super::sync::SyncError;

impl Feed {
    /// Starts a sync (in its own task) when one is due, none is running and a usable token is
    /// stored; true when it did. Without a token, the feed stays quiet for
    /// `feed.failure_backoff_secs` rather than asking the store every second; connecting an
    /// account forces a sync at once anyway.
    pub async fn sync_if_due(self: &Arc<Self>) -> bool {
        let now = Utc::now();
        if !self.sync_due(now) || self.sync_running() {
            return false;
        }
        match self.tokens.usable_token().await {
            Ok(_) => {
                drop(self.start_sync(false));
                return true;
            }
            Err(crate::auth::AuthError::Store(e)) => {
                tracing::debug!(error = %e, "sync scheduler could not reach the store");
            }
            Err(e) => {
                let pause =
                    chrono::Duration::from_std(self.config.failure_backoff).unwrap_or_default();
                let mut state = self.write_state();
                state.local_pause_until = Some(now + pause);
                state.failure_reason = Some(SyncError::NeedsOperator(Arc::new(e)).client_reason());
            }
        }
        false
    }

    fn sync_running(&self) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}
