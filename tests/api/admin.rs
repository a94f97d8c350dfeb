use std::collections::HashSet;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;

use crate::helpers::{CLIENT_ID, TestEnv, assert_problem, query_value, url};

#[tokio::test]
async fn reauth_requires_the_bearer_token() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let missing = app
        .http
        .post(app.url("/admin/reauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="admin""#
    );
    assert_problem(missing, 401, "unauthorized").await;
    let wrong = app
        .http
        .post(app.url("/admin/reauth"))
        .bearer_auth(format!("{}x", app.admin_token))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthorized").await;
    let basic = app
        .http
        .post(app.url("/admin/reauth"))
        .basic_auth("admin", Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_problem(basic, 401, "unauthorized").await;
    for path in ["/admin/status", "/admin/token/refresh"] {
        let response = app.http.post(app.url(path)).send().await.unwrap();
        assert!(matches!(response.status().as_u16(), 401 | 405), "{path}");
    }
    assert_problem(
        app.http.get(app.url("/admin/status")).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn reauth_by_get_is_405() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let response = app
        .http
        .get(app.url("/admin/reauth"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn authorize_url_carries_exactly_the_configured_values() {
    let env = TestEnv::new().await;
    let redirect = "https://gateway.example.com/oauth/callback";
    let app = env
        .spawn_with(|s| {
            s.instagram.redirect_uri = Some(url(redirect));
            s.instagram.scopes = vec![
                "instagram_business_basic".to_owned(),
                "instagram_business_manage_insights".to_owned(),
            ];
        })
        .await;
    let response = app
        .http
        .post(app.url("/admin/reauth"))
        .bearer_auth(&app.admin_token)
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        format!("{}/oauth/authorize", env.upstream.uri())
    );
    assert_eq!(query_value(&url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query_value(&url, "redirect_uri").as_deref(), Some(redirect));
    assert_eq!(query_value(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        query_value(&url, "scope").as_deref(),
        Some("instagram_business_basic,instagram_business_manage_insights")
    );
    assert_eq!(
        query_value(&url, "force_authentication").as_deref(),
        Some("1")
    );
    assert_eq!(query_value(&url, "enable_fb_login").as_deref(), Some("0"));
    let state = query_value(&url, "state").unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&state)
        .unwrap();
    assert!(raw.len() * 8 >= 128, "state has {} bits", raw.len() * 8);

    // Stored for 10 minutes under the service's prefix, and the response says until when.
    let expires: DateTime<Utc> = body["state_expires_at"].as_str().unwrap().parse().unwrap();
    let minutes = (expires - Utc::now()).num_seconds();
    assert!(
        (590..=600).contains(&minutes),
        "state expires in {minutes} s"
    );
    let mut redis = env.redis().await;
    let ttl: i64 = redis
        .ttl(format!("{}oauth:state:{state}", env.prefix))
        .await
        .unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn states_are_unique() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        assert!(seen.insert(app.new_state().await), "state repeated");
    }
}
