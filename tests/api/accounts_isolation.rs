//! Several accounts in one process (#10): one account's failures never change another's
//! reads, Meta's callbacks purge only the account of that user, one Instagram user cannot be
//! connected to two slugs, and 100 accounts share one version poll.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use instagram_gateway::auth::signed_request::sign;
use redis::AsyncCommands as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;
use crate::processes::RedisProcess;

const SHOP: &str = "shop";
const SHOP_TOKEN: &str = "IGQWshop-long-lived-token-0101";
const SHOP_USER: &str = "17841400000000101";
const DEFAULT_TOKEN: &str = "IGQWdefault-long-lived-token-0100";

async fn media_calls_with(upstream: &MockServer, token: &str) -> usize {
    upstream
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.url.path() == "/v25.0/me/media"
                && r.url
                    .query_pairs()
                    .any(|(k, v)| k == "access_token" && v == token)
        })
        .count()
}

fn ids_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn get_json(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<Value> {
    let raw: Option<Vec<u8>> = redis.get(key).await.unwrap();
    raw.map(|b| serde_json::from_slice(&b).unwrap())
}

fn signed(user_id: &str) -> String {
    let issued_at = Utc::now().timestamp();
    sign(
        &format!(r#"{{"user_id":"{user_id}","algorithm":"HMAC-SHA256","issued_at":{issued_at}}}"#),
        CLIENT_SECRET.as_bytes(),
    )
}

/// `default` (the test's user, `LONG_TOKEN`) and `shop` (its own token and user), both
/// registered and connected before the app starts.
async fn two_accounts(env: &TestEnv) {
    env.create_accounts(&["default", SHOP]).await;
    env.store_token(2, 58).await;
    env.store_token_for(SHOP, SHOP_TOKEN, SHOP_USER, "acme.shop")
        .await;
}

/// The shop's media answers `failure` (its only call(s): `calls`); the default's reads must
/// not notice, before, during or after.
async fn one_account_failing(failure: ResponseTemplate, calls: usize) -> (TestEnv, Value) {
    let env = TestEnv::new().await;
    two_accounts(&env).await;
    let items = posts(4, 17_900_000_000_080_000);
    mount_media(&env.upstream, &items, 100, 1).await;
    // Slow as well as failing: the shop's sync is still running when the default is read.
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .and(query_param("access_token", SHOP_TOKEN))
        .respond_with(failure.set_delay(Duration::from_millis(1500)))
        .expect(calls as u64)
        .mount(&env.upstream)
        .await;
    let app = env.spawn_with(quiet_feed).await;

    let mut redis = env.redis().await;
    let first = app.get("/images").await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(ids_of(&first.json().await.unwrap()), ids(&items));
    assert!(
        get_json(&mut redis, &env.key_of(SHOP, "feed:meta"))
            .await
            .is_none(),
        "the default was served while the shop's sync was still running"
    );

    // Three slow attempts with backoff when the failure is transient: seconds, by design.
    eventually_within(
        "the shop's failure to be recorded",
        Duration::from_secs(20),
        || async {
            let mut redis = env.redis().await;
            get_json(&mut redis, &env.key_of(SHOP, "feed:meta"))
                .await
                .is_some_and(|meta| meta["last_error"].is_string())
        },
    )
    .await;
    let shop_meta = get_json(&mut redis, &env.key_of(SHOP, "feed:meta"))
        .await
        .unwrap();
    assert_eq!(shop_meta["version"], Value::Null, "{shop_meta}");
    assert!(shop_meta["retry_not_before"].is_string(), "{shop_meta}");

    for _ in 0..5 {
        let response = app.get("/images").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
        assert!(
            response
                .headers()
                .get("cache-status")
                .is_none_or(|h| !h.to_str().unwrap().contains("fwd-status")),
            "the shop's upstream status is not the default's"
        );
    }
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid", "{status}");
    assert_eq!(status["feed"]["last_error"], Value::Null, "{status}");
    assert_eq!(status["feed"]["items"], items.len());
    let default_meta = get_json(&mut redis, &env.account_key("feed:meta"))
        .await
        .unwrap();
    assert_eq!(default_meta["last_error"], Value::Null);
    assert_eq!(default_meta["retry_not_before"], Value::Null);
    assert!(!env.stored_token().await.unwrap().invalid);

    // Settled: nothing more was asked than one sync of each.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(media_calls_with(&env.upstream, LONG_TOKEN).await, 1);
    assert_eq!(media_calls_with(&env.upstream, SHOP_TOKEN).await, calls);
    (env, shop_meta)
}

#[tokio::test]
async fn an_invalid_token_of_one_account_never_changes_the_others_reads() {
    let (env, shop_meta) = one_account_failing(
        graph_error(400, 190, Some(460), "Error validating access token"),
        1,
    )
    .await;
    assert_eq!(shop_meta["last_error_status"], 401, "{shop_meta}");
    let shop = env.stored_token_of(SHOP).await.unwrap();
    assert!(shop.invalid, "the shop's token is the one marked invalid");
    assert!(!env.stored_token().await.unwrap().invalid);
}

#[tokio::test]
async fn a_failing_upstream_of_one_account_never_changes_the_others_reads() {
    // 5xx is retried twice within one sync, then the shop backs off.
    let (env, shop_meta) = one_account_failing(
        ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1, "is_transient": true}})),
        3,
    )
    .await;
    assert_eq!(shop_meta["last_error_status"], 500, "{shop_meta}");
    assert!(!env.stored_token_of(SHOP).await.unwrap().invalid);
}

#[tokio::test]
async fn metas_deauthorize_purges_only_that_users_account() {
    let env = TestEnv::new().await;
    two_accounts(&env).await;
    let items = posts(3, 17_900_000_000_081_000);
    mount_media(&env.upstream, &items, 100, 1).await;
    mount_media_for(
        &env.upstream,
        SHOP_TOKEN,
        &posts(2, 17_900_000_000_082_000),
        100,
        1,
    )
    .await;
    let app = env.spawn_with(quiet_feed).await;
    let first = app.get("/images").await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let mut redis = env.redis().await;
    eventually("both snapshots", || async {
        let mut redis = env.redis().await;
        redis
            .exists::<_, bool>(env.key_of(SHOP, "feed:snapshot"))
            .await
            .unwrap()
            && redis
                .exists::<_, bool>(env.account_key("feed:snapshot"))
                .await
                .unwrap()
    })
    .await;
    let default_snapshot: Vec<u8> = redis.get(env.account_key("feed:snapshot")).await.unwrap();
    let default_token: Vec<u8> = redis.get(env.account_key("token")).await.unwrap();

    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(SHOP_USER))
        .await;
    assert_eq!(response.status(), 200);

    // The shop's token and snapshot are gone, on every replica (the tombstone).
    let shop_token: bool = redis.exists(env.key_of(SHOP, "token")).await.unwrap();
    assert!(!shop_token, "the shop's token is deleted");
    let shop_snapshot: bool = redis
        .exists(env.key_of(SHOP, "feed:snapshot"))
        .await
        .unwrap();
    assert!(!shop_snapshot, "the shop's snapshot is deleted");
    let shop_meta = get_json(&mut redis, &env.key_of(SHOP, "feed:meta"))
        .await
        .unwrap();
    assert!(shop_meta["purged_at"].is_string(), "{shop_meta}");

    // The default keeps everything, byte for byte, and serves as before.
    let token_after: Vec<u8> = redis.get(env.account_key("token")).await.unwrap();
    assert_eq!(token_after, default_token);
    let snapshot_after: Vec<u8> = redis.get(env.account_key("feed:snapshot")).await.unwrap();
    assert_eq!(snapshot_after, default_snapshot);
    let default_meta = get_json(&mut redis, &env.account_key("feed:meta"))
        .await
        .unwrap();
    assert_eq!(default_meta["purged_at"], Value::Null);
    let again = app.get("/images").await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(ids_of(&again.json().await.unwrap()), ids(&items));
    assert_eq!(app.status().await["token"]["state"], "valid");

    // And the default's own user is still the one Meta can have deleted.
    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(&env.user_id))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.status().await["token"]["state"], "missing");
    assert_eq!(media_calls_with(&env.upstream, LONG_TOKEN).await, 1);
    assert_eq!(media_calls_with(&env.upstream, SHOP_TOKEN).await, 1);
}

/// A `state` as `POST /admin/reauth` mints it (43 base64url characters), for `slug`.
async fn issue_state(env: &TestEnv, slug: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    let state = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    assert_eq!(state.len(), 43);
    let mut redis = env.redis().await;
    let _: () = redis
        .set_ex(format!("{}oauth:state:{state}", env.prefix), slug, 600)
        .await
        .unwrap();
    state
}

#[tokio::test]
async fn one_instagram_user_cannot_be_connected_to_two_slugs() {
    let env = TestEnv::new().await;
    env.create_accounts(&["default", SHOP]).await;
    // The default is Instagram's `USER_ID`, the one the login below returns.
    env.store_token_for("default", DEFAULT_TOKEN, USER_ID, USERNAME)
        .await;
    env.store_token_for(SHOP, SHOP_TOKEN, SHOP_USER, "acme.shop")
        .await;
    mount_media_for(
        &env.upstream,
        DEFAULT_TOKEN,
        &posts(2, 17_900_000_000_083_000),
        100,
        1,
    )
    .await;
    mount_media_for(
        &env.upstream,
        SHOP_TOKEN,
        &posts(2, 17_900_000_000_084_000),
        100,
        1,
    )
    .await;
    mount_login(&env.upstream).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(app.get("/images").await.status(), 200);

    let mut redis = env.redis().await;
    let shop_before: Vec<u8> = redis.get(env.key_of(SHOP, "token")).await.unwrap();
    let default_before: Vec<u8> = redis.get(env.account_key("token")).await.unwrap();
    let state = issue_state(&env, SHOP).await;
    let response = app.callback(&[("code", CODE), ("state", &state)]).await;
    let body = assert_problem(response, 409, "account_conflict").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(USERNAME) && detail.contains("`default`"),
        "{detail}"
    );

    let shop_after: Vec<u8> = redis.get(env.key_of(SHOP, "token")).await.unwrap();
    assert_eq!(shop_after, shop_before, "the shop's token is unchanged");
    let default_after: Vec<u8> = redis.get(env.account_key("token")).await.unwrap();
    assert_eq!(default_after, default_before);
    let state_left: bool = redis
        .exists(format!("{}oauth:state:{state}", env.prefix))
        .await
        .unwrap();
    assert!(!state_left, "the state is used up");
    assert_eq!(app.status().await["token"]["user_id"], USER_ID);
    // One login (exchange, long-lived exchange, /me: exactly once each, verified on drop);
    // no sync was started for the refused account.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(media_calls_with(&env.upstream, SHOP_TOKEN).await, 1);
    assert_eq!(media_calls_with(&env.upstream, LONG_TOKEN).await, 0);
}

/// `INFO commandstats`: calls per command.
async fn command_calls(redis: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(redis)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats.split(',').find_map(|s| s.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> HashMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[tokio::test]
async fn a_hundred_accounts_share_one_version_poll() {
    // A Redis of this test's own: every command it counts is this app's.
    let redis_server = RedisProcess::start(false).await;
    let env = TestEnv::with_redis(redis_server.url()).await;
    let slugs: Vec<String> = std::iter::once("default".to_owned())
        .chain((1..100).map(|i| format!("acct-{i:02}")))
        .collect();
    let refs: Vec<&str> = slugs.iter().map(String::as_str).collect();
    env.create_accounts(&refs).await;
    for (i, slug) in slugs.iter().enumerate() {
        env.store_token_for(
            slug,
            &format!("IGQWtoken-of-{slug}"),
            &format!("178414{i:011}"),
            slug,
        )
        .await;
    }
    // 100 posts per account, one page; one sync per account.
    let items = posts(100, 17_900_000_000_090_000);
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": items, "paging": {"cursors": {"before": "b", "after": "a"}}}),
        ))
        .expect(100)
        .mount(&env.upstream)
        .await;
    let poll = Duration::from_millis(200);
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.version_poll = poll;
        })
        .await;

    let mut redis = env.redis().await;
    let mut synced = false;
    for _ in 0..600 {
        if media_calls(&env.upstream).await == 100 {
            let metas: Vec<Option<Vec<u8>>> = redis
                .mget(
                    slugs
                        .iter()
                        .map(|s| env.key_of(s, "feed:snapshot"))
                        .collect::<Vec<_>>(),
                )
                .await
                .unwrap();
            if metas.iter().all(Option::is_some) {
                synced = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(synced, "every account synced once");
    assert_eq!(app.get("/images").await.status(), 200);
    assert_eq!(app.status().await["feed"]["items"], 100);

    // Start-up done (syncs, the first token checks): wait until the only commands left are
    // the background ones: the poll's MGET, the store health check's PING, the webhook
    // worker's look at its queue (one ZRANGE per poll, whatever the accounts), the pool's
    // `UNWATCH` + `PING` on each checkout, and our `INFO`.
    let background = |d: &HashMap<String, u64>| {
        d.keys()
            .all(|k| ["mget", "ping", "zrange", "unwatch", "info"].contains(&k.as_str()))
    };
    // (Bounded: the window below says what is left, if anything.)
    for _ in 0..30 {
        let before = command_calls(&mut redis).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if background(&delta(&before, &command_calls(&mut redis).await)) {
            break;
        }
    }

    let window = Duration::from_secs(2);
    let before = command_calls(&mut redis).await;
    tokio::time::sleep(window).await;
    let during = delta(&before, &command_calls(&mut redis).await);
    let mgets = during.get("mget").copied().unwrap_or(0);
    let polls_at_most = (window.as_millis() / poll.as_millis()) as u64 + 1;
    assert!(
        (1..=polls_at_most).contains(&mgets),
        "one MGET per poll for all 100 accounts: {during:?}"
    );
    assert!(
        background(&during),
        "no command per account in the background: {during:?}"
    );
    // One connection checkout per MGET, per health check and per look at the webhook queue
    // (one a second each, whatever the accounts): nothing else took a connection.
    let checkouts = during.get("unwatch").copied().unwrap_or(0);
    let webhook_polls = during.get("zrange").copied().unwrap_or(0);
    assert!(checkouts <= mgets + webhook_polls + 3, "{during:?}");
    assert_eq!(media_calls(&env.upstream).await, 100);
}
