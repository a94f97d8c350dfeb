//! A snapshot ready to serve: the synced data with the finished pictures applied, and what
//! reads need precomputed (search index, ids).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::query::SearchIndex;
use super::snapshot::Snapshot;
use crate::assets::Images;

pub struct Loaded {
    /// As synced, without re-hosted pictures.
    pub raw: Arc<Snapshot>,
    /// As served: `raw` with the finished pictures applied.
    pub snapshot: Arc<Snapshot>,
    pub index: SearchIndex,
    pub by_id: HashMap<String, usize>,
    /// Unique per built `Loaded`, across every feed: response cache entries of another never
    /// match.
    pub generation: u64,
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

    /// Whether `images` changes a picture this snapshot shows, compared with `before`.
    pub fn pictures_changed(&self, before: &Images, images: &Images) -> bool {
        self.raw
            .picture_sources()
            .any(|source| before.get(&source.id) != images.get(&source.id))
    }
}
