//! Abuse: per-client rate limits, size limits, bounded memory under random queries.

use crate::helpers::*;

#[tokio::test]
async fn search_and_admin_are_rate_limited_images_are_not() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_030_000), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.rate_limit.search_per_minute = 3;
            s.rate_limit.admin_per_minute = 2;
        })
        .await;
    for _ in 0..3 {
        assert_eq!(app.get("/search?q=post").await.status(), 200);
    }
    let limited = app.get("/search?q=post").await;
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body = assert_problem(limited, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("retry"));

    for _ in 0..2 {
        assert_eq!(app.admin_get("/admin/status").await.status(), 200);
    }
    assert_problem(app.admin_get("/admin/status").await, 429, "rate_limited").await;

    for _ in 0..50 {
        assert_eq!(
            app.get("/images").await.status(),
            200,
            "no limit on /images by default"
        );
    }
}

#[tokio::test]
async fn oversized_uris_and_headers_are_refused() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(quiet_feed).await;
    let long = format!("/oauth/callback?code={}", "a".repeat(40_000));
    let response = app.get(&long).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_problem(response, 414, "uri_too_long").await;
    let header = app
        .http
        .get(app.url("/healthz"))
        .header("X-Big", "b".repeat(40_000))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert!(matches!(header, Ok(400 | 431) | Err(_)), "{header:?}");
    // The service is still fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn ten_thousand_random_queries_keep_the_cache_within_its_byte_bound() {
    let env = TestEnv::new().await;
    let items: Vec<serde_json::Value> = (0..200)
        .map(|i| {
            image_post(
                17_900_000_000_040_000 - i,
                i as i64 + 1,
                Some(&format!("word{} common", i % 50)),
            )
        })
        .collect();
    mount_media(&env.upstream, &items, 100, 1..).await;
    env.store_token(2, 58).await;
    let bound: u64 = 1024 * 1024;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.rate_limit.search_per_minute = 0;
            s.feed.cache_max_bytes = bound;
        })
        .await;
    let queries: Vec<String> = (0..10_000u32)
        .map(|i| match i % 4 {
            0 => format!("/search?q=common+word{}&limit={}", i % 50, 1 + i % 100),
            1 => format!("/images?limit={}&type=image", 1 + i % 100),
            2 => format!("/search?q=zz{i}"),
            _ => format!("/images?limit={}&junk{i}=1", 1 + i % 100),
        })
        .collect();
    for chunk in queries.chunks(200) {
        let responses = futures_util::future::join_all(chunk.iter().map(|q| app.get(q))).await;
        for r in responses {
            assert!(matches!(r.status().as_u16(), 200 | 400), "{}", r.status());
        }
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let cached: f64 = metrics
        .lines()
        .find(|l| l.starts_with("igw_feed_cache_bytes "))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cached > 0.0 && cached <= bound as f64,
        "cache holds {cached} bytes, bound {bound}"
    );
}

#[tokio::test]
async fn behind_a_proxy_limits_key_on_the_address_it_appended() {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(1, 17_900_000_000_031_000), 100, 1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            s.rate_limit.search_per_minute = 2;
            s.rate_limit.trust_forwarded_for = true;
        })
        .await;
    let search = |xff: &'static str| {
        app.http
            .get(app.url("/search?q=post"))
            .header("X-Forwarded-For", xff)
            .send()
    };
    // One client behind the proxy, forging the left part of the header each time.
    for forged in ["1.1.1.1, 203.0.113.7", "2.2.2.2, 203.0.113.7"] {
        assert_eq!(search(forged).await.unwrap().status(), 200);
    }
    assert_eq!(
        search("3.3.3.3, 203.0.113.7").await.unwrap().status(),
        429,
        "forging does not help"
    );
    // Another client has its own budget.
    assert_eq!(search("203.0.113.8").await.unwrap().status(), 200);
}
