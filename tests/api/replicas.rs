//! Several instances on one Redis: one sync and one refresh at a time, locks that expire,
//! fencing, and OAuth state shared across replicas.

use std::time::Duration;

use redis::AsyncCommands as _;

use crate::helpers::*;

#[tokio::test]
async fn three_instances_make_one_sync_and_one_refresh_per_interval() {
    let env = TestEnv::new().await;
    // The refresh and the first sync run at once: the sync may use either token.
    let items = posts(3, 17_900_000_000_050_000);
    mount_media(&env.upstream, &items, 100, ..).await;
    mount_media_for(&env.upstream, REFRESHED_TOKEN, &items, 100, ..).await;
    refresh(refreshed(), 1).mount(&env.upstream).await;
    // Due for refresh: 50 days old, 5 days left.
    env.store_token(50, 5).await;
    let interval = 3;
    let tweak = |s: &mut instagram_gateway::config::Settings| {
        s.feed.refresh_interval = Duration::from_secs(interval);
        s.feed.version_poll = Duration::from_millis(200);
    };
    let apps = [
        env.spawn_with(tweak).await,
        env.spawn_with(tweak).await,
        env.spawn_with(tweak).await,
    ];
    eventually("the first snapshot", || async {
        media_calls(&env.upstream).await >= 1
    })
    .await;
    for app in &apps {
        eventually("each instance to serve it", || async {
            app.get("/images").await.status() == 200
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        media_calls(&env.upstream).await,
        1,
        "one sync for three cold instances"
    );
    assert_eq!(
        calls_to(&env.upstream, "/refresh_access_token").await,
        1,
        "one refresh"
    );

    // One interval later: exactly one more sync, whoever notices first.
    tokio::time::sleep(Duration::from_secs(interval)).await;
    eventually("the scheduled re-sync", || async {
        media_calls(&env.upstream).await >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(media_calls(&env.upstream).await, 2);
    assert_eq!(calls_to(&env.upstream, "/refresh_access_token").await, 1);
}

#[tokio::test]
async fn a_dead_lock_holder_blocks_no_longer_than_the_lock_ttl() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_051_000), 100, 1).await;
    env.store_token(2, 58).await;
    // A replica took the sync lock and died: the lock has 1.5 s to live.
    let mut redis = env.redis().await;
    // Before the lock is set: its expiry is at least 1.5 s after this, however slow the box.
    let locked_at = std::time::Instant::now();
    let _: () = redis
        .set_options(
            env.account_key("lock:feed-sync"),
            "dead-replica",
            redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(1500)),
        )
        .await
        .unwrap();
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.cold_wait = Duration::from_millis(500);
        })
        .await;
    eventually("a sync after the dead holder's lock expired", || async {
        app.get("/images").await.status() == 200
    })
    .await;
    assert!(
        locked_at.elapsed() >= Duration::from_millis(1500),
        "the lock was respected"
    );
    assert_eq!(media_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn a_stale_lock_holder_cannot_overwrite_newer_data() {
    let env = TestEnv::new().await;
    let store = env.store();
    let old = store
        .try_lock("lock:test", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = store
        .try_lock("lock:test", Duration::from_secs(5))
        .await
        .unwrap()
        .expect("expired lock is free");
    assert!(
        store
            .set_fenced(&new, "data", b"newer", None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_fenced(&old, "data", b"stale", None)
            .await
            .unwrap(),
        "fenced out"
    );
    assert_eq!(
        store.get("data").await.unwrap().as_deref(),
        Some(&b"newer"[..])
    );
    // Releasing the expired lock leaves the new holder's lock alone.
    store.unlock(old).await.unwrap();
    assert!(
        store
            .try_lock("lock:test", Duration::from_secs(5))
            .await
            .unwrap()
            .is_none()
    );
    store.unlock(new).await.unwrap();
    assert!(
        store
            .try_lock("lock:test", Duration::from_secs(5))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn reauth_on_a_callback_on_b_token_used_by_c() {
    let env = TestEnv::new().await;
    mount_login(&env.upstream).await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_052_000), 100, 1..).await;
    let a = env.spawn_with(quiet_feed).await;
    let b = env.spawn_with(quiet_feed).await;
    let c = env.spawn_with(quiet_feed).await;
    let state = a.new_state().await;
    assert_eq!(
        b.callback(&[("code", CODE), ("state", &state)])
            .await
            .status(),
        200
    );
    assert_eq!(c.status().await["token"]["state"], "valid");
    eventually("instance C to serve the new account's media", || async {
        c.get("/images").await.status() == 200
    })
    .await;
    let requests = env.upstream.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/v25.0/me/media")
            .all(|r| r
                .url
                .query_pairs()
                .any(|(k, v)| k == "access_token" && v == LONG_TOKEN)),
        "the media calls use the token stored by B"
    );
}
