//! The events the feed emits: `feed.updated` by the replica that stored a changed snapshot,
//! once per sync; `sync.failing` once per failure episode that lasts, `sync.recovered` at the
//! first success after it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn feed_version(app: &TestApp) -> Value {
    app.status().await["feed"]["version"].clone()
}

#[tokio::test]
async fn feed_updated_is_emitted_once_per_changed_snapshot_by_the_replica_that_wrote_it() {
    let env = TestEnv::new().await;
    let receiver = start_receiver(200).await;
    let id = env
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    let first = posts(2, 17_900_000_000_007_002);
    // The first sync, then a forced one that finds the same posts.
    mount_media(&env.upstream, &first, 10, 2).await;
    env.store_token(2, 58).await;
    let spawn = || {
        env.spawn_with(|s| {
            quiet_feed(s);
            local_webhooks(s);
        })
    };
    let app = spawn().await;
    let replica = spawn().await;

    // The first snapshot of the account: every id is added.
    let requests = wait_for_requests(&receiver, 1).await;
    let updated = json_body(&requests[0]);
    assert_eq!(updated["type"], "feed.updated");
    let version = feed_version(&app).await;
    assert_eq!(
        updated["data"],
        json!({"account": "default", "version": version, "added": ids(&first), "removed": [], "truncated": false})
    );

    // The same posts again: the version is unchanged, nothing is emitted.
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    assert_eq!(feed_version(&app).await, version);

    // A new post, the oldest gone; synced by the other replica, which alone emits.
    let second = posts(2, 17_900_000_000_007_003);
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": second})))
        .with_priority(1)
        .expect(1)
        .mount(&env.upstream)
        .await;
    assert_eq!(replica.admin_post("/admin/sync").await.status(), 200);
    let requests = wait_for_requests(&receiver, 2).await;
    let updated = json_body(&requests[1]);
    let new_version = feed_version(&replica).await;
    assert_ne!(new_version, version);
    assert_eq!(
        updated["data"],
        json!({"account": "default", "version": new_version, "added": ["17900000000007003"], "removed": ["17900000000007001"], "truncated": false})
    );
    // The first app picks the snapshot up through the version poll, without emitting.
    eventually("the version poll", || async {
        feed_version(&app).await == new_version
    })
    .await;

    app.assert_only_events(&receiver, &id, &["feed.updated", "feed.updated"])
        .await;
    assert_eq!(media_calls(&env.upstream).await, 3);
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn sync_failing_is_emitted_once_per_episode_and_sync_recovered_at_the_first_success() {
    // The scheduler's first sync, then two forced ones: three failures. The first starts the
    // episode; it is not long enough for an event yet.
    let (env, app, receiver, id) = failing(3, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_problem(app.admin_post("/admin/sync").await, 502, "upstream_error").await;
    let requests = wait_for_requests(&receiver, 1).await;
    let failing = json_body(&requests[0]);
    assert_eq!(failing["type"], "sync.failing");
    assert_eq!(failing["data"]["account"], "default");
    let since = at(&failing["data"]["failing_since"]);
    assert!(at(&failing["timestamp"]) - since >= chrono::Duration::seconds(1));
    assert!(
        failing["data"]["error"].as_str().unwrap().contains("100"),
        "{failing}"
    );
    // Still failing: the same episode, no second event.
    assert_problem(app.admin_post("/admin/sync").await, 502, "upstream_error").await;

    mount_recovery(&env).await;
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    let requests = wait_for_requests(&receiver, 2).await;
    let recovered = json_body(&requests[1]);
    assert_eq!(recovered["type"], "sync.recovered");
    assert_eq!(
        recovered["data"],
        json!({"account": "default", "failing_since": failing["data"]["failing_since"]})
    );
    // Healthy again: nothing more.
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    app.assert_only_events(&receiver, &id, &["sync.failing", "sync.recovered"])
        .await;
    assert_eq!(media_calls(&env.upstream).await, 5);
}

#[tokio::test]
async fn a_short_failure_emits_neither_failing_nor_recovered() {
    let (env, app, receiver, id) = failing(1, Duration::from_secs(3600)).await;
    mount_recovery(&env).await;
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    app.assert_only_events(&receiver, &id, &[]).await;
    assert_eq!(media_calls(&env.upstream).await, 3);
}

/// Instagram answers again (two posts), ahead of the failure mounted before; twice.
async fn mount_recovery(env: &TestEnv) {
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": posts(2, 17_900_000_000_007_102)})),
        )
        .with_priority(1)
        .expect(2)
        .mount(&env.upstream)
        .await;
}

/// An app whose syncs fail (`failures` times, the scheduler's first included, which has
/// happened on return), reporting after `failing_after`, with an endpoint for the sync events.
async fn failing(
    failures: u64,
    failing_after: Duration,
) -> (TestEnv, TestApp, wiremock::MockServer, String) {
    let env = TestEnv::new().await;
    let receiver = start_receiver(200).await;
    let id = env
        .create_webhook(&hook_url(&receiver), &["sync.failing", "sync.recovered"])
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(graph_error(400, 100, None, "Unsupported get request"))
        .expect(failures)
        .mount(&env.upstream)
        .await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            local_webhooks(s);
            s.webhooks.sync_failing_after = failing_after;
        })
        .await;
    eventually("the first sync", || async {
        media_calls(&env.upstream).await == 1
    })
    .await;
    (env, app, receiver, id)
}
