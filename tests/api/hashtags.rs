//! Public hashtag search (`source=public`) for accounts connected through Facebook Login: Meta
//! faked with wiremock, real Redis, exact upstream call counts.

use std::time::Duration;

use base64::Engine as _;
use futures_util::future::join_all;
use instagram_gateway::hashtags::Hashtag;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

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

// ---- Helpers of this module -------------------------------------------------------------------

const TOP: &str = "top_media";
const RECENT: &str = "recent_media";
const WEEK_SECS: u64 = 7 * 86_400;

/// The path of `tag`'s `edge` at the fake Meta.
fn edge_path(tag: &str, edge: &str) -> String {
    format!("/v25.0/{}/{edge}", hashtag_id(tag))
}

/// `/accounts/tags/search?source=public&q=<q>` plus `extra` (`&order=recent`, ...).
fn public_search(q: &str, extra: &str) -> String {
    format!("/accounts/tags/search?source=public&q={q}{extra}")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn retry_after(response: &reqwest::Response) -> u64 {
    header(response, "retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap()
}

/// The ids of a page's posts.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

fn post_ids(posts: &[Value]) -> Vec<String> {
    posts
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// GETs every `(app, path)` at once.
async fn get_all(requests: Vec<(&TestApp, String)>) -> Vec<reqwest::Response> {
    join_all(
        requests
            .into_iter()
            .map(|(app, path)| async move { app.get(&path).await }),
    )
    .await
}

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Another replica of `tags_app`'s (same Redis prefix and fake Meta), with the same tweak.
async fn replica(
    env: &TestEnv,
    tweak: impl FnOnce(&mut instagram_gateway::config::Settings),
) -> TestApp {
    env.spawn_with(|s| {
        quiet_feed(s);
        tweak(s);
    })
    .await
}

/// Requests `path` until its answer is stale (`fwd=stale`), within 10 s; returns that answer.
async fn first_stale(app: &TestApp, path: &str) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200);
        if header(&response, "cache-status").is_some_and(|c| c.contains("fwd=stale")) {
            return response;
        }
        assert!(tokio::time::Instant::now() < deadline, "never served stale");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- Orders, filters and parameters -----------------------------------------------------------

#[tokio::test]
async fn recent_reads_recent_media_cached_apart_from_top_and_filters_by_type() {
    let env = TestEnv::new().await;
    hashtag_search("latte", 1).mount(&env.upstream).await;
    let top = public_posts(6, 18_000_000_000_001_006, "latte");
    let mut recent = public_posts(30, 18_000_000_000_002_030, "latte");
    for post in recent.iter_mut().step_by(3) {
        post["media_type"] = json!("VIDEO");
    }
    mount_hashtag_media(&env.upstream, "latte", TOP, &top, 1).await;
    mount_hashtag_media(&env.upstream, "latte", RECENT, &recent, 1).await;
    let app = tags_app(&env, |_| {}).await;

    let page = ok_json(
        app.get(&public_search("%23latte", "&order=recent&limit=100"))
            .await,
    )
    .await;
    assert_eq!(ids(&page), post_ids(&recent));
    assert_eq!(
        calls_to(&env.upstream, &edge_path("latte", RECENT)).await,
        1
    );
    assert_eq!(calls_to(&env.upstream, &edge_path("latte", TOP)).await, 0);

    // `top` is another walk, of another edge; the id is known by now.
    let page = ok_json(
        app.get(&public_search("%23latte", "&order=top&limit=100"))
            .await,
    )
    .await;
    assert_eq!(ids(&page), post_ids(&top));
    let default_order = ok_json(app.get(&public_search("latte", "&limit=100")).await).await;
    assert_eq!(ids(&default_order), post_ids(&top), "top is the default");

    // Both are served from memory from now on.
    let again = ok_json(
        app.get(&public_search("%23latte", "&order=recent&limit=100"))
            .await,
    )
    .await;
    assert_eq!(ids(&again), post_ids(&recent));

    // `type`: 20 of the 30 recent posts are images, paged after the filter.
    let images: Vec<String> = recent
        .iter()
        .filter(|p| p["media_type"] == "IMAGE")
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(images.len(), 20);
    let first = ok_json(
        app.get(&public_search(
            "%23latte",
            "&order=recent&type=image&limit=15",
        ))
        .await,
    )
    .await;
    assert!(
        first["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["media_type"] == "IMAGE")
    );
    let cursor = first["paging"]["next_cursor"].as_str().unwrap().to_owned();
    let rest = ok_json(
        app.get(&public_search(
            "%23latte",
            &format!("&order=recent&type=image&limit=15&cursor={cursor}"),
        ))
        .await,
    )
    .await;
    assert!(rest["paging"]["next_cursor"].is_null());
    assert_eq!([ids(&first), ids(&rest)].concat(), images);
    let videos = ok_json(
        app.get(&public_search(
            "%23latte",
            "&order=recent&type=video&limit=100",
        ))
        .await,
    )
    .await;
    assert_eq!(ids(&videos).len(), 10);

    // Bad parameters: refused before anything is asked of Meta.
    let forged = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x.20"),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("h.5000"),
        "not-a-cursor".to_owned(),
    ];
    for cursor in forged {
        let response = app
            .get(&public_search(
                "%23latte",
                &format!("&order=recent&cursor={cursor}"),
            ))
            .await;
        assert_problem(response, 400, "invalid_request").await;
    }
    for path in [
        public_search("%23latte", "&order=sideways"),
        public_search("%23latte", "&order="),
        public_search("%23latte", "&type=reel"),
        "/accounts/tags/search?q=%23latte&order=top".to_owned(),
        "/accounts/tags/search?q=%23latte&source=account&order=recent".to_owned(),
        "/accounts/tags/search?q=%23latte&source=galaxy".to_owned(),
        "/accounts/tags/search?q=%23latte&source=public&source=public".to_owned(),
    ] {
        assert_problem(app.get(&path).await, 400, "invalid_request").await;
    }
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
    assert_eq!(
        hashtag_calls(&env.upstream).await,
        3,
        "one lookup, two walks of one page"
    );
}

#[tokio::test]
async fn one_tag_however_typed_and_malformed_tags_never_reach_meta() {
    let env = TestEnv::new().await;
    hashtag_search("coffee", 1).mount(&env.upstream).await;
    let posts = public_posts(3, 18_000_000_000_003_003, "coffee");
    mount_hashtag_media(&env.upstream, "coffee", TOP, &posts, 1).await;
    let app = tags_app(&env, |_| {}).await;

    for q in ["%23Coffee", "coffee", "COFFEE", "%20%23cOfFeE%20"] {
        let page = ok_json(app.get(&public_search(q, "")).await).await;
        assert_eq!(ids(&page), post_ids(&posts), "{q}");
    }
    assert_eq!(
        hashtag_calls(&env.upstream).await,
        2,
        "one id lookup, one walk"
    );

    for q in [
        "%23tea%20time",
        "%F0%9F%8D%95",
        "%23pizza%F0%9F%8D%95",
        "%23%23x",
        "%23a%23b",
        "%23123",
        "%23",
        "%23rock-n-roll",
        "",
    ] {
        let body =
            assert_problem(app.get(&public_search(q, "")).await, 400, "invalid_request").await;
        assert!(
            body["detail"].as_str().unwrap().starts_with("`q`"),
            "{q}: {body}"
        );
    }
    let too_long = "a".repeat(101);
    assert_problem(
        app.get(&public_search(&too_long, "")).await,
        400,
        "invalid_request",
    )
    .await;
    let warm = app
        .admin_post("/admin/accounts/tags/hashtags/tea%20time/warm")
        .await;
    assert_problem(warm, 400, "invalid_request").await;

    // The default account always uses Instagram Login; an unknown slug is unknown.
    let default = app.get("/search?q=%23x&source=public").await;
    let body = assert_problem(default, 409, "public_search_unavailable").await;
    assert!(
        body["detail"].as_str().unwrap().contains("Facebook Login"),
        "{body}"
    );
    let unknown = app
        .get("/accounts/nobody/search?q=%23x&source=public")
        .await;
    assert_problem(unknown, 404, "account_not_found").await;
    let budget = app.admin_get("/admin/accounts/default/hashtags").await;
    assert_problem(budget, 409, "public_search_unavailable").await;

    assert_eq!(
        hashtag_calls(&env.upstream).await,
        2,
        "nothing more asked of Meta"
    );
    assert_eq!(app.hashtag_budget("tags").await["used"], 1);
}

// ---- One fetch per tag ------------------------------------------------------------------------

#[tokio::test]
async fn a_hundred_cold_requests_make_one_lookup_and_one_walk_shared_by_replicas() {
    let env = TestEnv::new().await;
    hashtag_search("espresso", 1).mount(&env.upstream).await;
    let posts = public_posts(80, 18_000_000_000_004_080, "espresso");
    mount_hashtag_media(&env.upstream, "espresso", TOP, &posts, 1).await;
    let app = tags_app(&env, |_| {}).await;

    let qs = ["%23espresso", "espresso", "%23ESPRESSO"];
    let responses = get_all(
        (0..100)
            .map(|i| (&app, public_search(qs[i % 3], "&limit=100")))
            .collect(),
    )
    .await;
    for response in responses {
        let page = ok_json(response).await;
        assert_eq!(ids(&page), post_ids(&posts));
    }
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
    assert_eq!(
        calls_to(&env.upstream, &edge_path("espresso", TOP)).await,
        2,
        "each of the two pages once"
    );

    // Another replica, started after the fetch: from Redis, nothing asked of Meta.
    let other = replica(&env, |_| {}).await;
    let response = other.get(&public_search("%23espresso", "&limit=100")).await;
    assert_eq!(
        header(&response, "cache-status").as_deref(),
        Some("instagram-gateway; hit")
    );
    assert_eq!(ids(&ok_json(response).await), post_ids(&posts));
    assert_eq!(hashtag_calls(&env.upstream).await, 3);
    assert_eq!(other.hashtag_budget("tags").await["used"], 1);
}

#[tokio::test]
async fn cold_requests_on_two_replicas_at_once_make_one_fetch() {
    let env = TestEnv::new().await;
    hashtag_search("ristretto", 1).mount(&env.upstream).await;
    let posts = public_posts(60, 18_000_000_000_005_060, "ristretto");
    mount_hashtag_media(&env.upstream, "ristretto", TOP, &posts, 1).await;
    let first = tags_app(&env, |_| {}).await;
    let second = replica(&env, |_| {}).await;

    let path = public_search("%23ristretto", "&limit=100");
    let responses = get_all(
        (0..40)
            .map(|i| (if i % 2 == 0 { &first } else { &second }, path.clone()))
            .collect(),
    )
    .await;
    for response in responses {
        assert_eq!(ids(&ok_json(response).await), post_ids(&posts));
    }
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
    assert_eq!(
        calls_to(&env.upstream, &edge_path("ristretto", TOP)).await,
        2
    );
}

// ---- Stale results ----------------------------------------------------------------------------

#[tokio::test]
async fn stale_results_are_served_at_once_and_refreshed_in_the_background() {
    let env = TestEnv::new().await;
    hashtag_search("matcha", 1).mount(&env.upstream).await;
    let posts = public_posts(5, 18_000_000_000_006_005, "matcha");
    // The first fetch and one refresh.
    mount_hashtag_media(&env.upstream, "matcha", TOP, &posts, 2).await;
    let app = tags_app(&env, |s| s.hashtags.refresh = Duration::from_secs(1)).await;
    let path = public_search("%23matcha", "");

    let fresh = app.get(&path).await;
    assert_eq!(
        header(&fresh, "cache-status").as_deref(),
        Some("instagram-gateway; hit")
    );
    assert_eq!(header(&fresh, "age"), None);
    assert_eq!(ids(&ok_json(fresh).await), post_ids(&posts));

    let stale = first_stale(&app, &path).await;
    assert_eq!(
        header(&stale, "cache-status").as_deref(),
        Some("instagram-gateway; hit; fwd=stale")
    );
    let age: u64 = header(&stale, "age").expect("Age").parse().unwrap();
    assert!(age >= 1, "Age {age}");
    assert_eq!(ids(&ok_json(stale).await), post_ids(&posts));

    eventually("the background refresh", || async {
        calls_to(&env.upstream, &edge_path("matcha", TOP)).await == 2
    })
    .await;
    eventually("fresh results again", || async {
        let response = app.get(&path).await;
        header(&response, "cache-status").as_deref() == Some("instagram-gateway; hit")
    })
    .await;
    assert_eq!(
        calls_to(&env.upstream, edge_path("matcha", TOP).as_str()).await,
        2
    );
    assert_eq!(
        calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await,
        1,
        "the id is known: a refresh does not look it up"
    );
    assert_eq!(app.hashtag_budget("tags").await["used"], 1);
}

#[tokio::test]
async fn a_failed_refresh_still_answers_stale_and_waits_before_trying_again() {
    let env = TestEnv::new().await;
    hashtag_search("chai", 1).mount(&env.upstream).await;
    let posts = public_posts(4, 18_000_000_000_007_004, "chai");
    mount_hashtag_media(&env.upstream, "chai", TOP, &posts, 1).await;
    let app = tags_app(&env, |s| s.hashtags.refresh = Duration::from_secs(1)).await;
    let path = public_search("%23chai", "");
    assert_eq!(ids(&ok_json(app.get(&path).await).await), post_ids(&posts));

    // From now on the media edge fails: three attempts (the client's retries), once.
    hashtag_media_answering("chai", TOP, ResponseTemplate::new(500), 3)
        .mount(&env.upstream)
        .await;
    let stale = first_stale(&app, &path).await;
    assert!(header(&stale, "age").is_some());
    assert_eq!(ids(&ok_json(stale).await), post_ids(&posts));

    eventually("the failed refresh reported", || async {
        let response = app.get(&path).await;
        response.status() == 200
            && header(&response, "cache-status").as_deref()
                == Some("instagram-gateway; hit; fwd=stale; fwd-status=500")
    })
    .await;
    let response = app.get(&path).await;
    assert_eq!(ids(&ok_json(response).await), post_ids(&posts));
    assert_eq!(
        calls_to(&env.upstream, &edge_path("chai", TOP)).await,
        4,
        "the first fetch, then one refresh of three attempts; none since (backoff)"
    );
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
}

// ---- The weekly budget ------------------------------------------------------------------------

fn budget_of_30(s: &mut instagram_gateway::config::Settings) {
    s.hashtags.weekly_budget = 30;
    s.hashtags.operator_reserve = 0;
}

#[tokio::test]
async fn three_replicas_spend_exactly_the_weekly_budget_of_forty_tags() {
    let env = TestEnv::new().await;
    any_hashtag_search(30).mount(&env.upstream).await;
    let posts = public_posts(2, 18_000_000_000_008_002, "spot");
    any_hashtag_media(TOP, posts.clone(), 30)
        .mount(&env.upstream)
        .await;
    any_hashtag_media(RECENT, posts.clone(), 1)
        .mount(&env.upstream)
        .await;
    let replicas = [
        tags_app(&env, budget_of_30).await,
        replica(&env, budget_of_30).await,
        replica(&env, budget_of_30).await,
    ];

    let tags: Vec<String> = (0..40).map(|i| format!("spot{i:02}")).collect();
    let responses = get_all(
        tags.iter()
            .enumerate()
            .map(|(i, tag)| (&replicas[i % 3], public_search(&format!("%23{tag}"), "")))
            .collect(),
    )
    .await;
    let mut admitted = Vec::new();
    let mut refused = Vec::new();
    for (tag, response) in tags.iter().zip(responses) {
        match response.status().as_u16() {
            200 => {
                assert_eq!(ids(&response.json().await.unwrap()), post_ids(&posts));
                admitted.push(tag.clone());
            }
            429 => {
                let wait = retry_after(&response);
                assert!(
                    (WEEK_SECS - 300..=WEEK_SECS).contains(&wait),
                    "Retry-After {wait}: when the oldest tag leaves the week"
                );
                assert_problem(response, 429, "hashtag_budget_exhausted").await;
                refused.push(tag.clone());
            }
            other => panic!("{tag}: {other}"),
        }
    }
    assert_eq!((admitted.len(), refused.len()), (30, 10));
    assert_eq!(
        calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await,
        30
    );

    // A counted tag is free, on any replica and in the other order; a refused one stays so.
    let again = replicas[1]
        .get(&public_search(&admitted[0], "&order=recent"))
        .await;
    assert_eq!(ids(&ok_json(again).await), post_ids(&posts));
    let again = replicas[2].get(&public_search(&admitted[1], "")).await;
    assert_eq!(ids(&ok_json(again).await), post_ids(&posts));
    let still = replicas[0].get(&public_search(&refused[0], "")).await;
    assert_problem(still, 429, "hashtag_budget_exhausted").await;
    assert_eq!(
        calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await,
        30
    );

    let budget = replicas[2].hashtag_budget("tags").await;
    assert_eq!(budget["used"], 30, "{budget}");
    assert_eq!(budget["left"], 0);
    assert_eq!(budget["left_for_visitors"], 0);
    let mut counted: Vec<String> = budget["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap().to_owned())
        .collect();
    counted.sort();
    admitted.sort();
    assert_eq!(counted, admitted);
}

#[tokio::test]
async fn only_the_allowed_tags_are_searched_by_visitors() {
    let env = TestEnv::new().await;
    hashtag_search("coffee", 1).mount(&env.upstream).await;
    let coffee = public_posts(2, 18_000_000_000_009_002, "coffee");
    mount_hashtag_media(&env.upstream, "coffee", TOP, &coffee, 1).await;
    // Only the operator's warm asks for tea.
    hashtag_search("tea", 1).mount(&env.upstream).await;
    let tea = public_posts(1, 18_000_000_000_009_101, "tea");
    mount_hashtag_media(&env.upstream, "tea", TOP, &tea, 1).await;
    mount_hashtag_media(&env.upstream, "tea", RECENT, &tea, 1).await;
    let app = tags_app(&env, |s| {
        s.hashtags.allowed = vec![Hashtag::parse("coffee").unwrap()];
    })
    .await;

    for q in ["%23tea", "TEA"] {
        let body = assert_problem(
            app.get(&public_search(q, "")).await,
            403,
            "hashtag_not_allowed",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("#tea"), "{body}");
    }
    assert_eq!(hashtag_calls(&env.upstream).await, 0);
    let page = ok_json(app.get(&public_search("%23Coffee", "")).await).await;
    assert_eq!(ids(&page), post_ids(&coffee));

    // Operators may warm any tag; visitors still may not search it, cached or not.
    let warmed = app
        .admin_post("/admin/accounts/tags/hashtags/tea/warm")
        .await;
    let warmed = ok_json(warmed).await;
    assert_eq!(
        (warmed["top"].as_u64(), warmed["recent"].as_u64()),
        (Some(1), Some(1))
    );
    assert_problem(
        app.get(&public_search("%23tea", "")).await,
        403,
        "hashtag_not_allowed",
    )
    .await;
    assert_eq!(hashtag_calls(&env.upstream).await, 5);
    assert_eq!(app.hashtag_budget("tags").await["used"], 2);
}

#[tokio::test]
async fn the_operator_reserve_is_only_spent_by_warming() {
    let env = TestEnv::new().await;
    for tag in ["first", "second"] {
        hashtag_search(tag, 1).mount(&env.upstream).await;
        mount_hashtag_media(
            &env.upstream,
            tag,
            TOP,
            &public_posts(1, 18_000_000_000_010_001, tag),
            1,
        )
        .await;
    }
    hashtag_search("third", 1).mount(&env.upstream).await;
    mount_hashtag_media(
        &env.upstream,
        "third",
        TOP,
        &public_posts(3, 18_000_000_000_010_103, "third"),
        1,
    )
    .await;
    mount_hashtag_media(
        &env.upstream,
        "third",
        RECENT,
        &public_posts(2, 18_000_000_000_010_202, "third"),
        1,
    )
    .await;
    hashtag_search("fourth", 0).mount(&env.upstream).await;
    let app = tags_app(&env, |s| {
        s.hashtags.weekly_budget = 3;
        s.hashtags.operator_reserve = 1;
    })
    .await;

    for tag in ["first", "second"] {
        assert_eq!(
            app.get(&public_search(tag, "")).await.status(),
            200,
            "{tag}"
        );
    }
    let refused = app.get(&public_search("third", "")).await;
    assert!(retry_after(&refused) > WEEK_SECS - 300);
    let body = assert_problem(refused, 429, "hashtag_budget_exhausted").await;
    assert!(
        body["detail"].as_str().unwrap().contains("2 of 2"),
        "{body}"
    );
    let budget = app.hashtag_budget("tags").await;
    assert_eq!(
        (
            &budget["used"],
            &budget["left"],
            &budget["left_for_visitors"]
        ),
        (&json!(2), &json!(1), &json!(0))
    );

    let warmed = app
        .admin_post("/admin/accounts/tags/hashtags/third/warm")
        .await;
    let warmed = ok_json(warmed).await;
    assert_eq!(warmed["tag"], "third");
    assert_eq!(
        (warmed["top"].as_u64(), warmed["recent"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(warmed["budget"]["used"], 3);
    assert_eq!(warmed["budget"]["left"], 0);
    // Now counted, and cached: free for visitors too.
    let page = ok_json(app.get(&public_search("%23third", "&order=recent")).await).await;
    assert_eq!(ids(&page).len(), 2);

    let fourth = app
        .admin_post("/admin/accounts/tags/hashtags/%23fourth/warm")
        .await;
    assert!(retry_after(&fourth) > 0);
    let body = assert_problem(fourth, 429, "hashtag_budget_exhausted").await;
    assert!(
        body["detail"].as_str().unwrap().contains("3 of 3"),
        "{body}"
    );
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 3);
}

// ---- What Meta counts -------------------------------------------------------------------------

#[tokio::test]
async fn connecting_a_facebook_account_counts_the_tags_meta_counts() {
    let env = TestEnv::new().await;
    mount_facebook_login(
        &env.upstream,
        vec![fb_page(
            "201",
            "Tags Page",
            Some((IG_BUSINESS_ID, IG_BUSINESS_USERNAME)),
        )],
    )
    .await;
    let meta_ids = vec![hashtag_id("elsewhere1"), hashtag_id("elsewhere2")];
    recently_searched(&meta_ids, 1).mount(&env.upstream).await;
    let app = env.spawn_with(quiet_feed).await;
    app.create_facebook_account("tags").await;
    // Not connected yet: the operator's to fix, not a visitor's outage.
    let before = app.admin_get("/admin/accounts/tags/hashtags").await;
    assert_problem(before, 409, "token_missing").await;
    let warm = app
        .admin_post("/admin/accounts/tags/hashtags/early/warm")
        .await;
    assert_problem(warm, 409, "token_missing").await;
    let search = app.get(&public_search("%23early", "")).await;
    assert_eq!(retry_after(&search), 60);
    assert_problem(search, 503, "public_search_unavailable").await;

    let state = app.account_state("tags").await;
    let response = app.callback(&[("code", FB_CODE), ("state", &state)]).await;
    assert_eq!(response.status(), 200);

    eventually("Meta's tags counted", || async {
        app.hashtag_budget("tags").await["used"] == 2
    })
    .await;
    let budget = app.hashtag_budget("tags").await;
    let tags = budget["tags"].as_array().unwrap();
    assert!(tags.iter().all(|t| t["tag"].is_null()), "{budget}");
    let mut counted: Vec<&str> = tags
        .iter()
        .map(|t| t["hashtag_id"].as_str().unwrap())
        .collect();
    counted.sort_unstable();
    let mut expected: Vec<&str> = meta_ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(counted, expected);
    assert_eq!(
        budget["left_for_visitors"], 23,
        "30, less the reserve of 5 and Meta's 2"
    );
    assert_eq!(
        calls_to(
            &env.upstream,
            &format!("/v25.0/{IG_BUSINESS_ID}/recently_searched_hashtags")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn meta_reporting_the_limit_refuses_the_tag_without_counting_it_and_reconciles_once() {
    let env = TestEnv::new().await;
    hashtag_search_answering("limited", hashtag_limit_reached(), 1)
        .mount(&env.upstream)
        .await;
    let meta_ids: Vec<String> = (0..30)
        .map(|i| hashtag_id(&format!("elsewhere{i}")))
        .collect();
    recently_searched(&meta_ids, 1).mount(&env.upstream).await;
    let app = tags_app(&env, |s| s.hashtags.operator_reserve = 0).await;
    assert_eq!(app.hashtag_budget("tags").await["used"], 0);

    let response = app.get(&public_search("%23limited", "")).await;
    let wait = retry_after(&response);
    assert!(
        (WEEK_SECS - 300..=WEEK_SECS).contains(&wait),
        "Retry-After {wait}"
    );
    assert_problem(response, 429, "hashtag_budget_exhausted").await;
    let recently = format!("/v25.0/{IG_BUSINESS_ID}/recently_searched_hashtags");
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
    assert_eq!(calls_to(&env.upstream, &recently).await, 1);

    let budget = app.hashtag_budget("tags").await;
    assert_eq!(budget["used"], 30, "{budget}");
    let tags = budget["tags"].as_array().unwrap();
    assert!(
        tags.iter().all(|t| t["tag"].is_null()),
        "not `limited`: {budget}"
    );
    let mut counted: Vec<String> = tags
        .iter()
        .map(|t| t["hashtag_id"].as_str().unwrap().to_owned())
        .collect();
    counted.sort();
    let mut expected = meta_ids.clone();
    expected.sort();
    assert_eq!(counted, expected);

    // Asked again: refused by the budget now, without a word to Meta.
    let again = app.get(&public_search("limited", "")).await;
    assert_problem(again, 429, "hashtag_budget_exhausted").await;
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
    assert_eq!(calls_to(&env.upstream, &recently).await, 1);
}

// ---- Meta's errors ----------------------------------------------------------------------------

#[tokio::test]
async fn a_tag_meta_refuses_is_unavailable_and_remembered() {
    let env = TestEnv::new().await;
    hashtag_search_answering(
        "blocked",
        graph_error(400, 100, Some(2_207_006), "Invalid parameter"),
        1,
    )
    .mount(&env.upstream)
    .await;
    let app = tags_app(&env, |_| {}).await;

    for q in ["%23blocked", "BLOCKED"] {
        let body = assert_problem(
            app.get(&public_search(q, "")).await,
            422,
            "hashtag_unavailable",
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("#blocked"),
            "{body}"
        );
    }
    let other = replica(&env, |_| {}).await;
    assert_problem(
        other.get(&public_search("%23blocked", "&order=top")).await,
        422,
        "hashtag_unavailable",
    )
    .await;
    let warm = app
        .admin_post("/admin/accounts/tags/hashtags/blocked/warm")
        .await;
    assert_problem(warm, 422, "hashtag_unavailable").await;
    assert_eq!(hashtag_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn a_tag_meta_does_not_know_is_not_found_and_remembered() {
    let env = TestEnv::new().await;
    hashtag_search_answering(
        "nothinghere",
        ResponseTemplate::new(200).set_body_json(json!({"data": []})),
        1,
    )
    .mount(&env.upstream)
    .await;
    let app = tags_app(&env, |_| {}).await;

    for q in ["%23nothinghere", "NothingHere"] {
        let body = assert_problem(
            app.get(&public_search(q, "")).await,
            404,
            "hashtag_not_found",
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("#nothinghere"),
            "{body}"
        );
    }
    let other = replica(&env, |_| {}).await;
    assert_problem(
        other.get(&public_search("%23nothinghere", "")).await,
        404,
        "hashtag_not_found",
    )
    .await;
    assert_eq!(hashtag_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn an_invalid_token_is_marked_and_then_public_search_is_unavailable() {
    let env = TestEnv::new().await;
    hashtag_search_answering(
        "sunset",
        graph_error(
            400,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated",
        ),
        1,
    )
    .mount(&env.upstream)
    .await;
    hashtag_search("sunrise", 0).mount(&env.upstream).await;
    let app = tags_app(&env, |_| {}).await;

    // The call that learns it: Instagram's refusal, in the service's words.
    let first = app.get(&public_search("%23sunset", "")).await;
    assert_eq!(header(&first, "retry-after"), None);
    let body = assert_problem(first, 502, "upstream_error").await;
    assert_eq!(body["detail"], "Instagram rejected the access token");
    let record = env.stored_token_of("tags").await.unwrap();
    assert!(record.invalid, "the token is marked invalid");
    assert_eq!(
        app.hashtag_budget("tags").await["used"],
        0,
        "a lookup refused for its token is not counted"
    );

    // Then: no call to Meta until the operator logs in again.
    for q in ["%23sunset", "%23sunrise"] {
        let response = app.get(&public_search(q, "")).await;
        assert_eq!(retry_after(&response), 60);
        assert_problem(response, 503, "public_search_unavailable").await;
    }
    let warm = app
        .admin_post("/admin/accounts/tags/hashtags/sunrise/warm")
        .await;
    assert_problem(warm, 409, "reauth_required").await;
    assert_eq!(hashtag_calls(&env.upstream).await, 1);
}

#[tokio::test]
async fn throttling_is_a_502_with_retry_after_and_is_not_retried() {
    let env = TestEnv::new().await;
    let throttled = || graph_error(403, 4, None, "(#4) Application request limit reached");
    // On the media edge, with X-App-Usage (no time to regain access in it).
    hashtag_search("slowone", 1).mount(&env.upstream).await;
    hashtag_media_answering(
        "slowone",
        TOP,
        throttled().insert_header(
            "X-App-Usage",
            r#"{"call_count":100,"total_cputime":20,"total_time":35}"#,
        ),
        1,
    )
    .mount(&env.upstream)
    .await;
    // On the id lookup, plain.
    hashtag_search_answering("slowtwo", throttled(), 1)
        .mount(&env.upstream)
        .await;
    // With Meta's estimate of when access is regained (minutes).
    hashtag_search_answering(
        "slowthree",
        throttled().insert_header(
            "X-Business-Use-Case-Usage",
            format!(
                r#"{{"{IG_BUSINESS_ID}":[{{"type":"instagram","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}}]}}"#
            ),
        ),
        1,
    )
    .mount(&env.upstream)
    .await;
    let app = tags_app(&env, |_| {}).await;

    for (tag, wait) in [("slowone", 60), ("slowtwo", 60), ("slowthree", 19 * 60)] {
        let response = app.get(&public_search(tag, "")).await;
        assert_eq!(retry_after(&response), wait, "{tag}");
        let body = assert_problem(response, 502, "upstream_error").await;
        assert_eq!(
            body["detail"], "Instagram is rate-limiting this app; try again later",
            "{tag}"
        );
    }
    assert_eq!(calls_to(&env.upstream, &edge_path("slowone", TOP)).await, 1);
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 3);
    // Meta looked up `slowone` (it counts); it refused the other two lookups outright, so
    // they do not take a slot of the week.
    let budget = app.hashtag_budget("tags").await;
    assert_eq!(budget["used"], 1, "{budget}");
    assert_eq!(budget["tags"][0]["tag"], "slowone");
}

#[tokio::test]
async fn a_failing_media_edge_is_tried_three_times_then_502() {
    let env = TestEnv::new().await;
    hashtag_search("broken", 1).mount(&env.upstream).await;
    hashtag_media_answering("broken", TOP, ResponseTemplate::new(500), 3)
        .mount(&env.upstream)
        .await;
    let app = tags_app(&env, |_| {}).await;

    let response = app.get(&public_search("%23broken", "")).await;
    assert_eq!(retry_after(&response), 5);
    let body = assert_problem(response, 502, "upstream_error").await;
    assert_eq!(body["detail"], "Instagram is temporarily unavailable");
    assert_eq!(calls_to(&env.upstream, &edge_path("broken", TOP)).await, 3);
    assert_eq!(calls_to(&env.upstream, "/v25.0/ig_hashtag_search").await, 1);
}

#[tokio::test]
async fn deleting_the_account_deletes_its_stored_hashtag_results() {
    use redis::AsyncCommands as _;
    let env = TestEnv::new().await;
    hashtag_search("matcha", 1).mount(&env.upstream).await;
    let posts = public_posts(5, 18_300_000_000_000_005, "matcha");
    mount_hashtag_media(&env.upstream, "matcha", "top_media", &posts, 1).await;
    let app = tags_app(&env, |_| {}).await;
    assert_eq!(app.get(&public_search("%23matcha", "")).await.status(), 200);
    let stored = env.key_of("tags", "hashtags:top:matcha");
    let mut redis = env.redis().await;
    let exists: bool = redis.exists(&stored).await.unwrap();
    assert!(exists, "the results are shared through the store");

    let deleted = app
        .admin_send(reqwest::Method::DELETE, "/admin/accounts/tags", None)
        .await;
    assert_eq!(deleted.status(), 204);
    let exists: bool = redis.exists(&stored).await.unwrap();
    assert!(!exists, "the results went with the account");
    let index: bool = redis
        .exists(env.key_of("tags", "hashtags:index"))
        .await
        .unwrap();
    assert!(!index);
}
