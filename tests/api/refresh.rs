use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn a_token_younger_than_24_hours_is_not_refreshed() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    refresh(refreshed(), 0).mount(&env.upstream).await;
    assert_eq!(app.connect().await.status(), 200);
    let body = assert_problem(
        app.admin_post("/admin/token/refresh").await,
        409,
        "token_too_young",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("24 hours"),
        "{body}"
    );
}

#[tokio::test]
async fn an_old_enough_token_is_refreshed_on_demand() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    // 2 days old, 58 days left: not due yet, but the operator may refresh.
    env.store_token(2, 58).await;
    refresh(refreshed(), 1).mount(&env.upstream).await;
    let response = app.admin_post("/admin/token/refresh").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token"]["state"], "valid");
    assert!(body["token"]["refreshed_at"].is_string());
    let record = env.stored_token().await.unwrap();
    use secrecy::ExposeSecret as _;
    assert_eq!(record.access_token.expose_secret(), REFRESHED_TOKEN);
    assert!((record.expires_at - chrono::Utc::now()).num_days() >= 59);
    // Just refreshed: the next one must wait 24 h, without calling Instagram.
    assert_problem(
        app.admin_post("/admin/token/refresh").await,
        409,
        "token_too_young",
    )
    .await;
}

#[tokio::test]
async fn refresh_without_a_token_is_a_409() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    refresh(refreshed(), 0).mount(&env.upstream).await;
    assert_problem(
        app.admin_post("/admin/token/refresh").await,
        409,
        "token_missing",
    )
    .await;
}

#[tokio::test]
async fn a_due_token_is_refreshed_by_exactly_one_of_two_instances() {
    let env = TestEnv::new().await;
    // 50 days old, 5 days left: within the 10-day margin.
    env.store_token(50, 5).await;
    refresh(refreshed().set_delay(Duration::from_millis(300)), 1)
        .mount(&env.upstream)
        .await;
    let a = env.spawn().await;
    let b = env.spawn().await;
    eventually("the refresh", || async {
        env.stored_token()
            .await
            .is_some_and(|r| r.refreshed_at.is_some())
    })
    .await;
    // Let the second instance's check run too; it must find the token fresh.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls_to(&env.upstream, "/refresh_access_token").await, 1);
    for app in [&a, &b] {
        assert_eq!(app.status().await["token"]["state"], "valid");
    }
}

#[tokio::test]
async fn error_190_marks_the_token_invalid_once_and_stops_refreshing() {
    let env = TestEnv::new().await;
    env.store_token(50, 5).await;
    refresh(
        graph_error(400, 190, Some(460), "Error validating access token: The session has been invalidated because the user changed their password"),
        1,
    )
    .mount(&env.upstream)
    .await;
    let app = env.spawn().await;
    eventually("the invalid state", || async {
        env.stored_token().await.is_some_and(|r| r.invalid)
    })
    .await;
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "invalid");
    assert_eq!(status["token"]["reauth_required"], true);
    assert!(
        status["token"]["last_error"]
            .as_str()
            .unwrap()
            .contains("190"),
        "{status}"
    );
    // No retry loop: a manual refresh is refused without calling Instagram.
    assert_problem(
        app.admin_post("/admin/token/refresh").await,
        409,
        "reauth_required",
    )
    .await;
    assert_eq!(calls_to(&env.upstream, "/refresh_access_token").await, 1);
    // One WARN for this account, at the transition.
    let warnings = captured_logs()
        .lines()
        .filter(|l| {
            l.contains("WARN")
                && l.contains("re-authorization required")
                && l.contains(&env.user_id)
        })
        .count();
    assert_eq!(warnings, 1);
}

#[tokio::test]
async fn transient_refresh_failures_keep_the_token_and_report_the_error() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    // Three attempts (the client's retry budget), all 503.
    refresh(
        graph_error(503, 2, None, "Service temporarily unavailable"),
        3,
    )
    .mount(&env.upstream)
    .await;
    let app = env.spawn().await;
    let body = assert_problem(
        app.admin_post("/admin/token/refresh").await,
        502,
        "upstream_error",
    )
    .await;
    assert_eq!(body["detail"], "Instagram is temporarily unavailable");
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid");
    assert!(
        status["token"]["last_error"]
            .as_str()
            .unwrap()
            .contains("transient"),
        "{status}"
    );
}
