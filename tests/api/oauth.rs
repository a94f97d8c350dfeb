use std::time::Duration;

use redis::AsyncCommands as _;
use serde_json::json;
use wiremock::ResponseTemplate;
use wiremock::matchers::{method, path};

use crate::helpers::*;

#[tokio::test]
async fn callback_with_the_documented_shapes_stores_an_encrypted_long_lived_token() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;

    let response = app.connect().await;
    assert_eq!(response.status(), 200);
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(response.headers()[name], value, "{name}");
    }
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(USERNAME), "{page}");

    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid");
    assert_eq!(status["token"]["user_id"], USER_ID);
    assert_eq!(status["token"]["username"], USERNAME);
    assert_eq!(
        status["token"]["scopes"],
        json!([
            "instagram_business_basic",
            "instagram_business_manage_messages"
        ])
    );
    let expires: chrono::DateTime<chrono::Utc> = status["token"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (expires - chrono::Utc::now()).num_days();
    assert!(
        (59..=60).contains(&days),
        "long-lived token lasts 60 days, got {days}"
    );

    let record = env.stored_token().await.unwrap();
    assert_eq!(expose(&record.access_token), LONG_TOKEN);
    // What Redis holds is ciphertext.
    let mut redis = env.redis().await;
    let raw: Vec<u8> = redis.get(env.account_key("token")).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        !raw.contains(LONG_TOKEN) && !raw.contains(USERNAME),
        "token stored in clear"
    );
    let ttl: i64 = redis.ttl(env.account_key("token")).await.unwrap();
    assert!(
        ttl > 59 * 86400,
        "token key lives past its expiry, ttl {ttl}"
    );
}

fn expose(secret: &secrecy::SecretString) -> &str {
    use secrecy::ExposeSecret as _;
    secret.expose_secret()
}

#[tokio::test]
async fn callback_accepts_the_flat_shape_with_a_numeric_user_id_and_flat_me() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    code_exchange(flat_code_exchange(), 1)
        .mount(&env.upstream)
        .await;
    long_lived_exchange(1).mount(&env.upstream).await;
    me(
        json!({"user_id": 17841405309211844u64, "username": USERNAME, "id": "99"}),
        1,
    )
    .mount(&env.upstream)
    .await;
    assert_eq!(app.connect().await.status(), 200);
    let record = env.stored_token().await.unwrap();
    assert_eq!(record.user_id, USER_ID);
    assert_eq!(record.app_scoped_user_id.as_deref(), Some(APP_USER_ID));
    assert_eq!(record.scopes, vec!["instagram_business_basic"]);
}

#[tokio::test]
async fn the_code_exchange_posts_the_documented_form() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    assert_eq!(app.connect().await.status(), 200);
    let requests = env.upstream.received_requests().await.unwrap();
    let exchange = requests
        .iter()
        .find(|r| r.url.path() == "/oauth/access_token")
        .unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&exchange.body)
        .into_owned()
        .collect();
    let redirect = format!("{}/oauth/callback", app.address);
    for (k, v) in [
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect.as_str()),
        ("code", CODE),
    ] {
        assert!(
            form.contains(&(k.to_owned(), v.to_owned())),
            "{k} missing in {form:?}"
        );
    }
}

#[tokio::test]
async fn a_trailing_hash_underscore_is_stripped_from_the_code() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    let state = app.new_state().await;
    let code = format!("{CODE}#_");
    assert_eq!(
        app.callback(&[("code", &code), ("state", &state)])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_states_are_rejected_without_calling_instagram() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    code_exchange(documented_code_exchange(), 0)
        .mount(&env.upstream)
        .await;

    let missing = app.callback(&[("code", CODE)]).await;
    assert_problem(missing, 400, "invalid_state").await;
    let unknown = crate::helpers::unique("").repeat(3);
    let response = app
        .callback(&[("code", CODE), ("state", &unknown[..43])])
        .await;
    assert_problem(response, 400, "invalid_state").await;
    let garbage = app
        .callback(&[("code", CODE), ("state", "../../etc/passwd")])
        .await;
    assert_problem(garbage, 400, "invalid_state").await;
    let empty = app.callback(&[("code", CODE), ("state", "")]).await;
    assert_problem(empty, 400, "invalid_state").await;
    assert_eq!(calls_to(&env.upstream, "/oauth/access_token").await, 0);
}

#[tokio::test]
async fn an_expired_state_is_rejected_without_calling_instagram() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| s.oauth.state_ttl = Duration::from_secs(1))
        .await;
    code_exchange(documented_code_exchange(), 0)
        .mount(&env.upstream)
        .await;
    let state = app.new_state().await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let response = app.callback(&[("code", CODE), ("state", &state)]).await;
    assert_problem(response, 400, "invalid_state").await;
}

#[tokio::test]
async fn a_replayed_state_is_rejected_and_instagram_is_called_once() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    let state = app.new_state().await;
    assert_eq!(
        app.callback(&[("code", CODE), ("state", &state)])
            .await
            .status(),
        200
    );
    let replay = app.callback(&[("code", CODE), ("state", &state)]).await;
    assert_problem(replay, 400, "invalid_state").await;
    assert_eq!(calls_to(&env.upstream, "/oauth/access_token").await, 1);
}

#[tokio::test]
async fn racing_callbacks_with_one_state_make_one_exchange() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    mount_login(&env.upstream).await;
    let state = app.new_state().await;
    let query = [("code", CODE), ("state", state.as_str())];
    let attempts = (0..20).map(|_| app.callback(&query));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn access_denied_is_a_400_with_the_reason_and_burns_the_state() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    code_exchange(documented_code_exchange(), 0)
        .mount(&env.upstream)
        .await;
    let state = app.new_state().await;
    let response = app
        .callback(&[
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", "The user denied your request"),
            ("state", &state),
        ])
        .await;
    let body = assert_problem(response, 400, "authorization_denied").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("The user denied your request")
    );
    let later = app.callback(&[("code", CODE), ("state", &state)]).await;
    assert_problem(later, 400, "invalid_state").await;
}

#[tokio::test]
async fn a_missing_code_is_a_400() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    code_exchange(documented_code_exchange(), 0)
        .mount(&env.upstream)
        .await;
    let state = app.new_state().await;
    assert_problem(
        app.callback(&[("state", &state)]).await,
        400,
        "invalid_request",
    )
    .await;
}

/// Connects once, then runs a second login whose step `failing` fails: 502, old token intact.
async fn second_login_fails_at(failing: &str, failure: ResponseTemplate) {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    env.store_token(2, 58).await;
    let before = env.stored_token().await.unwrap();

    let ok_exchange = code_exchange(documented_code_exchange(), 0..=1);
    match failing {
        "/oauth/access_token" => {}
        _ => ok_exchange.mount(&env.upstream).await,
    }
    if failing == "/v25.0/me" {
        long_lived_exchange(1).mount(&env.upstream).await;
    }
    wiremock::Mock::given(method(if failing == "/oauth/access_token" {
        "POST"
    } else {
        "GET"
    }))
    .and(path(failing))
    .respond_with(failure)
    .mount(&env.upstream)
    .await;

    let body = assert_problem(app.connect().await, 502, "upstream_error").await;
    let text = body.to_string();
    assert!(
        !text.contains("fbtrace") && !text.contains("OAuthException"),
        "upstream body leaked: {text}"
    );
    let after = env.stored_token().await.unwrap();
    assert_eq!(after.expires_at, before.expires_at);
    assert_eq!(after.user_id, before.user_id);
    assert_eq!(app.status().await["token"]["state"], "valid");
}

#[tokio::test]
async fn a_failed_code_exchange_keeps_the_old_token() {
    let reused = ResponseTemplate::new(400).set_body_json(json!({
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used"
    }));
    second_login_fails_at("/oauth/access_token", reused).await;
}

#[tokio::test]
async fn a_failed_long_lived_exchange_keeps_the_old_token() {
    second_login_fails_at(
        "/access_token",
        graph_error(500, 2, None, "Service temporarily unavailable"),
    )
    .await;
}

#[tokio::test]
async fn a_failed_me_keeps_the_old_token() {
    second_login_fails_at(
        "/v25.0/me",
        graph_error(400, 190, Some(467), "Invalid access token"),
    )
    .await;
}

#[tokio::test]
async fn garbage_from_instagram_is_a_502() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json"))
        .expect(1)
        .mount(&env.upstream)
        .await;
    assert_problem(app.connect().await, 502, "upstream_error").await;
    assert_eq!(app.status().await["token"]["state"], "missing");
}

#[tokio::test]
async fn success_redirect_sends_a_303_to_the_normalized_url() {
    for (configured, location) in [
        (
            "https://shop.example/connected",
            "https://shop.example/connected",
        ),
        (
            " HTTPS://Shop.Example:443/done here?ok=ä ",
            "https://shop.example/done%20here?ok=%C3%A4",
        ),
    ] {
        let env = TestEnv::new().await;
        let app = env
            .spawn_with(|s| s.oauth.success_redirect = Some(url(configured)))
            .await;
        mount_login(&env.upstream).await;
        let response = app.connect().await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], location);
    }
}
