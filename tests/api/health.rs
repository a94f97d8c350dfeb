use crate::helpers::{TestEnv, assert_problem};

#[tokio::test]
async fn liveness_and_readiness_with_redis_up() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["store"], "ok");
    assert_eq!(body["snapshot_age_secs"], serde_json::Value::Null, "{body}");
}

#[tokio::test]
async fn readiness_fails_but_liveness_stays_up_without_redis() {
    let env = TestEnv::new().await;
    // Port 1 refuses connections: a Redis that is down.
    let app = env
        .spawn_with(|s| s.redis.url = Some("redis://127.0.0.1:1/".to_owned().into()))
        .await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let body = assert_problem(app.get("/readyz").await, 503, "not_ready").await;
    assert!(body["detail"].as_str().unwrap().contains("store"), "{body}");
    // Admin reads report the store problem as a 503 problem, not a panic or a hang.
    assert_problem(
        app.admin_get("/admin/status").await,
        503,
        "store_unavailable",
    )
    .await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_undeclared_methods_405_as_problems() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    assert_problem(app.get("/nope").await, 404, "not_found").await;
    for m in ["PUT", "DELETE", "TRACE", "PATCH"] {
        let response = app
            .http
            .request(m.parse().unwrap(), app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        assert_problem(response, 405, "method_not_allowed").await;
    }
    let response = app
        .http
        .delete(app.url("/oauth/data-deletion/abc"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
}
