//! The ready responses of every account's feed, keyed by the snapshot they were rendered from
//! and the query resolved against it.

use serde::Serialize;

use super::error::FeedError;
use super::loaded::Loaded;
use super::media::{Media, MediaType};
use super::profile::AccountProfile;
use super::query::{FeedQuery, Search, page_at, start_of};
use super::render::Rendered;

/// What a response is cached under: the snapshot and the query resolved against it. A cursor
/// becomes its position in the snapshot, an id its index, so however many distinct cursors
/// clients forge, they resolve to at most one entry per position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
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

#[derive(Serialize)]
struct OneBody<'a>(&'a Media);

impl CacheKey {
    pub fn new(loaded: &Loaded, query: &FeedQuery) -> Result<Self, FeedError> {
        let page = |search: Option<&Search>, p: &super::query::PageRequest| ResolvedRead::Page {
            search: search.cloned(),
            start: start_of(&loaded.snapshot.items, loaded.pinned, p.cursor.as_ref()),
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
                loaded.pinned,
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

/// Bounded together by `feed.cache_max_bytes`. Keys carry the generation of the snapshot they
/// were rendered from, unique across feeds, so one account's entries never answer for
/// another's; a feed that installs a new snapshot drops its old generation's entries.
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

    /// The body of `key`, rendered from `loaded` on a miss (concurrent misses of one key
    /// render it once); true when this call rendered it.
    pub fn get_or_render(&self, key: &CacheKey, loaded: &Loaded, slug: &str) -> (Rendered, bool) {
        if let Some(rendered) = self.0.get(key) {
            return (rendered, false);
        }
        let entry = self
            .0
            .entry_by_ref(key)
            .or_insert_with(|| key.render(loaded, slug));
        let miss = entry.is_fresh();
        (entry.into_value(), miss)
    }

    /// Drops the entries of a snapshot no longer served (they could never be hit again).
    pub fn forget(&self, loaded: Option<&Loaded>) {
        if let Some(generation) = loaded.map(|l| l.generation) {
            // Fails only without `support_invalidation_closures`, set above.
            let _ = self
                .0
                .invalidate_entries_if(move |key, _| key.generation == generation);
        }
    }
}
