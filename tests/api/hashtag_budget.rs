//! The hashtag budget's store primitives on the real Redis: the Lua scripts, TTLs, and one
//! budget shared by replicas racing for its last slots.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use futures_util::future::join_all;
use instagram_gateway::hashtags::{
    Admitted, Budget, BudgetError, BudgetSettings, Hashtag, Spender, WINDOW,
};
use instagram_gateway::store::{Admission, RedisStore, Store};
use redis::AsyncCommands as _;

use crate::helpers::*;

/// A store on a namespace of its own, as one replica sees it.
fn store(prefix: &str) -> Store {
    Store::redis(RedisStore::new(&redis_url().into(), prefix, Duration::from_secs(10), 4).unwrap())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("test Redis reachable (set IGW_TEST_REDIS_URL or run scripts/test.sh)")
}

#[tokio::test]
async fn sorted_admit_counts_members_once_within_the_window() {
    let prefix = unique("igw-test:");
    let store = store(&prefix);
    let (window, limit) = (100_000, 2);
    let admit =
        |member: &'static str, now: i64| store.sorted_admit("w", member, now, window, limit);
    assert_eq!(admit("a", 10).await.unwrap(), Admission::Added);
    assert_eq!(admit("b", 20).await.unwrap(), Admission::Added);
    assert_eq!(admit("a", 30).await.unwrap(), Admission::Present);
    assert_eq!(
        admit("c", 40).await.unwrap(),
        Admission::Full { oldest: 10 }
    );
    // `a` leaves at 10 + window exactly.
    assert_eq!(
        admit("c", window + 9).await.unwrap(),
        Admission::Full { oldest: 10 }
    );
    assert_eq!(admit("c", window + 10).await.unwrap(), Admission::Added);
    assert_eq!(
        store.sorted_window("w", 10).await.unwrap(),
        [("b".to_owned(), 20), ("c".to_owned(), window + 10)]
    );

    // Each add renews the TTL to the window; present and refused members leave it alone.
    let mut redis = redis().await;
    let key = format!("{prefix}w");
    let ttl: i64 = redis.pttl(&key).await.unwrap();
    assert!((window - 1000..=window).contains(&ttl), "{ttl}");
    let _: () = redis.pexpire(&key, 50_000).await.unwrap();
    assert_eq!(admit("b", window + 19).await.unwrap(), Admission::Present);
    assert!(matches!(
        admit("d", window + 19).await.unwrap(),
        Admission::Full { .. }
    ));
    let ttl: i64 = redis.pttl(&key).await.unwrap();
    assert!(ttl <= 50_000, "{ttl}");
}

#[tokio::test]
async fn a_limit_of_zero_admits_only_present_members() {
    let prefix = unique("igw-test:");
    let store = store(&prefix);
    assert_eq!(
        store.sorted_admit("w", "a", 10, 100, 0).await.unwrap(),
        Admission::Full { oldest: 10 }
    );
    let mut redis = redis().await;
    let exists: bool = redis.exists(format!("{prefix}w")).await.unwrap();
    assert!(!exists);
    store.sorted_put("w", "a", 5).await.unwrap();
    assert_eq!(
        store.sorted_admit("w", "a", 10, 100, 0).await.unwrap(),
        Admission::Present
    );
    assert_eq!(
        store.sorted_admit("w", "b", 10, 100, 0).await.unwrap(),
        Admission::Full { oldest: 5 }
    );
}

#[tokio::test]
async fn sorted_window_drops_expired_members_and_orders_by_score() {
    let prefix = unique("igw-test:");
    let store = store(&prefix);
    // Milliseconds since the epoch, as the budget writes them.
    let t = 1_772_366_400_000;
    for (member, score) in [("late", t + 30), ("b", t + 20), ("a", t + 20), ("gone", t)] {
        store.sorted_put("w", member, score).await.unwrap();
    }
    assert_eq!(
        store.sorted_window("w", t).await.unwrap(),
        [("a", t + 20), ("b", t + 20), ("late", t + 30)].map(|(m, s)| (m.to_owned(), s))
    );
    assert_eq!(store.sorted_stats("w").await.unwrap(), (3, Some(t + 20)));
    assert!(store.sorted_window("w", t + 30).await.unwrap().is_empty());
    assert!(store.sorted_window("missing", 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn sorted_add_absent_keeps_present_scores_and_sets_the_ttl_only_when_adding() {
    let prefix = unique("igw-test:");
    let store = store(&prefix);
    let (key, ttl) = (format!("{prefix}w"), Duration::from_secs(60));
    store.sorted_put("w", "a", 5).await.unwrap();
    let members = ["a", "b", "c", "b"].map(str::to_owned);
    assert_eq!(
        store
            .sorted_add_absent("w", &members, 50, ttl)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.sorted_window("w", 0).await.unwrap(),
        [("a", 5), ("b", 50), ("c", 50)].map(|(m, s)| (m.to_owned(), s))
    );
    let mut redis = redis().await;
    let left: i64 = redis.pttl(&key).await.unwrap();
    assert!((59_000..=60_000).contains(&left), "{left}");
    let longer = Duration::from_secs(600);
    assert_eq!(
        store
            .sorted_add_absent("w", &members, 60, longer)
            .await
            .unwrap(),
        0
    );
    let left: i64 = redis.pttl(&key).await.unwrap();
    assert!(left <= 60_000, "untouched: {left}");
    assert_eq!(
        store.sorted_add_absent("w", &[], 60, longer).await.unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn replicas_racing_for_the_last_slots_admit_exactly_the_limit() {
    let prefix = unique("igw-test:");
    // Three pools, as three replicas have.
    let replicas = [store(&prefix), store(&prefix), store(&prefix)];
    let now = Utc::now().timestamp_millis();
    let window = WINDOW.num_milliseconds();
    let admissions = join_all((0..40).map(|i| {
        let replica = replicas[i % replicas.len()].clone();
        let member = format!("tag{i}");
        tokio::spawn(async move { replica.sorted_admit("w", &member, now, window, 30).await })
    }))
    .await;
    let admissions: Vec<Admission> = admissions
        .into_iter()
        .map(|a| a.unwrap().unwrap())
        .collect();
    let added = admissions
        .iter()
        .filter(|a| **a == Admission::Added)
        .count();
    let full = admissions
        .iter()
        .filter(|a| **a == Admission::Full { oldest: now })
        .count();
    assert_eq!((added, full), (30, 10));
    let card: u64 = redis().await.zcard(format!("{prefix}w")).await.unwrap();
    assert_eq!(card, 30);
}

#[tokio::test]
async fn the_budget_on_redis_refuses_past_the_visitor_limit_and_reconciles() {
    let prefix = unique("igw-test:");
    let settings = BudgetSettings {
        weekly_budget: 3,
        operator_reserve: 1,
    };
    let budget = Budget::new(store(&prefix), settings);
    let ig = "17841400000000001";
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let tag = |t: &str| Hashtag::parse(t).unwrap();
    for (i, t) in ["#tea", "#Coffee"].into_iter().enumerate() {
        let at = t0 + chrono::Duration::minutes(i64::try_from(i).unwrap());
        let admitted = budget.admit(ig, &tag(t), Spender::Visitor, at).await;
        assert_eq!(admitted.unwrap(), Admitted::NewlyCounted);
    }
    let refused = budget.admit(ig, &tag("#cake"), Spender::Visitor, t0).await;
    match refused {
        Err(BudgetError::Exhausted {
            retry_at,
            used: 2,
            limit: 2,
            spender: Spender::Visitor,
        }) => assert_eq!(retry_at, t0 + WINDOW),
        other => panic!("{other:?}"),
    }
    let again = budget.admit(ig, &tag("coffee"), Spender::Visitor, t0).await;
    assert_eq!(again.unwrap(), Admitted::AlreadyCounted);

    let names = HashMap::from([("h1".to_owned(), tag("tea"))]);
    let ids = ["h1", "h2"].map(str::to_owned);
    assert_eq!(budget.reconcile(ig, &ids, &names, t0).await.unwrap(), 1);
    let usage = budget.usage(ig, t0).await.unwrap();
    assert_eq!((usage.used, usage.left, usage.left_for_visitors), (3, 0, 0));
    let by_id = usage.tags.iter().find(|t| t.tag.is_none()).unwrap();
    assert_eq!(
        (by_id.hashtag_id.as_deref(), by_id.counted_at),
        (Some("h2"), t0)
    );
    // Keyed by the Instagram account, outside any gateway account's scope.
    let mut redis = redis().await;
    let card: u64 = redis
        .zcard(format!("{prefix}hashtags:budget:{ig}"))
        .await
        .unwrap();
    assert_eq!(card, 3);
}
