//! Persistence behind one interface: Redis for real deployments, memory for local runs.
//!
//! Every key is given relative to the configured prefix; the store adds it. Every call is
//! bounded by the command timeout, so a frozen Redis cannot hang a request.

mod health;
mod memory;
mod redis;

use std::time::Duration;

pub use self::health::StoreHealth;
pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

/// Why a store call failed. Never carries credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store timed out after {0:?}")]
    Timeout(Duration),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A held lock: its key and the random value (fencing token) only the holder knows.
#[derive(Debug, Clone)]
pub struct LockGuard {
    key: String,
    value: String,
}

/// The service's store. An enum rather than a trait object: two implementations, static dispatch.
#[derive(Clone)]
pub enum Store {
    Redis(RedisStore),
    Memory(MemoryStore),
}

impl Store {
    /// A short name for logs and readiness output.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Redis(_) => "redis",
            Store::Memory(_) => "memory",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.ping().await,
            Store::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Redis(s) => s.get(key).await,
            Store::Memory(s) => Ok(s.get(key)),
        }
    }

    /// Writes `value`; `ttl: None` keeps it until deleted.
    pub async fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.set(key, value, ttl).await,
            Store::Memory(s) => {
                s.set(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Writes only if the key is absent; true when written.
    pub async fn set_new(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Redis(s) => s.set_new(key, value, ttl).await,
            Store::Memory(s) => Ok(s.set_new(key, value, Some(ttl))),
        }
    }

    /// Reads and deletes atomically: a value can be taken once, whoever races for it.
    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Redis(s) => s.take(key).await,
            Store::Memory(s) => Ok(s.take(key)),
        }
    }

    /// Deletes a key, whatever it holds.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.delete(key).await,
            Store::Memory(s) => {
                s.delete(key);
                Ok(())
            }
        }
    }

    /// Sets `field` of the hash `key`, and the whole hash's TTL (Redis; in memory, hashes live
    /// as long as the process).
    pub async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.hash_set(key, field, value, ttl).await,
            Store::Memory(s) => {
                s.hash_set(key, field, value);
                Ok(())
            }
        }
    }

    pub async fn hash_get(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Redis(s) => s.hash_get(key, field).await,
            Store::Memory(s) => Ok(s.hash_get(key, field)),
        }
    }

    /// Every field of the hash `key` with its value (none when it does not exist).
    pub async fn hash_get_all(&self, key: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            Store::Redis(s) => s.hash_get_all(key).await,
            Store::Memory(s) => Ok(s.hash_get_all(key)),
        }
    }

    pub async fn hash_delete(&self, key: &str, field: &str) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.hash_delete(key, field).await,
            Store::Memory(s) => {
                s.hash_delete(key, field);
                Ok(())
            }
        }
    }

    /// Renews the TTL of `key` (Redis; a no-op in memory, where hashes live with the process).
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.expire(key, ttl).await,
            Store::Memory(_) => Ok(()),
        }
    }

    /// Adds one to the counter `key` (absent counts as 0), sets its TTL, returns the new value.
    pub async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        match self {
            Store::Redis(s) => s.incr(key, ttl).await,
            Store::Memory(s) => Ok(s.incr(key, ttl)),
        }
    }

    /// Tries to take the lock `key` for `ttl`; `None` when someone else holds it.
    pub async fn try_lock(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<LockGuard>, StoreError> {
        let value = crate::random::token_urlsafe(16);
        let taken = self.set_new(key, value.as_bytes(), ttl).await?;
        Ok(taken.then(|| LockGuard {
            key: key.to_owned(),
            value,
        }))
    }

    /// Writes `value` only while `guard` still holds its lock: a holder whose lock expired (and
    /// was taken by another) cannot overwrite newer data. True when written.
    pub async fn set_fenced(
        &self,
        guard: &LockGuard,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Redis(s) => s.set_fenced(guard, key, value, ttl).await,
            Store::Memory(s) => {
                Ok(s.set_if_equals(&guard.key, guard.value.as_bytes(), key, value, ttl))
            }
        }
    }

    /// Releases the lock if still ours; a lock that expired and was re-taken is left alone.
    pub async fn unlock(&self, guard: LockGuard) -> Result<(), StoreError> {
        match self {
            Store::Redis(s) => s.delete_if_equals(&guard.key, &guard.value).await,
            Store::Memory(s) => {
                s.delete_if_equals(&guard.key, guard.value.as_bytes());
                Ok(())
            }
        }
    }
}
