//! The built-in sandbox: `cargo run` connects its account at start-up, the operator's
//! re-authorization round trip works against it, and its CDN serves the feed's pictures as
//! JPEGs that expire like Instagram's. (Instagram itself is faked with wiremock in every other
//! test; this checks the sandbox, not the service's handling of Instagram.)

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn sandbox_connects_at_startup_and_reauth_round_trips() {
    let env = TestEnv::new().await;
    let app = env.spawn_sandbox().await;
    let mut connected = false;
    for _ in 0..100 {
        if app.status().await["token"]["state"] == "valid" {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(connected, "sandbox account connected at start-up");
    let first = app.status().await["token"]["obtained_at"].clone();

    // The operator's browser: open the authorize URL, follow the redirect to the callback.
    let authorize = app.reauth().await;
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/sandbox/oauth/authorize", app.address))
    );
    let redirect = app.http.get(authorize).send().await.unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/oauth/callback?code=", app.address)),
        "{location}"
    );
    let callback = app
        .http
        .get(location.trim_end_matches("#_"))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 200);
    assert!(callback.text().await.unwrap().contains("@sandbox.gallery"));
    let status = app.status().await;
    assert_eq!(status["token"]["state"], "valid");
    assert_ne!(
        status["token"]["obtained_at"], first,
        "a new token was stored"
    );
}

/// The sandbox feed's first page of 100 (all 60 posts), once the start-up sync has run.
async fn sandbox_feed(app: &TestApp) -> Vec<Value> {
    for _ in 0..100 {
        let response = app.get("/images?limit=100").await;
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            return body["data"].as_array().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sandbox feed never answered");
}

fn post<'a>(feed: &'a [Value], caption_start: &str) -> &'a Value {
    feed.iter()
        .find(|p| {
            p["caption"]
                .as_str()
                .is_some_and(|c| c.starts_with(caption_start))
        })
        .unwrap_or_else(|| panic!("no post {caption_start:?}"))
}

#[tokio::test]
async fn sandbox_cdn_serves_jpegs_at_instagrams_sizes_until_they_expire() {
    let env = TestEnv::new().await;
    let app = env.spawn_sandbox().await;
    let feed = sandbox_feed(&app).await;
    let url = |post: &Value, field: &str| post[field].as_str().unwrap().to_owned();
    let stills = [
        (url(post(&feed, "First frost"), "media_url"), (1080, 1080)),
        (url(post(&feed, "golden hour"), "media_url"), (1080, 1350)),
        (url(post(&feed, "Olive grove"), "media_url"), (1080, 566)),
        (
            url(post(&feed, "Waves, on repeat"), "thumbnail_url"),
            (1080, 1350),
        ),
        (
            url(post(&feed, "Behind the scenes"), "thumbnail_url"),
            (1080, 1920),
        ),
    ];
    let mut bodies = Vec::new();
    for (url, size) in &stills {
        assert!(
            url.starts_with(&format!("{}/sandbox/cdn/", app.address)),
            "{url}"
        );
        assert!(url.contains(".jpg?") && url.contains("&oe="), "{url}");
        let response = app.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "image/jpeg");
        assert_eq!(headers["cache-control"], "public, max-age=86400");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.get("content-security-policy").is_none());
        let body = response.bytes().await.unwrap();
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
        let picture = image::load_from_memory(&body).unwrap();
        assert_eq!((picture.width(), picture.height()), *size, "{url}");

        // HEAD: the same status and headers, no body.
        let head = app.http.head(url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        for name in ["content-type", "content-length", "cache-control"] {
            assert_eq!(head.headers().get(name), headers.get(name), "HEAD {name}");
        }
        assert!(head.bytes().await.unwrap().is_empty());
        bodies.push(body);
    }
    // Different posts, different pictures; the same URL, the same bytes.
    assert_ne!(bodies[0], bodies[1]);
    let again = app.http.get(&stills[0].0).send().await.unwrap();
    assert_eq!(again.bytes().await.unwrap(), bodies[0]);

    // Past `oe` (0x5F5E1000 is 2020-09-13): 403, like Instagram's CDN.
    let mut expired = url::Url::parse(&stills[0].0).unwrap();
    let query: Vec<(String, String)> = expired
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "oe" => (k.into_owned(), "5F5E1000".to_owned()),
            _ => (k.into_owned(), v.into_owned()),
        })
        .collect();
    expired.query_pairs_mut().clear().extend_pairs(&query);
    let response = app.http.get(expired).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.text().await.unwrap(), "URL signature expired");

    // Unknown files and the videos themselves: 404.
    let video = url(post(&feed, "Waves, on repeat"), "media_url");
    assert!(video.contains(".mp4?"), "{video}");
    for missing in [app.url("/sandbox/cdn/123.jpg"), video] {
        assert_eq!(
            app.http.get(&missing).send().await.unwrap().status(),
            404,
            "{missing}"
        );
    }
}
