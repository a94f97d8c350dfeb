//! One sync: all pages of the account's media into a new snapshot, on one replica at a time,
//! coalesced within a replica, with backoff after failures and while throttled.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;

use super::meta::SyncMeta;
use super::service::{Feed, Loaded};
use super::syncer::Synced;
use crate::auth::{AuthError, UsableToken};
use crate::instagram::UpstreamError;
use crate::store::{LockGuard, StoreError};

const BUSY_POLL: Duration = Duration::from_millis(200);

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

impl Feed {
    /// Starts a sync, or joins the one running on this replica. The work runs in its own
    /// task, so a reader that disconnects does not cancel it for the others. A forced sync
    /// (the operator's) does not settle for a scheduled one already under way: it runs right
    /// after it, so what it returns was fetched after it was asked for.
    pub fn start_sync(self: &Arc<Self>, force: bool) -> super::service::SyncFuture {
        let mut slot = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        let previous = match slot.as_ref() {
            Some(running) if running.forced || !force => return running.future.clone(),
            Some(running) => Some(running.future.clone()),
            None => None,
        };
        let id = self
            .sync_ids
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let this = self.clone();
        let task = tokio::spawn(async move {
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            let result = this.run_sync(force).await;
            let mut slot = this.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if slot.as_ref().is_some_and(|running| running.id == id) {
                *slot = None;
            }
            result
        });
        let future = async move { task.await.unwrap_or(Err(SyncError::Aborted)) }
            .boxed()
            .shared();
        *slot = Some(super::service::Inflight {
            id,
            forced: force,
            future: future.clone(),
        });
        future
    }

    /// A sync is due: never synced, older than the interval, or URLs about to expire.
    pub fn sync_due(&self, now: DateTime<Utc>) -> bool {
        let state = self.read_state();
        if state.paused_until().is_some_and(|t| t > now) {
            return false;
        }
        let meta = &state.meta;
        let Some(synced_at) = meta.synced_at else {
            return true;
        };
        let interval = chrono::Duration::from_std(self.config.refresh_interval).unwrap_or_default();
        let margin = chrono::Duration::from_std(self.config.url_expiry_margin).unwrap_or_default();
        now >= synced_at + interval || meta.urls_expire_at.is_some_and(|e| now >= e - margin)
    }

    #[tracing::instrument(name = "feed_sync", skip_all, fields(force))]
    async fn run_sync(self: &Arc<Self>, force: bool) -> Result<Arc<Loaded>, SyncError> {
        let now = Utc::now();
        if !force && let Some(until) = self.read_state().paused_until().filter(|t| *t > now) {
            return Err(SyncError::BackingOff(until));
        }
        let started = self.start_locked(force).await;
        if let Err(e) = &started {
            let mut state = self.write_state();
            state.failure_reason = Some(e.client_reason());
            if matches!(e, SyncError::NeedsOperator(_) | SyncError::Store(_)) {
                let pause =
                    chrono::Duration::from_std(self.config.failure_backoff).unwrap_or_default();
                state.local_pause_until = Some(now + pause);
            }
        }
        started
    }

    /// Takes the token and the sync lock, then syncs. While another replica holds the lock,
    /// waits (bounded by the cold wait) until a snapshot that needs no sync is here (the
    /// other's, picked up from the store), or until the lock is free to take.
    async fn start_locked(self: &Arc<Self>, force: bool) -> Result<Arc<Loaded>, SyncError> {
        let deadline = tokio::time::Instant::now() + self.config.cold_wait;
        loop {
            // Checked on every round: the token may be deleted or replaced while we wait.
            let token = self.tokens.usable_token().await.map_err(|e| match e {
                AuthError::Store(s) => SyncError::from(s),
                other => SyncError::NeedsOperator(Arc::new(other)),
            })?;
            if let Some(guard) = self.snapshots.lock(self.config.sync_lock_ttl).await? {
                let result = self.sync_locked(&guard, &token, force).await;
                self.snapshots.unlock(guard).await;
                return result;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SyncError::Busy);
            }
            tokio::time::sleep(BUSY_POLL).await;
            self.load_stored().await?;
            let loaded = self.read_state().loaded.clone();
            if let Some(loaded) = loaded
                && !force
                && !self.sync_due(Utc::now())
            {
                return Ok(loaded);
            }
        }
    }

    async fn sync_locked(
        &self,
        guard: &LockGuard,
        token: &UsableToken,
        force: bool,
    ) -> Result<Arc<Loaded>, SyncError> {
        // Under the lock, look at what the others did: a fresh snapshot or a recent failure.
        if let Some(loaded) = self.load_stored().await? {
            let now = Utc::now();
            if !force && !self.sync_due(now) {
                return Ok(loaded);
            }
        }
        if !force && let Some(until) = self.read_state().paused_until().filter(|t| *t > Utc::now())
        {
            return Err(SyncError::BackingOff(until));
        }

        let started = std::time::Instant::now();
        let last_profile = self
            .read_state()
            .loaded
            .as_ref()
            .filter(|l| l.raw.account.user_id == token.user_id)
            .and_then(|l| l.raw.profile.clone());
        let Synced { snapshot, skipped } =
            match self.syncer.sync(token, last_profile, Utc::now()).await {
                Ok(synced) => synced,
                Err(err) => {
                    self.record_failure(guard, token, &err).await;
                    return Err(err.into());
                }
            };
        if skipped > 0 {
            tracing::info!(
                skipped,
                "media objects without a usable type, id or timestamp were left out"
            );
        }
        let meta = SyncMeta {
            version: Some(snapshot.version.clone()),
            synced_at: Some(snapshot.synced_at),
            items: snapshot.items.len(),
            urls_expire_at: snapshot.urls_expire_at,
            last_error: None,
            last_error_status: None,
            retry_not_before: None,
            purged_at: None,
        };
        let written = self.snapshots.write(guard, &snapshot, &meta).await?;
        if !written {
            tracing::warn!(
                "the sync lock expired before the snapshot was stored; a newer sync owns it"
            );
        }
        self.metrics
            .sync_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .sync_last_success
            .set(snapshot.synced_at.timestamp() as f64);
        tracing::info!(
            version = %snapshot.version,
            items = snapshot.items.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "feed synced"
        );
        Ok(self.install(snapshot, meta))
    }

    /// Notes the failure for every replica and pauses syncing: until Instagram's estimate
    /// when throttled, for the failure backoff otherwise. Error 190 invalidates the token.
    async fn record_failure(&self, guard: &LockGuard, token: &UsableToken, err: &UpstreamError) {
        tracing::warn!(error = %err, "feed sync failed; serving the last snapshot");
        if matches!(err, UpstreamError::TokenInvalid { .. })
            && let Err(e) = self.tokens.mark_invalid(&token.access_token, err).await
        {
            tracing::warn!(error = %e, "could not mark the token invalid");
        }
        let pause = match err {
            UpstreamError::Throttled { retry_after, .. } => {
                retry_after.unwrap_or(self.config.throttle_backoff)
            }
            _ => jittered(self.config.failure_backoff),
        };
        let mut meta = self.read_state().meta.clone();
        meta.last_error = Some(err.to_string());
        meta.last_error_status = Some(err.forward_status());
        meta.retry_not_before =
            Some(Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default());
        if let Err(e) = self.snapshots.write_meta(guard, &meta).await {
            tracing::warn!(error = %e, "could not store the sync failure");
        }
        self.write_state().meta = meta;
    }
}

/// 100–120 % of `d`, so replicas that failed together do not retry together.
fn jittered(d: Duration) -> Duration {
    let [r] = crate::random::bytes::<1>();
    d.mul_f64(1.0 + f64::from(r) / 255.0 * 0.2)
}
