//! Faults: Redis killed, frozen, paused and restarted; Instagram slow, resetting, sending
//! garbage or too much; SIGTERM during traffic. Bounds are generous: they catch hangs, not
//! slowness.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;
use crate::processes::{Chaos, ChaosServer, RedisProcess, free_port};

/// Command timeout of the apps in these tests, and the bound no request may exceed.
const COMMAND_TIMEOUT_MS: u64 = 300;
const NO_HANG: Duration = Duration::from_secs(3);

async fn timed(app: &TestApp, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = app.get(path).await.status().as_u16();
    (status, started.elapsed())
}

/// A warm app on a private Redis: snapshot loaded, then the fault.
async fn warm_app(redis: &RedisProcess) -> (TestEnv, TestApp) {
    let env = TestEnv::with_redis(redis.url()).await;
    mount_media(&env.upstream, &posts(3, 17_900_000_000_060_000), 100, 1..).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.redis.command_timeout = Duration::from_millis(COMMAND_TIMEOUT_MS);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    (env, app)
}

async fn assert_degraded_but_serving(app: &TestApp) {
    for _ in 0..10 {
        let (status, took) = timed(app, "/images").await;
        assert_eq!(status, 200, "reads are served from memory");
        assert!(took < NO_HANG, "a read took {took:?}");
    }
    // Still ready (it holds a snapshot): a Redis outage must not empty the Service. The body
    // says what is degraded, once the background check has noticed.
    eventually("readiness to report the store down", || async {
        let started = Instant::now();
        let response = app.get("/readyz").await;
        assert!(started.elapsed() < NO_HANG, "readiness took too long");
        assert_eq!(response.status(), 200, "ready while a snapshot is held");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["snapshot_age_secs"].is_u64(), "{body}");
        body["store"] == "down"
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("igw_store_up 0"), "{metrics}");
    assert_eq!(timed(app, "/healthz").await.0, 200, "liveness stays up");
    let (status, took) = timed(app, "/search?q=post").await;
    assert_eq!(status, 200);
    assert!(took < NO_HANG);
}

async fn store_state(app: &TestApp) -> String {
    let body: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    body["store"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn readiness_without_a_snapshot_follows_the_store() {
    let mut redis = RedisProcess::start(false).await;
    let env = TestEnv::with_redis(redis.url()).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.redis.command_timeout = Duration::from_millis(COMMAND_TIMEOUT_MS);
        })
        .await;
    let body: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["store"], "ok", "{body}");
    assert_eq!(body["snapshot_age_secs"], serde_json::Value::Null);
    redis.kill();
    // Nothing to serve from memory and no store: take this instance out of the Service.
    eventually("readiness to fail without snapshot or store", || async {
        app.get("/readyz").await.status() == 503
    })
    .await;
    let body = assert_problem(app.get("/readyz").await, 503, "not_ready").await;
    assert!(body["detail"].as_str().unwrap().contains("store"), "{body}");
    redis.restart().await;
    eventually("readiness once the store answers", || async {
        app.get("/readyz").await.status() == 200
    })
    .await;
}

#[tokio::test]
async fn redis_killed_then_back() {
    let mut redis = RedisProcess::start(false).await;
    let (_env, app) = warm_app(&redis).await;
    redis.kill();
    assert_degraded_but_serving(&app).await;
    let started = Instant::now();
    let status = app.admin_get("/admin/status").await.status();
    assert_eq!(status, 503);
    assert!(started.elapsed() < NO_HANG);

    redis.restart().await;
    eventually("readiness to see the store again", || async {
        store_state(&app).await == "ok"
    })
    .await;
    assert_eq!(app.get("/images").await.status(), 200);
}

#[tokio::test]
async fn redis_frozen_with_sigstop() {
    let redis = RedisProcess::start(false).await;
    let (_env, app) = warm_app(&redis).await;
    redis.freeze();
    assert_degraded_but_serving(&app).await;
    redis.thaw();
    eventually("readiness after SIGCONT", || async {
        store_state(&app).await == "ok"
    })
    .await;
}

#[tokio::test]
async fn redis_client_pause() {
    let redis = RedisProcess::start(false).await;
    let (env, app) = warm_app(&redis).await;
    let mut conn = env.redis().await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2000)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_degraded_but_serving(&app).await;
    eventually("readiness after the pause", || async {
        store_state(&app).await == "ok"
    })
    .await;
}

#[tokio::test]
async fn the_token_survives_a_redis_restart_with_aof() {
    let mut redis = RedisProcess::start(true).await;
    let env = TestEnv::with_redis(redis.url()).await;
    mount_login(&env.upstream).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(app.connect().await.status(), 200);
    redis.kill();
    redis.restart().await;
    eventually("the store to answer again", || async {
        app.get("/readyz").await.status() == 200
    })
    .await;
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid", "{status}");
    assert_eq!(status["token"]["username"], USERNAME);
}

#[tokio::test]
async fn a_misbehaving_instagram_never_hangs_or_blanks_the_feed() {
    let env = TestEnv::new().await;
    let healthy =
        json!({"data": posts(3, 17_900_000_000_070_000), "paging": {"cursors": {"after": "x"}}})
            .to_string();
    let chaos = ChaosServer::start(healthy).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.instagram.graph_url = url(&chaos.url());
            s.instagram.request_timeout = Duration::from_millis(500);
            s.instagram.max_response_bytes = 1024 * 1024;
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    let etag = app.get("/images").await.headers()["etag"].clone();

    for (mode, expected) in [
        (Chaos::Slow, "could not reach"),
        (Chaos::Reset, "could not reach"),
        (Chaos::Garbage, "malformed JSON"),
        (Chaos::Huge, "too large"),
    ] {
        chaos.set(mode);
        let started = Instant::now();
        let sync = app.admin_post("/admin/sync").await;
        assert_eq!(sync.status(), 502);
        // Three attempts of at most 500 ms each, plus backoff.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "sync took {:?}",
            started.elapsed()
        );
        let read = app.get("/images").await;
        assert_eq!(read.status(), 200, "the last snapshot is served");
        assert_eq!(read.headers()["etag"], etag);
        let status = app.status().await;
        let error = status["feed"]["last_error"].as_str().unwrap().to_owned();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    chaos.set(Chaos::Healthy);
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    assert_eq!(
        app.status().await["feed"]["last_error"],
        serde_json::Value::Null
    );
}

/// Requests sent until `until`: (answered 200, failed).
async fn traffic(url: String, until: Instant, fresh_connections: bool) -> (u32, Vec<String>) {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
    if fresh_connections {
        builder = builder.pool_max_idle_per_host(0);
    }
    let http = builder.build().unwrap();
    let (mut ok, mut failed) = (0, Vec::new());
    while Instant::now() < until {
        match http.get(&url).send().await {
            Ok(r) if r.status() == 200 => ok += 1,
            Ok(r) => failed.push(format!("status {}", r.status())),
            Err(e) => failed.push(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (ok, failed)
}

#[tokio::test]
async fn sigterm_drains_then_finishes_in_flight_requests_and_exits_0() {
    const DRAIN: Duration = Duration::from_secs(3);
    let env = TestEnv::new().await;
    // A slow first sync keeps a cold read in flight through the drain.
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v25.0/me/media"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"data": posts(2, 17_900_000_000_080_000)}))
                .set_delay(DRAIN + Duration::from_millis(1000)),
        )
        .mount(&env.upstream)
        .await;
    env.store_token(2, 58).await;
    let port = free_port();
    let s = env.settings();
    let mut child = Command::new(env!("CARGO_BIN_EXE_instagram-gateway"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("IGW__SERVER__PORT", port.to_string())
        .env("IGW__SERVER__DRAIN_SECS", DRAIN.as_secs().to_string())
        .env("IGW__SERVER__SHUTDOWN_GRACE_SECS", "10")
        .env("IGW__REDIS__URL", env.redis_url.as_str())
        .env("IGW__REDIS__KEY_PREFIX", env.prefix.as_str())
        .env("IGW__INSTAGRAM__MODE", "live")
        .env("IGW__INSTAGRAM__CLIENT_ID", CLIENT_ID)
        .env("IGW__INSTAGRAM__CLIENT_SECRET", CLIENT_SECRET)
        .env("IGW__INSTAGRAM__GRAPH_URL", s.instagram.graph_url.as_str())
        .env("IGW__INSTAGRAM__TOKEN_URL", s.instagram.token_url.as_str())
        .env("IGW__ADMIN__TOKEN", env.admin_token.as_str())
        .env("IGW__SECURITY__TOKEN_KEY", env.token_key.as_str())
        .env("IGW__FEED__REFRESH_INTERVAL_SECS", "3600")
        .env("IGW__FEED__COLD_WAIT_MS", "15000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually("the binary to listen", || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let in_flight = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/images");
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    // Clients keep sending until shortly before the drain ends, as they would while the load
    // balancer catches up: on kept-alive connections and on new ones.
    let sigterm_at = Instant::now() + Duration::from_millis(500);
    let until = sigterm_at + DRAIN - Duration::from_millis(700);
    let load: Vec<_> = [false, false, true, true]
        .into_iter()
        .map(|fresh| tokio::spawn(traffic(format!("{base}/healthz"), until, fresh)))
        .collect();
    tokio::time::sleep_until(sigterm_at.into()).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    eventually("readiness to turn 503 at once", || async {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    assert!(
        sigterm_at.elapsed() < DRAIN / 2,
        "readiness turned only after {:?}",
        sigterm_at.elapsed()
    );

    let (mut served, mut failures) = (0, Vec::new());
    for task in load {
        let (ok, failed) = task.await.unwrap();
        served += ok;
        failures.extend(failed);
    }
    assert!(
        failures.is_empty(),
        "refused during the drain: {failures:?}"
    );
    assert!(served > 20, "traffic flowed through the drain ({served})");

    // After the drain: no new connections; the in-flight request still completes.
    tokio::time::sleep_until((sigterm_at + DRAIN + Duration::from_millis(300)).into()).await;
    let fresh = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(
        fresh.is_err(),
        "new connections are refused after the drain"
    );
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        200,
        "the in-flight request finished"
    );
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "exited within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(exit.code(), Some(0));
}
