//! The in-memory store: the embedded default for local runs. Nothing survives a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Admission, CLAIM_SCAN_LIMIT, ClaimLimits, Inserted, member_group};

struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Expired entries are dropped when touched and swept on writes, so memory stays bounded by
/// what is live.
#[derive(Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// Hashes (Redis `HSET` and friends) live apart: they never expire.
    hashes: Arc<Mutex<HashMap<String, Hash>>>,
    /// Sorted sets (Redis `ZADD` and friends), member -> score; they never expire either.
    sorted: Arc<Mutex<HashMap<String, HashMap<String, i64>>>>,
}

/// A hash's fields and values.
type Hash = BTreeMap<String, Vec<u8>>;

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave a map half-written, so poisoning is moot.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live_value(map: &HashMap<String, Entry>, key: &str, now: Instant) -> Option<Vec<u8>> {
        map.get(key)
            .filter(|e| e.live(now))
            .map(|e| e.value.clone())
    }

    fn insert(
        map: &mut HashMap<String, Entry>,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
        now: Instant,
    ) {
        if map.len() >= 1024 {
            map.retain(|_, e| e.live(now));
        }
        map.insert(
            key.to_owned(),
            Entry {
                value: value.to_vec(),
                expires_at: ttl.map(|t| now + t),
            },
        );
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        Self::live_value(&self.lock(), key, Instant::now())
    }

    pub fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) {
        Self::insert(&mut self.lock(), key, value, ttl, Instant::now());
    }

    pub fn set_many(&self, entries: &[(String, &[u8])]) {
        let now = Instant::now();
        let mut map = self.lock();
        for (key, value) in entries {
            Self::insert(&mut map, key, value, None, now);
        }
    }

    pub fn set_new(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        if Self::live_value(&map, key, now).is_some() {
            return false;
        }
        Self::insert(&mut map, key, value, ttl, now);
        true
    }

    pub fn take(&self, key: &str) -> Option<Vec<u8>> {
        let now = Instant::now();
        self.lock()
            .remove(key)
            .filter(|e| e.live(now))
            .map(|e| e.value)
    }

    pub fn set_if_equals(
        &self,
        guard_key: &str,
        expected: &[u8],
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        if Self::live_value(&map, guard_key, now).as_deref() != Some(expected) {
            return false;
        }
        Self::insert(&mut map, key, value, ttl, now);
        true
    }

    pub fn delete_if_equals(&self, key: &str, expected: &[u8]) {
        let now = Instant::now();
        let mut map = self.lock();
        if Self::live_value(&map, key, now).as_deref() == Some(expected) {
            map.remove(key);
        }
    }

    fn hashes(&self) -> MutexGuard<'_, HashMap<String, Hash>> {
        self.hashes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn hash_set(&self, key: &str, field: &str, value: &[u8]) {
        self.hashes()
            .entry(key.to_owned())
            .or_default()
            .insert(field.to_owned(), value.to_vec());
    }

    pub fn copy_if_absent(&self, from: &str, to: &str) -> bool {
        let now = Instant::now();
        let mut map = self.lock();
        if Self::live_value(&map, to, now).is_some() {
            return false;
        }
        let Some(entry) = map.get(from).filter(|e| e.live(now)) else {
            return false;
        };
        let copy = Entry {
            value: entry.value.clone(),
            expires_at: entry.expires_at,
        };
        map.insert(to.to_owned(), copy);
        true
    }

    pub fn hash_insert_bounded(
        &self,
        key: &str,
        field: &str,
        value: &[u8],
        max: usize,
    ) -> Inserted {
        let mut hashes = self.hashes();
        let hash = hashes.entry(key.to_owned()).or_default();
        if hash.contains_key(field) {
            Inserted::Exists
        } else if hash.len() >= max {
            Inserted::Full
        } else {
            hash.insert(field.to_owned(), value.to_vec());
            Inserted::Inserted
        }
    }

    pub fn hash_get(&self, key: &str, field: &str) -> Option<Vec<u8>> {
        self.hashes().get(key)?.get(field).cloned()
    }

    pub fn hash_get_all(&self, key: &str) -> Vec<(String, Vec<u8>)> {
        self.hashes().get(key).map_or_else(Vec::new, |hash| {
            hash.iter().map(|(f, v)| (f.clone(), v.clone())).collect()
        })
    }

    pub fn hash_delete(&self, key: &str, field: &str) {
        let mut hashes = self.hashes();
        if let Some(hash) = hashes.get_mut(key) {
            hash.remove(field);
            if hash.is_empty() {
                hashes.remove(key);
            }
        }
    }

    /// Deletes a plain key, a hash or a sorted set.
    pub fn delete(&self, key: &str) {
        self.lock().remove(key);
        self.hashes().remove(key);
        self.sorted().remove(key);
    }

    fn sorted(&self) -> MutexGuard<'_, HashMap<String, HashMap<String, i64>>> {
        self.sorted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Members by score, then by name (Redis's order).
    fn ordered(set: &HashMap<String, i64>) -> Vec<(String, i64)> {
        let mut members: Vec<(String, i64)> = set.iter().map(|(m, s)| (m.clone(), *s)).collect();
        members.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        members
    }

    pub fn sorted_put(&self, key: &str, member: &str, score: i64) {
        self.sorted()
            .entry(key.to_owned())
            .or_default()
            .insert(member.to_owned(), score);
    }

    pub fn sorted_remove(&self, key: &str, member: &str) {
        let mut sorted = self.sorted();
        if let Some(set) = sorted.get_mut(key) {
            set.remove(member);
            if set.is_empty() {
                sorted.remove(key);
            }
        }
    }

    pub fn sorted_claim(
        &self,
        key: &str,
        due_by: i64,
        lease_until: i64,
        limits: ClaimLimits<'_>,
    ) -> Vec<String> {
        let mut sorted = self.sorted();
        let Some(set) = sorted.get_mut(key) else {
            return Vec::new();
        };
        let mut room: HashMap<String, usize> = HashMap::new();
        let mut claimed = Vec::new();
        for (member, _) in Self::ordered(set)
            .into_iter()
            .take_while(|(_, score)| *score <= due_by)
            .take(CLAIM_SCAN_LIMIT)
        {
            let group = member_group(&member);
            let left = room
                .entry(group.to_owned())
                .or_insert_with(|| limits.room_of(group));
            if *left > 0 {
                *left -= 1;
                claimed.push(member);
                if claimed.len() >= limits.max {
                    break;
                }
            }
        }
        for member in &claimed {
            set.insert(member.clone(), lease_until);
        }
        claimed
    }

    pub fn sorted_settle(&self, key: &str, member: &str, claimed: i64, next: Option<i64>) -> bool {
        let mut sorted = self.sorted();
        let Some(set) = sorted.get_mut(key) else {
            return false;
        };
        if set.get(member) != Some(&claimed) {
            return false;
        }
        match next {
            Some(score) => set.insert(member.to_owned(), score),
            None => set.remove(member),
        };
        true
    }

    pub fn sorted_stats(&self, key: &str) -> (u64, Option<i64>) {
        self.sorted().get(key).map_or((0, None), |set| {
            (set.len() as u64, set.values().min().copied())
        })
    }

    pub fn sorted_newest(&self, key: &str, count: usize) -> Vec<String> {
        self.sorted().get(key).map_or_else(Vec::new, |set| {
            let mut members = Self::ordered(set);
            members.reverse();
            members.into_iter().take(count).map(|(m, _)| m).collect()
        })
    }

    pub fn sorted_trim(&self, key: &str, keep: usize) -> Vec<String> {
        let mut sorted = self.sorted();
        let Some(set) = sorted.get_mut(key) else {
            return Vec::new();
        };
        let members = Self::ordered(set);
        let excess = members.len().saturating_sub(keep);
        let removed: Vec<String> = members.into_iter().take(excess).map(|(m, _)| m).collect();
        for member in &removed {
            set.remove(member);
        }
        removed
    }

    pub fn sorted_admit(
        &self,
        key: &str,
        member: &str,
        now: i64,
        window: i64,
        limit: usize,
    ) -> Admission {
        let mut sorted = self.sorted();
        let set = sorted.entry(key.to_owned()).or_default();
        let cutoff = now.saturating_sub(window);
        set.retain(|_, score| *score > cutoff);
        let admission = if set.contains_key(member) {
            Admission::Present
        } else if set.len() >= limit {
            Admission::Full {
                oldest: set.values().min().copied().unwrap_or(now),
            }
        } else {
            set.insert(member.to_owned(), now);
            Admission::Added
        };
        if set.is_empty() {
            sorted.remove(key);
        }
        admission
    }

    pub fn sorted_window(&self, key: &str, expired_by: i64) -> Vec<(String, i64)> {
        let mut sorted = self.sorted();
        let Some(set) = sorted.get_mut(key) else {
            return Vec::new();
        };
        set.retain(|_, score| *score > expired_by);
        let members = Self::ordered(set);
        if members.is_empty() {
            sorted.remove(key);
        }
        members
    }

    pub fn sorted_add_absent(&self, key: &str, members: &[String], score: i64) -> usize {
        let mut sorted = self.sorted();
        let set = sorted.entry(key.to_owned()).or_default();
        let before = set.len();
        for member in members {
            set.entry(member.clone()).or_insert(score);
        }
        let added = set.len() - before;
        if set.is_empty() {
            sorted.remove(key);
        }
        added
    }

    pub fn incr(&self, key: &str, ttl: Duration) -> i64 {
        let now = Instant::now();
        let mut map = self.lock();
        let next = Self::live_value(&map, key, now)
            .and_then(|v| String::from_utf8(v).ok()?.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        Self::insert(&mut map, key, next.to_string().as_bytes(), Some(ttl), now);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_take_is_single_use() {
        let store = MemoryStore::new();
        store.set("a", b"1", Some(Duration::from_millis(20)));
        assert_eq!(store.take("a").as_deref(), Some(&b"1"[..]));
        assert_eq!(store.take("a"), None);
        store.set("b", b"2", Some(Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.get("b"), None);
        assert!(store.set_new("b", b"3", None));
        assert!(!store.set_new("b", b"4", None));
    }

    fn limits(max: usize) -> ClaimLimits<'static> {
        ClaimLimits {
            max,
            per_group: max,
            room: &[],
        }
    }

    #[test]
    fn claims_skip_groups_without_room_and_take_later_members() {
        let store = MemoryStore::new();
        for (member, score) in [
            ("slow/1", 1),
            ("slow/2", 2),
            ("slow/3", 3),
            ("fast/1", 4),
            ("other/1", 5),
        ] {
            store.sorted_put("q", member, score);
        }
        let room = [("other".to_owned(), 0)];
        let claimed = store.sorted_claim(
            "q",
            10,
            100,
            ClaimLimits {
                max: 3,
                per_group: 1,
                room: &room,
            },
        );
        assert_eq!(claimed, ["slow/1", "fast/1"]);
        // What was skipped keeps its place in the queue.
        assert_eq!(store.sorted_stats("q"), (5, Some(2)));
    }

    #[test]
    fn sorted_sets_claim_due_members_once_and_settle_only_while_claimed() {
        let store = MemoryStore::new();
        store.sorted_put("q", "late", 30);
        store.sorted_put("q", "b", 10);
        store.sorted_put("q", "a", 10);
        assert_eq!(store.sorted_stats("q"), (3, Some(10)));
        // Due by 20: `a` and `b` (score, then name), leased until 100.
        assert_eq!(store.sorted_claim("q", 20, 100, limits(5)), ["a", "b"]);
        assert!(
            store.sorted_claim("q", 20, 200, limits(5)).is_empty(),
            "claimed once"
        );
        assert!(!store.sorted_settle("q", "a", 99, None), "not this claim");
        assert!(store.sorted_settle("q", "a", 100, Some(50)));
        assert!(store.sorted_settle("q", "b", 100, None));
        assert_eq!(store.sorted_stats("q"), (2, Some(30)));
        // A lease that runs out makes the member due again.
        assert_eq!(store.sorted_claim("q", 60, 70, limits(1)), ["late"]);
        assert_eq!(store.sorted_claim("q", 70, 80, limits(5)), ["a", "late"]);
        assert_eq!(store.sorted_newest("q", 1), ["late"]);
        assert_eq!(store.sorted_trim("q", 1), ["a"]);
        assert_eq!(store.sorted_stats("q"), (1, Some(80)));
    }

    #[test]
    fn sorted_admit_counts_members_once_within_the_window() {
        let store = MemoryStore::new();
        let (window, limit) = (100, 2);
        assert_eq!(
            store.sorted_admit("w", "a", 10, window, limit),
            Admission::Added
        );
        assert_eq!(
            store.sorted_admit("w", "b", 20, window, limit),
            Admission::Added
        );
        // Present members pass even when full, and keep their score.
        assert_eq!(
            store.sorted_admit("w", "a", 30, window, limit),
            Admission::Present
        );
        assert_eq!(
            store.sorted_admit("w", "c", 40, window, limit),
            Admission::Full { oldest: 10 }
        );
        // `a` (10) leaves at 110 exactly, making room for `c`.
        assert_eq!(
            store.sorted_admit("w", "c", 109, window, limit),
            Admission::Full { oldest: 10 }
        );
        assert_eq!(
            store.sorted_admit("w", "c", 110, window, limit),
            Admission::Added
        );
        assert_eq!(
            store.sorted_window("w", 110 - window),
            [("b".to_owned(), 20), ("c".to_owned(), 110)]
        );
    }

    #[test]
    fn a_limit_of_zero_admits_only_present_members() {
        let store = MemoryStore::new();
        assert_eq!(
            store.sorted_admit("w", "a", 10, 100, 0),
            Admission::Full { oldest: 10 }
        );
        assert_eq!(
            store.sorted_stats("w"),
            (0, None),
            "no empty set left behind"
        );
        store.sorted_put("w", "a", 5);
        assert_eq!(store.sorted_admit("w", "a", 10, 100, 0), Admission::Present);
        assert_eq!(
            store.sorted_admit("w", "b", 10, 100, 0),
            Admission::Full { oldest: 5 }
        );
    }

    #[test]
    fn sorted_window_drops_expired_members_and_orders_by_score() {
        let store = MemoryStore::new();
        for (member, score) in [("late", 30), ("b", 20), ("a", 20), ("gone", 10)] {
            store.sorted_put("w", member, score);
        }
        let expected = [("a", 20), ("b", 20), ("late", 30)].map(|(m, s)| (m.to_owned(), s));
        assert_eq!(store.sorted_window("w", 10), expected);
        assert_eq!(store.sorted_stats("w"), (3, Some(20)), "`gone` removed");
        assert!(store.sorted_window("w", 30).is_empty());
        assert!(store.sorted_window("missing", 0).is_empty());
    }

    #[test]
    fn sorted_add_absent_keeps_present_scores() {
        let store = MemoryStore::new();
        store.sorted_put("w", "a", 5);
        let members = ["a", "b", "c", "b"].map(str::to_owned);
        assert_eq!(store.sorted_add_absent("w", &members, 50), 2);
        let expected = [("a", 5), ("b", 50), ("c", 50)].map(|(m, s)| (m.to_owned(), s));
        assert_eq!(store.sorted_window("w", 0), expected);
        assert_eq!(store.sorted_add_absent("w", &members, 60), 0);
    }

    #[test]
    fn hashes_and_counters() {
        let store = MemoryStore::new();
        store.hash_set("h", "a", b"1");
        store.hash_set("h", "b", b"2");
        store.hash_set("h", "a", b"3");
        assert_eq!(store.hash_get("h", "a").as_deref(), Some(&b"3"[..]));
        assert_eq!(
            store.hash_get_all("h"),
            vec![
                ("a".to_owned(), b"3".to_vec()),
                ("b".to_owned(), b"2".to_vec())
            ]
        );
        store.hash_delete("h", "a");
        assert_eq!(store.hash_get("h", "a"), None);
        store.delete("h");
        assert!(store.hash_get_all("h").is_empty());
        let day = Duration::from_secs(86_400);
        assert_eq!((store.incr("n", day), store.incr("n", day)), (1, 2));
        store.delete("n");
        assert_eq!(store.incr("n", day), 1);
    }

    #[test]
    fn fenced_writes_need_the_current_lock_value() {
        let store = MemoryStore::new();
        store.set("lock", b"mine", None);
        assert!(store.set_if_equals("lock", b"mine", "k", b"v1", None));
        assert!(!store.set_if_equals("lock", b"theirs", "k", b"v2", None));
        assert_eq!(store.get("k").as_deref(), Some(&b"v1"[..]));
        store.delete_if_equals("lock", b"theirs");
        assert!(store.get("lock").is_some());
        store.delete_if_equals("lock", b"mine");
        assert!(store.get("lock").is_none());
    }
}
