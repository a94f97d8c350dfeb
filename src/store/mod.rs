//! Persistence behind one interface: Redis for real deployments, memory for local runs.
//!
//! Every key is given relative to the configured prefix; the store adds it. Every call is
//! bounded by the command timeout, so a frozen Redis cannot hang a request.

mod health;
mod memory;
mod redis;

use std::borrow::Cow;
use std::sync::Arc;
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

/// What [`Store::hash_insert_bounded`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Inserted,
    /// The field was already there; nothing changed.
    Exists,
    /// The hash is full; nothing changed.
    Full,
}

/// What [`Store::sorted_admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// `member` was already in the window: nothing changed (its score is kept).
    Present,
    /// `member` was added with score `now`.
    Added,
    /// The window holds `limit` or more members: not added. `oldest` is the lowest score in the
    /// window (`now` when it is empty, which only a limit of 0 gives).
    Full { oldest: i64 },
}

/// How many members [`Store::sorted_claim`] takes. Members are named `<group>/<rest>` (a
/// member without `/` is a group of its own): at most `per_group` of one group, fewer for the
/// groups listed in `room` (group, members it may still take), at most `max` in all.
#[derive(Debug, Clone, Copy)]
pub struct ClaimLimits<'a> {
    pub max: usize,
    pub per_group: usize,
    pub room: &'a [(String, usize)],
}

impl ClaimLimits<'_> {
    /// The room a group starts with.
    fn room_of(&self, group: &str) -> usize {
        self.room
            .iter()
            .find(|(g, _)| g == group)
            .map_or(self.per_group, |(_, room)| *room)
    }
}

/// The group of a sorted-set member (see [`ClaimLimits`]).
fn member_group(member: &str) -> &str {
    member.split_once('/').map_or(member, |(group, _)| group)
}

/// How many due members one claim looks at, at most: the work of one call stays bounded when
/// many of them belong to groups without room.
const CLAIM_SCAN_LIMIT: usize = 10_000;

/// A held lock: its key and the random value (fencing token) only the holder knows.
#[derive(Debug, Clone)]
pub struct LockGuard {
    key: String,
    value: String,
}

/// The service's store: a backend and the scope its keys live under (empty for the service's
/// own keys, `acct:<slug>:` for an account's), so an account's token and feed code use the
/// same key names as before, isolated from every other account's.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    scope: Arc<str>,
}

/// An enum rather than a trait object: two implementations, static dispatch.
#[derive(Clone)]
enum Backend {
    Redis(RedisStore),
    Memory(MemoryStore),
}

impl Store {
    pub fn redis(store: RedisStore) -> Self {
        Self {
            backend: Backend::Redis(store),
            scope: Arc::from(""),
        }
    }

    pub fn memory(store: MemoryStore) -> Self {
        Self {
            backend: Backend::Memory(store),
            scope: Arc::from(""),
        }
    }

    /// The same store with every key under `scope` (appended to this store's own scope).
    pub fn scoped(&self, scope: &str) -> Self {
        Self {
            backend: self.backend.clone(),
            scope: Arc::from(format!("{}{scope}", self.scope)),
        }
    }

    fn key<'k>(&self, key: &'k str) -> Cow<'k, str> {
        if self.scope.is_empty() {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(format!("{}{key}", self.scope))
        }
    }

    /// A short name for logs and readiness output.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Redis(_) => "redis",
            Backend::Memory(_) => "memory",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(s) => s.ping().await,
            Backend::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.get(key).await,
            Backend::Memory(s) => Ok(s.get(key)),
        }
    }

    /// Writes `value`; `ttl: None` keeps it until deleted.
    pub async fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.set(key, value, ttl).await,
            Backend::Memory(s) => {
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
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.set_new(key, value, ttl).await,
            Backend::Memory(s) => Ok(s.set_new(key, value, Some(ttl))),
        }
    }

    /// Reads and deletes atomically: a value can be taken once, whoever races for it.
    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.take(key).await,
            Backend::Memory(s) => Ok(s.take(key)),
        }
    }

    /// Deletes a key, whatever it holds.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.delete(key).await,
            Backend::Memory(s) => {
                s.delete(key);
                Ok(())
            }
        }
    }

    /// The values of `keys`, in one round trip (`MGET`).
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k).into_owned()).collect();
        match &self.backend {
            Backend::Redis(s) => s.get_many(&keys).await,
            Backend::Memory(s) => Ok(keys.iter().map(|k| s.get(k)).collect()),
        }
    }

    /// Writes every `(key, value)` at once (`MSET`), kept until deleted: readers see all of
    /// them or none.
    pub async fn set_many(&self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let entries: Vec<(String, &[u8])> = entries
            .iter()
            .map(|(k, v)| (self.key(k).into_owned(), *v))
            .collect();
        match &self.backend {
            Backend::Redis(s) => s.set_many(&entries).await,
            Backend::Memory(s) => {
                s.set_many(&entries);
                Ok(())
            }
        }
    }

    /// Copies `from` to `to` with its TTL, unless `to` exists; true when copied. Atomic, so
    /// replicas racing to copy cannot overwrite what another wrote to `to`.
    pub async fn copy_if_absent(&self, from: &str, to: &str) -> Result<bool, StoreError> {
        let (from, to) = (&*self.key(from), &*self.key(to));
        match &self.backend {
            Backend::Redis(s) => s.copy_if_absent(from, to).await,
            Backend::Memory(s) => Ok(s.copy_if_absent(from, to)),
        }
    }

    /// Adds `field` to the hash `key` (kept without TTL) unless it is there or the hash already
    /// has `max` fields, atomically across replicas.
    pub async fn hash_insert_bounded(
        &self,
        key: &str,
        field: &str,
        value: &[u8],
        max: usize,
    ) -> Result<Inserted, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_insert_bounded(key, field, value, max).await,
            Backend::Memory(s) => Ok(s.hash_insert_bounded(key, field, value, max)),
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
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_set(key, field, value, ttl).await,
            Backend::Memory(s) => {
                s.hash_set(key, field, value);
                Ok(())
            }
        }
    }

    /// Sets `field` of the hash `key`, leaving the hash without TTL (or its TTL as it was).
    pub async fn hash_put(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_put(key, field, value).await,
            Backend::Memory(s) => {
                s.hash_set(key, field, value);
                Ok(())
            }
        }
    }

    pub async fn hash_get(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_get(key, field).await,
            Backend::Memory(s) => Ok(s.hash_get(key, field)),
        }
    }

    /// Every field of the hash `key` with its value (none when it does not exist).
    pub async fn hash_get_all(&self, key: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_get_all(key).await,
            Backend::Memory(s) => Ok(s.hash_get_all(key)),
        }
    }

    pub async fn hash_delete(&self, key: &str, field: &str) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.hash_delete(key, field).await,
            Backend::Memory(s) => {
                s.hash_delete(key, field);
                Ok(())
            }
        }
    }

    /// Renews the TTL of `key` (Redis; a no-op in memory, where hashes live with the process).
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.expire(key, ttl).await,
            Backend::Memory(_) => Ok(()),
        }
    }

    /// Adds one to the counter `key` (absent counts as 0), sets its TTL, returns the new value.
    pub async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.incr(key, ttl).await,
            Backend::Memory(s) => Ok(s.incr(key, ttl)),
        }
    }

    /// Adds `member` to the sorted set `key` (kept without TTL) with `score`, or moves it there.
    pub async fn sorted_put(&self, key: &str, member: &str, score: i64) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_put(key, member, score).await,
            Backend::Memory(s) => {
                s.sorted_put(key, member, score);
                Ok(())
            }
        }
    }

    pub async fn sorted_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_remove(key, member).await,
            Backend::Memory(s) => {
                s.sorted_remove(key, member);
                Ok(())
            }
        }
    }

    /// Claims members whose score is at most `due_by`, lowest first, within `limits` (members
    /// of a group without room are skipped, not taken), by moving them to `lease_until`,
    /// atomically: a member is claimed by one caller at a time, and comes due again if its
    /// claimer never settles it.
    pub async fn sorted_claim(
        &self,
        key: &str,
        due_by: i64,
        lease_until: i64,
        limits: ClaimLimits<'_>,
    ) -> Result<Vec<String>, StoreError> {
        if limits.max == 0 {
            return Ok(Vec::new());
        }
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_claim(key, due_by, lease_until, limits).await,
            Backend::Memory(s) => Ok(s.sorted_claim(key, due_by, lease_until, limits)),
        }
    }

    /// Moves a claimed member to `next` (or removes it when `None`), only while its score is
    /// still `claimed`: a claimer whose lease ran out and was re-claimed changes nothing.
    pub async fn sorted_settle(
        &self,
        key: &str,
        member: &str,
        claimed: i64,
        next: Option<i64>,
    ) -> Result<bool, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_settle(key, member, claimed, next).await,
            Backend::Memory(s) => Ok(s.sorted_settle(key, member, claimed, next)),
        }
    }

    /// The lowest score of the sorted set (one `ZRANGE`): when its first member is due.
    pub async fn sorted_min(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_min(key).await,
            Backend::Memory(s) => Ok(s.sorted_stats(key).1),
        }
    }

    /// How many members the sorted set has, and the lowest score.
    pub async fn sorted_stats(&self, key: &str) -> Result<(u64, Option<i64>), StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_stats(key).await,
            Backend::Memory(s) => Ok(s.sorted_stats(key)),
        }
    }

    /// The `count` members with the highest scores, highest first.
    pub async fn sorted_newest(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_newest(key, count).await,
            Backend::Memory(s) => Ok(s.sorted_newest(key, count)),
        }
    }

    /// Removes every member but the `keep` highest-scored ones; returns the removed ones.
    pub async fn sorted_trim(&self, key: &str, keep: usize) -> Result<Vec<String>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_trim(key, keep).await,
            Backend::Memory(s) => Ok(s.sorted_trim(key, keep)),
        }
    }

    /// Atomically: drops members with score <= now - window, then admits `member` if present or
    /// if fewer than `limit` members remain. Sets the key's TTL to `window` (ms precision)
    /// whenever it adds. A limit of 0 admits only present members.
    ///
    /// A rolling quota shared by replicas: the check and the add cannot interleave with
    /// another's, so `limit` holds however many race for the last slot.
    pub async fn sorted_admit(
        &self,
        key: &str,
        member: &str,
        now: i64,
        window: i64,
        limit: usize,
    ) -> Result<Admission, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_admit(key, member, now, window, limit).await,
            Backend::Memory(s) => Ok(s.sorted_admit(key, member, now, window, limit)),
        }
    }

    /// Every member with its score, after dropping those with score <= `expired_by`
    /// (atomically), lowest score first.
    pub async fn sorted_window(
        &self,
        key: &str,
        expired_by: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_window(key, expired_by).await,
            Backend::Memory(s) => Ok(s.sorted_window(key, expired_by)),
        }
    }

    /// Adds each member that is absent with score `score` (present members keep theirs), all at
    /// once (ZADD NX), and sets the key's TTL to `ttl` if anything was added. Returns how many
    /// were added.
    pub async fn sorted_add_absent(
        &self,
        key: &str,
        members: &[String],
        score: i64,
        ttl: Duration,
    ) -> Result<usize, StoreError> {
        if members.is_empty() {
            return Ok(0);
        }
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.sorted_add_absent(key, members, score, ttl).await,
            Backend::Memory(s) => Ok(s.sorted_add_absent(key, members, score)),
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
            // Scoped once here: fenced writes and unlocks use it as it is.
            key: self.key(key).into_owned(),
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
        let key = &*self.key(key);
        match &self.backend {
            Backend::Redis(s) => s.set_fenced(guard, key, value, ttl).await,
            Backend::Memory(s) => {
                Ok(s.set_if_equals(&guard.key, guard.value.as_bytes(), key, value, ttl))
            }
        }
    }

    /// Releases the lock if still ours; a lock that expired and was re-taken is left alone.
    pub async fn unlock(&self, guard: LockGuard) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(s) => s.delete_if_equals(&guard.key, &guard.value).await,
            Backend::Memory(s) => {
                s.delete_if_equals(&guard.key, guard.value.as_bytes());
                Ok(())
            }
        }
    }
}
