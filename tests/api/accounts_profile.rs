//! `GET /accounts/{slug}`: the profile synced with the media, its caching, and what a failed
//! profile read leaves.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

const PROFILE_FIELDS: &str = "user_id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count";

/// `/me` with the profile fields, answering `body` (exactly `times` times).
async fn mount_profile(upstream: &MockServer, body: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", PROFILE_FIELDS))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .up_to_n_times(times)
        .expect(times)
        .mount(upstream)
        .await;
}

fn documented_profile(env: &TestEnv, followers: u64) -> Value {
    // The documented `data` envelope, counts as numbers, no website.
    json!({"data": [{
        "user_id": env.user_id,
        "username": USERNAME,
        "name": "Acme Coffee",
        "biography": "Roasted daily.",
        "profile_picture_url": "https://scontent.cdninstagram.com/v/t51/p.jpg?oe=6A000000",
        "followers_count": followers,
        "follows_count": 12,
        "media_count": 3
    }]})
}

#[tokio::test]
async fn the_profile_is_synced_with_the_media_and_served_with_etags() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(3, 17_900_000_000_090_000), 100, 2).await;
    mount_profile(&env.upstream, documented_profile(&env, 1200), 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;

    let response = app.get("/accounts/default").await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["slug"], "default");
    assert_eq!(body["username"], USERNAME);
    assert_eq!(body["name"], "Acme Coffee");
    assert_eq!(body["biography"], "Roasted daily.");
    assert_eq!(body["website"], Value::Null, "not returned: null");
    assert_eq!(body["followers_count"], 1200);
    assert_eq!(body["media_count"], 3);
    assert!(body["synced_at"].is_string());
    assert!(
        body["profile_picture_url"]
            .as_str()
            .unwrap()
            .contains("cdninstagram"),
        "Instagram's URL while re-hosting is off"
    );
    let revalidated = app
        .http
        .get(app.url("/accounts/default"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    let head = app
        .http
        .head(app.url("/accounts/default"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);

    // A new follower: the profile changes, the pages' version (and ETags) do not.
    let images_etag = app.get("/images").await.headers()["etag"].clone();
    mount_profile(&env.upstream, documented_profile(&env, 1201), 1).await;
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    let body: Value = app.get("/accounts/default").await.json().await.unwrap();
    assert_eq!(body["followers_count"], 1201);
    assert_eq!(app.get("/images").await.headers()["etag"], images_etag);
    assert_eq!(
        calls_to(&env.upstream, "/v25.0/me").await,
        2,
        "one profile read per sync"
    );
}

#[tokio::test]
async fn a_failed_profile_read_keeps_the_last_profile_and_the_media() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_091_000), 100, 2).await;
    // Flat shape, counts as strings: read the first time, then Instagram fails.
    mount_profile(
        &env.upstream,
        json!({"user_id": env.user_id, "username": USERNAME, "followers_count": "77"}),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", PROFILE_FIELDS))
        .respond_with(ResponseTemplate::new(500))
        .mount(&env.upstream)
        .await;
    env.store_token(2, 58).await;
    let app = env.spawn().await;
    let first: Value = app.get("/accounts/default").await.json().await.unwrap();
    assert_eq!(first["followers_count"], 77);
    assert_eq!(first["name"], Value::Null);

    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    let after: Value = app.get("/accounts/default").await.json().await.unwrap();
    assert_eq!(after["followers_count"], 77, "the last profile is kept");
    assert_ne!(
        after["synced_at"], first["synced_at"],
        "the media were synced"
    );
    assert_eq!(app.status().await["feed"]["last_error"], Value::Null);
}

#[tokio::test]
async fn unknown_accounts_and_query_parameters_are_refused() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    assert_problem(app.get("/accounts/nope").await, 404, "account_not_found").await;
    assert_problem(
        app.get("/accounts/default?x=1").await,
        400,
        "invalid_request",
    )
    .await;
    // Not connected: no snapshot to read the profile from.
    assert_problem(app.get("/accounts/default").await, 503, "feed_unavailable").await;
}
