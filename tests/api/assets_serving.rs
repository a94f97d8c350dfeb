//! `GET /assets/{key}.webp`: the re-hosted pictures, served from an `fs` asset store the tests
//! write into directly (`<dir>/assets/<key>.webp`), so they do not depend on the pipeline.

use std::path::PathBuf;
use std::time::Duration;

use instagram_gateway::assets::AssetKey;
use instagram_gateway::config::{AssetStoreSettings, Settings};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::*;

/// An asset store directory of the test's own, removed when dropped.
struct StoreDir(PathBuf);

impl StoreDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("igw-assets-"));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        Self(dir)
    }

    fn file(&self, key: &AssetKey) -> PathBuf {
        self.0.join("assets").join(format!("{key}.webp"))
    }

    /// Writes `bytes` as the store would; returns their key.
    fn put(&self, bytes: &[u8]) -> AssetKey {
        let key = AssetKey::of(bytes);
        std::fs::write(self.file(&key), bytes).unwrap();
        key
    }

    fn use_in(&self, s: &mut Settings) {
        s.assets.store = AssetStoreSettings::Fs {
            path: self.0.clone(),
        };
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes shaped like a WebP file (`RIFF….WEBP`), different per call.
fn picture(size: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&u32::try_from(size - 8).unwrap().to_le_bytes());
    bytes.extend_from_slice(b"WEBPVP8 ");
    let seed = unique("");
    while bytes.len() < size {
        bytes.extend_from_slice(seed.as_bytes());
    }
    bytes.truncate(size);
    bytes
}

async fn spawn(dir: &StoreDir) -> (TestEnv, TestApp) {
    spawn_with(dir, |_| {}).await
}

async fn spawn_with(dir: &StoreDir, tweak: impl FnOnce(&mut Settings)) -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(|s| {
            dir.use_in(s);
            tweak(s);
        })
        .await;
    (env, app)
}

fn path(key: &AssetKey) -> String {
    format!("/assets/{key}.webp")
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The headers every 200 and 304 of an asset carries.
fn assert_caching_headers(response: &reqwest::Response, key: &AssetKey) {
    assert_eq!(header(response, "etag"), format!("\"{key}\""));
    assert_eq!(
        header(response, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        header(response, "cross-origin-resource-policy"),
        "cross-origin"
    );
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn an_asset_is_served_with_its_headers_then_from_memory() {
    let dir = StoreDir::new();
    let bytes = picture(40_000);
    let key = dir.put(&bytes);
    let (_env, app) = spawn(&dir).await;

    let response = app.get(&path(&key)).await;
    assert_eq!(response.status(), 200);
    assert_caching_headers(&response, &key);
    assert_eq!(header(&response, "content-type"), "image/webp");
    assert_eq!(header(&response, "content-length"), "40000");
    assert_eq!(response.bytes().await.unwrap(), bytes);

    // The second read comes from memory: the file is gone.
    std::fs::remove_file(dir.file(&key)).unwrap();
    let again = app.get(&path(&key)).await;
    assert_eq!(again.status(), 200);
    assert_caching_headers(&again, &key);
    assert_eq!(again.bytes().await.unwrap(), bytes);

    let text = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric(&text, r#"igw_asset_cache_lookups_total{result="miss"}"#),
        1.0
    );
    assert_eq!(
        metric(&text, r#"igw_asset_cache_lookups_total{result="hit"}"#),
        1.0
    );
    assert_eq!(
        metric(&text, r#"igw_asset_store_reads_total{outcome="found"}"#),
        1.0
    );
    assert!(
        text.contains(r#"route="/assets/{key}.webp",status="200"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_known_etag_gets_304_without_a_body() {
    let dir = StoreDir::new();
    let bytes = picture(5_000);
    let key = dir.put(&bytes);
    let (_env, app) = spawn(&dir).await;
    let etag = format!("\"{key}\"");

    for if_none_match in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"0123\", {etag}"),
        "*".to_owned(),
    ] {
        let response = app
            .http
            .get(app.url(&path(&key)))
            .header("If-None-Match", &if_none_match)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{if_none_match}");
        assert_caching_headers(&response, &key);
        assert!(response.headers().get("content-type").is_none());
        assert!(response.bytes().await.unwrap().is_empty());
    }

    // Another tag: the picture.
    let response = app
        .http
        .get(app.url(&path(&key)))
        .header("If-None-Match", "\"00000000000000000000000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), bytes);

    // `*` names an existing picture only.
    let unknown = AssetKey::of(b"never stored");
    let response = app
        .http
        .get(app.url(&path(&unknown)))
        .header("If-None-Match", "*")
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn head_answers_what_get_would_without_the_body() {
    let dir = StoreDir::new();
    let bytes = picture(12_345);
    let key = dir.put(&bytes);
    let (_env, app) = spawn(&dir).await;
    let etag = format!("\"{key}\"");

    for (if_none_match, status) in [(None, 200), (Some(etag.as_str()), 304)] {
        let send = |method: reqwest::Method| {
            let mut request = app.http.request(method, app.url(&path(&key)));
            if let Some(tag) = if_none_match {
                request = request.header("If-None-Match", tag);
            }
            request.send()
        };
        let get = send(reqwest::Method::GET).await.unwrap();
        let head = send(reqwest::Method::HEAD).await.unwrap();
        assert_eq!(get.status(), status);
        assert_eq!(head.status(), status);
        for name in [
            "etag",
            "cache-control",
            "content-type",
            "content-length",
            "cross-origin-resource-policy",
            "x-content-type-options",
        ] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{status}: {name}"
            );
        }
        if status == 200 {
            assert_eq!(header(&head, "content-length"), "12345");
        }
        assert!(head.bytes().await.unwrap().is_empty());
    }

    // Errors too.
    let unknown = path(&AssetKey::of(b"never stored"));
    let head = app.http.head(app.url(&unknown)).send().await.unwrap();
    assert_eq!(head.status(), 404);
    assert_eq!(header(&head, "content-type"), "application/problem+json");
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_keys_are_404_problems() {
    let dir = StoreDir::new();
    let (_env, app) = spawn(&dir).await;
    let key = AssetKey::of(b"never stored");
    let body = assert_problem(app.get(&path(&key)).await, 404, "not_found").await;
    assert_eq!(body["detail"], "no asset with this key");
    // A directory where a copy would be is not a copy, and never listed.
    std::fs::create_dir_all(dir.file(&key)).unwrap();
    std::fs::write(dir.file(&key).join("inside"), b"x").unwrap();
    assert_problem(app.get(&path(&key)).await, 404, "not_found").await;
    // Writing to the route is not a thing.
    let post = app.http.post(app.url(&path(&key))).send().await.unwrap();
    assert_eq!(header(&post, "allow"), "GET, HEAD");
    assert_problem(post, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_names_are_refused_and_never_leave_the_store() {
    let dir = StoreDir::new();
    let bytes = picture(1_000);
    let key = dir.put(&bytes);
    // A file outside `assets/` the paths below try to reach.
    std::fs::write(dir.0.join("secret.webp"), SECRET).unwrap();
    let (_env, app) = spawn(&dir).await;
    let text = key.to_string();

    let bad = [
        format!("/assets/{}.webp", text.to_uppercase()),
        format!("/assets/{}.webp", &text[..31]),
        format!("/assets/{text}0.webp"),
        format!("/assets/{text}.webp.webp"),
        "/assets/..%2Fsecret.webp".to_owned(),
        "/assets/..%2F..%2F..%2Fetc%2Fpasswd.webp".to_owned(),
        "/assets/%2e%2e%2fsecret.webp".to_owned(),
        format!("/assets/{}%2F{}.webp", &text[..16], &text[16..]),
        "/assets/secret.webp".to_owned(),
        format!("/assets/{}.webp", "z".repeat(32)),
    ];
    for path in &bad {
        let body = assert_problem(app.get(path).await, 400, "invalid_request").await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("32 lowercase hex"),
            "{path}: {body}"
        );
    }
    // Not this route at all: actix's routing answers 404.
    let elsewhere = [
        format!("/assets/{text}.png"),
        format!("/assets/{text}.WEBP"),
        format!("/assets/{text}"),
        format!("/assets/{text}.webp/"),
        format!("/assets/x/{text}.webp"),
        "/assets/.webp".to_owned(),
        "/assets/".to_owned(),
        "/assets".to_owned(),
    ];
    for path in &elsewhere {
        assert_problem(app.get(path).await, 404, "not_found").await;
    }
    // Dot segments, sent raw (HTTP clients remove them): never the file outside the store,
    // never the copy under another name.
    for target in [
        "/assets/../secret.webp".to_owned(),
        format!("/assets/../assets/{text}.webp"),
        format!("/assets/./{text}.webp"),
        "/assets/%2e%2e/secret.webp".to_owned(),
    ] {
        let response = raw_get(&app, &target).await;
        let status = response.split(' ').nth(1).unwrap_or_default();
        assert!(
            status == "404" || status == "400",
            "{target}: {}",
            response.lines().next().unwrap_or_default()
        );
        assert!(!response.contains(SECRET), "{target}: {response}");
    }
    // The real name still works.
    let response = app.get(&path(&key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), bytes);
}

const SECRET: &str = "the content of a file outside the store";

/// A GET of `target` exactly as written; the response head and body as text.
async fn raw_get(app: &TestApp, target: &str) -> String {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server answers and closes")
        .unwrap();
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_failing_store_is_a_503_with_retry_after_and_recovers() {
    let dir = StoreDir::new();
    let bytes = picture(2_000);
    let key = AssetKey::of(&bytes);
    // `assets` is a file: every read fails (not "not found").
    std::fs::remove_dir_all(dir.0.join("assets")).unwrap();
    std::fs::write(dir.0.join("assets"), b"").unwrap();
    let (_env, app) = spawn(&dir).await;

    let response = app.get(&path(&key)).await;
    assert_eq!(header(&response, "retry-after"), "5");
    let body = assert_problem(response, 503, "store_unavailable").await;
    assert_eq!(
        body["detail"],
        "the asset store is not answering; try again shortly"
    );
    assert!(
        captured_logs()
            .lines()
            .any(|l| l.contains("could not read an asset")
                && l.contains(r#""level":"WARN""#)
                && l.contains(&key.to_string())),
        "a WARN names the key"
    );

    // Errors are not cached: once the store is back, the picture is served.
    std::fs::remove_file(dir.0.join("assets")).unwrap();
    std::fs::create_dir_all(dir.0.join("assets")).unwrap();
    dir.put(&bytes);
    let response = app.get(&path(&key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), bytes);
}

#[tokio::test]
async fn a_cache_smaller_than_two_pictures_serves_both_correctly() {
    let dir = StoreDir::new();
    let (a, b) = (picture(40_000), picture(40_000));
    let (key_a, key_b) = (dir.put(&a), dir.put(&b));
    let (_env, app) = spawn_with(&dir, |s| s.assets.cache_max_bytes = 60_000).await;
    for _ in 0..5 {
        for (key, bytes) in [(&key_a, &a), (&key_b, &b)] {
            let response = app.get(&path(key)).await;
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "etag"), format!("\"{key}\""));
            assert_eq!(&response.bytes().await.unwrap(), bytes);
        }
    }
    // Concurrent misses of one key, with no room to keep it: every answer is whole.
    let c = picture(70_000);
    let key_c = dir.put(&c);
    let path_c = path(&key_c);
    let answers = futures_util::future::join_all((0..8).map(|_| app.get(&path_c))).await;
    for response in answers {
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), c);
    }
}

#[tokio::test]
async fn copies_are_served_when_assets_are_disabled() {
    let dir = StoreDir::new();
    let bytes = picture(3_000);
    let key = dir.put(&bytes);
    let (_env, app) = spawn_with(&dir, |s| s.assets.enabled = false).await;
    let response = app.get(&path(&key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), bytes);
}
