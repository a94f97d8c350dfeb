//! Delivering webhooks: signed as the Standard Webhooks specification says (checked by the
//! `standardwebhooks` package), retried on its schedule (on a hand-moved clock), `410` and
//! other 4xx, secret rotation, restarts, and the SSRF guard at delivery time.

use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, KeyInit as _, Mac as _};
use instagram_gateway::config::Settings;
use instagram_gateway::webhooks::{Clock, RETRY_DELAYS};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn body_json(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn at(value: &Value) -> chrono::DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_test_event_is_signed_and_verified_by_the_standardwebhooks_library() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(local_webhooks).await;
    let receiver = start_receiver(204).await;
    let (id, secret) = app
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;

    let event_id = app.send_test_event(&id).await;
    let requests = wait_for_requests(&receiver, 1).await;
    let request = &requests[0];
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "webhook-id"), event_id);
    let timestamp: i64 = header(request, "webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - timestamp).abs() < 60);
    let signature = header(request, "webhook-signature");
    assert!(
        signature.starts_with("v1,") && !signature.contains(' '),
        "{signature}"
    );
    let body = body_json(request);
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"], json!({"webhook": id}));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    assert!(verified_by_standardwebhooks(&secret, request));
    // The check can fail: another secret, or a body changed on the way.
    let (_, other_secret) = app
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    assert!(!verified_by_standardwebhooks(&other_secret, request));
    let mut tampered = request.clone();
    tampered.body =
        br#"{"type":"webhook.test","timestamp":"2026-01-01T00:00:00.000Z","data":{}}"#.to_vec();
    assert!(!verified_by_standardwebhooks(&secret, &tampered));

    let delivery = app
        .wait_for_delivery(&id, "the delivery recorded as succeeded", |d| {
            d["status"] == "succeeded"
        })
        .await;
    assert_eq!(delivery["event_id"], event_id);
    assert_eq!(delivery["type"], "webhook.test");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 204);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"igw_webhook_deliveries_total{outcome="delivered"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_alongside_the_new_one_for_24_hours() {
    let env = TestEnv::new().await;
    let clock = Clock::manual(Utc::now());
    let app = env.spawn_with_clock(clock.clone(), local_webhooks).await;
    let receiver = start_receiver(200).await;
    let (id, old_secret) = app
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;

    let response = app
        .admin_post(&format!("/admin/webhooks/{id}/rotate-secret"))
        .await;
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    let expires = at(&rotated["previous_secret_expires_at"]);
    assert_eq!(expires, clock.now() + chrono::Duration::hours(24));

    app.send_test_event(&id).await;
    let requests = wait_for_requests(&receiver, 1).await;
    assert_eq!(
        header(&requests[0], "webhook-signature").split(' ').count(),
        2
    );
    assert!(verified_by_standardwebhooks(&old_secret, &requests[0]));
    assert!(verified_by_standardwebhooks(&new_secret, &requests[0]));

    // A day later only the new secret signs. (The library would refuse a timestamp a day
    // ahead of the real clock: checked by hand.)
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    app.send_test_event(&id).await;
    let requests = wait_for_requests(&receiver, 2).await;
    let request = &requests[1];
    let signatures: Vec<&str> = header(request, "webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 1);
    let expected = |secret: &str| {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        let mut mac = <Hmac<Sha256>>::new_from_slice(&key).unwrap();
        mac.update(
            format!(
                "{}.{}.",
                header(request, "webhook-id"),
                header(request, "webhook-timestamp")
            )
            .as_bytes(),
        );
        mac.update(&request.body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    };
    assert_eq!(signatures[0], expected(&new_secret));
    assert_ne!(signatures[0], expected(&old_secret));
}

#[tokio::test]
async fn failures_are_retried_on_the_specification_schedule_then_given_up() {
    let env = TestEnv::new().await;
    let clock = Clock::manual(Utc::now());
    let app = env.spawn_with_clock(clock.clone(), local_webhooks).await;
    let receiver = start_receiver(503).await;
    let (id, _) = app
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;

    let event_id = app.send_test_event(&id).await;
    wait_for_requests(&receiver, 1).await;
    for (attempt, wait) in RETRY_DELAYS.iter().enumerate() {
        let attempts = attempt + 1;
        let delivery = app
            .wait_for_delivery(&id, &format!("attempt {attempts} recorded"), |d| {
                d["attempts"] == attempts
            })
            .await;
        assert_eq!(delivery["status"], "pending");
        assert_eq!(delivery["last_status"], 503);
        assert_eq!(
            at(&delivery["next_attempt_at"]),
            clock.now() + chrono::Duration::from_std(*wait).unwrap(),
            "the wait after attempt {attempts}"
        );
        // The queue holds it until then (a claim takes only what is due) ...
        let mut redis = env.redis().await;
        let due: i64 = redis::cmd("ZSCORE")
            .arg(format!("{}webhooks:queue", env.prefix))
            .arg(format!("{id}/{event_id}"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(due, at(&delivery["next_attempt_at"]).timestamp_millis());
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("igw_webhook_queue_depth 1\n"), "{metrics}");
        assert!(
            metrics.contains("igw_webhook_oldest_due_seconds 0\n"),
            "{metrics}"
        );
        clock.advance(*wait - Duration::from_secs(1));
        // ... and sends it once due.
        clock.advance(Duration::from_secs(1));
        wait_for_requests(&receiver, attempts + 1).await;
    }
    let delivery = app
        .wait_for_delivery(&id, "the delivery given up", |d| d["status"] == "failed")
        .await;
    assert_eq!(delivery["attempts"], 10);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("igw_webhook_queue_depth 0\n"), "{metrics}");
    assert!(metrics.contains(r#"igw_webhook_deliveries_total{outcome="retrying"} 9"#));
    assert!(metrics.contains(r#"igw_webhook_deliveries_total{outcome="failed"} 1"#));
    let requests = received(&receiver).await;
    assert_eq!(requests.len(), 10);
    assert!(requests.iter().all(|r| header(r, "webhook-id") == event_id));
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_other_client_errors_fail_at_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(local_webhooks).await;

    let gone = start_receiver(410).await;
    let (gone_id, _) = app
        .create_webhook(&hook_url(&gone), &["feed.updated"])
        .await;
    app.send_test_event(&gone_id).await;
    let delivery = app
        .wait_for_delivery(&gone_id, "the 410 recorded", |d| d["status"] == "failed")
        .await;
    assert_eq!(delivery["last_status"], 410);
    assert_eq!(delivery["attempts"], 1);
    let endpoint = app.webhook(&gone_id).await;
    assert_eq!(endpoint["enabled"], false);
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    assert_problem(
        app.admin_post(&format!("/admin/webhooks/{gone_id}/test"))
            .await,
        409,
        "webhook_disabled",
    )
    .await;
    let enabled: Value = app
        .admin_send(
            Method::PATCH,
            &format!("/admin/webhooks/{gone_id}"),
            Some(json!({"enabled": true})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabled_reason"], Value::Null);

    let refused = start_receiver(400).await;
    let (refused_id, _) = app
        .create_webhook(&hook_url(&refused), &["feed.updated"])
        .await;
    app.send_test_event(&refused_id).await;
    let delivery = app
        .wait_for_delivery(&refused_id, "the 400 recorded", |d| d["status"] == "failed")
        .await;
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 400);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    let endpoint = app.webhook(&refused_id).await;
    assert_eq!(endpoint["enabled"], true, "only 410 disables");
    // Nothing left in the queue: no retry will come.
    let mut redis = env.redis().await;
    let queued: i64 = redis::cmd("ZCARD")
        .arg(format!("{}webhooks:queue", env.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let env = TestEnv::new().await;
    let clock = Clock::manual(Utc::now());
    let app = env
        .spawn_with_clock(clock.clone(), |s| {
            local_webhooks(s);
            s.webhooks.timeout = Duration::from_secs(1);
        })
        .await;
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&slow)
        .await;
    let (id, _) = app
        .create_webhook(&format!("{}/hook", slow.uri()), &["feed.updated"])
        .await;
    app.send_test_event(&id).await;
    let delivery = app
        .wait_for_delivery(&id, "the timeout recorded", |d| d["attempts"] == 1)
        .await;
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["last_status"], Value::Null);
    assert_eq!(delivery["last_error"], "timed out");
    assert_eq!(
        at(&delivery["next_attempt_at"]),
        clock.now() + chrono::Duration::seconds(5)
    );
}

#[tokio::test]
async fn a_queued_delivery_survives_a_restart() {
    let env = TestEnv::new().await;
    let clock = Clock::manual(Utc::now());
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;

    let first = env.spawn_with_clock(clock.clone(), local_webhooks).await;
    let (id, secret) = first
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    let event_id = first.send_test_event(&id).await;
    first
        .wait_for_delivery(&id, "the first attempt failed", |d| d["attempts"] == 1)
        .await;
    first.stop().await;

    // Another process, the same store: the retry is still due, and made.
    let second = env.spawn_with_clock(clock.clone(), local_webhooks).await;
    clock.advance(Duration::from_secs(5));
    let requests = wait_for_requests(&receiver, 2).await;
    let delivery = second
        .wait_for_delivery(&id, "delivered after the restart", |d| {
            d["status"] == "succeeded"
        })
        .await;
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(header(&requests[1], "webhook-id"), event_id);
    assert_eq!(requests[0].body, requests[1].body);
    let _ = secret;
}

#[tokio::test]
async fn internal_addresses_are_refused_at_delivery_time() {
    let env = TestEnv::new().await;
    let receiver = start_receiver(200).await;
    // Registered while private networks were allowed: by IP, and by a name that resolves to
    // a loopback address.
    let open = env.spawn_with(local_webhooks).await;
    let (by_ip, _) = open
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    let port = receiver.address().port();
    let (by_name, _) = open
        .create_webhook(&format!("http://localhost:{port}/hook"), &["feed.updated"])
        .await;
    open.stop().await;

    let strict = env
        .spawn_with(|s| {
            local_webhooks(s);
            s.webhooks.allow_private_networks = false;
        })
        .await;
    for id in [&by_ip, &by_name] {
        strict.send_test_event(id).await;
        let delivery = strict
            .wait_for_delivery(id, "the refusal recorded", |d| d["status"] == "failed")
            .await;
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status"], Value::Null);
        assert!(
            delivery["last_error"].as_str().unwrap().contains("private"),
            "{delivery}"
        );
    }
    assert!(
        received(&receiver).await.is_empty(),
        "nothing reached the internal address"
    );
}

#[tokio::test]
async fn three_replicas_deliver_every_event_once() {
    let env = TestEnv::new().await;
    let receiver = start_receiver(200).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(env.spawn_with(local_webhooks).await);
    }
    let (id, _) = replicas[0]
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    let mut sent = std::collections::BTreeSet::new();
    for i in 0..30 {
        sent.insert(replicas[i % 3].send_test_event(&id).await);
    }
    wait_for_requests(&receiver, 30).await;
    let all_done = || async {
        let deliveries = replicas[1].deliveries(&id).await;
        deliveries.len() == 30 && deliveries.iter().all(|d| d["status"] == "succeeded")
    };
    eventually("every delivery recorded as succeeded", all_done).await;

    let requests = received(&receiver).await;
    let ids: std::collections::BTreeSet<String> = requests
        .iter()
        .map(|r| header(r, "webhook-id").to_owned())
        .collect();
    assert_eq!(ids, sent, "every event delivered");
    assert_eq!(requests.len(), 30, "none twice");
    for delivery in replicas[2].deliveries(&id).await {
        assert_eq!(delivery["attempts"], 1, "{delivery}");
    }
}

/// The slow-receiver tests' settings: 4 attempts at once, 2 per endpoint.
fn small_share(s: &mut Settings) {
    local_webhooks(s);
    s.webhooks.max_concurrency = 4;
    s.webhooks.max_concurrency_per_endpoint = 2;
}

/// A receiver that never answers in time with 10 events queued for it (more than the whole
/// share), then another endpoint served meanwhile.
struct BusyThenFast {
    slow: MockServer,
    slow_id: String,
    fast: MockServer,
    fast_secret: String,
}

async fn busy_then_fast(app: &TestApp) -> BusyThenFast {
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&slow)
        .await;
    let (slow_id, _) = app
        .create_webhook(&hook_url(&slow), &["feed.updated"])
        .await;
    for _ in 0..10 {
        app.send_test_event(&slow_id).await;
    }
    wait_for_requests(&slow, 2).await;

    let fast = start_receiver(204).await;
    let (fast_id, fast_secret) = app
        .create_webhook(&hook_url(&fast), &["feed.updated"])
        .await;
    app.send_test_event(&fast_id).await;
    app.wait_for_delivery(&fast_id, "the fast endpoint served", |d| {
        d["status"] == "succeeded"
    })
    .await;
    BusyThenFast {
        slow,
        slow_id,
        fast,
        fast_secret,
    }
}

/// The `webhook-id`s the slow receiver got: the attempts in flight.
async fn in_flight(slow: &MockServer) -> Vec<String> {
    received(slow)
        .await
        .iter()
        .map(|r| header(r, "webhook-id").to_owned())
        .collect()
}

/// On the sandbox and the in-memory store, as `cargo run` starts: a receiver that never
/// answers holds its own share of the workers (`webhooks.max_concurrency_per_endpoint`), no
/// more, while other endpoints get their events and the feed is served.
#[tokio::test]
async fn a_slow_receiver_holds_up_neither_other_endpoints_nor_reads() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            s.instagram.mode = instagram_gateway::config::InstagramMode::Sandbox;
            s.redis.url = None;
            small_share(s);
        })
        .await;
    let busy = busy_then_fast(&app).await;
    assert!(verified_by_standardwebhooks(
        &busy.fast_secret,
        &received(&busy.fast).await[0]
    ));
    let images = app.get("/images?limit=1").await;
    assert_eq!(images.status(), 200);
    assert_eq!(
        in_flight(&busy.slow).await.len(),
        2,
        "the slow endpoint never had more than its share in flight"
    );
}

/// The deliveries a busy endpoint cannot take yet are not claimed at all: they keep their
/// place in the queue (a dead receiver's backlog never stands before other endpoints' events).
#[tokio::test]
async fn a_busy_endpoints_waiting_deliveries_stay_unclaimed() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(small_share).await;
    let BusyThenFast { slow, slow_id, .. } = busy_then_fast(&app).await;
    let in_flight = in_flight(&slow).await;
    assert_eq!(in_flight.len(), 2);
    let mut redis = env.redis().await;
    let mut waiting = 0;
    for delivery in app.deliveries(&slow_id).await {
        let event_id = delivery["event_id"].as_str().unwrap();
        if in_flight.iter().any(|id| id == event_id) {
            continue;
        }
        waiting += 1;
        let score: i64 = redis::cmd("ZSCORE")
            .arg(format!("{}webhooks:queue", env.prefix))
            .arg(format!("{slow_id}/{event_id}"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(
            score,
            at(&delivery["created_at"]).timestamp_millis(),
            "claimed or moved: {delivery}"
        );
    }
    assert_eq!(waiting, 8);
}
