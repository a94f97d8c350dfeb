//! Curation: hidden posts, pins and filters, set through `/admin/accounts/{slug}/...`, and
//! their effect on `/images`, `/images/{id}`, `/search` and paging, across restarts and
//! replicas.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const FIRST_ID: u64 = 17_900_000_000_070_000;

fn id(n: u64) -> String {
    (FIRST_ID - n).to_string()
}

/// Posts 0 (newest) to 5 with captions a filter or a search can tell apart.
fn captioned() -> Vec<Value> {
    let captions = [
        Some("Latte art at the café #coffee"),
        Some("Roasting day"),
        None,
        Some("Giveaway! Win a mug #coffee"),
        Some("Cafe opening hours"),
        Some("New beans from Kenya"),
    ];
    captions
        .iter()
        .enumerate()
        .map(|(i, caption)| image_post(FIRST_ID - i as u64, i as i64 + 1, *caption))
        .collect()
}

async fn app_with(items: &[Value]) -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, items, 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    (env, app)
}

async fn put(app: &TestApp, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = app.http.put(app.url(path)).bearer_auth(&app.admin_token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .delete(app.url(path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `path` (which has no query yet) with `limit`, following the cursors.
async fn all_pages(app: &TestApp, path: &str, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let body = page(app, &url).await;
        pages.push(ids(&body));
        match body["paging"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return pages,
        }
        assert!(pages.len() <= 20, "paging does not end");
    }
}

#[tokio::test]
async fn a_hidden_post_leaves_every_read_until_it_is_unhidden() {
    let (env, app) = app_with(&captioned()).await;
    let before = app.get("/images").await;
    let old_etag = before.headers()["etag"].to_str().unwrap().to_owned();
    let before: Value = before.json().await.unwrap();
    assert_eq!(ids(&before).len(), 6);

    let hidden = format!("/admin/accounts/default/hidden/{}", id(0));
    assert_eq!(put(&app, &hidden, None).await.status(), 204);
    // Idempotent.
    assert_eq!(put(&app, &hidden, None).await.status(), 204);

    let after = app.get("/images").await;
    let new_etag = after.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, old_etag, "a new body, a new ETag");
    let after: Value = after.json().await.unwrap();
    assert_eq!(ids(&after), [id(1), id(2), id(3), id(4), id(5)]);
    // The old page is never served again, not even as a 304.
    let revalidated = app
        .http
        .get(app.url("/images"))
        .header("if-none-match", &old_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 200);
    assert_problem(
        app.get(&format!("/images/{}", id(0))).await,
        404,
        "not_found",
    )
    .await;
    let found = page(&app, "/search?q=latte").await;
    assert_eq!(ids(&found), Vec::<String>::new());
    let coffee = page(&app, "/search?q=%23coffee").await;
    assert_eq!(ids(&coffee), [id(3)]);
    // Page counts leave it out too: two pages of three, not a third one.
    assert_eq!(all_pages(&app, "/images", 3).await.len(), 2);

    let listed: Value = app
        .admin_get("/admin/accounts/default/hidden")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!({"media_ids": [id(0)]}));

    assert_eq!(delete(&app, &hidden).await.status(), 204);
    assert_eq!(delete(&app, &hidden).await.status(), 204, "idempotent");
    let restored = page(&app, "/images").await;
    assert_eq!(ids(&restored), ids(&before));
    assert_eq!(page(&app, &format!("/images/{}", id(0))).await["id"], id(0));
    // Curation never calls Instagram.
    assert_eq!(media_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn a_post_hidden_before_it_exists_stays_hidden_when_it_appears() {
    let env = TestEnv::new().await;
    let items = captioned();
    // The first sync sees posts 1 to 5; the next one also post 0.
    mount_media(&env.upstream, &items[1..], 100, 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    assert_eq!(ids(&page(&app, "/images").await).len(), 5);
    let hidden = format!("/admin/accounts/default/hidden/{}", id(0));
    assert_eq!(put(&app, &hidden, None).await.status(), 204);

    env.upstream.reset().await;
    mount_media(&env.upstream, &items, 100, 1).await;
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    let synced = page(&app, "/images").await;
    assert_eq!(ids(&synced), [id(1), id(2), id(3), id(4), id(5)]);
}

#[tokio::test]
async fn pinned_posts_lead_in_order_and_paging_shows_each_post_once() {
    let (_env, app) = app_with(&captioned()).await;
    let pins = json!({"media_ids": [id(4), id(2)]});
    let response = put(&app, "/admin/accounts/default/pinned", Some(pins.clone())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), pins);
    assert_eq!(
        app.admin_get("/admin/accounts/default/pinned")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        pins
    );
    // Hidden posts are not counted anywhere.
    let hidden = format!("/admin/accounts/default/hidden/{}", id(1));
    assert_eq!(put(&app, &hidden, None).await.status(), 204);

    let expected = [id(4), id(2), id(0), id(3), id(5)];
    assert_eq!(ids(&page(&app, "/images").await), expected);
    // Pages of one, two and three: the pins cross page boundaries, nothing repeats.
    for limit in [1, 2, 3] {
        let pages = all_pages(&app, "/images", limit).await;
        let flat: Vec<String> = pages.concat();
        assert_eq!(flat, expected, "limit={limit}: {pages:?}");
        assert_eq!(pages.len(), expected.len().div_ceil(limit), "limit={limit}");
    }

    // Unpinning all restores the newest-first order (without the hidden post).
    let response = put(
        &app,
        "/admin/accounts/default/pinned",
        Some(json!({"media_ids": []})),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        ids(&page(&app, "/images").await),
        [id(0), id(2), id(3), id(4), id(5)]
    );
}

#[tokio::test]
async fn filters_choose_which_posts_show() {
    let (_env, app) = app_with(&captioned()).await;
    let set = |body: Value| {
        let app = &app;
        async move {
            let response = put(app, "/admin/accounts/default/filters", Some(body)).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let stored = set(json!({"caption_excludes": ["giveaway", "#coffee", "giveaway"]})).await;
    assert_eq!(
        stored,
        json!({"types": [], "caption_includes": [], "caption_excludes": ["giveaway", "#coffee"], "hide_without_caption": false})
    );
    assert_eq!(
        app.admin_get("/admin/accounts/default/filters")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        stored
    );
    assert_eq!(
        ids(&page(&app, "/images").await),
        [id(1), id(2), id(4), id(5)]
    );

    // Whole words, case- and accent-insensitive: "CAFE" matches "café" and "Cafe".
    set(json!({"caption_includes": ["CAFE", "kenya"], "hide_without_caption": true})).await;
    assert_eq!(ids(&page(&app, "/images").await), [id(0), id(4), id(5)]);
    // Search applies within what the filters show.
    assert_eq!(
        ids(&page(&app, "/search?q=roasting").await),
        Vec::<String>::new()
    );
    assert_eq!(ids(&page(&app, "/search?q=beans").await), [id(5)]);

    set(json!({"types": ["VIDEO"]})).await;
    assert_eq!(ids(&page(&app, "/images").await), Vec::<String>::new());

    // Entries with nothing to match are dropped, not applied.
    let stored = set(json!({"caption_excludes": ["  ", "#", "🙂"]})).await;
    assert_eq!(stored["caption_excludes"], json!([]));
    assert_eq!(ids(&page(&app, "/images").await).len(), 6);
    set(json!({})).await;
    assert_eq!(ids(&page(&app, "/images").await).len(), 6);
}

#[tokio::test]
async fn operators_see_every_post_with_its_curation() {
    let (_env, app) = app_with(&captioned()).await;
    assert_eq!(
        put(
            &app,
            &format!("/admin/accounts/default/hidden/{}", id(1)),
            None
        )
        .await
        .status(),
        204
    );
    let pins = json!({"media_ids": [id(5), id(3)]});
    assert_eq!(
        put(&app, "/admin/accounts/default/pinned", Some(pins))
            .await
            .status(),
        200
    );
    let filters = json!({"caption_excludes": ["kenya", "giveaway"], "hide_without_caption": true});
    assert_eq!(
        put(&app, "/admin/accounts/default/filters", Some(filters))
            .await
            .status(),
        200
    );

    let response = app.admin_get("/admin/accounts/default/posts").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let posts = body["data"].as_array().unwrap();
    // Every synced post, newest first, hidden and filtered ones too.
    let listed: Vec<&str> = posts.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id(0), id(1), id(2), id(3), id(4), id(5)]);
    let state = |n: usize| {
        let p = &posts[n];
        (
            p["hidden"].as_bool().unwrap(),
            p["pinned"].as_u64(),
            p["shown"].as_bool().unwrap(),
        )
    };
    assert_eq!(state(0), (false, None, true));
    assert_eq!(state(1), (true, None, false), "hidden");
    assert_eq!(state(2), (false, None, false), "no caption");
    assert_eq!(
        state(3),
        (false, Some(2), true),
        "pinned, so exempt from the filter"
    );
    assert_eq!(state(5), (false, Some(1), true));
    assert!(
        posts[0]["thumbnail_url"]
            .as_str()
            .unwrap()
            .contains(&format!("/{}.jpg", id(0)))
    );
    assert_eq!(posts[0]["caption"], "Latte art at the café #coffee");
    // The feed agrees.
    assert_eq!(
        ids(&page(&app, "/images").await),
        [id(5), id(3), id(0), id(4)]
    );

    // An account not synced yet has nothing to curate.
    let env2 = TestEnv::new().await;
    let empty = env2.spawn_with(quiet_feed).await;
    assert_problem(
        empty.admin_get("/admin/accounts/default/posts").await,
        503,
        "feed_unavailable",
    )
    .await;
}

#[tokio::test]
async fn bad_curation_input_is_refused_with_problems() {
    let (_env, app) = app_with(&captioned()).await;
    assert_problem(
        put(&app, "/admin/accounts/nope/hidden/1", None).await,
        404,
        "account_not_found",
    )
    .await;
    assert_problem(
        put(&app, "/admin/accounts/default/hidden/abc", None).await,
        400,
        "invalid_request",
    )
    .await;
    let thirteen: Vec<String> = (0..13).map(|i| (1000 + i).to_string()).collect();
    for body in [
        json!({"media_ids": thirteen}),
        json!({"media_ids": ["1", "1"]}),
        json!({"media_ids": ["x"]}),
        json!({"media_ids": ["1"], "extra": true}),
        json!(["1"]),
    ] {
        let response = put(&app, "/admin/accounts/default/pinned", Some(body.clone())).await;
        let problem = assert_problem(response, 400, "invalid_request").await;
        assert!(problem["detail"].is_string(), "{body}: {problem}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("word{i}")).collect();
    for body in [
        json!({"caption_excludes": many}),
        json!({"caption_includes": ["x".repeat(101)]}),
        json!({"types": ["STORY"]}),
        json!({"caption": ["x"]}),
    ] {
        let response = put(&app, "/admin/accounts/default/filters", Some(body.clone())).await;
        assert_problem(response, 400, "invalid_request").await;
    }
    let unauthenticated = app
        .http
        .put(app.url("/admin/accounts/default/hidden/1"))
        .send()
        .await
        .unwrap();
    assert_problem(unauthenticated, 401, "unauthorized").await;
    // Nothing of the refused changes was stored.
    let curation: Value = app
        .admin_get("/admin/accounts/default/curation")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(curation["hidden"], json!([]));
    assert_eq!(curation["pinned"], json!([]));
    assert_eq!(curation["revision"], "");
    assert_eq!(ids(&page(&app, "/images").await).len(), 6);
}

#[tokio::test]
async fn curation_reaches_every_replica_within_a_second_and_survives_restarts() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &captioned(), 100, 1).await;
    env.store_token(2, 58).await;
    let a = env.spawn_with(quiet_feed).await;
    assert_eq!(ids(&page(&a, "/images").await).len(), 6);
    let b = env.spawn_with(quiet_feed).await;
    let c = env.spawn_with(quiet_feed).await;
    for app in [&b, &c] {
        assert_eq!(ids(&page(app, "/images").await).len(), 6);
    }

    let hidden = format!("/admin/accounts/default/hidden/{}", id(0));
    assert_eq!(put(&a, &hidden, None).await.status(), 204);
    let pins = json!({"media_ids": [id(5)]});
    assert_eq!(
        put(&a, "/admin/accounts/default/pinned", Some(pins))
            .await
            .status(),
        200
    );
    let expected = [id(5), id(1), id(2), id(3), id(4)];
    assert_eq!(
        ids(&page(&a, "/images").await),
        expected,
        "at once where it was set"
    );
    for app in [&b, &c] {
        eventually_within(
            "the other replicas to apply it",
            Duration::from_secs(1),
            || async { ids(&page(app, "/images").await) == expected },
        )
        .await;
    }

    // A new instance (a restart) reads it before it serves anything.
    for app in [&a, &b, &c] {
        app.stop().await;
    }
    let restarted = env.spawn_with(quiet_feed).await;
    assert_eq!(ids(&page(&restarted, "/images").await), expected);
    // Served from the stored snapshot: no new sync.
    assert_eq!(media_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn each_account_has_its_own_curation_and_deleting_it_forgets_it() {
    let env = TestEnv::new().await;
    let shop_items = captioned();
    env.create_accounts(&["shop"]).await;
    mount_media_for(&env.upstream, "IGQWshop-token", &shop_items, 100, 1..).await;
    env.store_token_for("shop", "IGQWshop-token", "17841400000000999", "acme.shop")
        .await;
    mount_media(&env.upstream, &captioned(), 100, 1..).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;

    let hidden = format!("/admin/accounts/shop/hidden/{}", id(0));
    assert_eq!(put(&app, &hidden, None).await.status(), 204);
    assert_eq!(ids(&page(&app, "/accounts/shop/images").await).len(), 5);
    assert_eq!(
        ids(&page(&app, "/images").await).len(),
        6,
        "the default account is untouched"
    );

    assert_eq!(delete(&app, "/admin/accounts/shop").await.status(), 204);
    let mut redis = env.redis().await;
    for key in ["curation", "curation:revision"] {
        let exists: bool = redis::AsyncCommands::exists(&mut redis, env.key_of("shop", key))
            .await
            .unwrap();
        assert!(!exists, "{key} is deleted with the account");
    }
}
