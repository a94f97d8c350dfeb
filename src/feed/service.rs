//! The feed of one account, as the rest of the service sees it: reads (hot, stale and cold),
//! and what the registry, the admin API and the asset pipeline ask of it. It puts together
//! the [`View`] (what is served) and the [`Coordinator`] (when and how it is synced).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::cache::ResponseCache;
use super::coordinator::{Coordinator, SyncFuture};
use super::curate::CuratedPost;
use super::error::FeedError;
use super::events::FeedEvents;
use super::loaded::Loaded;
use super::meta::{FeedStatus, Freshness};
use super::query::FeedQuery;
use super::render::Rendered;
use super::view::View;
use crate::assets::{Images, Wanted};
use crate::auth::TokenService;
use crate::config::FeedSettings;
use crate::curation::{Curation, CurationError};
use crate::instagram::InstagramClient;
use crate::metrics::AccountMetrics;
use crate::store::{Store, StoreError};

/// A served read.
pub struct Served {
    pub rendered: Rendered,
    pub freshness: Freshness,
    /// The body was built for this request (an in-process cache miss).
    pub cache_miss: bool,
}

pub struct Feed {
    view: Arc<View>,
    coordinator: Arc<Coordinator>,
    cold_wait: Duration,
}

impl Feed {
    pub fn new(
        store: Store,
        tokens: Arc<TokenService>,
        client: Arc<InstagramClient>,
        config: FeedSettings,
        metrics: AccountMetrics,
        cache: ResponseCache,
        events: FeedEvents,
    ) -> Arc<Self> {
        let view = Arc::new(View::new(
            events.slug().as_str(),
            cache,
            metrics.snapshot_items.clone(),
        ));
        let cold_wait = config.cold_wait;
        let coordinator = Arc::new(Coordinator::new(
            store,
            tokens,
            client,
            config,
            metrics,
            view.clone(),
            events,
        ));
        Arc::new(Self {
            view,
            coordinator,
            cold_wait,
        })
    }

    /// The hot path: a cache hit is two read locks, a hash lookup and a `Bytes` clone.
    pub async fn read(&self, query: &FeedQuery) -> Result<Served, FeedError> {
        let loaded = match self.view.current() {
            Some(loaded) => {
                let (freshness, may_retry) = self.coordinator.freshness(Utc::now());
                if freshness.stale && may_retry {
                    // Stale-while-revalidate: serve now, one coalesced sync in the background.
                    drop(self.coordinator.start_sync(false));
                }
                return self.serve(&loaded, query, freshness);
            }
            // Boxed: the cold path's state (a sync, a store read) would otherwise make every
            // request's future that large, and actix moves it into a box.
            None => Box::pin(self.cold_load()).await?,
        };
        let (freshness, _) = self.coordinator.freshness(Utc::now());
        self.serve(&loaded, query, freshness)
    }

    fn serve(
        &self,
        loaded: &Loaded,
        query: &FeedQuery,
        freshness: Freshness,
    ) -> Result<Served, FeedError> {
        let (rendered, cache_miss) = self.view.serve(loaded, query)?;
        Ok(Served {
            rendered,
            freshness,
            cache_miss,
        })
    }

    /// No snapshot in memory: take the stored one (another replica's, or from before a
    /// restart), else wait (bounded) on one coalesced sync.
    async fn cold_load(&self) -> Result<Arc<Loaded>, FeedError> {
        // Paused after a failure: answer at once, without touching the store (the version
        // poll still picks up a snapshot another replica writes).
        let now = Utc::now();
        if let Some((until, reason)) = self.coordinator.pause(now) {
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
        match self.coordinator.load_stored().await {
            Ok(Some(loaded)) => return Ok(loaded),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the stored snapshot"),
        }
        let retry_after = Duration::from_secs(5);
        let sync = self.coordinator.start_sync(false);
        match tokio::time::timeout(self.cold_wait, sync).await {
            Ok(Ok(loaded)) => Ok(loaded),
            Ok(Err(e)) => {
                // The pause the failure started, if any, is when trying again makes sense.
                let paused = self
                    .coordinator
                    .pause(Utc::now())
                    .and_then(|(until, _)| (until - Utc::now()).to_std().ok());
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

    /// Starts a sync (forced: even if none is due), or joins the one running here.
    pub fn start_sync(&self, force: bool) -> SyncFuture {
        self.coordinator.start_sync(force)
    }

    /// The scheduler's question, once a second; true when a sync was started.
    pub async fn sync_if_due(&self) -> bool {
        self.coordinator.sync_if_due().await
    }

    /// The version poll's part: `meta` is what the store holds under [`super::META_KEY`] (read
    /// for every account in one round trip); the snapshot is read only when it changed.
    pub async fn take_meta(&self, meta: Option<Vec<u8>>) -> Result<(), StoreError> {
        self.coordinator.take_meta(meta).await.map(drop)
    }

    /// The version poll's part for the curation (see [`Coordinator::take_curation_revision`]).
    pub async fn take_curation_revision(
        &self,
        revision: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        self.coordinator.take_curation_revision(revision).await
    }

    /// The stored curation (what an operator last set).
    pub async fn curation(&self) -> Result<Curation, StoreError> {
        self.coordinator.curation().await
    }

    /// Changes the curation for every replica (under its lock), and applies it here at once;
    /// returns the new setting.
    pub async fn curate(
        &self,
        change: impl FnOnce(&mut Curation) -> Result<(), CurationError>,
    ) -> Result<Curation, CurationError> {
        self.coordinator.curate(change).await
    }

    /// Every synced post with what the curation does to it (for operators); `None` before a
    /// snapshot is held.
    pub fn curated_posts(&self) -> Option<Vec<CuratedPost>> {
        self.view.curated_posts()
    }

    /// Forgets the curation everywhere.
    pub async fn forget_curation(&self) -> Result<(), StoreError> {
        self.coordinator.forget_curation().await
    }

    /// New finished pictures: see [`View::set_images`].
    pub fn set_images(&self, images: Arc<Images>) {
        self.view.set_images(images);
    }

    /// Which pictures the served snapshot shows (and purges of the account's media).
    pub fn wanted(&self) -> watch::Receiver<Wanted> {
        self.view.wanted()
    }

    /// Forgets the account's media everywhere (deauthorize, data deletion, another account).
    pub async fn purge(&self) -> Result<(), StoreError> {
        self.coordinator.purge().await
    }

    /// A new token was stored: drop another account's media, then sync in the background.
    pub async fn account_connected(&self, user_id: &str) -> Result<(), StoreError> {
        self.coordinator.account_connected(user_id).await
    }

    /// Seconds since the snapshot held in memory was synced; `None` when none is held.
    pub fn snapshot_age_secs(&self) -> Option<u64> {
        self.view.age_secs()
    }

    pub fn status(&self) -> FeedStatus {
        self.coordinator.status()
    }
}
