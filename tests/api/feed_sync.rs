//! Sync: paging upstream, coalescing, stale-while-revalidate, failures, throttling, replicas.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_250_item_account_costs_exactly_its_pages() {
    let env = TestEnv::new().await;
    // 250 items in pages of 100: exactly 3 calls, however many readers come.
    mount_media(&env.upstream, &posts(250, 17_900_000_000_001_000), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let reads = (0..100).map(|_| app.get("/images?limit=100"));
    let responses = futures_util::future::join_all(reads).await;
    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(media_calls(&env.upstream).await, 3);
    let status = app.status().await;
    assert_eq!(status["feed"]["items"], 250);
    let requests = env.upstream.received_requests().await.unwrap();
    let first = requests
        .iter()
        .find(|r| r.url.path() == "/v25.0/me/media")
        .unwrap();
    let fields = first
        .url
        .query_pairs()
        .find(|(k, _)| k == "fields")
        .unwrap()
        .1
        .into_owned();
    for field in [
        "id",
        "caption",
        "media_type",
        "media_url",
        "permalink",
        "thumbnail_url",
        "timestamp",
        "username",
        "like_count",
        "comments_count",
        "children{id,media_type,media_url,thumbnail_url}",
    ] {
        assert!(
            fields.split(',').any(|f| f == field) || fields.contains(field),
            "{field} not requested: {fields}"
        );
    }
}

#[tokio::test]
async fn max_items_bounds_the_sync() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(30, 17_900_000_000_002_000), 10, 0..=1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.max_items = 15;
            s.feed.page_size = 10;
        })
        .await;
    let body: Value = app.get("/images?limit=100").await.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 15);
    assert_eq!(
        media_calls(&env.upstream).await,
        2,
        "the third page is never fetched"
    );
}

#[tokio::test]
async fn cold_reads_without_a_token_are_503_with_retry_after() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(1, 17_900_000_000_003_000), 10, 0).await;
    let app = env.spawn_with(quiet_feed).await;
    let response = app.get("/images").await;
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_problem(response, 503, "feed_unavailable").await;
}

#[tokio::test]
async fn a_slow_first_sync_is_503_after_the_cold_wait_then_served() {
    let env = TestEnv::new().await;
    let body =
        json!({"data": posts(2, 17_900_000_000_004_000), "paging": {"cursors": {"after": "x"}}});
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(Duration::from_millis(1200)),
        )
        .expect(1)
        .mount(&env.upstream)
        .await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.cold_wait = Duration::from_millis(300);
        })
        .await;
    let early = app.get("/images").await;
    assert!(early.headers().contains_key("retry-after"));
    assert_problem(early, 503, "feed_unavailable").await;
    eventually("the first sync", || async {
        app.get("/images").await.status() == 200
    })
    .await;
}

#[tokio::test]
async fn cursors_hold_when_new_posts_arrive_between_pages() {
    let env = TestEnv::new().await;
    let old = posts(6, 17_900_000_000_005_000);
    mount_media(&env.upstream, &old, 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let first: Value = app.get("/images?limit=3").await.json().await.unwrap();
    let cursor = first["paging"]["next_cursor"].as_str().unwrap().to_owned();

    // Two new posts are published; the operator syncs.
    env.upstream.reset().await;
    let mut newer = vec![
        image_post(17_900_000_000_005_100, 0, Some("brand new")),
        image_post(17_900_000_000_005_101, 0, Some("newer still")),
    ];
    newer.extend(old.iter().cloned());
    mount_media(&env.upstream, &newer, 100, 1).await;
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);

    let second: Value = app
        .get(&format!("/images?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = old[3..]
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, expected, "page two continues where page one ended");
}

#[tokio::test]
async fn an_unchanged_feed_keeps_its_version_and_etags() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(4, 17_900_000_000_006_000), 100, 2).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let before = app.get("/images").await.headers()["etag"].clone();
    let v1 = app.status().await["feed"]["version"].clone();
    let sync: Value = app.admin_post("/admin/sync").await.json().await.unwrap();
    assert_eq!(sync["feed"]["version"], v1);
    assert_eq!(app.get("/images").await.headers()["etag"], before);
}

#[tokio::test]
async fn stale_reads_trigger_exactly_one_background_sync() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(3, 17_900_000_000_007_000), 100, 1..).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            s.feed.refresh_interval = Duration::from_secs(2);
            s.feed.version_poll = Duration::from_millis(100);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    assert_eq!(media_calls(&env.upstream).await, 1);
    // Slow down the next sync so the burst below overlaps it.
    env.upstream.reset().await;
    let body = json!({"data": posts(3, 17_900_000_000_007_000), "paging": {}});
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&env.upstream)
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let burst = futures_util::future::join_all((0..50).map(|_| app.get("/images"))).await;
    for response in &burst {
        assert_eq!(response.status(), 200, "stale reads are served at once");
    }
    assert!(
        burst
            .iter()
            .any(|r| r.headers()["cache-status"] == "instagram-gateway; hit; fwd=stale"),
        "stale responses say so"
    );
    let stale = burst
        .iter()
        .find(|r| r.headers().contains_key("age"))
        .expect("an Age header");
    assert!(
        stale.headers()["age"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2
    );
    eventually("the background sync", || async {
        media_calls(&env.upstream).await >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        media_calls(&env.upstream).await,
        1,
        "one background sync for the whole burst"
    );
}

/// An app that has served a first snapshot of `posts(3, first_id)`; from then on the media
/// edge answers `failure` (expected `times` times).
async fn warm_then_failing(
    first_id: u64,
    tweak: impl FnOnce(&mut instagram_gateway::config::Settings),
    failure: ResponseTemplate,
    times: impl Into<wiremock::Times>,
) -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(3, first_id), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            tweak(s);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    env.upstream.reset().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(failure)
        .expect(times)
        .mount(&env.upstream)
        .await;
    (env, app)
}

#[tokio::test]
async fn upstream_failures_serve_stale_and_back_off_under_load() {
    let failure = graph_error(
        500,
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    );
    let (env, app) = warm_then_failing(17_900_000_000_008_000, |_| {}, failure, 3).await;
    let etag = app.get("/images").await.headers()["etag"].clone();
    let failed = app.admin_post("/admin/sync").await;
    let problem = assert_problem(failed, 502, "upstream_error").await;
    assert!(
        !problem.to_string().contains("unexpected error"),
        "no upstream text reaches clients"
    );
    let attempts = media_calls(&env.upstream).await;
    assert_eq!(attempts, 3, "at most 3 attempts per sync");

    // A flood of reads: all 200 from the last snapshot, marked stale, no new attempt.
    for _ in 0..5 {
        let burst = futures_util::future::join_all((0..40).map(|_| app.get("/images"))).await;
        for r in &burst {
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.headers()["cache-status"],
                "instagram-gateway; hit; fwd=stale; fwd-status=500"
            );
            assert_eq!(r.headers()["etag"], etag);
            assert!(r.headers().contains_key("age"));
        }
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        media_calls(&env.upstream).await,
        attempts,
        "no attempt within the backoff window"
    );
    let status = app.status().await;
    assert!(
        status["feed"]["last_error"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{status}"
    );
}

#[tokio::test]
async fn timeouts_are_failures_too() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"data": []}))
        .set_delay(Duration::from_secs(2));
    let (_env, app) = warm_then_failing(
        17_900_000_000_009_000,
        |s| s.instagram.request_timeout = Duration::from_millis(200),
        slow,
        1..,
    )
    .await;
    assert_problem(app.admin_post("/admin/sync").await, 502, "upstream_error").await;
    let r = app.get("/images").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-status"],
        "instagram-gateway; hit; fwd=stale; fwd-status=504"
    );
}

#[tokio::test]
async fn throttling_honours_instagrams_estimate() {
    let throttled = graph_error(400, 80002, None, "Application request limit reached")
        .insert_header("x-app-usage", r#"{"call_volume":100,"cpu_time":12}"#)
        .insert_header(
            "x-business-use-case-usage",
            r#"{"17841405309211844":[{"type":"instagram","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":19}]}"#,
        );
    let (_env, app) = warm_then_failing(
        17_900_000_000_010_000,
        |s| s.feed.refresh_interval = Duration::from_secs(600),
        throttled,
        1,
    )
    .await;
    let problem = app.admin_post("/admin/sync").await;
    assert_problem(problem, 502, "upstream_error").await;
    let status = app.status().await;
    let next: chrono::DateTime<chrono::Utc> = status["feed"]["next_sync_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let minutes = (next - chrono::Utc::now()).num_minutes();
    assert!(
        (18..=19).contains(&minutes),
        "paused for Instagram's 19 minutes, got {minutes}"
    );
    assert_eq!(status["feed"]["rate_limit"]["max_percent"], 100.0);
    assert_eq!(status["feed"]["rate_limit"]["regain_access_minutes"], 19);
    assert_eq!(status["feed"]["rate_limit"]["app"]["call_volume"], 100.0);
    let r = app.get("/images").await;
    assert_eq!(
        r.headers()["cache-status"],
        "instagram-gateway; hit; fwd=stale; fwd-status=429"
    );
}

#[tokio::test]
async fn error_190_invalidates_the_token_and_reads_stay_200() {
    let expired = graph_error(
        400,
        190,
        Some(463),
        "Error validating access token: Session has expired",
    );
    let (_env, app) = warm_then_failing(17_900_000_000_011_000, |_| {}, expired, 1).await;
    assert_problem(app.admin_post("/admin/sync").await, 502, "upstream_error").await;
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "invalid");
    assert_eq!(app.get("/images").await.status(), 200);
    // No token, no further calls: the next sync is refused before reaching Instagram.
    assert_problem(app.admin_post("/admin/sync").await, 409, "reauth_required").await;
}

#[tokio::test]
async fn another_instance_serves_a_new_version_within_2_seconds() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_012_000), 100, 1).await;
    env.store_token(2, 58).await;
    let a = env.spawn_with(quiet_feed).await;
    let b = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.version_poll = Duration::from_millis(1000);
        })
        .await;
    let old_etag = b.get("/images").await.headers()["etag"].clone();

    env.upstream.reset().await;
    mount_media(&env.upstream, &posts(3, 17_900_000_000_012_100), 100, 1).await;
    assert_eq!(a.admin_post("/admin/sync").await.status(), 200);
    let new_etag = a.get("/images").await.headers()["etag"].clone();
    assert_ne!(new_etag, old_etag);
    let started = std::time::Instant::now();
    eventually("instance B to serve the new version", || async {
        b.get("/images").await.headers()["etag"] == new_etag
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(media_calls(&env.upstream).await, 1, "B did not sync itself");
}

#[tokio::test]
async fn the_earliest_oe_schedules_the_next_sync() {
    let env = TestEnv::new().await;
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(90)).timestamp();
    let mut items = posts(2, 17_900_000_000_013_000);
    items[1]["media_url"] = json!(format!("https://cdn.example/x.jpg?oe={soon:X}&oh=00"));
    mount_media(&env.upstream, &items, 100, 1..).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.url_expiry_margin = Duration::from_secs(3600);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    let status = app.status().await;
    let expires: chrono::DateTime<chrono::Utc> = status["feed"]["urls_expire_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires.timestamp(), soon);
    let next: chrono::DateTime<chrono::Utc> = status["feed"]["next_sync_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        next.timestamp(),
        soon - 3600,
        "an hour before the URLs expire, not in an hour from the interval"
    );

    // With the margin past, the scheduler syncs on its own.
    let app2 = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.feed.url_expiry_margin = Duration::from_secs(2 * 3600);
        })
        .await;
    let before = media_calls(&env.upstream).await;
    assert_eq!(app2.get("/images").await.status(), 200);
    eventually("a sync for expiring URLs", || async {
        media_calls(&env.upstream).await > before
    })
    .await;
}

#[tokio::test]
async fn deauthorize_purges_the_feed() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_014_000), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let other = env.spawn_with(quiet_feed).await;
    assert_eq!(other.get("/images").await.status(), 200);
    assert_eq!(app.get("/images").await.status(), 200);
    let signed = instagram_gateway::auth::signed_request::sign(
        &format!(
            r#"{{"user_id":"{}","algorithm":"HMAC-SHA256","issued_at":{}}}"#,
            env.user_id,
            chrono::Utc::now().timestamp()
        ),
        CLIENT_SECRET.as_bytes(),
    );
    let response = app
        .http
        .post(app.url("/oauth/deauthorize"))
        .form(&[("signed_request", signed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_problem(app.get("/images").await, 503, "feed_unavailable").await;
    let mut redis = env.redis().await;
    let snapshot: Option<Vec<u8>> =
        redis::AsyncCommands::get(&mut redis, env.account_key("feed:snapshot"))
            .await
            .unwrap();
    assert!(snapshot.is_none(), "the stored snapshot is deleted");
    // The other replica drops its copy too: it learns from the tombstone.
    eventually("the other replica to drop the media", || async {
        other.get("/images").await.status() == 503
    })
    .await;
}
