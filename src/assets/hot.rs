//! Hot assets: a byte-bounded in-process cache in front of the asset store, so popular pictures
//! are served from memory. Concurrent misses of one key read the store once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

use super::{AssetKey, AssetStorage, StorageError};
use crate::metrics::Metrics;

/// What one cache entry costs beyond its bytes (moka's entry, the key, the `Bytes` handle), so
/// that the bound holds for memory, not only for bodies.
const CACHE_ENTRY_OVERHEAD: usize = 256;

/// A store read every concurrent miss of its key awaits.
type Fetch = Shared<BoxFuture<'static, Result<Option<Bytes>, Arc<StorageError>>>>;

/// The reads in progress, by key, each with an id (so that only its own waiters remove it).
/// Keys come from clients, hence a seeded hash.
type Inflight = HashMap<AssetKey, (u64, Fetch), foldhash::fast::RandomState>;

pub struct HotAssets {
    storage: AssetStorage,
    cache: moka::sync::Cache<AssetKey, Bytes, foldhash::fast::RandomState>,
    inflight: Mutex<Inflight>,
    fetch_ids: AtomicU64,
    metrics: Arc<Metrics>,
}

impl HotAssets {
    pub fn new(storage: AssetStorage, cache_max_bytes: u64, metrics: Arc<Metrics>) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(cache_max_bytes)
            .weigher(|_: &AssetKey, bytes: &Bytes| {
                u32::try_from(CACHE_ENTRY_OVERHEAD + bytes.len()).unwrap_or(u32::MAX)
            })
            // Only keys the store holds get in: clients cannot fill the cache with junk.
            .build_with_hasher(foldhash::fast::RandomState::default());
        Self {
            storage,
            cache,
            inflight: Mutex::new(HashMap::default()),
            fetch_ids: AtomicU64::new(0),
            metrics,
        }
    }

    /// The copy's bytes, from memory when hot; `None` when the store has no such key. A store
    /// error is not cached: the next request tries again.
    pub async fn get(&self, key: &AssetKey) -> Result<Option<Bytes>, Arc<StorageError>> {
        let lookups = &self.metrics.asset_lookups;
        if let Some(bytes) = self.cache.get(key) {
            lookups.hit.inc();
            return Ok(Some(bytes));
        }
        lookups.miss.inc();
        self.fetch(*key).await
    }

    /// Joins the read of `key` in progress, or starts one.
    fn fetch(&self, key: AssetKey) -> Waiting<'_> {
        let mut inflight = self.lock_inflight();
        if let Some((id, fetch)) = inflight.get(&key) {
            return Waiting {
                hot: self,
                key,
                id: *id,
                fetch: fetch.clone(),
            };
        }
        let id = self.fetch_ids.fetch_add(1, Ordering::Relaxed);
        let (storage, cache, metrics) = (
            self.storage.clone(),
            self.cache.clone(),
            self.metrics.clone(),
        );
        let fetch = async move {
            let reads = &metrics.asset_store_reads;
            let result = storage.get(&key).await;
            match &result {
                Ok(Some(bytes)) => {
                    reads.found.inc();
                    cache.insert(key, bytes.clone());
                }
                Ok(None) => reads.not_found.inc(),
                Err(e) => {
                    reads.error.inc();
                    tracing::warn!(
                        key = %key,
                        store = storage.kind(),
                        error = %e,
                        "could not read an asset from the store"
                    );
                }
            }
            result.map_err(Arc::new)
        }
        .boxed()
        .shared();
        inflight.insert(key, (id, fetch.clone()));
        Waiting {
            hot: self,
            key,
            id,
            fetch,
        }
    }

    fn lock_inflight(&self) -> MutexGuard<'_, Inflight> {
        self.inflight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One request's wait on a read. The last waiter to leave, done or dropped (the client went
/// away), removes the read from the in-progress map, so nothing is left behind.
struct Waiting<'a> {
    hot: &'a HotAssets,
    key: AssetKey,
    id: u64,
    fetch: Fetch,
}

impl Future for Waiting<'_> {
    type Output = Result<Option<Bytes>, Arc<StorageError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.fetch.poll_unpin(cx)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut inflight = self.hot.lock_inflight();
        let Some((id, fetch)) = inflight.get(&self.key) else {
            return;
        };
        // Clones are only made under this lock, so the count cannot grow meanwhile. Done: the
        // result is in the cache (or was none, or an error worth retrying). Not done: only
        // the map and this waiter hold it.
        if *id == self.id && (fetch.peek().is_some() || fetch.strong_count() <= Some(2)) {
            inflight.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AssetStoreSettings;

    fn hot(dir: &std::path::Path, cache_max_bytes: u64) -> (HotAssets, Arc<Metrics>) {
        let storage = AssetStorage::new(&AssetStoreSettings::Fs {
            path: dir.to_owned(),
        })
        .unwrap();
        let metrics = Metrics::new();
        (
            HotAssets::new(storage, cache_max_bytes, metrics.clone()),
            metrics,
        )
    }

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "igw-hot-{}",
            AssetKey::of(&crate::random::bytes::<16>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn concurrent_misses_read_the_store_once() {
        let dir = temp_dir();
        let (hot, metrics) = hot(&dir, 1 << 20);
        let key = AssetKey::of(b"held");
        // A FIFO as the copy: the store's read blocks in open() until a writer comes, so every
        // request below misses while the one read is in progress, whatever the timing.
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        let fifo = dir.join(format!("assets/{key}.webp"));
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo");

        let requests = futures_util::future::join_all((0..16).map(|_| hot.get(&key)));
        let release = async {
            while metrics.asset_lookups.miss.get() < 16 {
                tokio::task::yield_now().await;
            }
            assert_eq!(hot.lock_inflight().len(), 1);
            let writer = std::fs::OpenOptions::new().write(true).open(&fifo);
            tokio::task::spawn_blocking(move || drop(writer))
                .await
                .unwrap();
        };
        let (results, ()) = tokio::join!(requests, release);

        let reads = &metrics.asset_store_reads;
        assert_eq!(
            reads.found.get() + reads.not_found.get() + reads.error.get(),
            1
        );
        // (A FIFO reads as an error or as empty: either way, one answer for all.)
        let first = format!("{:?}", results[0]);
        assert!(
            results.iter().all(|r| format!("{r:?}") == first),
            "{results:?}"
        );
        assert!(hot.lock_inflight().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_read_copy_is_served_from_memory() {
        let dir = temp_dir();
        let (hot, metrics) = hot(&dir, 1 << 20);
        let bytes = Bytes::from(vec![7u8; 40_000]);
        let key = AssetKey::of(&bytes);
        hot.storage.put(&key, bytes.clone()).await.unwrap();
        assert_eq!(hot.get(&key).await.unwrap().unwrap(), bytes);
        assert_eq!(metrics.asset_lookups.miss.get(), 1);

        // The file is gone, the copy is still served.
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(hot.get(&key).await.unwrap().unwrap(), bytes);
        assert_eq!(metrics.asset_lookups.hit.get(), 1);
        assert_eq!(metrics.asset_store_reads.found.get(), 1);
    }

    #[tokio::test]
    async fn unknown_keys_and_errors_are_not_cached_and_abandoned_reads_leave_nothing() {
        let dir = temp_dir();
        let (hot, metrics) = hot(&dir, 1 << 20);
        let key = AssetKey::of(b"not there yet");
        assert!(hot.get(&key).await.unwrap().is_none());
        assert_eq!(metrics.asset_store_reads.not_found.get(), 1);

        // A waiter dropped before the read ends removes it.
        let waiting = hot.fetch(key);
        assert_eq!(hot.lock_inflight().len(), 1);
        drop(waiting);
        assert!(hot.lock_inflight().is_empty());

        // The store fails: `assets` is a file, not a directory.
        std::fs::remove_dir_all(dir.join("assets")).ok();
        std::fs::write(dir.join("assets"), b"").unwrap();
        assert!(hot.get(&key).await.is_err());
        assert_eq!(metrics.asset_store_reads.error.get(), 1);
        assert!(hot.lock_inflight().is_empty());

        // Back: the copy is found.
        std::fs::remove_file(dir.join("assets")).unwrap();
        let bytes = Bytes::from_static(b"not there yet");
        hot.storage.put(&key, bytes.clone()).await.unwrap();
        assert_eq!(hot.get(&key).await.unwrap().unwrap(), bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
