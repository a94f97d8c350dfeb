//! The upgrade from the single-account version (#10): what it left in Redis (`token`,
//! `feed:snapshot`, `feed:meta`, unscoped) becomes the default account's at start-up, without
//! calling Instagram, once, whatever replicas start at once, and never again after the default
//! account's data is deleted.

use std::time::Duration;

use chrono::Utc;
use instagram_gateway::auth::signed_request::sign;
use instagram_gateway::auth::{TokenRecord, TokenRepository};
use instagram_gateway::feed::{AccountRef, Snapshot};
use instagram_gateway::instagram::MediaBody;
use redis::AsyncCommands as _;
use serde_json::{Value, json};

use crate::helpers::*;

/// The keys of the single-account version (relative to the prefix).
const LEGACY_KEYS: [&str; 3] = ["token", "feed:snapshot", "feed:meta"];
const MARKER: &str = "migrations:accounts-v1";
const SNAPSHOT_TTL_SECS: u64 = 7 * 24 * 3600;

/// What the single-account version left in Redis.
struct Legacy {
    version: String,
    ids: Vec<String>,
    /// The bytes under each of [`LEGACY_KEYS`], in that order.
    bytes: Vec<Vec<u8>>,
}

/// Fills the test's namespace as the previous version did: its token repository wrote the
/// encrypted record under `token` (no scope), its sync the snapshot and its meta.
async fn fill_legacy(env: &TestEnv) -> Legacy {
    let now = Utc::now();
    let record = TokenRecord {
        access_token: LONG_TOKEN.to_owned().into(),
        user_id: env.user_id.clone(),
        app_scoped_user_id: Some(APP_USER_ID.to_owned()),
        username: Some(USERNAME.to_owned()),
        scopes: vec!["instagram_business_basic".to_owned()],
        obtained_at: now - chrono::Duration::days(2),
        expires_at: now + chrono::Duration::days(58),
        refreshed_at: None,
        invalid: false,
        last_error: None,
        login: instagram_gateway::instagram::Login::Instagram,
    };
    assert!(
        TokenRepository::new(env.store(), env.cipher())
            .save(&record, None)
            .await
            .unwrap()
    );
    let bodies: Vec<MediaBody> =
        serde_json::from_value(Value::Array(posts(5, 17_900_000_000_070_000))).unwrap();
    let account = AccountRef {
        user_id: env.user_id.clone(),
        username: Some(USERNAME.to_owned()),
    };
    let (snapshot, skipped) = Snapshot::build(account, bodies, now - chrono::Duration::minutes(5));
    assert_eq!(skipped, 0);
    // `SyncMeta` of the previous version, field by field.
    let meta = json!({
        "version": snapshot.version,
        "synced_at": snapshot.synced_at,
        "items": snapshot.items.len(),
        "urls_expire_at": snapshot.urls_expire_at,
        "last_error": null,
        "last_error_status": null,
        "retry_not_before": null,
        "purged_at": null,
    });
    let mut redis = env.redis().await;
    let _: () = redis
        .set_ex(
            legacy_key(env, "feed:snapshot"),
            serde_json::to_vec(&snapshot).unwrap(),
            SNAPSHOT_TTL_SECS,
        )
        .await
        .unwrap();
    let _: () = redis
        .set_ex(
            legacy_key(env, "feed:meta"),
            serde_json::to_vec(&meta).unwrap(),
            SNAPSHOT_TTL_SECS,
        )
        .await
        .unwrap();
    // Nothing of the new layout yet.
    let keys: Vec<String> = redis.keys(format!("{}*", env.prefix)).await.unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    Legacy {
        version: snapshot.version.clone(),
        ids: snapshot.items.iter().map(|m| m.id.clone()).collect(),
        bytes: raw_values(env, &LEGACY_KEYS.map(|k| legacy_key(env, k))).await,
    }
}

fn legacy_key(env: &TestEnv, key: &str) -> String {
    format!("{}{key}", env.prefix)
}

async fn raw_values(env: &TestEnv, keys: &[String]) -> Vec<Vec<u8>> {
    let mut redis = env.redis().await;
    let mut values = Vec::new();
    for key in keys {
        let value: Option<Vec<u8>> = redis.get(key).await.unwrap();
        values.push(value.unwrap_or_else(|| panic!("{key} is missing")));
    }
    values
}

async fn exists(env: &TestEnv, key: &str) -> bool {
    let mut redis = env.redis().await;
    redis.exists(key).await.unwrap()
}

/// The default account's copies of the legacy keys.
fn new_keys(env: &TestEnv) -> Vec<String> {
    LEGACY_KEYS.iter().map(|k| env.account_key(k)).collect()
}

async fn upstream_calls(env: &TestEnv) -> usize {
    let requests = env.upstream.received_requests().await.unwrap_or_default();
    for request in &requests {
        // Printed with the test's output when an assertion on the count fails.
        println!("upstream call: {} {}", request.method, request.url.path());
    }
    requests.len()
}

fn signed(user_id: &str) -> String {
    let issued_at = Utc::now().timestamp();
    sign(
        &format!(r#"{{"user_id":"{user_id}","algorithm":"HMAC-SHA256","issued_at":{issued_at}}}"#),
        CLIENT_SECRET.as_bytes(),
    )
}

/// `/images` is served at once from the legacy snapshot; returns its ETag.
async fn assert_serves_legacy(app: &TestApp, legacy: &Legacy) -> String {
    let response = app.get("/images").await;
    assert_eq!(response.status(), 200, "served at once, without a sync");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, legacy.ids);
    etag
}

#[tokio::test]
async fn the_old_token_and_snapshot_are_the_default_accounts_without_calling_instagram() {
    let env = TestEnv::new().await;
    let legacy = fill_legacy(&env).await;
    let app = env.spawn_with(quiet_feed).await;

    let etag = assert_serves_legacy(&app, &legacy).await;
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid", "{status}");
    assert_eq!(status["token"]["user_id"], env.user_id.as_str());
    assert_eq!(status["token"]["username"], USERNAME);
    assert_eq!(status["feed"]["version"], legacy.version.as_str());
    assert_eq!(status["feed"]["items"], legacy.ids.len());

    // Copied as they were, with their expiry; the old keys stay for old replicas.
    assert_eq!(raw_values(&env, &new_keys(&env)).await, legacy.bytes);
    let mut redis = env.redis().await;
    for key in new_keys(&env) {
        let ttl: i64 = redis.ttl(&key).await.unwrap();
        assert!(ttl > 0, "{key} keeps a TTL ({ttl})");
    }
    assert_eq!(
        raw_values(&env, &LEGACY_KEYS.map(|k| legacy_key(&env, k))).await,
        legacy.bytes,
        "the old keys are left for replicas of the old version"
    );
    assert!(exists(&env, &legacy_key(&env, MARKER)).await);

    // A few version polls and scheduler ticks later: still nothing asked of Instagram.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = app.get("/images").await;
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(upstream_calls(&env).await, 0, "no exchange, no media call");
}

#[tokio::test]
async fn a_restart_copies_nothing_again_and_overwrites_nothing() {
    let env = TestEnv::new().await;
    let legacy = fill_legacy(&env).await;
    let first = env.spawn_with(quiet_feed).await;
    assert_eq!(first.status().await["token"]["state"], "valid");
    first.stop().await;

    // The default account's token changed after the upgrade (a re-auth, a refresh): a second
    // start keeps it, although the old key still holds the old one.
    env.store_token_for("default", LONG_TOKEN, &env.user_id, "renamed.after.upgrade")
        .await;
    let second = env.spawn_with(quiet_feed).await;
    let status = second.status().await;
    assert_eq!(
        status["token"]["username"], "renamed.after.upgrade",
        "{status}"
    );
    second.stop().await;

    // Gone from the new key while the old one is still there (an old replica wrote it back):
    // the upgrade ran once, so it is not copied again.
    let mut redis = env.redis().await;
    let _: () = redis.del(env.account_key("token")).await.unwrap();
    let third = env.spawn_with(quiet_feed).await;
    assert_eq!(third.status().await["token"]["state"], "missing");
    assert!(!exists(&env, &env.account_key("token")).await);
    // The snapshot copy is still the one made at the first start (served once the version
    // poll has read it: without a token the first scheduled sync pauses cold reads).
    eventually("the snapshot", || async {
        third.get("/images").await.status() == 200
    })
    .await;
    assert_serves_legacy(&third, &legacy).await;
    assert_eq!(
        raw_values(&env, &[env.account_key("feed:snapshot")]).await[0],
        legacy.bytes[1]
    );
    assert_eq!(upstream_calls(&env).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_starting_at_once_make_one_consistent_copy() {
    let env = TestEnv::new().await;
    let legacy = fill_legacy(&env).await;
    let (a, b) = tokio::join!(env.spawn_with(quiet_feed), env.spawn_with(quiet_feed));

    let etag_a = assert_serves_legacy(&a, &legacy).await;
    let etag_b = assert_serves_legacy(&b, &legacy).await;
    assert_eq!(etag_a, etag_b, "the same snapshot on both");
    for app in [&a, &b] {
        let status = app.status().await;
        assert_eq!(status["token"]["state"], "valid", "{status}");
        assert_eq!(status["token"]["user_id"], env.user_id.as_str());
        assert_eq!(status["feed"]["version"], legacy.version.as_str());
    }

    assert_eq!(raw_values(&env, &new_keys(&env)).await, legacy.bytes);
    let mut redis = env.redis().await;
    let accounts: Vec<String> = redis
        .hkeys(format!("{}accounts", env.prefix))
        .await
        .unwrap();
    assert_eq!(accounts, ["default"]);
    let version: i64 = redis
        .get(format!("{}accounts:version", env.prefix))
        .await
        .unwrap();
    assert_eq!(version, 1, "the default account was registered once");
    let mut keys: Vec<String> = redis.keys(format!("{}*", env.prefix)).await.unwrap();
    keys.retain(|k| !k.contains(":lock:"));
    keys.sort();
    let mut expected: Vec<String> = LEGACY_KEYS
        .iter()
        .map(|k| legacy_key(&env, k))
        .chain(new_keys(&env))
        .chain(["accounts", "accounts:version", MARKER].map(|k| legacy_key(&env, k)))
        .collect();
    expected.sort();
    assert_eq!(keys, expected, "one copy, nothing else");

    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(upstream_calls(&env).await, 0);
}

#[tokio::test]
async fn deleting_the_default_accounts_data_is_not_undone_by_a_restart() {
    let env = TestEnv::new().await;
    let legacy = fill_legacy(&env).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_serves_legacy(&app, &legacy).await;

    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(&env.user_id))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.status().await["token"]["state"], "missing");
    for key in LEGACY_KEYS {
        assert!(
            !exists(&env, &legacy_key(&env, key)).await,
            "the old `{key}` is deleted with the default account's data"
        );
    }
    assert!(!exists(&env, &env.account_key("token")).await);
    assert!(!exists(&env, &env.account_key("feed:snapshot")).await);
    app.stop().await;

    let restarted = env.spawn_with(quiet_feed).await;
    let status = restarted.status().await;
    assert_eq!(status["token"]["state"], "missing", "{status}");
    assert_eq!(status["feed"]["version"], Value::Null);
    assert_eq!(restarted.get("/images").await.status(), 503);
    restarted.stop().await;

    // Even if an old replica still running wrote its copy back, the upgrade is not redone.
    let mut redis = env.redis().await;
    let _: () = redis
        .set_ex(legacy_key(&env, "token"), &legacy.bytes[0], 3600)
        .await
        .unwrap();
    let again = env.spawn_with(quiet_feed).await;
    assert_eq!(again.status().await["token"]["state"], "missing");
    assert!(!exists(&env, &env.account_key("token")).await);
    assert_eq!(upstream_calls(&env).await, 0);
}

#[tokio::test]
async fn a_state_issued_by_the_previous_version_connects_the_default_account() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(quiet_feed).await;
    mount_login(&env.upstream).await;
    // The operator opened the authorize URL of an old replica (its `state` holds `1`); the
    // callback lands on a new one during the rolling update.
    let state = format!("legacy{}{}", unique(""), "x".repeat(21));
    assert_eq!(state.len(), 43);
    let mut redis = env.redis().await;
    let _: () = redis
        .set_ex(format!("{}oauth:state:{state}", env.prefix), "1", 600)
        .await
        .unwrap();
    let response = app.callback(&[("code", CODE), ("state", &state)]).await;
    assert_eq!(response.status(), 200);
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid", "{status}");
    assert_eq!(status["token"]["user_id"], USER_ID);
    let stored = env
        .stored_token()
        .await
        .expect("the default account's token");
    assert_eq!(stored.user_id, USER_ID);
}
