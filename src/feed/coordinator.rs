//! The feed's coordinator: when to sync, one sync at a time (coalesced within a replica,
//! under a lock across replicas), backoff after failures and while throttled, and the sync
//! status every replica shares through the store. What it syncs or reads from the store, it
//! installs into the [`View`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

use super::error::SyncError;
use super::events::FeedEvents;
use super::loaded::Loaded;
use super::meta::{FeedStatus, Freshness, SyncMeta};
use super::snapshot::Snapshot;
use super::store::SnapshotStore;
use super::syncer::{Synced, Syncer};
use super::view::{Installed, View};
use crate::auth::{AuthError, TokenService, UsableToken};
use crate::config::FeedSettings;
use crate::curation::{Curation, CurationError, CurationStore};
use crate::instagram::{InstagramClient, UpstreamError};
use crate::metrics::AccountMetrics;
use crate::store::{LockGuard, Store, StoreError};

const BUSY_POLL: Duration = Duration::from_millis(200);

pub type SyncFuture = Shared<BoxFuture<'static, Result<Arc<Loaded>, SyncError>>>;

/// The sync running on this replica: an id (so only it clears the slot), whether it was
/// forced, and the future every caller awaits.
struct Inflight {
    id: u64,
    forced: bool,
    future: SyncFuture,
}

#[derive(Default)]
struct SyncStatus {
    /// The shared sync status (as last written or polled).
    meta: SyncMeta,
    /// This replica's own pause after a sync could not even start (no usable token, store
    /// down), so that stale reads do not retry on every request.
    local_pause_until: Option<DateTime<Utc>>,
    /// Why the last sync failed, in words fit for clients.
    failure_reason: Option<String>,
}

impl SyncStatus {
    /// No sync before this, unless forced.
    fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.meta.retry_not_before.max(self.local_pause_until)
    }
}

pub struct Coordinator {
    snapshots: SnapshotStore,
    curation: CurationStore,
    /// Whether the view holds the stored curation (read before any snapshot is installed).
    curation_loaded: AtomicBool,
    tokens: Arc<TokenService>,
    client: Arc<InstagramClient>,
    syncer: Syncer,
    config: FeedSettings,
    metrics: AccountMetrics,
    view: Arc<View>,
    status: RwLock<SyncStatus>,
    inflight: Mutex<Option<Inflight>>,
    sync_ids: AtomicU64,
    events: FeedEvents,
}

impl Coordinator {
    pub fn new(
        store: Store,
        tokens: Arc<TokenService>,
        client: Arc<InstagramClient>,
        config: FeedSettings,
        metrics: AccountMetrics,
        view: Arc<View>,
        events: FeedEvents,
    ) -> Self {
        Self {
            snapshots: SnapshotStore::new(store.clone()),
            curation: CurationStore::new(store),
            curation_loaded: AtomicBool::new(false),
            tokens,
            syncer: Syncer::new(client.clone(), config.page_size, config.max_items),
            client,
            config,
            metrics,
            view,
            status: RwLock::default(),
            inflight: Mutex::new(None),
            sync_ids: AtomicU64::new(0),
            events,
        }
    }

    fn read_status(&self) -> RwLockReadGuard<'_, SyncStatus> {
        self.status.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_status(&self) -> RwLockWriteGuard<'_, SyncStatus> {
        self.status.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How fresh the served snapshot is, and whether a stale one may start a sync now.
    pub fn freshness(&self, now: DateTime<Utc>) -> (Freshness, bool) {
        let status = self.read_status();
        let freshness = status.meta.freshness(self.config.refresh_interval, now);
        let may_retry = status.paused_until().is_none_or(|t| t <= now);
        (freshness, may_retry)
    }

    /// When syncing is paused at `now`: until when, and why (in words fit for clients).
    pub fn pause(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Option<String>)> {
        let status = self.read_status();
        status
            .paused_until()
            .filter(|t| *t > now)
            .map(|until| (until, status.failure_reason.clone()))
    }

    /// Starts a sync, or joins the one running on this replica. The work runs in its own
    /// task, so a reader that disconnects does not cancel it for the others. A forced sync
    /// (the operator's) does not settle for a scheduled one already under way: it runs right
    /// after it, so what it returns was fetched after it was asked for.
    pub fn start_sync(self: &Arc<Self>, force: bool) -> SyncFuture {
        let mut slot = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        let previous = match slot.as_ref() {
            Some(running) if running.forced || !force => return running.future.clone(),
            Some(running) => Some(running.future.clone()),
            None => None,
        };
        let id = self.sync_ids.fetch_add(1, Ordering::Relaxed);
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
        *slot = Some(Inflight {
            id,
            forced: force,
            future: future.clone(),
        });
        future
    }

    fn sync_running(&self) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// A sync is due: never synced, older than the interval, or URLs about to expire.
    fn sync_due(&self, now: DateTime<Utc>) -> bool {
        let status = self.read_status();
        if status.paused_until().is_some_and(|t| t > now) {
            return false;
        }
        let meta = &status.meta;
        let Some(synced_at) = meta.synced_at else {
            return true;
        };
        let interval = chrono::Duration::from_std(self.config.refresh_interval).unwrap_or_default();
        let margin = chrono::Duration::from_std(self.config.url_expiry_margin).unwrap_or_default();
        now >= synced_at + interval || meta.urls_expire_at.is_some_and(|e| now >= e - margin)
    }

    /// The scheduler's question, once a second: starts a sync (in its own task) when one is
    /// due, none is running and a usable token is stored; true when it did. Without a token,
    /// the feed stays quiet for `feed.failure_backoff_secs` rather than asking the store
    /// every second; connecting an account forces a sync at once anyway.
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
            Err(AuthError::Store(e)) => {
                tracing::debug!(error = %e, "sync scheduler could not reach the store");
            }
            Err(e) => {
                let pause =
                    chrono::Duration::from_std(self.config.failure_backoff).unwrap_or_default();
                let mut status = self.write_status();
                status.local_pause_until = Some(now + pause);
                status.failure_reason = Some(SyncError::NeedsOperator(Arc::new(e)).client_reason());
            }
        }
        false
    }

    #[tracing::instrument(name = "feed_sync", skip_all, fields(force))]
    async fn run_sync(self: &Arc<Self>, force: bool) -> Result<Arc<Loaded>, SyncError> {
        let now = Utc::now();
        if !force && let Some(until) = self.read_status().paused_until().filter(|t| *t > now) {
            return Err(SyncError::BackingOff(until));
        }
        let started = self.start_locked(force).await;
        if let Err(e) = &started {
            let mut status = self.write_status();
            status.failure_reason = Some(e.client_reason());
            if matches!(e, SyncError::NeedsOperator(_) | SyncError::Store(_)) {
                let pause =
                    chrono::Duration::from_std(self.config.failure_backoff).unwrap_or_default();
                status.local_pause_until = Some(now + pause);
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
            if let Some(loaded) = self.view.current()
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
        if let Some(loaded) = self.load_stored().await?
            && !force
            && !self.sync_due(Utc::now())
        {
            return Ok(loaded);
        }
        if !force
            && let Some(until) = self
                .read_status()
                .paused_until()
                .filter(|t| *t > Utc::now())
        {
            return Err(SyncError::BackingOff(until));
        }

        let started = std::time::Instant::now();
        // What is stored now (just loaded): the snapshot `feed.updated` compares with, and
        // the failure episode a success ends.
        let previous = self.view.current();
        let episode = {
            let meta = &self.read_status().meta;
            meta.failing_since.filter(|_| meta.failing_reported)
        };
        let last_profile = previous
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
            failing_since: None,
            failing_reported: false,
        };
        let written = self.snapshots.write(guard, &snapshot, &meta).await?;
        if written {
            if let Some(since) = episode {
                self.events.sync_recovered(since).await;
            }
            self.events
                .feed_updated(previous.as_ref().map(|l| &*l.raw), &snapshot)
                .await;
        } else {
            tracing::warn!(
                "the sync lock expired before the snapshot was stored; a newer sync owns it"
            );
        }
        self.ensure_curation().await?;
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
        let now = Utc::now();
        let mut meta = self.read_status().meta.clone();
        meta.last_error = Some(err.to_string());
        meta.last_error_status = Some(err.forward_status());
        meta.retry_not_before = Some(now + chrono::Duration::from_std(pause).unwrap_or_default());
        let since = *meta.failing_since.get_or_insert(now);
        let failing = self.events.failing_for_long(since, now);
        meta.failing_reported |= failing;
        let stored = self.snapshots.write_meta(guard, &meta).await;
        if let Err(e) = &stored {
            tracing::warn!(error = %e, "could not store the sync failure");
        }
        self.write_status().meta = meta;
        if failing && matches!(stored, Ok(true)) {
            self.events.sync_failing(since, &err.to_string()).await;
        }
    }

    /// Loads the stored snapshot if it is newer than what is in memory, and installs it.
    pub async fn load_stored(&self) -> Result<Option<Arc<Loaded>>, StoreError> {
        let meta = self.snapshots.meta_bytes().await?;
        self.take_meta(meta).await
    }

    /// The version poll's part: `meta` is what the store holds under [`super::META_KEY`] (read
    /// for every account in one round trip); the snapshot is read only when it changed.
    pub async fn take_meta(
        &self,
        meta: Option<Vec<u8>>,
    ) -> Result<Option<Arc<Loaded>>, StoreError> {
        let Some(bytes) = meta else {
            return Ok(None);
        };
        let Ok(meta) = serde_json::from_slice::<SyncMeta>(&bytes) else {
            return Ok(None);
        };
        let current = self.view.current();
        let current_version = current.as_ref().map(|l| l.snapshot.version.clone());
        let current_synced = current.as_ref().map(|l| l.snapshot.synced_at);
        if let (Some(purged_at), Some(synced_at)) = (meta.purged_at, current_synced)
            && purged_at > synced_at
        {
            tracing::info!("the account's media was deleted on another replica; dropping it here");
            self.forget(meta);
            return Ok(None);
        }
        let changed = meta.version.is_some()
            && (meta.version != current_version || meta.synced_at > current_synced);
        if !changed {
            // Same snapshot: still take the shared sync status (errors, backoff).
            self.write_status().meta = meta;
            return Ok(current);
        }
        let Some(snapshot) = self.snapshots.snapshot().await? else {
            return Ok(None);
        };
        self.ensure_curation().await?;
        Ok(Some(self.install(snapshot, meta)))
    }

    /// Reads the curation once before the first snapshot is served, so that no hidden post is
    /// ever shown, not even right after a start.
    async fn ensure_curation(&self) -> Result<(), StoreError> {
        if !self.curation_loaded.load(Ordering::Acquire) {
            self.reload_curation().await?;
        }
        Ok(())
    }

    /// Applies the stored curation.
    pub async fn reload_curation(&self) -> Result<(), StoreError> {
        let curation = self.curation.load().await?;
        self.view.set_curation(Arc::new(curation));
        self.curation_loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// The version poll's part: `revision` is what the store holds under
    /// [`crate::curation::REVISION_KEY`]; the curation is read only when it changed.
    pub async fn take_curation_revision(
        &self,
        revision: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let revision = revision.unwrap_or_default();
        if !self.curation_loaded.load(Ordering::Acquire)
            || revision != self.view.curation_revision().as_bytes()
        {
            self.reload_curation().await?;
        }
        Ok(())
    }

    /// The stored curation (what an operator last set).
    pub async fn curation(&self) -> Result<Curation, StoreError> {
        self.curation.load().await
    }

    /// Changes the curation for every replica, and applies it here at once.
    pub async fn curate(
        &self,
        change: impl FnOnce(&mut Curation) -> Result<(), CurationError>,
    ) -> Result<Curation, CurationError> {
        let curation = self.curation.update(change).await?;
        if let Err(e) = self.reload_curation().await {
            tracing::warn!(error = %e, "could not apply the new curation here; the version poll will");
        }
        Ok(curation)
    }

    /// Serves `snapshot` from now on (unless what is served is newer), with its meta.
    fn install(&self, snapshot: Snapshot, meta: SyncMeta) -> Arc<Loaded> {
        match self.view.install(snapshot) {
            Installed::Kept(current) => current,
            Installed::New(loaded) => {
                *self.write_status() = SyncStatus {
                    meta,
                    ..SyncStatus::default()
                };
                loaded
            }
        }
    }

    /// Forgets the account's media everywhere (deauthorize, data deletion, another account).
    /// The other replicas learn of it from the tombstone left in the meta key.
    pub async fn purge(&self) -> Result<(), StoreError> {
        let tombstone = self.snapshots.purge().await?;
        self.forget(tombstone);
        Ok(())
    }

    /// Forgets the curation everywhere (the account is deleted or its user's data is).
    pub async fn forget_curation(&self) -> Result<(), StoreError> {
        self.curation.delete().await?;
        self.view.set_curation(Arc::default());
        Ok(())
    }

    /// Drops the snapshot served here, keeping `meta` (the tombstone) as the sync status.
    fn forget(&self, meta: SyncMeta) {
        *self.write_status() = SyncStatus {
            meta,
            ..SyncStatus::default()
        };
        self.view.forget();
    }

    /// A new token was stored: drop another account's media, then sync in the background.
    pub async fn account_connected(self: &Arc<Self>, user_id: &str) -> Result<(), StoreError> {
        let other_account = self
            .view
            .current()
            .is_some_and(|l| l.snapshot.account.user_id != user_id);
        let stored_other = self
            .snapshots
            .snapshot()
            .await?
            .is_some_and(|s| s.account.user_id != user_id);
        if other_account || stored_other {
            self.purge().await?;
        }
        drop(self.start_sync(true));
        Ok(())
    }

    pub fn status(&self) -> FeedStatus {
        let status = self.read_status();
        let meta = &status.meta;
        let next_sync_at = meta.synced_at.map(|t| {
            let mut next =
                t + chrono::Duration::from_std(self.config.refresh_interval).unwrap_or_default();
            if let Some(expiry) = meta.urls_expire_at {
                next = next.min(
                    expiry
                        - chrono::Duration::from_std(self.config.url_expiry_margin)
                            .unwrap_or_default(),
                );
            }
            meta.retry_not_before.map_or(next, |r| next.max(r))
        });
        FeedStatus {
            version: meta.version.clone(),
            synced_at: meta.synced_at,
            items: meta.items,
            next_sync_at,
            urls_expire_at: meta.urls_expire_at,
            last_error: meta
                .last_error
                .clone()
                .or_else(|| status.failure_reason.clone()),
            rate_limit: self.client.rate_limit_usage(),
        }
    }
}

/// 100–120 % of `d`, so replicas that failed together do not retry together.
fn jittered(d: Duration) -> Duration {
    let [r] = crate::random::bytes::<1>();
    d.mul_f64(1.0 + f64::from(r) / 255.0 * 0.2)
}
