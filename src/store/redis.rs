//! The Redis store (deadpool-redis over multiplexed connections).

use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use deadpool_redis::redis::AsyncConnectionConfig;
use deadpool_redis::{Manager, Pool, Runtime};
use redis::{RedisError, Script};
use secrecy::{ExposeSecret, SecretString};

use super::{Admission, CLAIM_SCAN_LIMIT, ClaimLimits, Inserted, LockGuard, StoreError};

// Compare-and-write for fencing: only the current lock holder may write.
const SET_IF_LOCKED: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then redis.call('SET', KEYS[2], ARGV[2])
else redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return 1";

const DELETE_IF_EQUALS: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

// Hashed once; invoked with EVALSHA (falling back to EVAL after a Redis restart).
static SET_IF_LOCKED_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SET_IF_LOCKED));
/// 1 inserted, 0 already there, -1 full.
const HASH_INSERT_BOUNDED: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";
static HASH_INSERT_BOUNDED_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(HASH_INSERT_BOUNDED));
/// Due members (score <= ARGV[1]), lowest first, each moved to the lease's end (ARGV[2]):
/// whoever runs this owns them until then. At most ARGV[3] in all and ARGV[4] per group (the
/// part of a member before `/`), less for the groups given as (group, room) pairs after that;
/// members of a group without room are skipped. At most ARGV[5] due members are looked at.
const SORTED_CLAIM: &str = r"
local max, per_group, scan = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local room = {}
for i = 6, #ARGV, 2 do room[ARGV[i]] = tonumber(ARGV[i + 1]) end
local claimed, offset = {}, 0
while #claimed < max and offset < scan do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', offset, 200)
  if #due == 0 then break end
  for _, member in ipairs(due) do
    local group = string.match(member, '^([^/]*)/') or member
    local left = room[group] or per_group
    if left > 0 then
      room[group] = left - 1
      claimed[#claimed + 1] = member
      if #claimed >= max then break end
    end
  end
  offset = offset + #due
end
for _, member in ipairs(claimed) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return claimed
";
static SORTED_CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SORTED_CLAIM));
/// Moves (ARGV[3] set) or removes a member only while it still has the claimed score.
const SORTED_SETTLE: &str = r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1])
else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
";
static SORTED_SETTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SORTED_SETTLE));
/// Drops members scored at most ARGV[3] (now - window), then admits ARGV[1] with score ARGV[2]
/// (now) unless it is there already or ARGV[4] (limit) members remain, renewing the TTL to
/// ARGV[5] ms when it adds. {0} present, {1} added, {-1, lowest score} full.
const SORTED_ADMIT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  return {-1, tonumber(oldest or ARGV[2])}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1}
";
static SORTED_ADMIT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SORTED_ADMIT));
/// Drops members scored at most ARGV[1], then lists the rest with their scores.
const SORTED_WINDOW: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
";
static SORTED_WINDOW_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SORTED_WINDOW));
/// Adds the members after ARGV[2] with score ARGV[1] unless present, renewing the TTL to ARGV[2]
/// ms if any was added. One ZADD per member: `unpack` of a long list would overflow Lua's stack.
const SORTED_ADD_ABSENT: &str = r"
local added = 0
for i = 3, #ARGV do added = added + redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[i]) end
if added > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return added
";
static SORTED_ADD_ABSENT_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(SORTED_ADD_ABSENT));
static DELETE_IF_EQUALS_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE_IF_EQUALS));

#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    timeout: Duration,
}

impl RedisStore {
    /// Builds the pool; connections are made lazily, so an unreachable Redis does not stop
    /// start-up (readiness reports it instead).
    pub fn new(
        url: &SecretString,
        prefix: &str,
        timeout: Duration,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        // The redis crate's own defaults (500 ms per response, 1 s to connect) would fail
        // commands under load long before `redis.command_timeout_ms` says to.
        let connection = AsyncConnectionConfig::new()
            .set_response_timeout(Some(timeout))
            .set_connection_timeout(Some(timeout));
        // The error texts may echo the URL (and its password): say only what kind it was.
        let manager = Manager::new_with_config(url.expose_secret(), connection)
            .map_err(|_| StoreError::Unavailable("invalid redis.url".to_owned()))?;
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|_| StoreError::Unavailable("invalid redis.url".to_owned()))?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs one command on a pooled connection, bounded by the command timeout as a whole
    /// (waiting for a connection included).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(deadpool_redis::Connection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let work = async {
            let conn = self
                .pool
                .get()
                .await
                .map_err(|e| StoreError::Unavailable(describe_pool_error(&e)))?;
            op(conn)
                .await
                .map_err(|e| StoreError::Unavailable(describe(&e)))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(drop)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key(key);
        self.run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await
    }

    pub async fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn set_new(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let reply: Option<String> = self
            .run(|mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(reply.is_some())
    }

    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key(key);
        self.run(|mut c| async move { redis::cmd("GETDEL").arg(key).query_async(&mut c).await })
            .await
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = self.key(key);
        self.run(|mut c| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await })
            .await
    }

    pub async fn hash_set(
        &self,
        key: &str,
        field: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(field)
            .arg(value)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(ttl))
            .ignore();
        self.run(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for key in keys {
            cmd.arg(self.key(key));
        }
        self.run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    pub async fn set_many(&self, entries: &[(String, &[u8])]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("MSET");
        for (key, value) in entries {
            cmd.arg(self.key(key)).arg(*value);
        }
        self.run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    pub async fn copy_if_absent(&self, from: &str, to: &str) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("COPY");
        cmd.arg(self.key(from)).arg(self.key(to));
        let copied: i64 = self
            .run(|mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(copied == 1)
    }

    pub async fn hash_insert_bounded(
        &self,
        key: &str,
        field: &str,
        value: &[u8],
        max: usize,
    ) -> Result<Inserted, StoreError> {
        let key = self.key(key);
        let (field, value) = (field.to_owned(), value.to_vec());
        let outcome: i64 = self
            .run(|mut c| async move {
                HASH_INSERT_BOUNDED_SCRIPT
                    .key(key)
                    .arg(field)
                    .arg(value)
                    .arg(max)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match outcome {
            1 => Inserted::Inserted,
            0 => Inserted::Exists,
            _ => Inserted::Full,
        })
    }

    pub async fn hash_get(&self, key: &str, field: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.key(key)).arg(field);
        self.run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    pub async fn hash_get_all(&self, key: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let key = self.key(key);
        self.run(|mut c| async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await })
            .await
    }

    pub async fn hash_delete(&self, key: &str, field: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(self.key(key)).arg(field);
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.key(key)).arg(millis(ttl));
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(ttl))
            .ignore();
        let (value,): (i64,) = self
            .run(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(value)
    }

    pub async fn set_fenced(
        &self,
        guard: &LockGuard,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let (lock_key, data_key) = (self.key(&guard.key), self.key(key));
        let ttl_ms = ttl.map_or(0, millis).to_string();
        let fence = guard.value.clone();
        let value = value.to_vec();
        let written: i64 = self
            .run(|mut c| async move {
                SET_IF_LOCKED_SCRIPT
                    .key(lock_key)
                    .key(data_key)
                    .arg(fence)
                    .arg(value)
                    .arg(ttl_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(written == 1)
    }

    pub async fn delete_if_equals(&self, key: &str, expected: &str) -> Result<(), StoreError> {
        let key = self.key(key);
        let expected = expected.to_owned();
        self.run(|mut c| async move {
            DELETE_IF_EQUALS_SCRIPT
                .key(key)
                .arg(expected)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }
}

impl RedisStore {
    pub async fn hash_put(&self, key: &str, field: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(self.key(key)).arg(field).arg(value);
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn sorted_put(&self, key: &str, member: &str, score: i64) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(self.key(key)).arg(score).arg(member);
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn sorted_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.key(key)).arg(member);
        self.run(|mut c| async move { cmd.query_async::<()>(&mut c).await })
            .await
    }

    pub async fn sorted_claim(
        &self,
        key: &str,
        due_by: i64,
        lease_until: i64,
        limits: ClaimLimits<'_>,
    ) -> Result<Vec<String>, StoreError> {
        let mut invocation = SORTED_CLAIM_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(key))
            .arg(due_by)
            .arg(lease_until)
            .arg(limits.max)
            .arg(limits.per_group)
            .arg(CLAIM_SCAN_LIMIT);
        for (group, room) in limits.room {
            invocation.arg(group).arg(*room);
        }
        self.run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
    }

    pub async fn sorted_settle(
        &self,
        key: &str,
        member: &str,
        claimed: i64,
        next: Option<i64>,
    ) -> Result<bool, StoreError> {
        let key = self.key(key);
        let member = member.to_owned();
        let next = next.map(|n| n.to_string()).unwrap_or_default();
        let settled: i64 = self
            .run(|mut c| async move {
                SORTED_SETTLE_SCRIPT
                    .key(key)
                    .arg(member)
                    .arg(claimed)
                    .arg(next)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(settled == 1)
    }

    pub async fn sorted_admit(
        &self,
        key: &str,
        member: &str,
        now: i64,
        window: i64,
        limit: usize,
    ) -> Result<Admission, StoreError> {
        let mut invocation = SORTED_ADMIT_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(key))
            .arg(member)
            .arg(now)
            .arg(now.saturating_sub(window))
            .arg(limit)
            // PEXPIRE 0 would delete the key just written.
            .arg(window.max(1));
        let reply: Vec<i64> = self
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        Ok(match reply[..] {
            [0] => Admission::Present,
            [1] => Admission::Added,
            [-1, oldest] => Admission::Full { oldest },
            _ => {
                return Err(StoreError::Unavailable(
                    "unexpected sorted_admit reply".to_owned(),
                ));
            }
        })
    }

    pub async fn sorted_window(
        &self,
        key: &str,
        expired_by: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut invocation = SORTED_WINDOW_SCRIPT.prepare_invoke();
        invocation.key(self.key(key)).arg(expired_by);
        self.run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
    }

    pub async fn sorted_add_absent(
        &self,
        key: &str,
        members: &[String],
        score: i64,
        ttl: Duration,
    ) -> Result<usize, StoreError> {
        let mut invocation = SORTED_ADD_ABSENT_SCRIPT.prepare_invoke();
        invocation.key(self.key(key)).arg(score).arg(millis(ttl));
        for member in members {
            invocation.arg(member);
        }
        self.run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
    }

    pub async fn sorted_min(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.key(key)).arg(0).arg(0).arg("WITHSCORES");
        let first: Vec<(String, i64)> = self
            .run(|mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(first.first().map(|(_, score)| *score))
    }

    pub async fn sorted_stats(&self, key: &str) -> Result<(u64, Option<i64>), StoreError> {
        let key = self.key(key);
        let mut pipe = redis::pipe();
        pipe.cmd("ZCARD")
            .arg(&key)
            .cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES");
        let (len, first): (u64, Vec<(String, i64)>) = self
            .run(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok((len, first.first().map(|(_, score)| *score)))
    }

    pub async fn sorted_newest(&self, key: &str, count: usize) -> Result<Vec<String>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.key(key)).arg(0).arg(count - 1).arg("REV");
        self.run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    pub async fn sorted_trim(&self, key: &str, keep: usize) -> Result<Vec<String>, StoreError> {
        let key = self.key(key);
        // Everything below the `keep` highest scores, read and removed in one transaction.
        let last = -i64::try_from(keep).unwrap_or(i64::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(last)
            .cmd("ZREMRANGEBYRANK")
            .arg(&key)
            .arg(0)
            .arg(last)
            .ignore();
        let (removed,): (Vec<String>,) = self
            .run(|mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        Ok(removed)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn describe_pool_error(e: &deadpool_redis::PoolError) -> String {
    match e {
        deadpool_redis::PoolError::Timeout(_) => "timed out waiting for a connection".to_owned(),
        deadpool_redis::PoolError::Backend(e) => describe(e),
        _ => "connection pool error".to_owned(),
    }
}

/// A short description that cannot contain the URL (and its password).
fn describe(e: &RedisError) -> String {
    if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection lost".to_owned()
    } else {
        format!("{:?} error", e.kind())
    }
}
