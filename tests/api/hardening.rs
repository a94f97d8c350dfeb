//! Findings of the attack run (issue #15): each test fails without its fix.

use chrono::Utc;
use instagram_gateway::auth::signed_request::sign;

use crate::helpers::*;

#[tokio::test]
async fn admin_429s_carry_the_sensitive_headers_and_a_truthful_retry_after() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.rate_limit.admin_per_minute = 1;
        })
        .await;
    assert_eq!(app.admin_get("/admin/status").await.status(), 200);
    let limited = app.admin_get("/admin/status").await;
    let headers = limited.headers().clone();
    let body = assert_problem(limited, 429, "rate_limited").await;
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .ends_with(&format!("retry in {retry_after} s")),
        "{body} vs Retry-After: {retry_after}"
    );
}

async fn search_app(env: &TestEnv, captions: &[&str]) -> TestApp {
    let items: Vec<serde_json::Value> = captions
        .iter()
        .enumerate()
        .map(|(i, c)| image_post(17_900_000_000_050_000 - i as u64, i as i64 + 1, Some(c)))
        .collect();
    mount_media(&env.upstream, &items, 100, 1..).await;
    env.store_token(2, 58).await;
    env.spawn_with(|s| {
        quiet_feed(s);
        s.rate_limit.search_per_minute = 0;
    })
    .await
}

async fn found(app: &TestApp, raw_query: &str) -> Vec<String> {
    let response = app.get(&format!("/search?q={raw_query}")).await;
    assert_eq!(response.status(), 200, "{raw_query}");
    let body: serde_json::Value = response.json().await.unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["caption"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_normalizes_unicode_in_queries_and_captions() {
    let env = TestEnv::new().await;
    let nfc = "un #café au lait";
    let nfd = "un #cafe\u{301} noir";
    let app = search_app(&env, &[nfc, nfd, "#cafe sans accent"]).await;
    let both = vec![nfc.to_owned(), nfd.to_owned()];
    // `#café`, composed and decomposed.
    assert_eq!(found(&app, "%23caf%C3%A9").await, both);
    assert_eq!(found(&app, "%23cafe%CC%81").await, both);
    assert_eq!(found(&app, "%23CAFE%CC%81").await, both, "case-insensitive");
    // Words are accent-insensitive whichever the form.
    assert_eq!(found(&app, "cafe%CC%81+noir").await, vec![nfd.to_owned()]);
    assert_eq!(found(&app, "caf%C3%A9+lait").await, vec![nfc.to_owned()]);
    // Hashtags as frontends get them are composed.
    let body: serde_json::Value = app.get("/images").await.json().await.unwrap();
    assert_eq!(body["data"][1]["hashtags"], serde_json::json!(["café"]));
}

#[tokio::test]
async fn invalid_utf8_in_a_search_is_a_400() {
    let env = TestEnv::new().await;
    let app = search_app(&env, &["caf\u{fffd} #caf\u{fffd}"]).await;
    for q in ["%FF", "%C3%28", "caf%FF", "%23caf%C3"] {
        let body = assert_problem(
            app.get(&format!("/search?q={q}")).await,
            400,
            "invalid_request",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("UTF-8"), "{body}");
    }
    // The replacement character itself, sent as valid UTF-8, is just nothing to search for.
    assert_eq!(found(&app, "%EF%BF%BD").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_query_with_nothing_to_search_for_is_an_empty_page() {
    let env = TestEnv::new().await;
    let app = search_app(&env, &["anything !!! at all #"]).await;
    for q in ["!!!", "%23", "%23+%21", "%F0%9F%8C%85"] {
        let response = app.get(&format!("/search?q={q}")).await;
        assert_eq!(response.status(), 200, "{q}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"data": [], "paging": {"next_cursor": null}}),
            "{q}"
        );
    }
}

fn signed_request(payload: serde_json::Value) -> String {
    sign(&payload.to_string(), CLIENT_SECRET.as_bytes())
}

#[tokio::test]
async fn a_replayed_deauthorize_does_not_disconnect_a_newer_authorization() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(quiet_feed).await;
    mount_login(&env.upstream).await;
    assert_eq!(app.connect().await.status(), 200);
    // Signed before this authorization (e.g. captured from the previous disconnect).
    let old = signed_request(serde_json::json!({
        "user_id": USER_ID,
        "algorithm": "HMAC-SHA256",
        "issued_at": Utc::now().timestamp() - 3600,
    }));
    let response = app.post_signed_request("/oauth/deauthorize", &old).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    assert_eq!(app.status().await["token"]["state"], "valid");
    let response = app.post_signed_request("/oauth/data-deletion", &old).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["confirmation_code"].is_string(), "{body}");
    assert_eq!(app.status().await["token"]["state"], "valid");
    assert!(
        captured_logs().contains("older than the current authorization"),
        "the ignored callback is logged"
    );

    // A deauthorize issued now still disconnects.
    let fresh = signed_request(serde_json::json!({
        "user_id": USER_ID,
        "algorithm": "HMAC-SHA256",
        "issued_at": Utc::now().timestamp(),
    }));
    assert_eq!(
        app.post_signed_request("/oauth/deauthorize", &fresh)
            .await
            .status(),
        200
    );
    assert_eq!(app.status().await["token"]["state"], "missing");
}

#[tokio::test]
async fn signed_requests_without_issued_at_or_algorithm_are_refused() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    let now = Utc::now().timestamp();
    for payload in [
        serde_json::json!({"user_id": env.user_id, "algorithm": "HMAC-SHA256"}),
        serde_json::json!({"user_id": env.user_id, "issued_at": now}),
        serde_json::json!({"user_id": env.user_id, "algorithm": "HMAC-SHA256", "issued_at": "soon"}),
    ] {
        for path in ["/oauth/deauthorize", "/oauth/data-deletion"] {
            assert_problem(
                app.post_signed_request(path, &signed_request(payload.clone()))
                    .await,
                400,
                "invalid_signed_request",
            )
            .await;
        }
    }
    assert_eq!(app.status().await["token"]["state"], "valid");
}
