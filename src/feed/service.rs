//! The feed service: the snapshot in memory, the read path, cold start, status.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, Shared};
use serde::Serialize;

use tokio::sync::watch;

use super::media::{Media, MediaType};
use super::meta::{FeedStatus, SyncMeta};
use super::profile::AccountProfile;
use super::query::{PageRequest, Search, SearchIndex, page_at, start_of};
use super::render::Rendered;
use super::snapshot::Snapshot;
use super::store::SnapshotStore;
use super::sync::SyncError;
use super::syncer::Syncer;
use crate::assets::{Images, PictureSource, Wanted};
use crate::auth::TokenService;
use crate::config::FeedSettings;
use crate::instagram::InstagramClient;
use crate::metrics::{AccountMetrics, Metrics};
use crate::store::{Store, StoreError};

/// A snapshot ready to serve: the data plus what reads need precomputed.
pub struct Loaded {
    /// As synced, without re-hosted pictures.
    pub(super) raw: Arc<Snapshot>,
    /// As served: `raw` with the finished pictures applied.
    pub snapshot: Arc<Snapshot>,
    pub index: SearchIndex,
    by_id: HashMap<String, usize>,
    /// Unique per installed snapshot: response cache entries of another never match.
    generation: u64,
}

impl Loaded {
    pub fn new(raw: Arc<Snapshot>, images: &Images) -> Self {
        static GENERATIONS: AtomicU64 = AtomicU64::new(0);
        let snapshot = if images.is_empty() {
            raw.clone()
        } else {
            let mut decorated = Snapshot::clone(&raw);
            for item in &mut decorated.items {
                item.apply_images(images);
            }
            let user_id = decorated.account.user_id.clone();
            if let Some(profile) = &mut decorated.profile {
                profile.apply_images(&user_id, images);
            }
            Arc::new(decorated)
        };
        let index = SearchIndex::build(&snapshot);
        let by_id = snapshot
            .items
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Self {
            raw,
            snapshot,
            index,
            by_id,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A read of the feed.
#[derive(Debug, Clone)]
pub enum FeedQuery {
    Images(PageRequest),
    Search(Search, PageRequest),
    One(String),
    /// `GET /accounts/{slug}`.
    Profile,
}

/// What a response is cached under: the snapshot and the query resolved against it. A cursor
/// becomes its position in the snapshot, an id its index, so however many distinct cursors
/// clients forge, they resolve to at most one entry per position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    generation: u64,
    read: ResolvedRead,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ResolvedRead {
    Page {
        search: Option<Search>,
        start: usize,
        limit: usize,
        media_type: Option<MediaType>,
    },
    One(usize),
    Profile,
}

impl CacheKey {
    fn new(loaded: &Loaded, query: &FeedQuery) -> Result<Self, FeedError> {
        let page = |search: Option<&Search>, p: &PageRequest| ResolvedRead::Page {
            search: search.cloned(),
            start: start_of(&loaded.snapshot, p.cursor.as_ref()),
            limit: p.limit,
            media_type: p.media_type,
        };
        let read = match query {
            FeedQuery::Images(p) => page(None, p),
            FeedQuery::Search(s, p) => page(Some(s), p),
            FeedQuery::One(id) => {
                ResolvedRead::One(*loaded.by_id.get(id).ok_or(FeedError::NotFound)?)
            }
            FeedQuery::Profile => ResolvedRead::Profile,
        };
        Ok(Self {
            generation: loaded.generation,
            read,
        })
    }

    /// The body of this read (a cache miss).
    fn render(&self, loaded: &Loaded, slug: &str) -> Rendered {
        match &self.read {
            ResolvedRead::Profile => {
                let snapshot = &loaded.snapshot;
                Rendered::json(&AccountProfile::new(
                    slug,
                    snapshot.account.username.as_deref(),
                    snapshot.profile.as_ref(),
                    snapshot.synced_at,
                ))
            }
            ResolvedRead::One(index) => Rendered::json(&OneBody(&loaded.snapshot.items[*index])),
            ResolvedRead::Page {
                search,
                start,
                limit,
                media_type,
            } => Rendered::json(&page_at(
                &loaded.snapshot,
                &loaded.index,
                *start,
                *limit,
                *media_type,
                search.as_ref(),
            )),
        }
    }

    /// Bytes the key holds beyond the entry's fixed overhead.
    fn weight(&self) -> usize {
        match &self.read {
            ResolvedRead::Page {
                search: Some(search),
                ..
            } => search.heap_bytes(),
            _ => 0,
        }
    }
}

/// What one cache entry costs beyond its bytes (moka's entry, the key, the `Rendered`), so
/// that `cache_max_bytes` bounds memory, not only bodies, however small the entries.
const CACHE_ENTRY_OVERHEAD: usize = 320;

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

/// A served read.
pub struct Served {
    pub rendered: Rendered,
    pub freshness: Freshness,
    /// The body was built for this request (an in-process cache miss).
    pub cache_miss: bool,
}

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

#[derive(Serialize)]
struct OneBody<'a>(&'a Media);

pub(super) type SyncFuture = Shared<BoxFuture<'static, Result<Arc<Loaded>, SyncError>>>;

/// The sync running on this replica: an id (so only it clears the slot), whether it was
/// forced, and the future every caller awaits.
pub(super) struct Inflight {
    pub id: u64,
    pub forced: bool,
    pub future: SyncFuture,
}

#[derive(Default)]
pub(super) struct State {
    pub loaded: Option<Arc<Loaded>>,
    /// The finished re-hosted pictures, applied to every snapshot installed.
    pub images: Arc<Images>,
    /// The shared sync status (as last written or polled).
    pub meta: SyncMeta,
    /// This replica's own pause after a sync could not even start (no usable token, store
    /// down), so that stale reads do not retry on every request.
    pub local_pause_until: Option<DateTime<Utc>>,
    /// Why the last sync failed, in words fit for clients.
    pub failure_reason: Option<String>,
}

impl State {
    /// No sync before this, unless forced.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.meta.retry_not_before.max(self.local_pause_until)
    }
}

pub struct Feed {
    /// The account's slug, for the bodies that name it.
    slug: String,
    pub(super) snapshots: SnapshotStore,
    pub(super) tokens: Arc<TokenService>,
    pub(super) client: Arc<InstagramClient>,
    pub(super) syncer: Syncer,
    pub(super) config: FeedSettings,
    pub metrics: AccountMetrics,
    pub(super) state: RwLock<State>,
    pub(super) inflight: Mutex<Option<Inflight>>,
    pub(super) sync_ids: std::sync::atomic::AtomicU64,
    /// The pictures the served snapshot shows, for the asset pipeline.
    wanted: watch::Sender<Wanted>,
    /// Shared by every account's feed.
    cache: ResponseCache,
}

/// The ready responses of every account's feed, bounded together by `feed.cache_max_bytes`.
/// Keys carry the generation of the snapshot they were rendered from, unique across feeds, so
/// one account's entries never answer for another's; a feed that installs a new snapshot
/// drops its old generation's entries.
#[derive(Clone)]
pub struct ResponseCache(moka::sync::Cache<CacheKey, Rendered, foldhash::fast::RandomState>);

impl ResponseCache {
    pub fn new(max_bytes: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &CacheKey, value: &Rendered| {
                    u32::try_from(CACHE_ENTRY_OVERHEAD + key.weight() + value.weight())
                        .unwrap_or(u32::MAX)
                })
                .support_invalidation_closures()
                // Hashed on every read; the keys are not chosen by clients (see `CacheKey`).
                .build_with_hasher(foldhash::fast::RandomState::default()),
        )
    }

    /// Bytes held (after pending evictions).
    pub fn bytes(&self) -> u64 {
        self.0.run_pending_tasks();
        self.0.weighted_size()
    }

    /// Drops the entries of a snapshot no longer served (they could never be hit again).
    fn forget(&self, loaded: Option<&Loaded>) {
        if let Some(generation) = loaded.map(|l| l.generation) {
            // Fails only without `support_invalidation_closures`, set above.
            let _ = self
                .0
                .invalidate_entries_if(move |key, _| key.generation == generation);
        }
    }
}

impl Feed {
    pub fn new(
        slug: &str,
        store: Store,
        tokens: Arc<TokenService>,
        client: Arc<InstagramClient>,
        config: FeedSettings,
        metrics: &Metrics,
        cache: ResponseCache,
    ) -> Arc<Self> {
        Arc::new(Self {
            slug: slug.to_owned(),
            snapshots: SnapshotStore::new(store),
            tokens,
            syncer: Syncer::new(client.clone(), config.page_size, config.max_items),
            client,
            config,
            metrics: metrics.account(slug),
            state: RwLock::new(State::default()),
            inflight: Mutex::new(None),
            sync_ids: std::sync::atomic::AtomicU64::new(0),
            wanted: watch::Sender::new(Wanted::default()),
            cache,
        })
    }

    pub(super) fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn freshness(&self, meta: &SyncMeta, now: DateTime<Utc>) -> Freshness {
        let age = meta
            .synced_at
            .map_or(0, |t| (now - t).num_seconds().max(0).unsigned_abs());
        Freshness {
            stale: age >= self.config.refresh_interval.as_secs() || meta.last_error.is_some(),
            failed_status: meta.last_error.as_ref().and(meta.last_error_status),
            age_secs: age,
        }
    }

    /// The hot path: a cache hit is a read lock, a hash lookup and a `Bytes` clone.
    pub async fn read(self: &Arc<Self>, query: &FeedQuery) -> Result<Served, FeedError> {
        let (loaded, meta_freshness, stale_trigger) = {
            let state = self.read_state();
            match &state.loaded {
                Some(loaded) => {
                    let now = Utc::now();
                    let freshness = self.freshness(&state.meta, now);
                    let may_retry = state.paused_until().is_none_or(|t| t <= now);
                    (
                        Some(loaded.clone()),
                        Some(freshness),
                        freshness.stale && may_retry,
                    )
                }
                None => (None, None, false),
            }
        };
        let (loaded, freshness) = match (loaded, meta_freshness) {
            (Some(loaded), Some(freshness)) => {
                if stale_trigger {
                    // Stale-while-revalidate: serve now, one coalesced sync in the background.
                    drop(self.start_sync(false));
                }
                (loaded, freshness)
            }
            _ => {
                // Boxed: the cold path's state (a sync, a store read) would otherwise make
                // every request's future that large, and actix moves it into a box.
                let loaded = Box::pin(self.cold_load()).await?;
                let freshness = self.freshness(&self.read_state().meta, Utc::now());
                (loaded, freshness)
            }
        };
        let key = CacheKey::new(&loaded, query)?;
        if let Some(rendered) = self.cache.0.get(&key) {
            return Ok(Served {
                cache_miss: false,
                rendered,
                freshness,
            });
        }
        // Concurrent misses of one key build the body once.
        let entry = self
            .cache
            .0
            .entry_by_ref(&key)
            .or_insert_with(|| key.render(&loaded, &self.slug));
        Ok(Served {
            cache_miss: entry.is_fresh(),
            rendered: entry.into_value(),
            freshness,
        })
    }

    /// No snapshot in memory: take the stored one (another replica's, or from before a
    /// restart), else wait (bounded) on one coalesced sync.
    async fn cold_load(self: &Arc<Self>) -> Result<Arc<Loaded>, FeedError> {
        // Paused after a failure: answer at once, without touching the store (the version
        // poll still picks up a snapshot another replica writes).
        let now = Utc::now();
        let paused = {
            let state = self.read_state();
            state
                .paused_until()
                .filter(|t| *t > now)
                .map(|until| (until, state.failure_reason.clone()))
        };
        if let Some((until, reason)) = paused {
            return Err(FeedError::Unavailable {
                reason: reason.unwrap_or_else(|| {
                    "syncing with Instagram is paused after a failure".to_owned()
                }),
                retry_after: (until - now)
                    .to_std()
                    .unwrap_or_default()
                    .max(Duration::from_secs(1)),
            });
        }
        match self.load_stored().await {
            Ok(Some(loaded)) => return Ok(loaded),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the stored snapshot"),
        }
        let retry_after = Duration::from_secs(5);
        let sync = self.start_sync(false);
        match tokio::time::timeout(self.config.cold_wait, sync).await {
            Ok(Ok(loaded)) => Ok(loaded),
            Ok(Err(e)) => {
                // The pause the failure started, if any, is when trying again makes sense.
                let paused = self
                    .read_state()
                    .paused_until()
                    .and_then(|until| (until - Utc::now()).to_std().ok());
                Err(FeedError::Unavailable {
                    reason: e.client_reason(),
                    retry_after: paused
                        .or(e.retry_after())
                        .unwrap_or(retry_after)
                        .max(Duration::from_secs(1)),
                })
            }
            Err(_) => Err(FeedError::Unavailable {
                reason: "the first sync with Instagram is still running".to_owned(),
                retry_after,
            }),
        }
    }

    /// Loads the stored snapshot if it is newer than what is in memory, and installs it.
    pub(super) async fn load_stored(&self) -> Result<Option<Arc<Loaded>>, StoreError> {
        let meta = self.snapshots.meta_bytes().await?;
        self.take_meta(meta).await
    }

    /// The version poll's part: `meta` is what the store holds under [`super::META_KEY`] (read for
    /// every account in one round trip); the snapshot is read only when it changed.
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
        let (current_version, current_synced) = {
            let state = self.read_state();
            (
                state.loaded.as_ref().map(|l| l.snapshot.version.clone()),
                state.loaded.as_ref().map(|l| l.snapshot.synced_at),
            )
        };
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
            self.write_state().meta = meta;
            return Ok(self.read_state().loaded.clone());
        }
        let Some(snapshot) = self.snapshots.snapshot().await? else {
            return Ok(None);
        };
        Ok(Some(self.install(snapshot, meta)))
    }

    /// Makes `snapshot` the one served (unless what is served is newer).
    pub(super) fn install(&self, snapshot: Snapshot, meta: SyncMeta) -> Arc<Loaded> {
        let mut state = self.write_state();
        if let Some(current) = &state.loaded
            && current.snapshot.synced_at > snapshot.synced_at
        {
            return current.clone();
        }
        let version_changed = state
            .loaded
            .as_ref()
            .is_none_or(|l| l.snapshot.version != snapshot.version);
        let loaded = Arc::new(Loaded::new(Arc::new(snapshot), &state.images));
        self.metrics
            .snapshot_items
            .set(i64::try_from(loaded.snapshot.items.len()).unwrap_or(i64::MAX));
        let previous = state.loaded.replace(loaded.clone());
        state.meta = meta;
        state.local_pause_until = None;
        state.failure_reason = None;
        drop(state);
        self.cache.forget(previous.as_deref());
        if version_changed {
            self.publish_wanted(Some(&loaded.raw));
        }
        loaded
    }

    /// Tells the asset pipeline which pictures the served snapshot shows.
    fn publish_wanted(&self, snapshot: Option<&Snapshot>) {
        let sources: Option<Arc<Vec<PictureSource>>> =
            snapshot.map(|s| Arc::new(s.picture_sources().collect()));
        self.wanted.send_modify(|wanted| wanted.sources = sources);
    }

    /// Which pictures the served snapshot shows (and purges of the account's media).
    pub fn wanted(&self) -> watch::Receiver<Wanted> {
        self.wanted.subscribe()
    }

    /// New finished pictures: the served snapshot shows them from now on (new bodies, new
    /// ETags).
    /// Every account's feed hears of every finished picture: only a change to one of its own
    /// rebuilds what it serves.
    pub fn set_images(&self, images: Arc<Images>) {
        let mut state = self.write_state();
        let Some(current) = state.loaded.clone() else {
            state.images = images;
            return;
        };
        let mine_changed = current
            .raw
            .picture_sources()
            .any(|source| state.images.get(&source.id) != images.get(&source.id));
        state.images = images;
        if !mine_changed {
            return;
        }
        state.loaded = Some(Arc::new(Loaded::new(current.raw.clone(), &state.images)));
        drop(state);
        self.cache.forget(Some(&current));
    }

    /// Forgets the account's media everywhere (deauthorize, data deletion, another account).
    /// The other replicas learn of it from the tombstone left in the meta key.
    pub async fn purge(&self) -> Result<(), StoreError> {
        let tombstone = self.snapshots.purge().await?;
        self.forget(tombstone);
        Ok(())
    }

    /// Drops the snapshot held in memory, and tells the asset pipeline to delete its pictures.
    fn forget(&self, meta: SyncMeta) {
        let previous = {
            let mut state = self.write_state();
            let images = std::mem::take(&mut state.images);
            let previous = state.loaded.take();
            *state = State {
                meta,
                images,
                ..State::default()
            };
            previous
        };
        self.cache.forget(previous.as_deref());
        self.metrics.snapshot_items.set(0);
        self.wanted.send_modify(|wanted| {
            wanted.sources = None;
            wanted.purges += 1;
        });
    }

    /// A new token was stored: drop another account's media, then sync in the background.
    pub async fn account_connected(self: &Arc<Self>, user_id: &str) -> Result<(), StoreError> {
        let other_account = self
            .read_state()
            .loaded
            .as_ref()
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

    /// Seconds since the snapshot held in memory was synced; `None` when none is held.
    pub fn snapshot_age_secs(&self) -> Option<u64> {
        let state = self.read_state();
        let loaded = state.loaded.as_ref()?;
        Some(
            (Utc::now() - loaded.snapshot.synced_at)
                .num_seconds()
                .max(0)
                .unsigned_abs(),
        )
    }

    pub fn status(&self) -> FeedStatus {
        let state = self.read_state();
        let meta = &state.meta;
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
                .or_else(|| state.failure_reason.clone()),
            rate_limit: self.client.rate_limit_usage(),
        }
    }
}
