//! The events the accounts emit: `account.connected` when a login completes,
//! `account.disconnected` when an operator deletes a connected account or Meta deauthorizes
//! it, `account.reauth_required` when its token becomes unusable, `account.token_expiring`
//! when it is a week from expiry and not refreshed; each once, to the endpoints that subscribe.

use chrono::Utc;
use instagram_gateway::auth::signed_request::sign;
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::helpers::*;

fn signed(user_id: &str) -> String {
    let issued_at = Utc::now().timestamp();
    sign(
        &format!(r#"{{"user_id":"{user_id}","algorithm":"HMAC-SHA256","issued_at":{issued_at}}}"#),
        CLIENT_SECRET.as_bytes(),
    )
}

async fn spawn(env: &TestEnv) -> TestApp {
    env.spawn_with(|s| {
        quiet_feed(s);
        local_webhooks(s);
    })
    .await
}

#[tokio::test]
async fn connecting_then_deleting_an_account_emits_each_event_once() {
    let env = TestEnv::new().await;
    mount_login(&env.upstream).await;
    let app = spawn(&env).await;
    let receiver = start_receiver(200).await;
    let (id, secret) = app
        .create_webhook(
            &hook_url(&receiver),
            &["account.connected", "account.disconnected"],
        )
        .await;
    // Another endpoint wants other events only: it gets nothing.
    let elsewhere = start_receiver(200).await;
    app.create_webhook(&hook_url(&elsewhere), &["feed.updated"])
        .await;

    let response = app.connect().await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let requests = wait_for_requests(&receiver, 1).await;
    let connected = json_body(&requests[0]);
    assert_eq!(connected["type"], "account.connected");
    assert_eq!(
        connected["data"],
        json!({"account": "default", "username": USERNAME})
    );
    assert!(verified_by_standardwebhooks(&secret, &requests[0]));

    let deleted = app
        .admin_send(Method::DELETE, "/admin/accounts/default", None)
        .await;
    assert_eq!(deleted.status(), 204);
    let requests = wait_for_requests(&receiver, 2).await;
    let disconnected = json_body(&requests[1]);
    assert_eq!(disconnected["type"], "account.disconnected");
    assert_eq!(
        disconnected["data"],
        json!({"account": "default", "reason": "deleted"})
    );

    // Each once: deleting the emptied account again is not another disconnection.
    let again = app
        .admin_send(Method::DELETE, "/admin/accounts/default", None)
        .await;
    assert_eq!(again.status(), 204);
    app.send_test_event(&id).await;
    let requests = wait_for_requests(&receiver, 3).await;
    assert_eq!(
        json_body(&requests[2])["type"],
        "webhook.test",
        "no other event came first"
    );
    let kinds: Vec<String> = app
        .deliveries(&id)
        .await
        .iter()
        .map(|d| d["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["webhook.test", "account.disconnected", "account.connected"]
    );
    assert!(received(&elsewhere).await.is_empty());
}

#[tokio::test]
async fn a_deauthorize_emits_account_disconnected_to_endpoints_of_that_account() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = spawn(&env).await;
    let receiver = start_receiver(200).await;
    let (id, _) = app
        .create_webhook_with(json!({"url": hook_url(&receiver), "events": ["account.disconnected"], "accounts": ["default"]}))
        .await;
    // Filtered on another account: gets nothing.
    let other = start_receiver(200).await;
    app.create_webhook_with(
        json!({"url": hook_url(&other), "events": ["account.disconnected"], "accounts": ["shop"]}),
    )
    .await;

    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(&env.user_id))
        .await;
    assert_eq!(response.status(), 200);
    let requests = wait_for_requests(&receiver, 1).await;
    assert_eq!(
        json_body(&requests[0])["data"],
        json!({"account": "default", "reason": "deauthorized"})
    );
    // A second deauthorize finds nothing to forget: no second event. The test event that
    // follows it arrives second, so nothing was queued in between.
    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(&env.user_id))
        .await;
    assert_eq!(response.status(), 200);
    app.send_test_event(&id).await;
    let requests = wait_for_requests(&receiver, 2).await;
    assert_eq!(json_body(&requests[1])["type"], "webhook.test");
    assert!(received(&other).await.is_empty());
}

async fn spawn_with_hook(env: &TestEnv, events: &[&str]) -> (TestApp, MockServer, String) {
    let receiver = start_receiver(200).await;
    // Registered before the app starts: its first sync and token check already see it.
    let id = env.create_webhook(&hook_url(&receiver), events).await;
    (spawn(env).await, receiver, id)
}

#[tokio::test]
async fn error_190_in_a_sync_emits_account_reauth_required_once_per_token() {
    let env = TestEnv::new().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(graph_error(
            400,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated",
        ))
        .expect(1)
        .mount(&env.upstream)
        .await;
    env.upstream.register(refresh(refreshed(), 0)).await;
    env.store_token(2, 58).await;
    let obtained_at = env.stored_token().await.unwrap().obtained_at;
    let (app, receiver, id) = spawn_with_hook(&env, &["account.reauth_required"]).await;

    let requests = wait_for_requests(&receiver, 1).await;
    let event = json_body(&requests[0]);
    assert_eq!(event["type"], "account.reauth_required");
    assert_eq!(
        event["data"],
        json!({"account": "default", "reason": "invalid"})
    );
    assert_eq!(env.stored_token().await.unwrap().obtained_at, obtained_at);
    // The same token noticed again, by the refresh and by a sync: no second event.
    assert_eq!(app.admin_post("/admin/token/refresh").await.status(), 409);
    assert_eq!(app.admin_post("/admin/sync").await.status(), 409);
    app.assert_only_events(&receiver, &id, &["account.reauth_required"])
        .await;
}

#[tokio::test]
async fn an_expired_token_emits_account_reauth_required_once() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &[], 10, 0).await;
    env.upstream.register(refresh(refreshed(), 0)).await;
    env.store_token(61, -1).await;
    let (app, receiver, id) = spawn_with_hook(&env, &["account.reauth_required"]).await;

    // The token check at start notices the expiry.
    let requests = wait_for_requests(&receiver, 1).await;
    assert_eq!(
        json_body(&requests[0])["data"],
        json!({"account": "default", "reason": "expired"})
    );
    assert_eq!(app.admin_post("/admin/token/refresh").await.status(), 409);
    app.assert_only_events(&receiver, &id, &["account.reauth_required"])
        .await;
}

#[tokio::test]
async fn a_token_a_week_from_expiry_whose_refresh_fails_emits_account_token_expiring_once() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &[], 10, 1).await;
    // The token check at start, then the operator's refresh: both refused.
    env.upstream
        .register(refresh(
            graph_error(400, 100, None, "Unsupported request"),
            2,
        ))
        .await;
    env.store_token(55, 5).await;
    let expires_at = env.stored_token().await.unwrap().expires_at;
    let (app, receiver, id) = spawn_with_hook(&env, &["account.token_expiring"]).await;

    let requests = wait_for_requests(&receiver, 1).await;
    let event = json_body(&requests[0]);
    assert_eq!(event["type"], "account.token_expiring");
    assert_eq!(
        event["data"],
        json!({"account": "default", "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
    );
    // Failing again: the same token, no second event.
    assert!(
        !app.admin_post("/admin/token/refresh")
            .await
            .status()
            .is_success()
    );
    eventually("the first sync", || async {
        media_calls(&env.upstream).await == 1
    })
    .await;
    app.assert_only_events(&receiver, &id, &["account.token_expiring"])
        .await;
}

#[tokio::test]
async fn a_token_a_week_from_expiry_that_refreshes_emits_nothing() {
    let env = TestEnv::new().await;
    // The first sync runs with the old token or the refreshed one, whichever is stored then.
    mount_media(&env.upstream, &[], 10, 0..=1).await;
    mount_media_for(&env.upstream, REFRESHED_TOKEN, &[], 10, 0..=1).await;
    env.upstream.register(refresh(refreshed(), 1)).await;
    env.store_token(55, 5).await;
    let (app, receiver, id) = spawn_with_hook(&env, &["account.token_expiring"]).await;

    eventually("the refresh", || async {
        env.stored_token().await.unwrap().refreshed_at.is_some()
    })
    .await;
    eventually("the first sync", || async {
        media_calls(&env.upstream).await == 1
    })
    .await;
    app.assert_only_events(&receiver, &id, &[]).await;
}

#[tokio::test]
async fn a_refresh_refused_with_error_190_emits_account_reauth_required_not_token_expiring() {
    let env = TestEnv::new().await;
    // The first sync races the refresh: it runs before the token is marked invalid, or not.
    mount_media(&env.upstream, &[], 10, 0..=1).await;
    env.upstream
        .register(refresh(
            graph_error(400, 190, None, "Invalid OAuth access token"),
            1,
        ))
        .await;
    env.store_token(55, 5).await;
    let (app, receiver, id) =
        spawn_with_hook(&env, &["account.reauth_required", "account.token_expiring"]).await;

    let requests = wait_for_requests(&receiver, 1).await;
    assert_eq!(
        json_body(&requests[0])["data"],
        json!({"account": "default", "reason": "invalid"})
    );
    assert!(env.stored_token().await.unwrap().invalid);
    // The operator's refresh finds the invalid token: no call, no second event.
    assert_eq!(app.admin_post("/admin/token/refresh").await.status(), 409);
    app.assert_only_events(&receiver, &id, &["account.reauth_required"])
        .await;
}
