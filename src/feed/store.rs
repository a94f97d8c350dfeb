//! The feed's shared state in the store, under the account's scope: the snapshot, its meta
//! (what the version poll reads), the sync lock, and fenced writes.

use std::time::Duration;

use chrono::Utc;

use super::meta::SyncMeta;
use super::snapshot::Snapshot;
use crate::store::{LockGuard, Store, StoreError};

/// What the version poll reads (with the account's scope in front).
pub const META_KEY: &str = "feed:meta";
const SNAPSHOT_KEY: &str = "feed:snapshot";
const SYNC_LOCK: &str = "lock:feed-sync";
/// Stored snapshots outlive any sensible outage; every key has a TTL.
const SNAPSHOT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct SnapshotStore {
    store: Store,
}

impl SnapshotStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn meta_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(META_KEY).await
    }

    /// The stored snapshot; an unreadable one counts as none (the next sync replaces it).
    pub async fn snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let Some(bytes) = self.store.get(SNAPSHOT_KEY).await? else {
            return Ok(None);
        };
        Ok(match serde_json::from_slice::<Snapshot>(&bytes) {
            Ok(snapshot) => Some(snapshot),
            Err(_) => {
                tracing::warn!(
                    "the stored snapshot is unreadable; it will be replaced by the next sync"
                );
                None
            }
        })
    }

    /// The sync lock, if free.
    pub async fn lock(&self, ttl: Duration) -> Result<Option<LockGuard>, StoreError> {
        self.store.try_lock(SYNC_LOCK, ttl).await
    }

    pub async fn unlock(&self, guard: LockGuard) {
        if let Err(e) = self.store.unlock(guard).await {
            tracing::debug!(error = %e, "could not release the sync lock; it expires on its own");
        }
    }

    /// Writes a new snapshot and its meta while `guard` still holds the sync lock; false when
    /// the fence refused (a newer sync owns the lock).
    pub async fn write(
        &self,
        guard: &LockGuard,
        snapshot: &Snapshot,
        meta: &SyncMeta,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(snapshot).unwrap_or_default();
        Ok(self
            .store
            .set_fenced(guard, SNAPSHOT_KEY, &json, Some(SNAPSHOT_TTL))
            .await?
            && self.write_meta(guard, meta).await?)
    }

    pub async fn write_meta(&self, guard: &LockGuard, meta: &SyncMeta) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(meta).unwrap_or_default();
        self.store
            .set_fenced(guard, META_KEY, &json, Some(SNAPSHOT_TTL))
            .await
    }

    /// Deletes the snapshot and leaves a tombstone in the meta, from which the other replicas
    /// learn to drop their copy. Returns the tombstone.
    pub async fn purge(&self) -> Result<SyncMeta, StoreError> {
        self.store.delete(SNAPSHOT_KEY).await?;
        let tombstone = SyncMeta {
            purged_at: Some(Utc::now()),
            ..SyncMeta::default()
        };
        let json = serde_json::to_vec(&tombstone).unwrap_or_default();
        self.store.set(META_KEY, &json, Some(SNAPSHOT_TTL)).await?;
        Ok(tombstone)
    }
}
