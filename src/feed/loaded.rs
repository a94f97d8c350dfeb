//! A snapshot ready to serve: the synced data, curated by the operator, with the finished
//! pictures applied, and what reads need precomputed (search index, ids).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::curate::curate;
use super::query::SearchIndex;
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
        }
    }

    /// Whether `images` changes a picture this snapshot shows, compared with `before`.
    pub fn pictures_changed(&self, before: &Images, images: &Images) -> bool {
        self.raw
            .picture_sources()
            .any(|source| before.get(&source.id) != images.get(&source.id))
    }
}
