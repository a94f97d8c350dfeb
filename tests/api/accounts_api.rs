//! The HTTP API of accounts: `/admin/accounts` (CRUD, validation, per-account reauth, refresh,
//! sync) and `/accounts/{slug}/images`, `/images/{id}`, `/search`.

use redis::AsyncCommands as _;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

// The second Instagram account, connected as `shop` through its own login.
const SHOP_CODE: &str = "AQBx-shop-authorization-code";
const SHOP_SHORT: &str = "IGQWshort-lived-shop-token";
const SHOP_LONG: &str = "IGQWlong-lived-shop-token";
const SHOP_USER_ID: &str = "17841400000000777";
const SHOP_USERNAME: &str = "acme.shop";

/// The login of the shop's Instagram account: each call expected exactly `times` times.
async fn mount_shop_login(upstream: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .and(body_string_contains(format!("code={SHOP_CODE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "access_token": SHOP_SHORT,
            "user_id": "10200000000777",
            "permissions": "instagram_business_basic"
        }]})))
        .expect(times)
        .mount(upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/access_token"))
        .and(query_param("access_token", SHOP_SHORT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": SHOP_LONG,
            "token_type": "bearer",
            "expires_in": 5183944
        })))
        .expect(times)
        .mount(upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", "user_id,username"))
        .and(query_param("access_token", SHOP_LONG))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": [{"user_id": SHOP_USER_ID, "username": SHOP_USERNAME}]}),
            ),
        )
        .expect(times)
        .mount(upstream)
        .await;
}

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/admin/accounts"))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn admin_delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .delete(app.url(path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
}

async fn post_raw(app: &TestApp, content_type: &str, body: &str) -> reqwest::Response {
    app.http
        .post(app.url("/admin/accounts"))
        .bearer_auth(&app.admin_token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// `POST /admin/accounts/{slug}/reauth`, then Instagram's redirect back with `code`.
async fn connect_account(app: &TestApp, slug: &str, code: &str) -> reqwest::Response {
    let response = app
        .admin_post(&format!("/admin/accounts/{slug}/reauth"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    let state = query_value(&url, "state").unwrap();
    app.callback(&[("code", code), ("state", &state)]).await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn accounts_are_added_listed_and_read() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;

    let response = create(&app, json!({"slug": "shop", "label": "The shop in Lyon"})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/admin/accounts/shop");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["slug"], "shop");
    assert_eq!(created["label"], "The shop in Lyon");
    assert_eq!(created["default"], false);
    assert_eq!(created["token"]["state"], "missing");
    assert_eq!(created["token"]["reauth_required"], true);
    assert_eq!(created["feed"]["version"], Value::Null);
    assert!(created["created_at"].as_str().is_some());

    let response = create(&app, json!({"slug": "cafe"})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap()["label"],
        Value::Null
    );

    let response = app.admin_get("/admin/accounts").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["max"], 100);
    let slugs: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["cafe", "default", "shop"]);
    let default = &list["accounts"][1];
    assert_eq!(default["default"], true);
    assert_eq!(default["token"]["state"], "missing");

    let response = app.admin_get("/admin/accounts/shop").await;
    assert_eq!(response.status(), 200);
    let shop: Value = response.json().await.unwrap();
    assert_eq!(shop["label"], "The shop in Lyon");
    assert_eq!(shop["created_at"], created["created_at"]);

    // A replica started later sees them (they live in the store).
    let other = env.spawn().await;
    let list: Value = other
        .admin_get("/admin/accounts")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn invalid_and_duplicate_accounts_are_refused_with_problems() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(|s| s.accounts.max = 2).await;

    for slug in ["Shop", "-shop", "", "a_b", "a/b", &"x".repeat(33)] {
        let body = assert_problem(
            create(&app, json!({ "slug": slug })).await,
            400,
            "invalid_request",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("slug"), "{body}");
    }
    for label in [
        String::new(),
        "x".repeat(101),
        "a\nb".to_owned(),
        "tab\there".to_owned(),
    ] {
        let body = assert_problem(
            create(&app, json!({"slug": "shop", "label": label})).await,
            400,
            "invalid_request",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("label"), "{body}");
    }
    // Exactly 100 characters (not bytes) is fine: checked below with the second account.
    assert_problem(
        post_raw(&app, "application/json", "{").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        post_raw(&app, "application/json", "[]").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        post_raw(&app, "application/json", r#"{"label": "no slug"}"#).await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        post_raw(
            &app,
            "application/json",
            r#"{"slug": "shop", "owner": "me"}"#,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        post_raw(&app, "text/plain", r#"{"slug": "shop"}"#).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let big = format!(r#"{{"slug": "shop", "label": "{}"}}"#, "x".repeat(20_000));
    assert_problem(
        post_raw(&app, "application/json", &big).await,
        413,
        "payload_too_large",
    )
    .await;
    // Nothing was added by any of those.
    let list: Value = app.admin_get("/admin/accounts").await.json().await.unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(list["max"], 2);

    let label = "é".repeat(100);
    assert_eq!(
        create(&app, json!({"slug": "shop", "label": label}))
            .await
            .status(),
        201
    );
    assert_problem(
        create(&app, json!({"slug": "shop"})).await,
        409,
        "account_exists",
    )
    .await;
    assert_problem(
        create(&app, json!({"slug": "default"})).await,
        409,
        "account_exists",
    )
    .await;
    // The default account counts: 2 exist.
    let body = assert_problem(
        create(&app, json!({"slug": "cafe"})).await,
        409,
        "accounts_full",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("(2)"), "{body}");
    // Room again once one is deleted.
    assert_eq!(
        admin_delete(&app, "/admin/accounts/shop").await.status(),
        204
    );
    assert_eq!(create(&app, json!({"slug": "cafe"})).await.status(), 201);
}

#[tokio::test]
async fn the_admin_routes_need_the_bearer_and_a_known_slug() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let routes = [
        ("POST", "/admin/accounts"),
        ("GET", "/admin/accounts"),
        ("GET", "/admin/accounts/default"),
        ("DELETE", "/admin/accounts/default"),
        ("POST", "/admin/accounts/default/reauth"),
        ("POST", "/admin/accounts/default/token/refresh"),
        ("POST", "/admin/accounts/default/sync"),
    ];
    for (verb, route) in routes {
        let request = app
            .http
            .request(verb.parse().unwrap(), app.url(route))
            .json(&json!({"slug": "shop"}));
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="admin""#
        );
        assert_problem(response, 401, "unauthorized").await;
    }
    // Nothing was added or deleted.
    let list: Value = app.admin_get("/admin/accounts").await.json().await.unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);

    for (verb, route) in routes.iter().skip(2) {
        let route = route.replace("default", "nope");
        let response = app
            .http
            .request(verb.parse().unwrap(), app.url(&route))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{route}");
        let body = assert_problem(response, 404, "account_not_found").await;
        assert_eq!(body["detail"], "no account `nope`", "{route}");
    }
    // An unconnected account: the per-account operations answer like the default ones.
    assert_eq!(create(&app, json!({"slug": "shop"})).await.status(), 201);
    assert_problem(
        app.admin_post("/admin/accounts/shop/sync").await,
        409,
        "reauth_required",
    )
    .await;
    assert_problem(
        app.admin_post("/admin/accounts/shop/token/refresh").await,
        409,
        "token_missing",
    )
    .await;
    // Other methods on the new paths: 405 with `Allow`, from the OpenAPI document.
    for (route, allow) in [
        ("/admin/accounts", "GET, POST, HEAD"),
        ("/admin/accounts/shop", "GET, DELETE, HEAD"),
        ("/admin/accounts/shop/sync", "POST"),
        ("/accounts/shop/images", "GET, HEAD"),
        ("/accounts/shop/images/1", "GET, HEAD"),
        ("/accounts/shop/search", "GET, HEAD"),
    ] {
        let response = app.http.put(app.url(route)).send().await.unwrap();
        assert_eq!(response.headers()["allow"], allow, "{route}");
        assert_problem(response, 405, "method_not_allowed").await;
    }
    assert!(env.upstream.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_account_connects_through_its_own_state_and_serves_its_own_media() {
    let env = TestEnv::new().await;
    // The default account: connected already, its own posts.
    env.store_token(0, 60).await;
    let default_posts = posts(3, 17_900_000_000_000_030);
    mount_media(&env.upstream, &default_posts, 50, 1).await;
    let shop_posts = posts(2, 17_900_000_000_000_090);
    mount_media_for(&env.upstream, SHOP_LONG, &shop_posts, 50, 2).await;
    mount_shop_login(&env.upstream, 1).await;
    let app = env.spawn_with(quiet_feed).await;

    assert_eq!(create(&app, json!({"slug": "shop"})).await.status(), 201);
    assert_problem(
        app.get("/accounts/shop/images").await,
        503,
        "feed_unavailable",
    )
    .await;

    let response = connect_account(&app, "shop", SHOP_CODE).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(SHOP_USERNAME));

    let shop: Value = app
        .admin_get("/admin/accounts/shop")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shop["token"]["state"], "valid");
    assert_eq!(shop["token"]["user_id"], SHOP_USER_ID);
    assert_eq!(shop["token"]["username"], SHOP_USERNAME);
    // The default account's token is untouched.
    let default: Value = app
        .admin_get("/admin/accounts/default")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["token"]["user_id"], env.user_id.as_str());
    assert_eq!(app.status().await["token"]["user_id"], env.user_id.as_str());

    eventually("the shop's first sync", || async {
        app.get("/accounts/shop/images").await.status() == 200
    })
    .await;
    let page: Value = app.get("/accounts/shop/images").await.json().await.unwrap();
    assert_eq!(ids(&page), ["17900000000000090", "17900000000000089"]);
    let default_page: Value = app.get("/images").await.json().await.unwrap();
    assert_eq!(
        ids(&default_page),
        [
            "17900000000000030",
            "17900000000000029",
            "17900000000000028"
        ]
    );

    let one = app.get("/accounts/shop/images/17900000000000089").await;
    assert_eq!(one.status(), 200);
    assert_eq!(
        one.json::<Value>().await.unwrap()["id"],
        "17900000000000089"
    );
    // A post of the default account is not the shop's.
    assert_problem(
        app.get("/accounts/shop/images/17900000000000030").await,
        404,
        "not_found",
    )
    .await;
    let found: Value = app
        .get("/accounts/shop/search?q=number")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&found).len(), 2);
    assert_problem(
        app.get("/accounts/shop/images?limit=0").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        app.get("/accounts/shop/search").await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        app.get("/accounts/shop/images/abc").await,
        400,
        "invalid_request",
    )
    .await;

    // A per-account sync syncs that account only.
    let response = app.admin_post("/admin/accounts/shop/sync").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["feed"]["items"], 2);

    // One login, one media call per account's sync (the shop's: first + forced).
    assert_eq!(calls_to(&env.upstream, "/oauth/access_token").await, 1);
    assert_eq!(calls_to(&env.upstream, "/access_token").await, 1);
    assert_eq!(login_me_calls(&env.upstream).await, 1);
    let media_with = |token: &'static str| {
        let upstream = env.upstream.clone();
        async move {
            upstream
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| {
                    r.url.path() == "/v25.0/me/media"
                        && r.url
                            .query_pairs()
                            .any(|(k, v)| k == "access_token" && v == token)
                })
                .count()
        }
    };
    assert_eq!(media_with(LONG_TOKEN).await, 1);
    assert_eq!(media_with(SHOP_LONG).await, 2);
}

#[tokio::test]
async fn one_instagram_account_cannot_be_connected_as_two_slugs() {
    let env = TestEnv::new().await;
    mount_media_for(
        &env.upstream,
        SHOP_LONG,
        &posts(1, 17_900_000_000_000_001),
        50,
        0..,
    )
    .await;
    mount_shop_login(&env.upstream, 2).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(create(&app, json!({"slug": "shop"})).await.status(), 201);
    assert_eq!(create(&app, json!({"slug": "shop-2"})).await.status(), 201);
    assert_eq!(connect_account(&app, "shop", SHOP_CODE).await.status(), 200);
    let response = connect_account(&app, "shop-2", SHOP_CODE).await;
    assert_eq!(response.status(), 409);
    let shop2: Value = app
        .admin_get("/admin/accounts/shop-2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shop2["token"]["state"], "missing");
}

#[tokio::test]
async fn account_images_answer_etags_304_and_head_like_images() {
    let env = TestEnv::new().await;
    mount_media_for(
        &env.upstream,
        SHOP_LONG,
        &posts(30, 17_900_000_000_000_100),
        50,
        1,
    )
    .await;
    mount_shop_login(&env.upstream, 1).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(create(&app, json!({"slug": "shop"})).await.status(), 201);
    assert_eq!(connect_account(&app, "shop", SHOP_CODE).await.status(), 200);
    eventually("the shop's first sync", || async {
        app.get("/accounts/shop/images").await.status() == 200
    })
    .await;

    for route in [
        "/accounts/shop/images?limit=5",
        "/accounts/shop/images/17900000000000100",
        "/accounts/shop/search?q=post",
    ] {
        let response = app.get(route).await;
        assert_eq!(response.status(), 200, "{route}");
        let headers = response.headers().clone();
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(
            headers["cache-control"],
            "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"
        );
        assert_eq!(headers["cache-status"], "instagram-gateway; hit");
        assert_eq!(headers["content-type"], "application/json");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty());

        let response = app
            .http
            .get(app.url(route))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{route}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert_eq!(
            response.headers()["cache-control"],
            headers["cache-control"]
        );
        assert!(response.bytes().await.unwrap().is_empty());

        let response = app.http.head(app.url(route)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{route}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    // The shop's ETag is not the default account's: that one has no snapshot at all.
    assert_problem(app.get("/images").await, 503, "feed_unavailable").await;
    // Reads are served from memory: still the one media call of the first sync.
    assert_eq!(media_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn unknown_slugs_are_404_problems_on_the_public_routes() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    for route in [
        "/accounts/nope/images",
        "/accounts/nope/images?limit=5",
        "/accounts/nope/images/123",
        "/accounts/nope/search?q=cake",
        "/accounts/NOPE/images",
    ] {
        let response = app.get(route).await;
        assert!(response.headers().get("cache-control").is_none(), "{route}");
        assert_problem(response, 404, "account_not_found").await;
    }
    let response = app
        .http
        .head(app.url("/accounts/nope/images"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // The default account is an account like the others.
    assert_problem(
        app.get("/accounts/default/images").await,
        503,
        "feed_unavailable",
    )
    .await;
    assert!(env.upstream.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_an_account_purges_it_and_only_it() {
    let env = TestEnv::new().await;
    env.store_token(0, 60).await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_000_030), 50, 1).await;
    mount_media_for(
        &env.upstream,
        SHOP_LONG,
        &posts(2, 17_900_000_000_000_090),
        50,
        1,
    )
    .await;
    mount_shop_login(&env.upstream, 1).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(
        create(&app, json!({"slug": "shop", "label": "Shop"}))
            .await
            .status(),
        201
    );
    assert_eq!(connect_account(&app, "shop", SHOP_CODE).await.status(), 200);
    eventually("both feeds", || async {
        app.get("/accounts/shop/images").await.status() == 200
            && app.get("/images").await.status() == 200
    })
    .await;

    let mut redis = env.redis().await;
    let shop_key = |key: &str| format!("{}acct:shop:{key}", env.prefix);
    assert!(redis.exists::<_, bool>(shop_key("token")).await.unwrap());
    assert!(
        redis
            .exists::<_, bool>(shop_key("feed:snapshot"))
            .await
            .unwrap()
    );

    let response = admin_delete(&app, "/admin/accounts/shop").await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.bytes().await.unwrap().is_empty());

    assert!(!redis.exists::<_, bool>(shop_key("token")).await.unwrap());
    assert!(
        !redis
            .exists::<_, bool>(shop_key("feed:snapshot"))
            .await
            .unwrap()
    );
    // What stays is a tombstone telling other replicas to drop their copy: no content.
    let meta: Vec<u8> = redis.get(shop_key("feed:meta")).await.unwrap();
    let meta: Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(meta["version"], Value::Null, "{meta}");
    assert_eq!(meta["items"], 0, "{meta}");
    assert!(meta["purged_at"].is_string(), "{meta}");
    assert_problem(
        app.get("/accounts/shop/images").await,
        404,
        "account_not_found",
    )
    .await;
    assert_problem(
        app.admin_get("/admin/accounts/shop").await,
        404,
        "account_not_found",
    )
    .await;
    assert_problem(
        admin_delete(&app, "/admin/accounts/shop").await,
        404,
        "account_not_found",
    )
    .await;
    let list: Value = app.admin_get("/admin/accounts").await.json().await.unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    // The default account is untouched.
    assert_eq!(app.get("/images").await.status(), 200);
    assert!(
        redis
            .exists::<_, bool>(env.account_key("token"))
            .await
            .unwrap()
    );
    // The slug can be added again, empty.
    let again: Value = create(&app, json!({"slug": "shop"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["token"]["state"], "missing");
    assert_eq!(again["label"], Value::Null);
    assert_problem(
        app.get("/accounts/shop/images").await,
        503,
        "feed_unavailable",
    )
    .await;

    // The default account: emptied, still registered.
    assert_eq!(
        admin_delete(&app, "/admin/accounts/default").await.status(),
        204
    );
    assert!(
        !redis
            .exists::<_, bool>(env.account_key("token"))
            .await
            .unwrap()
    );
    assert!(
        !redis
            .exists::<_, bool>(env.account_key("feed:snapshot"))
            .await
            .unwrap()
    );
    let default: Value = app
        .admin_get("/admin/accounts/default")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["default"], true);
    assert_eq!(default["token"]["state"], "missing");
    assert_problem(app.get("/images").await, 503, "feed_unavailable").await;
    let list: Value = app.admin_get("/admin/accounts").await.json().await.unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 2);
    // No call to Instagram for any of it: the two first syncs only.
    assert_eq!(media_calls(&env.upstream).await, 2);
}
