//! The HTTP layer every route shares: HEAD, CORS, the metrics listener, security headers,
//! request body limits, forged cursors and what client mistakes log.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::*;

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn warm_app(
    tweak: impl FnOnce(&mut instagram_gateway::config::Settings),
) -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    mount_media(&env.upstream, &posts(5, 17_900_000_000_090_000), 100, 1..).await;
    env.store_token(2, 58).await;
    let app = env
        .spawn_with(|s| {
            quiet_feed(s);
            tweak(s);
        })
        .await;
    assert_eq!(app.get("/images").await.status(), 200);
    (env, app)
}

/// What must be identical between a GET and a HEAD of the same resource.
const SAME_HEADERS: [&str; 8] = [
    "etag",
    "cache-control",
    "content-type",
    "content-length",
    "content-encoding",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "allow",
];

async fn assert_head_matches_get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> u16 {
    let send = |method: reqwest::Method| {
        let mut request = app.http.request(method, app.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let get = send(reqwest::Method::GET).await.unwrap();
    let head = send(reqwest::Method::HEAD).await.unwrap();
    assert_eq!(head.status(), get.status(), "HEAD {path}");
    for name in SAME_HEADERS {
        assert_eq!(
            head.headers().get(name),
            get.headers().get(name),
            "HEAD {path}: header {name}"
        );
    }
    let status = get.status().as_u16();
    let get_body = get.bytes().await.unwrap();
    if status == 200 {
        assert!(!get_body.is_empty(), "GET {path} has a body");
    }
    assert!(
        head.bytes().await.unwrap().is_empty(),
        "HEAD {path} has no body"
    );
    status
}

#[tokio::test]
async fn head_answers_what_get_would_on_every_get_route() {
    let (_env, app) = warm_app(|_| {}).await;
    let id = app.get("/images").await.json::<Value>().await.unwrap()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let origin = [("Origin", "http://localhost:5173")];
    for path in [
        "/images?limit=2".to_owned(),
        format!("/images/{id}"),
        "/search?q=post".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/openapi.json".to_owned(),
        "/docs/".to_owned(),
    ] {
        assert_eq!(
            assert_head_matches_get(&app, &path, &origin).await,
            200,
            "{path}"
        );
    }
    // Errors and revalidation too.
    assert_eq!(assert_head_matches_get(&app, "/images/1", &[]).await, 404);
    assert_eq!(
        assert_head_matches_get(&app, "/images?limit=0", &[]).await,
        400
    );
    let etag = app.get("/images").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        assert_head_matches_get(&app, "/images", &[("If-None-Match", &etag)]).await,
        304
    );
    assert_eq!(
        assert_head_matches_get(&app, "/images?limit=30", &[("Accept-Encoding", "gzip")]).await,
        200
    );
    // A route without GET stays 405, now naming HEAD where GET is allowed.
    let head = app
        .http
        .head(app.url("/admin/reauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 405);
    assert_eq!(
        app.http
            .put(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .headers()["allow"],
        "GET, HEAD"
    );

    // Metrics: HEAD is counted as HEAD, not folded into GET.
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metric(
            &text,
            r#"igw_http_requests_total{method="HEAD",route="/images",status="200"}"#
        )
        .is_some_and(|v| v >= 2.0),
        "{text}"
    );
    // (The exposition changes between two scrapes: only the status can be compared.)
    assert_eq!(
        app.http
            .head(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn head_works_on_the_sandbox_cdn() {
    let env = TestEnv::new().await;
    let app = env.spawn_sandbox().await;
    let mut url = None;
    for _ in 0..100 {
        let response = app.get("/images?limit=1").await;
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            url = body["data"][0]["media_url"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = url.expect("the sandbox feed answers");
    let path = url
        .strip_prefix(&app.address)
        .expect("served by this instance");
    assert_eq!(assert_head_matches_get(&app, path, &[]).await, 200);
}

#[tokio::test]
async fn cors_headers_go_to_allowed_origins_only_and_preflights_are_checked() {
    let (_env, app) = warm_app(|_| {}).await;
    let get = |origin: &'static str| {
        app.http
            .get(app.url("/images"))
            .header("Origin", origin)
            .send()
    };
    let allowed = get("http://localhost:5173").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let exposed = allowed.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for name in ["etag", "age", "retry-after", "cache-status"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let evil = get("https://evil.example").await.unwrap();
    assert_eq!(evil.status(), 200, "non-browser clients still get the data");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    assert!(
        evil.headers()
            .get("access-control-expose-headers")
            .is_none()
    );
    let vary: Vec<String> = evil
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(vary.iter().any(|v| v.contains("Origin")), "{vary:?}");

    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/images"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", headers)
            .send()
    };
    let ok = preflight("http://localhost:5173", "GET", "if-none-match")
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    for (origin, method, headers) in [
        ("https://evil.example", "GET", "if-none-match"),
        ("http://localhost:5173", "DELETE", ""),
        ("http://localhost:5173", "GET", "x-secret"),
    ] {
        let refused = preflight(origin, method, headers).await.unwrap();
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
        assert_problem(refused, 403, "cors_refused").await;
    }
}

#[tokio::test]
async fn metrics_on_their_own_listener() {
    let env = TestEnv::new().await;
    env.store_token(2, 58).await;
    mount_media(&env.upstream, &posts(2, 17_900_000_000_091_000), 100, 1..).await;
    let mut settings = env.settings();
    quiet_feed(&mut settings);
    settings.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    let app = instagram_gateway::startup::Application::build(settings)
        .await
        .unwrap();
    let (port, metrics_port) = (app.port(), app.metrics_port().expect("a metrics listener"));
    assert_ne!(port, metrics_port);
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let main = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}");

    assert_eq!(
        http.get(format!("{main}/images"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let not_here = http.get(format!("{main}/metrics")).send().await.unwrap();
    assert_problem(not_here, 404, "not_found").await;
    let scraped = http.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        metric(
            &text,
            r#"igw_http_requests_total{method="GET",route="/images",status="200"}"#
        )
        .is_some_and(|v| v >= 1.0),
        "the main listener's requests are counted: {text}"
    );
    // Only /metrics lives there.
    let other = http.get(format!("{metrics}/images")).send().await.unwrap();
    assert_problem(other, 404, "not_found").await;
    assert_eq!(
        http.head(format!("{metrics}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    handle.stop(true).await;
    server.await.unwrap().unwrap();
    assert!(
        http.get(format!("{metrics}/metrics")).send().await.is_err(),
        "the metrics listener stops with the server"
    );
}

#[tokio::test]
async fn docs_and_refusals_carry_security_headers() {
    let (_env, app) = warm_app(|_| {}).await;
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    assert_eq!(docs.headers()["referrer-policy"], "no-referrer");
    assert_eq!(docs.headers()["x-content-type-options"], "nosniff");

    let long_uri = app
        .get(&format!("/images?cursor={}", "a".repeat(9000)))
        .await;
    assert_eq!(long_uri.headers()["x-content-type-options"], "nosniff");
    assert_problem(long_uri, 414, "uri_too_long").await;
    let big_headers = app
        .http
        .get(app.url("/healthz"))
        .header("x-filler", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(big_headers.headers()["x-content-type-options"], "nosniff");
    assert_problem(big_headers, 431, "headers_too_large").await;
}

/// Sends `head` and `body` on a raw connection; returns the response text and whether the
/// server closed the connection afterwards.
async fn raw_exchange(address: &str, head: &str, body: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test]
async fn slow_bodies_get_408_and_oversized_bodies_413_on_every_route() {
    let (_env, app) = warm_app(|s| s.server.body_timeout = Duration::from_secs(1)).await;
    // Announces 100 bytes, sends 14, then nothing: 408 after the timeout, connection closed.
    let started = Instant::now();
    let (response, closed) = raw_exchange(
        &app.address,
        "POST /oauth/deauthorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
        b"signed_request",
        Duration::from_secs(5),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("request_timeout"), "{response}");
    assert!(closed, "the connection is closed");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // Announced larger than the limit: refused at once, on a GET route too, without reading.
    let (response, closed) = raw_exchange(
        &app.address,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n",
        &[b'a'; 1024],
        Duration::from_secs(3),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");
    assert!(closed, "the connection is closed");

    let big = vec![b'a'; 1024 * 1024];
    let response = app
        .http
        .post(app.url("/admin/reauth"))
        .bearer_auth(&app.admin_token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload_too_large").await;
    // Chunked, without a length: counted as it arrives.
    let mut chunked = Vec::new();
    for _ in 0..4 {
        chunked.extend_from_slice(b"2000\r\n");
        chunked.extend_from_slice(&[b'a'; 0x2000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (response, _) = raw_exchange(
        &app.address,
        "POST /oauth/deauthorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        &chunked,
        Duration::from_secs(3),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // Small bodies still reach their handler.
    let response = app
        .http
        .post(app.url("/oauth/deauthorize"))
        .form(&[("signed_request", "not.valid")])
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid_signed_request").await;
}

fn forged_cursor(timestamp: i64, id: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{timestamp}.{id}"))
}

#[tokio::test]
async fn forged_cursors_cannot_multiply_cache_entries() {
    const CACHE_MAX: u64 = 1024 * 1024;
    let (_env, app) = warm_app(|s| s.feed.cache_max_bytes = CACHE_MAX).await;
    let misses =
        |text: &str| metric(text, r#"igw_feed_responses_total{result="miss"}"#).unwrap_or(0.0);
    let before = misses(&app.get("/metrics").await.text().await.unwrap());
    // 300 distinct cursors over the whole time line; the snapshot has 5 posts: 6 positions.
    let now = chrono::Utc::now().timestamp();
    for i in 0..300_i64 {
        let cursor = forged_cursor(
            now - 400 * 3600 + i * 4800,
            17_900_000_000_000_000 + i as u64 * 7919,
        );
        let response = app.get(&format!("/images?limit=100&cursor={cursor}")).await;
        assert_eq!(response.status(), 200);
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let built = misses(&text) - before;
    assert!(
        built <= 6.0,
        "forged cursors built {built} pages for 6 positions"
    );
    // Entries that are all legitimate (every limit at every position) still fit the cap.
    for limit in 1..=100 {
        for back in 0..6_i64 {
            let cursor = forged_cursor(now - back * 3600 + 1800, 1);
            app.get(&format!("/images?limit={limit}&cursor={cursor}"))
                .await;
        }
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let bytes = metric(&text, "igw_feed_cache_bytes").unwrap();
    assert!(
        bytes <= CACHE_MAX as f64,
        "cache holds {bytes} bytes for a cap of {CACHE_MAX}"
    );
}

#[tokio::test]
async fn malformed_requests_never_log_at_error() {
    let (_env, app) = warm_app(|_| {}).await;
    let marker = unique("garbage");
    let (response, _) = raw_exchange(
        &app.address,
        &format!("G\u{1}T /{marker} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
        b"",
        Duration::from_secs(3),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    // Let the dispatcher finish the connection (it logs when it does).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = captured_logs();
    let parse_errors: Vec<&str> = logs.lines().filter(|l| l.contains("parse error")).collect();
    assert!(
        parse_errors
            .iter()
            .all(|l| !l.contains("\"level\":\"ERROR\"")),
        "{parse_errors:#?}"
    );
    assert!(
        parse_errors
            .iter()
            .any(|l| l.contains("\"level\":\"DEBUG\"")),
        "the client's mistake is still logged, at DEBUG: {parse_errors:#?}"
    );
}
