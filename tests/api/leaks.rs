//! No secret ever reaches a log line or a response body, including on failure paths.

use wiremock::ResponseTemplate;
use wiremock::matchers::{method, path};

use crate::helpers::*;

#[tokio::test]
async fn secrets_appear_in_no_log_line_and_no_response() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    let mut bodies = Vec::new();

    // A full login, an admin status, a refresh refused by the 24 h rule.
    let state = app.new_state().await;
    let response = app.callback(&[("code", CODE), ("state", &state)]).await;
    bodies.push(format!(
        "{:?}{}",
        response.headers().clone(),
        response.text().await.unwrap()
    ));
    for response in [
        app.admin_get("/admin/status").await,
        app.admin_post("/admin/token/refresh").await,
        app.admin_post("/admin/reauth").await,
    ] {
        bodies.push(format!(
            "{:?}{}",
            response.headers().clone(),
            response.text().await.unwrap()
        ));
    }

    // Upstream failing in every way: error envelope echoing the token, garbage, a dead host.
    env.store_token(2, 58).await;
    wiremock::Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            r#"{{"error":{{"message":"bad token {LONG_TOKEN}","type":"OAuthException","code":100}}}}"#
        )))
        .up_to_n_times(1)
        .mount(&env.upstream)
        .await;
    let response = app.admin_post("/admin/token/refresh").await;
    bodies.push(response.text().await.unwrap());
    bodies.push(app.admin_get("/admin/status").await.text().await.unwrap());

    let dead = env
        .spawn_with(|s| {
            s.instagram.token_url = url("http://127.0.0.1:1/oauth/access_token");
            s.instagram.graph_url = url("http://127.0.0.1:1");
        })
        .await;
    let state = dead.new_state().await;
    let response = dead.callback(&[("code", CODE), ("state", &state)]).await;
    assert_eq!(response.status(), 502);
    bodies.push(response.text().await.unwrap());
    bodies.push(
        dead.admin_post("/admin/token/refresh")
            .await
            .text()
            .await
            .unwrap(),
    );

    let logs = captured_logs();
    assert!(
        logs.contains("Instagram account connected"),
        "logs were captured"
    );
    for secret in [
        SHORT_TOKEN,
        LONG_TOKEN,
        REFRESHED_TOKEN,
        CODE,
        CLIENT_SECRET,
        &app.admin_token,
        &state,
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
        for body in &bodies {
            assert!(
                !body.contains(secret),
                "a secret leaked into a response: {body}"
            );
        }
    }
}
