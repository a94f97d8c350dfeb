//! A snapshot ready to serve: the synced data, curated by the operator, with the finished
//! pictures applied, and what reads need precomputed (search index, ids).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::curate::curate;
use super::query::SearchIndex;
use super::render::Rendered;
use super::snapshot::Snapshot;
use crate::assets::Images;
use crate::curation::Curation;

pub struct Loaded {
    /// As synced, without re-hosted pictures.
    pub raw: Arc<Snapshot>,
    /// As served: `raw` curated, with the finished pictures applied.
    pub snapshot: Arc<Snapshot>,
    /// How many of the served items lead as pinned.
    pub pinned: usize,
    pub index: SearchIndex,
    pub by_id: HashMap<String, usize>,
    /// Unique per built `Loaded`, across every feed: response cache entries of another never
    /// match.
    pub generation: u64,
    /// The first page at the first page size asked for, unfiltered: the hottest read by far,
    /// answered without the response cache's bookkeeping. Its bytes are those of the cache
    /// entry (shared), held for as long as this snapshot is served.
    first_page: OnceLock<(usize, Rendered)>,
}

impl Loaded {
    pub fn new(raw: Arc<Snapshot>, images: &Images, curation: &Curation) -> Self {
        static GENERATIONS: AtomicU64 = AtomicU64::new(0);
        let (snapshot, pinned) = if images.is_empty() && curation.is_empty() {
            (raw.clone(), 0)
        } else {
            let (items, pinned) = if curation.is_empty() {
                (raw.items.clone(), 0)
            } else {
                curate(&raw, curation)
            };
            let mut decorated = Snapshot {
                version: raw.version.clone(),
                synced_at: raw.synced_at,
                account: raw.account.clone(),
                items,
                urls_expire_at: raw.urls_expire_at,
                profile: raw.profile.clone(),
            };
            for item in &mut decorated.items {
                item.apply_images(images);
            }
            let user_id = decorated.account.user_id.clone();
            if let Some(profile) = &mut decorated.profile {
                profile.apply_images(&user_id, images);
            }
            (Arc::new(decorated), pinned)
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
            pinned,
            index,
            by_id,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            first_page: OnceLock::new(),
        }
    }

    /// The kept first page, when it was kept at this `limit`.
    pub fn first_page(&self, limit: usize) -> Option<Rendered> {
        self.first_page
            .get()
            .filter(|(kept, _)| *kept == limit)
            .map(|(_, rendered)| rendered.clone())
    }

    /// Keeps the first page at `limit`, unless one is kept already.
    pub fn keep_first_page(&self, limit: usize, rendered: &Rendered) {
        let _ = self.first_page.set((limit, rendered.clone()));
    }

    /// Whether `images` changes a picture this snapshot shows, compared with `before`.
    pub fn pictures_changed(&self, before: &Images, images: &Images) -> bool {
        self.raw
            .picture_sources()
            .any(|source| before.get(&source.id) != images.get(&source.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::AccountRef;

    #[test]
    fn the_first_page_is_kept_once_at_the_first_size_asked_for() {
        let account = AccountRef {
            user_id: "1".into(),
            username: None,
        };
        let (snapshot, _) = Snapshot::build(account, Vec::new(), chrono::Utc::now());
        let loaded = Loaded::new(Arc::new(snapshot), &Images::default(), &Curation::default());
        assert!(loaded.first_page(20).is_none());
        let page = Rendered::json(&serde_json::json!({"data": []}));
        loaded.keep_first_page(20, &page);
        loaded.keep_first_page(10, &Rendered::json(&serde_json::json!({"other": 1})));
        let kept = loaded.first_page(20).unwrap();
        assert_eq!(kept.identity.etag, page.identity.etag);
        assert!(
            loaded.first_page(10).is_none(),
            "another size goes to the cache"
        );
    }
}
