//! What the feed serves: the installed snapshot, with the finished pictures applied, and its
//! ready responses. It knows nothing of syncing; the coordinator installs into it.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::Utc;
use prometheus::IntGauge;
use tokio::sync::watch;

use super::cache::{CacheKey, ResponseCache};
use super::curate::{CuratedPost, curated_posts};
use super::error::FeedError;
use super::loaded::Loaded;
use super::query::FeedQuery;
use super::render::Rendered;
use super::snapshot::Snapshot;
use crate::assets::{Images, PictureSource, Wanted};
use crate::curation::Curation;

pub struct View {
    /// The account's slug, for the bodies that name it.
    slug: String,
    state: RwLock<ViewState>,
    /// Shared by every account's feed.
    cache: ResponseCache,
    snapshot_items: IntGauge,
    /// The pictures the served snapshot shows, for the asset pipeline.
    wanted: watch::Sender<Wanted>,
}

#[derive(Default)]
struct ViewState {
    loaded: Option<Arc<Loaded>>,
    /// The finished re-hosted pictures, applied to every snapshot installed.
    images: Arc<Images>,
    /// The operator's curation, applied to every snapshot installed.
    curation: Arc<Curation>,
}

/// What [`View::install`] did.
pub enum Installed {
    /// The snapshot is served from now on.
    New(Arc<Loaded>),
    /// The one already served was synced later; it stays.
    Kept(Arc<Loaded>),
}

impl View {
    pub fn new(slug: &str, cache: ResponseCache, snapshot_items: IntGauge) -> Self {
        Self {
            slug: slug.to_owned(),
            state: RwLock::default(),
            cache,
            snapshot_items,
            wanted: watch::Sender::new(Wanted::default()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, ViewState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, ViewState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The snapshot served, if any.
    pub fn current(&self) -> Option<Arc<Loaded>> {
        self.read().loaded.clone()
    }

    /// The body of `query` against `loaded`, from the cache when it holds it; true when it
    /// was rendered for this call.
    pub fn serve(&self, loaded: &Loaded, query: &FeedQuery) -> Result<(Rendered, bool), FeedError> {
        let first_page = query.first_page_limit();
        if let Some(rendered) = first_page.and_then(|limit| loaded.first_page(limit)) {
            return Ok((rendered, false));
        }
        let key = CacheKey::new(loaded, query)?;
        let (rendered, miss) = self.cache.get_or_render(&key, loaded, &self.slug);
        if let Some(limit) = first_page {
            loaded.keep_first_page(limit, &rendered);
        }
        Ok((rendered, miss))
    }

    /// Makes `snapshot` the one served, unless the one served was synced later.
    pub fn install(&self, snapshot: Snapshot) -> Installed {
        let mut state = self.write();
        if let Some(current) = &state.loaded
            && current.snapshot.synced_at > snapshot.synced_at
        {
            return Installed::Kept(current.clone());
        }
        let version_changed = state
            .loaded
            .as_ref()
            .is_none_or(|l| l.snapshot.version != snapshot.version);
        let loaded = Arc::new(Loaded::new(
            Arc::new(snapshot),
            &state.images,
            &state.curation,
        ));
        let previous = state.loaded.replace(loaded.clone());
        drop(state);
        self.snapshot_items
            .set(i64::try_from(loaded.snapshot.items.len()).unwrap_or(i64::MAX));
        self.cache.forget(previous.as_deref());
        if version_changed {
            let sources = Arc::new(loaded.raw.picture_sources().collect::<Vec<PictureSource>>());
            self.wanted
                .send_modify(|wanted| wanted.sources = Some(sources));
        }
        Installed::New(loaded)
    }

    /// Drops the snapshot served, and tells the asset pipeline to delete its pictures.
    pub fn forget(&self) {
        let previous = self.write().loaded.take();
        self.cache.forget(previous.as_deref());
        self.snapshot_items.set(0);
        self.wanted.send_modify(|wanted| {
            wanted.sources = None;
            wanted.purges += 1;
        });
    }

    /// New finished pictures (of every account): the served snapshot shows them from now on
    /// (new bodies, new ETags) if one of its own changed.
    pub fn set_images(&self, images: Arc<Images>) {
        let mut state = self.write();
        let previous = state.loaded.clone();
        let changed = previous
            .as_ref()
            .is_some_and(|current| current.pictures_changed(&state.images, &images));
        state.images = images;
        if changed {
            self.rebuild(state);
        }
    }

    /// Builds the served snapshot again from the synced one, with the current pictures and
    /// curation, and drops the responses of the one it replaces.
    fn rebuild(&self, mut state: RwLockWriteGuard<'_, ViewState>) {
        let Some(current) = state.loaded.clone() else {
            return;
        };
        state.loaded = Some(Arc::new(Loaded::new(
            current.raw.clone(),
            &state.images,
            &state.curation,
        )));
        drop(state);
        self.cache.forget(Some(&current));
    }

    /// Every synced post with what the curation does to it; `None` before a snapshot is held.
    pub fn curated_posts(&self) -> Option<Vec<CuratedPost>> {
        let state = self.read();
        let loaded = state.loaded.as_ref()?;
        Some(curated_posts(
            &loaded.raw,
            &loaded.snapshot.items,
            &state.curation,
        ))
    }

    /// The revision of the curation applied; empty before any was set.
    pub fn curation_revision(&self) -> String {
        self.read().curation.revision.clone()
    }

    /// A new curation: the served snapshot is rebuilt with it (new bodies, new ETags; the
    /// old ones are never served again).
    pub fn set_curation(&self, curation: Arc<Curation>) {
        let mut state = self.write();
        state.curation = curation;
        self.rebuild(state);
    }

    /// Which pictures the served snapshot shows (and purges of the account's media).
    pub fn wanted(&self) -> watch::Receiver<Wanted> {
        self.wanted.subscribe()
    }

    /// Seconds since the snapshot served was synced; `None` when none is.
    pub fn age_secs(&self) -> Option<u64> {
        let synced_at = self.read().loaded.as_ref()?.snapshot.synced_at;
        Some((Utc::now() - synced_at).num_seconds().max(0).unsigned_abs())
    }
}
