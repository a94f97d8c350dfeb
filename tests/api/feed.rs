//! Reads: the media schema, paging, filters, search, bad parameters, HTTP caching.

use serde_json::{Value, json};

use crate::helpers::*;

/// One of each kind, as Instagram sends them (fields missing where Instagram omits them).
fn every_kind() -> Vec<Value> {
    let oe = format!("{:X}", far_expiry());
    vec![
        // An image without caption or permalink.
        json!({"id": "17900000000000009", "media_type": "IMAGE", "timestamp": "2026-11-20T10:00:00+0000",
               "media_url": format!("https://cdn.example/9.jpg?oe={oe}"), "username": USERNAME}),
        // A reel whose media_url is withheld (copyrighted audio).
        json!({"id": "17900000000000008", "media_type": "VIDEO", "timestamp": "2026-11-19T10:00:00+0000",
               "thumbnail_url": format!("https://cdn.example/8.jpg?oe={oe}"), "caption": "Reel time #Reels",
               "permalink": "https://www.instagram.com/reel/R8/", "username": USERNAME}),
        // An album: its cover's media_url, a video child and an image child.
        json!({"id": "17900000000000007", "media_type": "CAROUSEL_ALBUM", "timestamp": "2026-11-18T10:00:00+0000",
        "media_url": format!("https://cdn.example/7.jpg?oe={oe}"), "caption": "Three of them #café#Beach. 🌅",
        "permalink": "https://www.instagram.com/p/P7/", "username": USERNAME,
        "children": {"data": [
            {"id": "17900000000000071", "media_type": "VIDEO", "media_url": format!("https://cdn.example/71.mp4?oe={oe}"),
             "thumbnail_url": format!("https://cdn.example/71.jpg?oe={oe}")},
            {"id": "17900000000000072", "media_type": "IMAGE", "media_url": format!("https://cdn.example/72.jpg?oe={oe}")}
        ]}}),
        // An unknown kind and an object without timestamp: left out.
        json!({"id": "17900000000000006", "media_type": "STORY", "timestamp": "2026-11-17T10:00:00+0000"}),
        json!({"id": "17900000000000005", "media_type": "IMAGE"}),
    ]
}

async fn app_with(items: &[Value], page_size: usize) -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, items, page_size, 1..).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(quiet_feed).await;
    (env, app)
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_kind_of_post_is_normalized() {
    let (_env, app) = app_with(&every_kind(), 100).await;
    let body = json_of(app.get("/images").await).await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3, "{body}");
    assert_eq!(body["paging"]["next_cursor"], Value::Null);

    let image = &data[0];
    assert_eq!(image["timestamp"], "2026-11-20T10:00:00Z");
    assert_eq!(image["caption"], Value::Null);
    assert_eq!(image["permalink"], Value::Null);
    assert_eq!(image["hashtags"], json!([]));
    assert_eq!(image["children"], json!([]));
    assert_eq!(image["display_url"], image["media_url"]);

    let reel = &data[1];
    assert_eq!(reel["media_type"], "VIDEO");
    assert_eq!(reel["media_url"], Value::Null);
    assert_eq!(reel["display_url"], reel["thumbnail_url"]);
    assert_eq!(reel["hashtags"], json!(["reels"]));

    let album = &data[2];
    assert_eq!(album["media_type"], "CAROUSEL_ALBUM");
    assert_eq!(album["hashtags"], json!(["café", "beach"]));
    let children = album["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0]["display_url"], children[0]["thumbnail_url"]);
    assert_eq!(children[1]["display_url"], children[1]["media_url"]);
    assert_eq!(
        album["display_url"], children[0]["thumbnail_url"],
        "an album shows its first child"
    );
    assert!(
        album["media_url"].as_str().unwrap().contains("/7.jpg"),
        "albums keep their cover's media_url"
    );

    let one = json_of(app.get("/images/17900000000000007").await).await;
    assert_eq!(&one, album);
}

#[tokio::test]
async fn pages_filters_and_cursors() {
    let (_env, app) = app_with(&posts(7, 17_900_000_000_000_100), 100).await;
    let first = json_of(app.get("/images?limit=3").await).await;
    let ids = |b: &Value| -> Vec<String> {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first).len(), 3);
    let cursor = first["paging"]["next_cursor"].as_str().unwrap().to_owned();
    let second = json_of(app.get(&format!("/images?limit=3&cursor={cursor}")).await).await;
    let third = json_of(
        app.get(&format!(
            "/images?limit=3&cursor={}",
            second["paging"]["next_cursor"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(third["paging"]["next_cursor"], Value::Null);
    let all: Vec<String> = [ids(&first), ids(&second), ids(&third)].concat();
    let expected: Vec<String> = (0..7)
        .map(|i| (17_900_000_000_000_100u64 - i).to_string())
        .collect();
    assert_eq!(all, expected, "newest first, each post exactly once");

    let default_page = json_of(app.get("/images").await).await;
    assert_eq!(default_page["data"].as_array().unwrap().len(), 7);
    let videos = json_of(app.get("/images?type=video").await).await;
    assert_eq!(videos["data"], json!([]));
    let images = json_of(app.get("/images?type=image&limit=100").await).await;
    assert_eq!(images["data"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn search_by_words_and_hashtags() {
    let items = vec![
        image_post(
            17_900_000_000_000_205,
            1,
            Some("Café crème at dawn #Morning"),
        ),
        image_post(
            17_900_000_000_000_204,
            2,
            Some("golden hour #sunset#beach."),
        ),
        image_post(17_900_000_000_000_203, 3, Some("cafe life #café")),
        image_post(17_900_000_000_000_202, 4, Some("#sunsets are not #sunset")),
        image_post(17_900_000_000_000_201, 5, None),
    ];
    let (_env, app) = app_with(&items, 100).await;
    let search = |q: &str| {
        let q = url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
        let app = &app;
        async move {
            let body = json_of(app.get(&format!("/search?q={q}")).await).await;
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap()[15..].to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        search("CAFE").await,
        vec!["05", "03"],
        "case- and accent-insensitive whole words"
    );
    assert_eq!(
        search("café crème").await,
        vec!["05"],
        "every word must occur"
    );
    assert_eq!(search("#café").await, vec!["03"], "hashtags match exactly");
    assert_eq!(search("#SUNSET").await, vec!["04", "02"]);
    assert_eq!(
        search("sunset").await,
        vec!["04", "02"],
        "hashtag words are words"
    );
    assert_eq!(
        search("sun").await,
        Vec::<String>::new(),
        "whole words only"
    );
    assert_eq!(search("#beach").await, vec!["04"]);
    assert_eq!(search("nothing-like-this").await, Vec::<String>::new());

    let paged = json_of(app.get("/search?q=%23sunset&limit=1").await).await;
    let cursor = paged["paging"]["next_cursor"].as_str().unwrap();
    let next = json_of(
        app.get(&format!("/search?q=%23sunset&limit=1&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(next["data"][0]["id"], "17900000000000202");
    assert_eq!(next["paging"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_parameters_are_400_problems() {
    let (_env, app) = app_with(&posts(3, 17_900_000_000_000_300), 100).await;
    let long_q = "a".repeat(101);
    for path in [
        "/images?limit=0",
        "/images?limit=101",
        "/images?limit=-1",
        "/images?limit=ten",
        "/images?limit=20&limit=30",
        "/images?type=reel",
        "/images?type=IMAGE",
        "/images?cursor=!!!",
        "/images?cursor=bm9wZQ",
        "/images?cursor=%2F..%2F",
        "/images?unknown=1",
        "/images/abc",
        "/images/123%2F..",
        "/search",
        "/search?q=",
        &format!("/search?q={long_q}"),
        "/search?q=x&source=hashtag",
        "/search?q=x&page=2",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_problem(response, 400, "invalid_request").await;
    }
    assert_problem(app.get("/images/17900000000000999").await, 404, "not_found").await;
    // Only punctuation or emoji: nothing to match, so nothing found (not an error).
    for q in ["%21%21%21", "%F0%9F%8C%85", "%C2%8D", "%20"] {
        let body: serde_json::Value = app
            .get(&format!("/search?q={q}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["data"], serde_json::json!([]), "{q}");
    }
    // 100 characters is fine.
    assert_eq!(
        app.get(&format!("/search?q={}", "a".repeat(100)))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn etags_revalidate_and_are_identical_across_instances() {
    let (env, app) = app_with(&posts(5, 17_900_000_000_000_400), 100).await;
    let first = app.get("/images?limit=2").await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert_eq!(
        first.headers()["cache-control"],
        "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"
    );
    assert_eq!(first.headers()["cache-status"], "instagram-gateway; hit");
    assert!(
        first.headers().get("age").is_none(),
        "fresh responses carry no Age"
    );

    let revalidated = app
        .http
        .get(app.url("/images?limit=2"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.unwrap().is_empty());

    let other_query = app.get("/images?limit=3").await;
    assert_ne!(other_query.headers()["etag"], etag.as_str());

    // A second instance on the same Redis serves the same bytes with the same ETag.
    let second = env.spawn_with(quiet_feed).await;
    let response = second.get("/images?limit=2").await;
    assert_eq!(response.headers()["etag"], etag.as_str());
    assert_eq!(
        media_calls(&env.upstream).await,
        1,
        "the second instance used the stored snapshot"
    );
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let (_env, app) = app_with(&posts(1, 17_900_000_000_000_500), 100).await;
    let allowed = app
        .http
        .get(app.url("/images"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        allowed
            .headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Origin"))
    );
    let evil = app
        .http
        .get(app.url("/images"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn gzip_is_precomputed_for_clients_that_accept_it() {
    let (_env, app) = app_with(&posts(30, 17_900_000_000_600_000), 100).await;
    let plain = app.get("/images?limit=30").await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_etag = plain.headers()["etag"].clone();
    let plain_body = plain.bytes().await.unwrap();

    let gz = app
        .http
        .get(app.url("/images?limit=30"))
        .header("Accept-Encoding", "br;q=1.0, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let vary: Vec<String> = gz
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("Accept-Encoding")),
        "{vary:?}"
    );
    let gz_etag = gz.headers()["etag"].clone();
    assert_ne!(gz_etag, plain_etag, "each encoding has its own strong ETag");
    let compressed = gz.bytes().await.unwrap();
    assert!(
        compressed.len() < plain_body.len() / 2,
        "{} vs {}",
        compressed.len(),
        plain_body.len()
    );
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, plain_body);

    let revalidated = app
        .http
        .get(app.url("/images?limit=30"))
        .header("Accept-Encoding", "gzip")
        .header("If-None-Match", gz_etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], gz_etag);
    let refused = app
        .http
        .get(app.url("/images?limit=30"))
        .header("Accept-Encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}
