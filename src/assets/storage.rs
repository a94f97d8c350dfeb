//! Where encoded copies live: one interface over memory, a directory and an S3 bucket
//! (`object_store`), addressed by content key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
    RetryConfig,
};

use super::AssetKey;
use crate::config::AssetStoreSettings;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the asset store is full ({max_bytes} bytes, assets.memory_max_bytes)")]
    Full { max_bytes: u64 },
    #[error("asset store: {0}")]
    Backend(#[from] object_store::Error),
    #[error("asset store: {0}")]
    Setup(String),
}

/// The store of encoded copies. Keys name their bytes, so a put of an existing key is a no-op
/// in effect, and replicas never race on content.
#[derive(Clone)]
pub struct AssetStorage {
    inner: Arc<dyn ObjectStore>,
    kind: &'static str,
    /// The memory store counts what it holds, to refuse copies beyond its bound.
    memory: Option<Arc<MemoryBound>>,
}

struct MemoryBound {
    max_bytes: u64,
    used: AtomicU64,
}

/// Retries of failed S3 requests (5xx, dropped or refused connections, timeouts of reads).
/// object_store's default is 10 retries within 3 minutes, with backoff up to 15 s; but a reader
/// of `/assets` waits on a cache miss, so a dead store would hold each request for up to a
/// minute. Here: 3 retries, backoff from 0.1 s doubling up to 1 s, none begun after 10 s. A
/// refused connection fails within about a second, an endpoint that drops packets within about
/// 15 s (object_store's connect timeout, 5 s, is kept). A copy that failed is made again later
/// (`assets.retry_backoff_secs`).
fn s3_retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(10),
    }
}

impl AssetStorage {
    pub fn new(settings: &AssetStoreSettings) -> Result<Self, StorageError> {
        Ok(match settings {
            AssetStoreSettings::Memory { max_bytes } => Self {
                inner: Arc::new(InMemory::new()),
                kind: "memory",
                memory: Some(Arc::new(MemoryBound {
                    max_bytes: *max_bytes,
                    used: AtomicU64::new(0),
                })),
            },
            AssetStoreSettings::Fs { path } => {
                std::fs::create_dir_all(path).map_err(|e| {
                    StorageError::Setup(format!("cannot create {}: {e}", path.display()))
                })?;
                Self {
                    inner: Arc::new(LocalFileSystem::new_with_prefix(path)?),
                    kind: "fs",
                    memory: None,
                }
            }
            AssetStoreSettings::S3(s3) => {
                // Credentials (AWS_ACCESS_KEY_ID, ...) from the environment, never from files.
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_virtual_hosted_style_request(!s3.path_style)
                    .with_retry(s3_retry());
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint.as_str().trim_end_matches('/'))
                        .with_allow_http(endpoint.scheme() == "http");
                }
                Self {
                    inner: Arc::new(builder.build()?),
                    kind: "s3",
                    memory: None,
                }
            }
        })
    }

    /// `memory`, `fs` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    fn path(key: &AssetKey) -> Path {
        Path::from(format!("assets/{key}.webp"))
    }

    pub async fn put(&self, key: &AssetKey, bytes: Bytes) -> Result<(), StorageError> {
        let len = bytes.len() as u64;
        if let Some(memory) = &self.memory {
            if self.exists(key).await? {
                return Ok(());
            }
            let reserved = memory
                .used
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                    (used + len <= memory.max_bytes).then_some(used + len)
                });
            if reserved.is_err() {
                return Err(StorageError::Full {
                    max_bytes: memory.max_bytes,
                });
            }
        }
        let payload = PutPayload::from_bytes(bytes);
        let result = if self.kind == "s3" {
            // Served as they are when `assets.public_base_url` points at the bucket.
            let options = PutOptions {
                attributes: Attributes::from_iter([
                    (Attribute::ContentType, "image/webp"),
                    (
                        Attribute::CacheControl,
                        "public, max-age=31536000, immutable",
                    ),
                ]),
                ..PutOptions::default()
            };
            self.inner
                .put_opts(&Self::path(key), payload, options)
                .await
        } else {
            // The memory and fs stores keep no attributes (and refuse them).
            self.inner.put(&Self::path(key), payload).await
        };
        if result.is_err()
            && let Some(memory) = &self.memory
        {
            memory.used.fetch_sub(len, Ordering::AcqRel);
        }
        result?;
        Ok(())
    }

    /// The copy's bytes; `None` when the store has no such key.
    pub async fn get(&self, key: &AssetKey) -> Result<Option<Bytes>, StorageError> {
        match self.inner.get(&Self::path(key)).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, key: &AssetKey) -> Result<bool, StorageError> {
        match self.inner.head(&Self::path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a copy; one that is already gone is not an error.
    pub async fn delete(&self, key: &AssetKey) -> Result<(), StorageError> {
        let path = Self::path(key);
        let size = match &self.memory {
            Some(_) => match self.inner.head(&path).await {
                Ok(meta) => Some(meta.size),
                Err(object_store::Error::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if let (Some(memory), Some(size)) = (&self.memory, size) {
            memory.used.fetch_sub(size, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Can the store be reached? (A read of a key that never exists.)
    pub async fn check(&self) -> Result<(), StorageError> {
        match self.inner.head(&Path::from("assets/.probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
