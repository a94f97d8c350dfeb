//! Re-hosted pictures end to end: the CDN faked with wiremock serving real JPEGs, the copies
//! in a directory store, the feed's `image` objects, failures, replicas, retention, deletion.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{ImageEncoder as _, Rgb, RgbImage};
use instagram_gateway::config::{AssetStoreSettings, Settings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A photo-like JPEG (smooth gradients and texture), different per `seed`.
fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let texture = ((x * 7 + y * 13 + seed * 31) % 17) as f32;
        Rgb([
            (40.0 + 150.0 * fx + texture) as u8,
            (60.0 + 120.0 * fy + (seed % 50) as f32) as u8,
            (90.0 + 100.0 * (1.0 - fx) * fy + texture) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// `<cdn>/v/t51/<file>?oe=<far>`: the shape of an Instagram CDN URL, on the fake.
fn cdn_url(upstream: &MockServer, file: &str, version: &str) -> String {
    format!(
        "{}/v/t51/{file}?_nc_sid=8ae9d6&v={version}&oe={:X}",
        upstream.uri(),
        far_expiry()
    )
}

/// Serves `body` at the CDN path of `file`, expected `times` times.
async fn cdn(
    upstream: &MockServer,
    file: &str,
    response: ResponseTemplate,
    times: impl Into<wiremock::Times>,
) {
    Mock::given(method("GET"))
        .and(path(format!("/v/t51/{file}")))
        .respond_with(response)
        .expect(times)
        .mount(upstream)
        .await;
}

fn picture(bytes: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(bytes, "image/jpeg")
}

fn with_url(mut post: Value, field: &str, url: String) -> Value {
    post[field] = json!(url);
    post
}

/// Re-hosting on, copies in `dir`, quick polling.
fn rehosting(dir: &Path) -> impl FnOnce(&mut Settings) + use<> {
    let dir = dir.to_owned();
    move |s: &mut Settings| {
        s.assets.enabled = true;
        s.assets.store = AssetStoreSettings::Fs { path: dir };
        s.assets.workers = 2;
        s.feed.version_poll = Duration::from_millis(200);
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("igw-assets-{name}-")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The keys of the copies stored in `dir`.
fn stored(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir.join("assets")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

async fn images(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get("/images?limit=50").await.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

/// Waits until the status says `ready` pictures are ready and `failed` failed.
async fn wait_for(app: &TestApp, ready: u64, failed: u64) {
    let mut status = Value::Null;
    for _ in 0..200 {
        status = app.status().await;
        if status["assets"]["ready"] == ready && status["assets"]["failed"] == failed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {ready} ready and {failed} failed: {status}");
}

fn sizes(image: &Value) -> Vec<(u64, u64)> {
    image["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn every_picture_gets_webp_sizes_and_the_feed_points_at_them() {
    let env = TestEnv::new().await;
    let dir = temp_dir("sizes");
    let items = vec![
        with_url(
            image_post(900, 1, Some("portrait")),
            "media_url",
            cdn_url(&env.upstream, "900.jpg", "1"),
        ),
        json!({
            "id": "901", "media_type": "VIDEO", "timestamp": "2026-11-29T10:00:00+0000",
            "media_url": cdn_url(&env.upstream, "901.mp4", "1"),
            "thumbnail_url": cdn_url(&env.upstream, "901_thumb.jpg", "1"),
        }),
        json!({
            "id": "902", "media_type": "CAROUSEL_ALBUM", "timestamp": "2026-11-28T10:00:00+0000",
            "media_url": cdn_url(&env.upstream, "9021.jpg", "cover"),
            "children": {"data": [
                {"id": "9021", "media_type": "IMAGE", "media_url": cdn_url(&env.upstream, "9021.jpg", "1")},
                {"id": "9022", "media_type": "IMAGE", "media_url": cdn_url(&env.upstream, "9022.jpg", "1")},
            ]},
        }),
        with_url(
            image_post(903, 100, Some("narrow")),
            "media_url",
            cdn_url(&env.upstream, "903.jpg", "1"),
        ),
    ];
    mount_media(&env.upstream, &items, 100, 1..).await;
    // Each picture is downloaded once; the album's cover is its first child's picture.
    cdn(&env.upstream, "900.jpg", picture(jpeg(1080, 1350, 1)), 1).await;
    cdn(
        &env.upstream,
        "901_thumb.jpg",
        picture(jpeg(1080, 1920, 2)),
        1,
    )
    .await;
    cdn(&env.upstream, "9021.jpg", picture(jpeg(1080, 1080, 3)), 1).await;
    cdn(&env.upstream, "9022.jpg", picture(jpeg(1080, 566, 4)), 1).await;
    cdn(&env.upstream, "903.jpg", picture(jpeg(400, 500, 5)), 1).await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(rehosting(&dir)).await;

    assert_eq!(app.get("/images").await.status(), 200);
    wait_for(&app, 5, 0).await;
    let feed = images(&app).await;
    let by_id = |id: &str| feed.iter().find(|m| m["id"] == id).unwrap().clone();

    let portrait = by_id("900");
    assert_eq!(portrait["image"]["width"], 1080);
    assert_eq!(portrait["image"]["height"], 1350);
    assert_eq!(
        sizes(&portrait["image"]),
        vec![(320, 400), (640, 800), (1080, 1350)]
    );
    let largest = portrait["image"]["sizes"][2]["url"].as_str().unwrap();
    assert_eq!(
        portrait["display_url"], largest,
        "display_url is the largest copy"
    );
    assert!(
        portrait["media_url"]
            .as_str()
            .unwrap()
            .starts_with(&env.upstream.uri()),
        "media_url stays Instagram's"
    );
    let placeholder = portrait["image"]["placeholder"].as_str().unwrap();
    assert!(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, placeholder).is_ok()
    );
    let color = portrait["image"]["color"].as_str().unwrap();
    assert!(color.len() == 7 && color.starts_with('#'), "{color}");

    let poster = by_id("901");
    assert_eq!(
        sizes(&poster["image"]),
        vec![(320, 569), (640, 1138), (1080, 1920)]
    );
    assert!(
        poster["media_url"].as_str().unwrap().contains(".mp4"),
        "videos stay on the CDN"
    );

    let album = by_id("902");
    let children = album["children"].as_array().unwrap();
    assert_eq!(album["image"], children[0]["image"]);
    assert_eq!(
        sizes(&children[0]["image"]),
        vec![(320, 320), (640, 640), (1080, 1080)]
    );
    let landscape = sizes(&children[1]["image"]);
    assert_eq!(landscape.len(), 3);
    for ((w, h), expected) in landscape.iter().zip([320u64, 640, 1080]) {
        assert_eq!(*w, expected);
        let exact = expected as f64 * 566.0 / 1080.0;
        assert!((*h as f64 - exact).abs() <= 1.0, "{w}x{h}");
    }
    assert_eq!(
        children[1]["display_url"],
        children[1]["image"]["sizes"][2]["url"]
    );

    let narrow = by_id("903");
    assert_eq!(
        sizes(&narrow["image"]),
        vec![(320, 400), (400, 500)],
        "never upscaled"
    );

    // Every URL points at the gateway, and every copy is in the store, a WebP of its size.
    let files = stored(&dir);
    let mut urls = 0;
    for item in &feed {
        for image in std::iter::once(&item["image"]).chain(
            item["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| &c["image"]),
        ) {
            for size in image["sizes"].as_array().unwrap() {
                let url = size["url"].as_str().unwrap();
                let file = url
                    .strip_prefix(&format!("{}/assets/", app.address))
                    .unwrap_or_else(|| panic!("{url}"));
                assert!(files.contains(file), "{file} stored");
                let bytes = std::fs::read(dir.join("assets").join(file)).unwrap();
                let decoded =
                    image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP).unwrap();
                assert_eq!(
                    (u64::from(decoded.width()), u64::from(decoded.height())),
                    (
                        size["width"].as_u64().unwrap(),
                        size["height"].as_u64().unwrap()
                    )
                );
                urls += 1;
            }
        }
    }
    assert!(urls >= 14, "{urls}");
    assert_eq!(files.len(), 14, "5 pictures: 3 + 3 + 3 + 3 + 2 copies");

    let status = app.status().await;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(dir.join("assets").join(f)).unwrap().len())
        .sum();
    assert_eq!(status["assets"]["bytes"], bytes);
    assert_eq!(status["assets"]["pending"], 0);
    assert_eq!(status["assets"]["store"], "fs");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("igw_assets_processed_total{outcome=\"ready\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!("igw_assets_stored_bytes {bytes}")));
    // Every record in Redis expires some day (the janitor renews them while they are used).
    let mut redis = env.redis().await;
    let keys: Vec<String> =
        redis::AsyncCommands::keys(&mut redis, format!("{}assets:*", env.prefix))
            .await
            .unwrap();
    assert!(keys.len() >= 2, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::AsyncCommands::ttl(&mut redis, &key).await.unwrap();
        assert_ne!(ttl, -1, "{key} has no TTL");
    }
    env.upstream.verify().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn failures_keep_instagrams_url_are_counted_and_retried() {
    let env = TestEnv::new().await;
    let dir = temp_dir("failures");
    let files = [
        "expired",
        "missing",
        "truncated",
        "html",
        "huge",
        "slow",
        "fine",
    ];
    let items: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            with_url(
                image_post(800 + i as u64, i as i64 + 1, None),
                "media_url",
                cdn_url(&env.upstream, &format!("{file}.jpg"), "1"),
            )
        })
        .collect();
    mount_media(&env.upstream, &items, 100, 1..).await;
    let good = jpeg(600, 600, 7);
    // Once, and once more when an operator retries.
    cdn(
        &env.upstream,
        "expired.jpg",
        ResponseTemplate::new(403).set_body_string("URL signature expired"),
        2,
    )
    .await;
    // Missing once, then there: the retry endpoint brings it back.
    Mock::given(method("GET"))
        .and(path("/v/t51/missing.jpg"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .expect(1)
        .mount(&env.upstream)
        .await;
    cdn(&env.upstream, "missing.jpg", picture(good.clone()), 1).await;
    cdn(
        &env.upstream,
        "truncated.jpg",
        picture(good[..good.len() / 2].to_vec()),
        1..,
    )
    .await;
    cdn(
        &env.upstream,
        "html.jpg",
        ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"),
        1..,
    )
    .await;
    cdn(&env.upstream, "huge.jpg", picture(jpeg(2000, 2000, 8)), 1..).await;
    cdn(
        &env.upstream,
        "slow.jpg",
        picture(good.clone()).set_delay(Duration::from_secs(3)),
        1..,
    )
    .await;
    cdn(&env.upstream, "fine.jpg", picture(jpeg(500, 400, 9)), 1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            rehosting(&dir)(s);
            s.assets.max_pixels = 1_000_000;
            s.assets.fetch_timeout = Duration::from_millis(500);
            s.assets.workers = 7;
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    wait_for(&app, 1, 6).await;

    // The feed keeps serving every item, the failed ones with Instagram's URL.
    let response = app.get("/images?limit=50").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    for item in body["data"].as_array().unwrap() {
        if item["media_url"].as_str().unwrap().contains("fine.jpg") {
            assert!(item["image"].is_object());
        } else {
            assert_eq!(item["image"], Value::Null, "{item}");
            assert_eq!(item["display_url"], item["media_url"]);
        }
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for outcome in [
        "expired",
        "not_found",
        "corrupt",
        "not_a_picture",
        "too_large",
        "timeout",
    ] {
        assert!(
            metrics.contains(&format!(
                "igw_assets_processed_total{{outcome=\"{outcome}\"}} 1"
            )),
            "{outcome}: {metrics}"
        );
    }
    assert!(metrics.contains("igw_assets_failed 6"));
    // Logged once each, without the signed URL.
    let logs = captured_logs();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("picture not re-hosted"))
        .filter(|l| (800..806).any(|id| l.contains(&format!("\"{id}\""))))
        .collect();
    assert_eq!(warnings.len(), 6, "{warnings:?}");
    assert!(warnings.iter().all(|l| !l.contains("oe=")), "{warnings:?}");

    // No retry before the backoff is over...
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(calls_to(&env.upstream, "/v/t51/missing.jpg").await, 1);
    // ...unless an operator asks.
    let retry = app.admin_post("/admin/assets/retry").await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["requeued"], 6);
    // The missing one is back; the others fail again.
    wait_for(&app, 2, 5).await;
    env.upstream.verify().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_expired_url_is_retried_with_the_next_syncs_fresh_url() {
    let env = TestEnv::new().await;
    let dir = temp_dir("expired");
    let stale = with_url(
        image_post(700, 1, None),
        "media_url",
        cdn_url(&env.upstream, "700.jpg", "old"),
    );
    let fresh = with_url(
        image_post(700, 1, None),
        "media_url",
        cdn_url(&env.upstream, "700.jpg", "new"),
    );
    for (body, times) in [(stale, Some(1)), (fresh, None)] {
        let mut mock = Mock::given(method("GET"))
            .and(path("/v25.0/me/media"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [body]})));
        if let Some(times) = times {
            mock = mock.up_to_n_times(times);
        }
        mock.mount(&env.upstream).await;
    }
    Mock::given(method("GET"))
        .and(path("/v/t51/700.jpg"))
        .and(query_param("v", "old"))
        .respond_with(ResponseTemplate::new(403).set_body_string("URL signature expired"))
        .expect(1)
        .mount(&env.upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/v/t51/700.jpg"))
        .and(query_param("v", "new"))
        .respond_with(picture(jpeg(640, 640, 3)))
        .expect(1)
        .mount(&env.upstream)
        .await;
    env.store_token(2, 58).await;
    let app = env.spawn_with(rehosting(&dir)).await;
    assert_eq!(app.get("/images").await.status(), 200);
    wait_for(&app, 0, 1).await;
    // The backoff (60 s) is not over, but the next sync brings a fresh URL: tried at once.
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    wait_for(&app, 1, 0).await;
    assert!(images(&app).await[0]["image"].is_object());
    env.upstream.verify().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn three_replicas_process_each_picture_once_and_all_serve_it() {
    let env = TestEnv::new().await;
    let dir = temp_dir("replicas");
    let items: Vec<Value> = (0..6)
        .map(|i| {
            with_url(
                image_post(600 + i, i as i64 + 1, None),
                "media_url",
                cdn_url(&env.upstream, &format!("{i}.jpg"), "1"),
            )
        })
        .collect();
    mount_media(&env.upstream, &items, 100, 1..).await;
    for i in 0..6 {
        cdn(
            &env.upstream,
            &format!("{i}.jpg"),
            picture(jpeg(700, 500, i)),
            1,
        )
        .await;
    }
    env.store_token(2, 58).await;
    // Behind one public URL (here a CDN in front of the assets).
    let replica = || {
        let rehost = rehosting(&dir);
        move |s: &mut Settings| {
            rehost(s);
            s.assets.public_base_url = Some(url("https://cdn.example.com/pictures"));
        }
    };
    let replicas = [
        env.spawn_with(replica()).await,
        env.spawn_with(replica()).await,
        env.spawn_with(replica()).await,
    ];
    for app in &replicas {
        assert_eq!(app.get("/images").await.status(), 200);
    }
    for app in &replicas {
        eventually("every replica to serve every picture", || async {
            images(app).await.iter().all(|m| m["image"].is_object())
        })
        .await;
    }
    let first = images(&replicas[0]).await;
    let url = first[0]["image"]["sizes"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://cdn.example.com/pictures/"),
        "{url}"
    );
    for app in &replicas[1..] {
        assert_eq!(images(app).await, first, "the same JSON everywhere");
    }
    // Exactly one download per picture across the three replicas.
    env.upstream.verify().await;
    assert_eq!(stored(&dir).len(), 6 * 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn copies_no_snapshot_shows_expire_and_deauthorize_deletes_them_all() {
    let env = TestEnv::new().await;
    let dir = temp_dir("retention");
    let kept = with_url(
        image_post(500, 1, None),
        "media_url",
        cdn_url(&env.upstream, "kept.jpg", "1"),
    );
    let removed = with_url(
        image_post(501, 2, None),
        "media_url",
        cdn_url(&env.upstream, "removed.jpg", "1"),
    );
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [kept.clone(), removed]})),
        )
        .up_to_n_times(1)
        .mount(&env.upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [kept]})))
        .mount(&env.upstream)
        .await;
    cdn(&env.upstream, "kept.jpg", picture(jpeg(500, 500, 1)), 1).await;
    cdn(&env.upstream, "removed.jpg", picture(jpeg(500, 500, 2)), 1).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            rehosting(&dir)(s);
            s.assets.retention = Duration::from_secs(1);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    wait_for(&app, 2, 0).await;
    let before = stored(&dir);
    assert_eq!(before.len(), 4);
    let kept_files: BTreeSet<String> = sizes_urls(&images(&app).await[0]);

    // The post is deleted on Instagram: its copies go after the retention, the other's stay.
    assert_eq!(app.admin_post("/admin/sync").await.status(), 200);
    eventually("the removed post's copies to be deleted", || async {
        stored(&dir) == kept_files
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stored(&dir), kept_files, "copies still shown are kept");
    assert_eq!(app.status().await["assets"]["ready"], 1);

    // Served by the gateway (and now held in its in-process cache).
    let kept_url = images(&app).await[0]["display_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let served = app.http.get(&kept_url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/webp");

    // Deauthorize: every copy of the account, at once.
    let response = app
        .post_signed_request(
            "/oauth/deauthorize",
            &instagram_gateway::auth::signed_request::sign(
                &format!(
                    r#"{{"user_id":"{}","algorithm":"HMAC-SHA256","issued_at":{}}}"#,
                    env.user_id,
                    chrono::Utc::now().timestamp()
                ),
                CLIENT_SECRET.as_bytes(),
            ),
        )
        .await;
    assert_eq!(response.status(), 200);
    eventually("every copy to be deleted", || async {
        stored(&dir).is_empty()
    })
    .await;
    let gone = app.http.get(&kept_url).send().await.unwrap();
    assert_eq!(gone.status(), 404, "not served from memory either");
    assert_eq!(app.status().await["assets"]["bytes"], 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The file names of an item's copies.
fn sizes_urls(item: &Value) -> BTreeSet<String> {
    item["image"]["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_sandbox_re_hosts_its_pictures_with_no_instagram_at_all() {
    let env = TestEnv::new().await;
    // As `cargo run` starts: sandbox upstream, in-memory store, memory asset store.
    let app = env
        .spawn_with(|s| {
            s.instagram.mode = instagram_gateway::config::InstagramMode::Sandbox;
            s.redis.url = None;
            s.assets.enabled = true;
        })
        .await;
    let mut newest = Value::Null;
    for _ in 0..600 {
        let response = app.get("/images?limit=1").await;
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            newest = body["data"][0].clone();
            if newest["image"].is_object() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let image = &newest["image"];
    assert!(image.is_object(), "the newest post re-hosted: {newest}");
    let largest = image["sizes"].as_array().unwrap().last().unwrap();
    assert_eq!(largest["width"], 1080);
    let url = largest["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/assets/", app.address)),
        "{url}"
    );
    assert_eq!(newest["display_url"], url);
    assert_eq!(app.status().await["assets"]["store"], "memory");
}

#[tokio::test]
async fn public_hashtag_results_are_re_hosted_like_the_feeds_pictures() {
    let env = TestEnv::new().await;
    let dir = temp_dir("hashtags");
    let posts: Vec<Value> = (0..3u32)
        .map(|i| {
            let file = format!("h{i}.jpg");
            with_url(
                public_post(18_100_000_000_000_010 - u64::from(i), 1, "#latte"),
                "media_url",
                cdn_url(&env.upstream, &file, "1"),
            )
        })
        .collect();
    for i in 0..3u32 {
        cdn(
            &env.upstream,
            &format!("h{i}.jpg"),
            picture(jpeg(800, 1000, 40 + i)),
            1,
        )
        .await;
    }
    hashtag_search("latte", 1).mount(&env.upstream).await;
    mount_hashtag_media(&env.upstream, "latte", "top_media", &posts, 1).await;
    let rehost = rehosting(&dir);
    let app = env
        .spawn_with(|s| {
            rehost(s);
            quiet_feed(s);
        })
        .await;
    app.create_facebook_account("tags").await;
    env.store_facebook_token("tags", 50).await;

    let search = "/accounts/tags/search?q=%23latte&source=public";
    let first: Value = app.get(search).await.json().await.unwrap();
    assert!(first["data"][0]["image"].is_null(), "not re-hosted yet");
    let mut page = first;
    for _ in 0..200 {
        page = app.get(search).await.json().await.unwrap();
        if page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| !m["image"].is_null())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for post in data {
        let image = &post["image"];
        assert!(
            !image.is_null(),
            "every public post's picture is re-hosted: {post}"
        );
        assert_eq!(sizes(image), [(320, 400), (640, 800), (800, 1000)]);
        assert!(
            post["display_url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/assets/", app.address)),
            "display_url is the largest copy"
        );
    }
    assert_eq!(stored(&dir).len(), 9, "three sizes of three pictures");
}
