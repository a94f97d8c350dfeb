//! The weekly hashtag budget of an Instagram account, kept in the store so every replica
//! spends from the same one, and checked before Meta is asked.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Hashtag;
use crate::store::{Admission, Store, StoreError};

/// How long a queried tag counts, from its first query (Meta's rolling week).
pub const WINDOW: chrono::Duration = chrono::Duration::days(7);
const WINDOW_MS: i64 = WINDOW.num_milliseconds();

/// Members for tags Meta counts that this gateway knows only by id. Tags never contain `:`.
const ID_PREFIX: &str = "id:";

/// Who spends the slot: visitors may use `weekly_budget - operator_reserve`, operators all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spender {
    Visitor,
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// Unique tags per rolling week (Meta allows 30).
    pub weekly_budget: usize,
    /// The part of it visitors cannot spend.
    pub operator_reserve: usize,
}

impl BudgetSettings {
    fn limit(&self, spender: Spender) -> usize {
        match spender {
            Spender::Visitor => self.weekly_budget.saturating_sub(self.operator_reserve),
            Spender::Operator => self.weekly_budget,
        }
    }
}

/// The 30-unique-hashtags-per-7-days guard, per Instagram account.
#[derive(Clone)]
pub struct Budget {
    store: Store,
    settings: BudgetSettings,
}

/// Whether [`Budget::admit`] spent a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Counted already this week: querying it again is free.
    AlreadyCounted,
    /// A new tag: it counts from now, for [`WINDOW`].
    NewlyCounted,
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "hashtag budget spent ({used} tags counted, {limit} allowed); a new tag fits at {retry_at}"
    )]
    Exhausted {
        /// When a slot frees for this spender: when enough counted tags have left the window.
        retry_at: DateTime<Utc>,
        used: usize,
        limit: usize,
        spender: Spender,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An Instagram account's budget as it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetUsage {
    pub weekly_budget: usize,
    pub operator_reserve: usize,
    pub used: usize,
    pub left: usize,
    /// left for visitors
    pub left_for_visitors: usize,
    pub tags: Vec<CountedTag>,
}

/// A tag in the window, counted until `expires_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountedTag {
    /// the tag, or `null` for one Meta counts that this gateway did not query (known by id only)
    pub tag: Option<String>,
    pub hashtag_id: Option<String>,
    pub counted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl CountedTag {
    fn from_member(member: String, score: i64) -> Self {
        let counted_at = at(score);
        let (tag, hashtag_id) = match member.strip_prefix(ID_PREFIX) {
            Some(id) => (None, Some(id.to_owned())),
            None => (Some(member), None),
        };
        Self {
            tag,
            hashtag_id,
            counted_at,
            expires_at: counted_at + WINDOW,
        }
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Meta counts per Instagram user, so the key is the IG user id, whichever gateway account
/// (or several) uses it.
fn key(ig_user_id: &str) -> String {
    format!("hashtags:budget:{ig_user_id}")
}

impl Budget {
    /// `store` unscoped: the key is per Instagram account, not per gateway account.
    pub fn new(store: Store, settings: BudgetSettings) -> Self {
        Self { store, settings }
    }

    /// Counts `tag` for the account unless counted already; refuses it, without a slot spent,
    /// when `spender` has none left.
    pub async fn admit(
        &self,
        ig_user_id: &str,
        tag: &Hashtag,
        spender: Spender,
        now: DateTime<Utc>,
    ) -> Result<Admitted, BudgetError> {
        let key = key(ig_user_id);
        let limit = self.settings.limit(spender);
        let now = now.timestamp_millis();
        let admission = self
            .store
            .sorted_admit(&key, tag.as_str(), now, WINDOW_MS, limit)
            .await?;
        let oldest = match admission {
            Admission::Present => return Ok(Admitted::AlreadyCounted),
            Admission::Added => return Ok(Admitted::NewlyCounted),
            Admission::Full { oldest } => oldest,
        };
        // Refusals are the rare path: a second read for the count and the retry time.
        let counted = self.store.sorted_window(&key, now - WINDOW_MS).await?;
        let used = counted.len();
        // A visitor may have to wait for more than the oldest to leave, when operators have
        // spent some of the reserve: the window must drop below `limit`.
        let frees = counted
            .get(used.saturating_sub(limit))
            .map_or(oldest, |(_, score)| *score);
        Err(BudgetError::Exhausted {
            retry_at: at(frees) + WINDOW,
            used,
            limit,
            spender,
        })
    }

    /// A tag Meta refused (it did not count it): removes it again.
    pub async fn release(&self, ig_user_id: &str, tag: &Hashtag) -> Result<(), StoreError> {
        self.store
            .sorted_remove(&key(ig_user_id), tag.as_str())
            .await
    }

    pub async fn usage(
        &self,
        ig_user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<BudgetUsage, StoreError> {
        let counted = self.window(&key(ig_user_id), now).await?;
        let used = counted.len();
        let BudgetSettings {
            weekly_budget,
            operator_reserve,
        } = self.settings;
        Ok(BudgetUsage {
            weekly_budget,
            operator_reserve,
            used,
            left: weekly_budget.saturating_sub(used),
            left_for_visitors: self.settings.limit(Spender::Visitor).saturating_sub(used),
            tags: counted
                .into_iter()
                .map(|(member, score)| CountedTag::from_member(member, score))
                .collect(),
        })
    }

    /// Meta's view (`recently_searched_hashtags`: the ids it counts): ids unknown to us are
    /// counted from `now` (the conservative guess: they leave the window last) as members
    /// `id:<hashtag id>`; `names` maps the ids we know to tags (those already counted keep
    /// their time). Returns how many were added.
    ///
    /// A tag counted by id before its name was known takes its name, keeping its time (or the
    /// tag's, when that was counted too), so it is not counted twice.
    pub async fn reconcile(
        &self,
        ig_user_id: &str,
        meta_ids: &[String],
        names: &HashMap<String, Hashtag>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let key = key(ig_user_id);
        // Also drops the expired: under ZADD NX they would keep their old time and leave at once.
        let counted: HashMap<String, i64> = self.window(&key, now).await?.into_iter().collect();
        let mut absent = Vec::new();
        for id in meta_ids {
            let by_id = format!("{ID_PREFIX}{id}");
            let Some(tag) = names.get(id) else {
                absent.push(by_id);
                continue;
            };
            let tag = tag.as_str();
            match (counted.get(&by_id), counted.contains_key(tag)) {
                (Some(&score), false) => {
                    // Named first, then the id dropped: a race sees it twice, never not at all.
                    self.store.sorted_put(&key, tag, score).await?;
                    self.store.sorted_remove(&key, &by_id).await?;
                }
                // Counted twice (queried here after Meta's list came in): the tag's time is ours.
                (Some(_), true) => self.store.sorted_remove(&key, &by_id).await?,
                (None, false) => absent.push(tag.to_owned()),
                (None, true) => {}
            }
        }
        let ttl = Duration::from_millis(WINDOW_MS.unsigned_abs());
        self.store
            .sorted_add_absent(&key, &absent, now.timestamp_millis(), ttl)
            .await
    }

    async fn window(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.store
            .sorted_window(key, now.timestamp_millis() - WINDOW_MS)
            .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::store::MemoryStore;

    const IG: &str = "17841400000000001";
    const MS: chrono::Duration = chrono::Duration::milliseconds(1);

    fn budget() -> Budget {
        Budget::new(
            Store::memory(MemoryStore::new()),
            BudgetSettings {
                weekly_budget: 30,
                operator_reserve: 5,
            },
        )
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn tag(name: &str) -> Hashtag {
        Hashtag::parse(name).unwrap()
    }

    /// Counts `tag0`, `tag1`, … one minute apart from `t0`.
    async fn spend(budget: &Budget, tags: std::ops::Range<usize>, spender: Spender) {
        for i in tags {
            let at = t0() + chrono::Duration::minutes(i64::try_from(i).unwrap());
            let admitted = budget
                .admit(IG, &tag(&format!("tag{i}")), spender, at)
                .await;
            assert_eq!(admitted.unwrap(), Admitted::NewlyCounted, "tag{i}");
        }
    }

    fn exhausted(result: Result<Admitted, BudgetError>) -> (DateTime<Utc>, usize, usize, Spender) {
        match result {
            Err(BudgetError::Exhausted {
                retry_at,
                used,
                limit,
                spender,
            }) => (retry_at, used, limit, spender),
            other => panic!("not exhausted: {other:?}"),
        }
    }

    #[tokio::test]
    async fn visitors_leave_the_reserve_to_operators() {
        let budget = budget();
        spend(&budget, 0..25, Spender::Visitor).await;
        let later = t0() + chrono::Duration::hours(1);
        let refused = budget
            .admit(IG, &tag("more"), Spender::Visitor, later)
            .await;
        assert_eq!(
            exhausted(refused),
            (t0() + WINDOW, 25, 25, Spender::Visitor),
            "the oldest, tag0, frees the slot"
        );
        spend(&budget, 25..30, Spender::Operator).await;
        let refused = budget
            .admit(IG, &tag("more"), Spender::Operator, later)
            .await;
        assert_eq!(
            exhausted(refused),
            (t0() + WINDOW, 30, 30, Spender::Operator)
        );
        // 30 counted, 25 for visitors: six must leave, tag0 to tag5.
        let refused = budget
            .admit(IG, &tag("more"), Spender::Visitor, later)
            .await;
        let six_leave = t0() + chrono::Duration::minutes(5) + WINDOW;
        assert_eq!(exhausted(refused), (six_leave, 30, 25, Spender::Visitor));
        assert_eq!(budget.usage(IG, later).await.unwrap().used, 30);
    }

    #[tokio::test]
    async fn a_counted_tag_is_free_for_anyone_even_when_full() {
        let budget = budget();
        spend(&budget, 0..30, Spender::Operator).await;
        let later = t0() + chrono::Duration::days(3);
        for spender in [Spender::Visitor, Spender::Operator] {
            let again = budget.admit(IG, &tag("#TAG7"), spender, later).await;
            assert_eq!(again.unwrap(), Admitted::AlreadyCounted);
        }
        // Querying again does not restart its week.
        let usage = budget.usage(IG, later).await.unwrap();
        let tag7 = &usage.tags[7];
        assert_eq!(tag7.tag.as_deref(), Some("tag7"));
        assert_eq!(tag7.counted_at, t0() + chrono::Duration::minutes(7));
    }

    #[tokio::test]
    async fn a_tag_leaves_the_window_after_seven_days() {
        let budget = budget();
        spend(&budget, 0..25, Spender::Visitor).await;
        let new = tag("new");
        let retry_at = exhausted(budget.admit(IG, &new, Spender::Visitor, t0()).await).0;
        assert_eq!(retry_at, t0() + WINDOW);
        let just_before = retry_at - MS;
        assert!(
            budget
                .admit(IG, &new, Spender::Visitor, just_before)
                .await
                .is_err()
        );
        let admitted = budget
            .admit(IG, &new, Spender::Visitor, t0() + WINDOW + MS)
            .await;
        assert_eq!(admitted.unwrap(), Admitted::NewlyCounted);
        // tag0 left: counting it again is a new slot, and the window is full again.
        let again = budget
            .admit(IG, &tag("tag0"), Spender::Visitor, retry_at + MS)
            .await;
        assert_eq!(exhausted(again).1, 25);
    }

    #[tokio::test]
    async fn a_released_tag_gives_its_slot_back() {
        let budget = budget();
        spend(&budget, 0..25, Spender::Visitor).await;
        budget.release(IG, &tag("tag3")).await.unwrap();
        let admitted = budget.admit(IG, &tag("new"), Spender::Visitor, t0()).await;
        assert_eq!(admitted.unwrap(), Admitted::NewlyCounted);
        // Releasing what is not counted changes nothing.
        budget.release(IG, &tag("other")).await.unwrap();
        assert_eq!(budget.usage(IG, t0()).await.unwrap().used, 25);
    }

    #[tokio::test]
    async fn budgets_are_per_instagram_account() {
        let budget = budget();
        spend(&budget, 0..25, Spender::Visitor).await;
        let other = "17841400000000002";
        let admitted = budget
            .admit(other, &tag("new"), Spender::Visitor, t0())
            .await;
        assert_eq!(admitted.unwrap(), Admitted::NewlyCounted);
    }

    #[tokio::test]
    async fn reconcile_counts_what_meta_counts_once() {
        let budget = budget();
        spend(&budget, 0..2, Spender::Visitor).await;
        let now = t0() + chrono::Duration::days(1);
        let ids = ["h0", "h1", "h9", "h8"].map(str::to_owned);
        // h0 is tag0 (counted), h1 is tag1 (counted), h9 unknown, h8 is `sea` (not counted).
        let names = HashMap::from([
            ("h0".to_owned(), tag("tag0")),
            ("h1".to_owned(), tag("tag1")),
            ("h8".to_owned(), tag("sea")),
        ]);
        assert_eq!(budget.reconcile(IG, &ids, &names, now).await.unwrap(), 2);
        assert_eq!(budget.reconcile(IG, &ids, &names, now).await.unwrap(), 0);
        let usage = budget.usage(IG, now).await.unwrap();
        assert_eq!(usage.used, 4);
        let counted: Vec<_> = usage
            .tags
            .iter()
            .map(|t| (t.tag.as_deref(), t.hashtag_id.as_deref(), t.counted_at))
            .collect();
        assert_eq!(
            counted,
            [
                (Some("tag0"), None, t0()),
                (Some("tag1"), None, t0() + chrono::Duration::minutes(1)),
                (None, Some("h9"), now),
                (Some("sea"), None, now),
            ]
        );

        // h9's name learned later: renamed, keeping its time, not counted twice.
        let later = now + chrono::Duration::hours(1);
        let names = HashMap::from([("h9".to_owned(), tag("sky"))]);
        let h9 = ["h9".to_owned()];
        assert_eq!(budget.reconcile(IG, &h9, &names, later).await.unwrap(), 0);
        let usage = budget.usage(IG, later).await.unwrap();
        assert_eq!(usage.used, 4);
        let sky = usage.tags.iter().find(|t| t.tag.as_deref() == Some("sky"));
        assert_eq!(sky.unwrap().counted_at, now);
        assert!(usage.tags.iter().all(|t| t.hashtag_id.is_none()));
        let sky = budget.admit(IG, &tag("sky"), Spender::Visitor, later).await;
        assert_eq!(sky.unwrap(), Admitted::AlreadyCounted);

        // `h7` by id, then `sun` queried here before its id was known: one tag, counted twice
        // until Meta's list names it.
        let h7 = ["h7".to_owned()];
        assert_eq!(
            budget
                .reconcile(IG, &h7, &HashMap::new(), later)
                .await
                .unwrap(),
            1
        );
        let sun = budget
            .admit(IG, &tag("sun"), Spender::Visitor, later + MS)
            .await;
        assert_eq!(sun.unwrap(), Admitted::NewlyCounted);
        assert_eq!(budget.usage(IG, later).await.unwrap().used, 6);
        let names = HashMap::from([("h7".to_owned(), tag("sun"))]);
        assert_eq!(budget.reconcile(IG, &h7, &names, later).await.unwrap(), 0);
        let usage = budget.usage(IG, later).await.unwrap();
        assert_eq!(usage.used, 5);
        assert_eq!(usage.tags[4].tag.as_deref(), Some("sun"));
        assert_eq!(usage.tags[4].counted_at, later + MS);
    }

    #[tokio::test]
    async fn reconcile_counts_an_expired_tag_again_from_now() {
        let budget = budget();
        spend(&budget, 0..1, Spender::Visitor).await;
        let next_week = t0() + WINDOW + MS;
        let names = HashMap::from([("h0".to_owned(), tag("tag0"))]);
        let ids = ["h0".to_owned()];
        assert_eq!(
            budget.reconcile(IG, &ids, &names, next_week).await.unwrap(),
            1
        );
        let usage = budget.usage(IG, next_week).await.unwrap();
        assert_eq!(usage.tags[0].counted_at, next_week);
    }

    #[tokio::test]
    async fn usage_lists_each_tag_with_its_expiry() {
        let budget = budget();
        let empty = budget.usage(IG, t0()).await.unwrap();
        assert_eq!(
            (empty.used, empty.left, empty.left_for_visitors),
            (0, 30, 25)
        );
        spend(&budget, 0..3, Spender::Visitor).await;
        spend(&budget, 3..28, Spender::Operator).await;
        let now = t0() + chrono::Duration::days(2);
        let usage = budget.usage(IG, now).await.unwrap();
        assert_eq!((usage.weekly_budget, usage.operator_reserve), (30, 5));
        assert_eq!(
            (usage.used, usage.left, usage.left_for_visitors),
            (28, 2, 0)
        );
        assert_eq!(usage.tags.len(), 28);
        let first = &usage.tags[0];
        assert_eq!(first.tag.as_deref(), Some("tag0"));
        assert_eq!(first.hashtag_id, None);
        assert_eq!(first.expires_at, t0() + chrono::Duration::days(7));
        // A minute after tag0 left, tag1 leaves too.
        let later = t0() + WINDOW + chrono::Duration::minutes(1);
        assert_eq!(budget.usage(IG, later).await.unwrap().used, 26);
    }
}
