use instagram_gateway::auth::signed_request::sign;

use crate::helpers::*;

fn signed(user_id: &str, secret: &str) -> String {
    let issued_at = chrono::Utc::now().timestamp();
    sign(
        &format!(r#"{{"user_id":"{user_id}","algorithm":"HMAC-SHA256","issued_at":{issued_at}}}"#),
        secret.as_bytes(),
    )
}

#[tokio::test]
async fn a_bad_signature_deletes_nothing() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;
    for path in ["/oauth/deauthorize", "/oauth/data-deletion"] {
        let forged = signed(&env.user_id, "not-the-app-secret");
        assert_problem(
            app.post_signed_request(path, &forged).await,
            400,
            "invalid_signed_request",
        )
        .await;
        assert_problem(
            app.post_signed_request(path, "garbage").await,
            400,
            "invalid_signed_request",
        )
        .await;
        let missing = app
            .http
            .post(app.url(path))
            .form(&[("other", "x")])
            .send()
            .await
            .unwrap();
        assert_problem(missing, 400, "invalid_request").await;
        let json = app
            .http
            .post(app.url(path))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(json, 415, "unsupported_media_type").await;
    }
    assert_eq!(app.status().await["token"]["state"], "valid");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let huge = "a".repeat(64 * 1024);
    let response = app.post_signed_request("/oauth/deauthorize", &huge).await;
    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn deauthorize_of_another_user_keeps_the_token() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;
    let response = app
        .post_signed_request("/oauth/deauthorize", &signed("999", CLIENT_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.status().await["token"]["state"], "valid");
}

#[tokio::test]
async fn deauthorize_deletes_the_users_token() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;
    let response = app
        .post_signed_request("/oauth/deauthorize", &signed(&env.user_id, CLIENT_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(app.status().await["token"]["state"], "missing");
}

#[tokio::test]
async fn data_deletion_by_app_scoped_id_deletes_and_reports_a_status() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;
    let response = app
        .post_signed_request("/oauth/data-deletion", &signed(APP_USER_ID, CLIENT_SECRET))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let code = body["confirmation_code"].as_str().unwrap().to_owned();
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
    assert_eq!(
        body["url"],
        format!("{}/oauth/data-deletion/{code}", app.address)
    );
    assert_eq!(app.status().await["token"]["state"], "missing");

    let status = app.get(&format!("/oauth/data-deletion/{code}")).await;
    assert_eq!(status.status(), 200);
    let status: serde_json::Value = status.json().await.unwrap();
    assert_eq!(status["status"], "completed");
    assert_eq!(status["confirmation_code"], code.as_str());

    assert_problem(
        app.get("/oauth/data-deletion/AAAAAAAAAAAAAAAAAAAA").await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/oauth/data-deletion/short").await,
        400,
        "invalid_request",
    )
    .await;
}
