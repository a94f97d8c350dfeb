//! `/admin/webhooks`: registering, listing, changing and deleting endpoints; validation and
//! the SSRF refusals at creation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.admin_send(Method::POST, "/admin/webhooks", Some(body))
        .await
}

#[tokio::test]
async fn endpoints_are_created_listed_changed_and_deleted() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(local_webhooks).await;

    let response = create(
        &app,
        json!({
            "url": "https://example.com/hooks/instagram",
            "events": ["feed.updated", "account.disconnected", "feed.updated"],
            "accounts": ["shop"],
            "description": "The shop's site",
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/admin/webhooks/{id}"));
    assert!(id.starts_with("ep_") && id.len() == 27, "{id}");
    let secret = created["secret"].as_str().unwrap();
    let key = secret.strip_prefix("whsec_").expect("whsec_ secret");
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        created["events"],
        json!(["feed.updated", "account.disconnected"])
    );
    assert_eq!(created["accounts"], json!(["shop"]));
    assert_eq!(created["enabled"], true);

    // The secret is shown once: never in a listing or a read.
    let listed: Value = app.admin_get("/admin/webhooks").await.json().await.unwrap();
    assert_eq!(listed["max"], 100);
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    assert!(listed["webhooks"][0].get("secret").is_none());
    assert!(!listed.to_string().contains(key));
    let read: Value = app.admin_get(&location).await.json().await.unwrap();
    assert_eq!(read["url"], "https://example.com/hooks/instagram");
    assert!(read.get("secret").is_none());

    let patched = app
        .admin_send(
            Method::PATCH,
            &location,
            Some(json!({"events": ["sync.failing"], "accounts": null, "description": null, "enabled": false})),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["events"], json!(["sync.failing"]));
    assert_eq!(patched["accounts"], Value::Null);
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["url"], "https://example.com/hooks/instagram");

    let deleted = app.admin_send(Method::DELETE, &location, None).await;
    assert_eq!(deleted.status(), 204);
    assert_problem(app.admin_get(&location).await, 404, "webhook_not_found").await;
    let listed: Value = app.admin_get("/admin/webhooks").await.json().await.unwrap();
    assert_eq!(listed["webhooks"], json!([]));
}

#[tokio::test]
async fn bad_input_is_a_problem() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(local_webhooks).await;
    for (body, needle) in [
        (
            json!({"url": "not a url", "events": ["feed.updated"]}),
            "absolute URL",
        ),
        (
            json!({"url": "ftp://example.com/", "events": ["feed.updated"]}),
            "https",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": ["feed.updated"]}),
            "credentials",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "at least one",
        ),
        (
            json!({"url": "https://example.com/", "events": ["feed.changed"]}),
            "feed.changed",
        ),
        (
            json!({"url": "https://example.com/", "events": ["feed.updated"], "accounts": ["Shop"]}),
            "slug",
        ),
        (
            json!({"url": "https://example.com/", "events": ["feed.updated"], "accounts": []}),
            "accounts",
        ),
        (
            json!({"url": "https://example.com/", "events": ["feed.updated"], "description": "a\nb"}),
            "description",
        ),
        (
            json!({"url": "https://example.com/", "events": ["feed.updated"], "secret": "x"}),
            "unknown field",
        ),
        (json!({"events": ["feed.updated"]}), "url"),
    ] {
        let problem =
            assert_problem(create(&app, body.clone()).await, 400, "invalid_request").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{body}: {detail}");
    }

    let missing = "/admin/webhooks/ep_000000000000000000000000";
    assert_problem(app.admin_get(missing).await, 404, "webhook_not_found").await;
    for path in ["/rotate-secret", "/test"] {
        assert_problem(
            app.admin_post(&format!("{missing}{path}")).await,
            404,
            "webhook_not_found",
        )
        .await;
    }
    assert_problem(
        app.admin_get(&format!("{missing}/deliveries")).await,
        404,
        "webhook_not_found",
    )
    .await;
    assert_problem(
        app.admin_send(Method::PATCH, missing, Some(json!({"enabled": true})))
            .await,
        404,
        "webhook_not_found",
    )
    .await;
    assert_problem(
        app.admin_send(Method::DELETE, missing, None).await,
        404,
        "webhook_not_found",
    )
    .await;

    let anonymous = app
        .http
        .post(app.url("/admin/webhooks"))
        .json(&json!({"url": "https://example.com/", "events": ["feed.updated"]}))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn internal_and_insecure_urls_are_refused_in_production_settings() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            s.webhooks.allow_insecure = false;
            s.webhooks.allow_private_networks = false;
        })
        .await;
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/hook",
        "https://[::ffff:192.168.1.1]/hook",
        "https://localhost/hook",
    ] {
        let response = create(&app, json!({"url": url, "events": ["feed.updated"]})).await;
        assert_problem(response, 422, "webhook_url_refused").await;
    }
    let (id, _) = app
        .create_webhook("https://hooks.example.com/instagram", &["feed.updated"])
        .await;
    // The same rules when the URL changes.
    let response = app
        .admin_send(
            Method::PATCH,
            &format!("/admin/webhooks/{id}"),
            Some(json!({"url": "https://192.168.0.10/hook"})),
        )
        .await;
    assert_problem(response, 422, "webhook_url_refused").await;
}

#[tokio::test]
async fn endpoints_are_bounded() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            local_webhooks(s);
            s.webhooks.max_endpoints = 2;
        })
        .await;
    for _ in 0..2 {
        app.create_webhook("https://example.com/hook", &["feed.updated"])
            .await;
    }
    let response = create(
        &app,
        json!({"url": "https://example.com/hook", "events": ["feed.updated"]}),
    )
    .await;
    assert_problem(response, 409, "webhooks_full").await;
}

#[tokio::test]
async fn signing_secrets_appear_in_no_log_line_and_not_in_the_store_in_clear() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(local_webhooks).await;
    let receiver = start_receiver(200).await;
    let (id, first) = app
        .create_webhook(&hook_url(&receiver), &["feed.updated"])
        .await;
    let rotated: Value = app
        .admin_post(&format!("/admin/webhooks/{id}/rotate-secret"))
        .await
        .json()
        .await
        .unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    app.send_test_event(&id).await;
    app.wait_for_delivery(&id, "the test event delivered", |d| {
        d["status"] == "succeeded"
    })
    .await;

    let logs = captured_logs();
    assert!(
        logs.contains("webhook delivery attempted"),
        "logs were captured"
    );
    let mut redis = env.redis().await;
    let stored: String = redis::cmd("HGET")
        .arg(format!("{}webhooks:endpoints", env.prefix))
        .arg(&id)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(stored.contains(&id), "the record was read");
    for secret in [&first, &second] {
        let key = secret.strip_prefix("whsec_").unwrap();
        assert!(!logs.contains(key), "a signing secret leaked into the logs");
        assert!(!stored.contains(key), "a signing secret is stored in clear");
    }
}
