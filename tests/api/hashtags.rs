//! Public hashtag search (`source=public`) for accounts connected through Facebook Login: Meta
//! faked with wiremock, real Redis, exact upstream call counts.

use serde_json::Value;

use crate::helpers::*;

/// An app with the facebook account `tags` connected (its token stored).
async fn tags_app(
    env: &TestEnv,
    tweak: impl FnOnce(&mut instagram_gateway::config::Settings),
) -> TestApp {
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            tweak(s);
        })
        .await;
    app.create_facebook_account("tags").await;
    env.store_facebook_token("tags", 50).await;
    app
}

#[tokio::test]
async fn top_posts_of_a_tag_are_fetched_once_paged_and_served_from_cache() {
    let env = TestEnv::new().await;
    hashtag_search("coffee", 1).mount(&env.upstream).await;
    let posts = public_posts(120, 18_000_000_000_000_120, "coffee");
    // 100 of the 120 (hashtags.max_items): two pages of 50; the third is never asked for.
    mount_hashtag_media(&env.upstream, "coffee", "top_media", &posts[..100], 1).await;
    let app = tags_app(&env, |_| {}).await;

    let first = app
        .get("/accounts/tags/search?q=%23Coffee&source=public&limit=40")
        .await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 40);
    assert_eq!(data[0]["id"], "18000000000000120");
    assert!(data[0]["username"].is_null());
    assert_eq!(data[0]["like_count"], 41);
    let cursor = body["paging"]["next_cursor"].as_str().unwrap().to_owned();

    let mut seen = 40;
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page: Value = app
            .get(&format!(
                "/accounts/tags/search?q=coffee&source=public&limit=40&cursor={c}"
            ))
            .await
            .json()
            .await
            .unwrap();
        seen += page["data"].as_array().unwrap().len();
        cursor = page["paging"]["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 100);

    let again = app
        .http
        .get(app.url("/accounts/tags/search?q=%23coffee&source=public&limit=40"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(
        calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await,
        1,
        "one id lookup"
    );
}
