//! A real S3-compatible server for the asset store tests, and a bucket of each test's own.
//!
//! The server is moto's standalone server (PyPI `moto[server]`, pinned in
//! scripts/requirements.txt), which speaks S3 with SigV4 and does not check credentials:
//! - `IGW_TEST_S3_URL` (e.g. `http://127.0.0.1:5000`): a `moto_server` already running;
//! - unset: this test process starts one `moto_server` on a free port the first time a test asks
//!   for a bucket, from `IGW_TEST_MOTO_SERVER`, by default `target/ci-venv/bin/moto_server` (where
//!   scripts/test.sh installs it). It stops when this process exits, however it exits.
//!
//! With neither, the test fails and says how to get one: nothing is skipped.
//!
//! Credentials. The store reads them from the process environment (`AmazonS3Builder::from_env`,
//! as in production), so they have to be there before this process starts: setting them from
//! here would take `std::env::set_var`, which is `unsafe` in edition 2024 (another test's thread
//! may be reading the environment at the same moment, e.g. in getaddrinfo) and this crate
//! forbids unsafe code; and a `.cargo/config.toml` `[env]` entry would hand dummy keys to every
//! `cargo run` too. scripts/test.sh sets dummy ones for `cargo test` (moto accepts any). They are
//! checked before any S3 store is built, because without a key object_store would ask the EC2
//! instance metadata service (169.254.169.254) for one.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use instagram_gateway::config::S3Settings;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use url::Url;

/// How to run the S3 tests, for the failure messages.
const HOW_TO_RUN: &str = "run scripts/test.sh, which installs moto_server (scripts/requirements.txt) \
     and sets dummy AWS credentials; or by hand, from the repository root, once \
     `bash -c 'source scripts/lib.sh && ensure_venv target/ci-venv'`, then \
     `AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test cargo test --test api assets_storage` \
     (IGW_TEST_MOTO_SERVER names another moto_server, IGW_TEST_S3_URL a moto_server already running)";

/// A bucket of the test's own on the test S3 server.
pub struct S3Bucket {
    /// The server's base URL, e.g. `http://127.0.0.1:40123/`.
    pub server: Url,
    pub name: String,
}

impl S3Bucket {
    /// A new, empty bucket on the test S3 server (started first if need be).
    pub async fn create() -> Self {
        require_credentials();
        let server = server_url();
        // S3 bucket names: 3 to 63 lowercase letters, digits and hyphens.
        let name = super::unique("igw-test-");
        let url = server.join(&name).unwrap();
        // moto does not check authentication, so a plain request creates the bucket.
        let response = reqwest::Client::new()
            .put(url.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {url} (create the test bucket): {e}"));
        let status = response.status();
        assert!(
            status.is_success(),
            "PUT {url} (create the test bucket) answered {status}: {}\n\
             The test S3 server must be a moto_server, which takes unsigned requests.",
            response.text().await.unwrap_or_default()
        );
        Self {
            server: server.clone(),
            name,
        }
    }

    /// Settings of an S3 store on this bucket, as an operator would write them for an
    /// S3-compatible server.
    pub fn settings(&self) -> S3Settings {
        s3_settings(&self.server, &self.name)
    }

    /// Every object in the bucket, by path, with its bytes: read with a client of the test's
    /// own (object_store directly, explicit dummy keys), not through the store under test.
    /// (moto refuses anonymous reads of private objects, as S3 does, so a plain GET would not do.)
    pub async fn objects(&self) -> BTreeMap<String, Bytes> {
        let client = self.client();
        let listed: Vec<_> = client.list(None).try_collect().await.unwrap();
        let mut objects = BTreeMap::new();
        for meta in listed {
            let bytes = client.get(&meta.location).await.unwrap().bytes().await;
            objects.insert(meta.location.to_string(), bytes.unwrap());
        }
        objects
    }

    /// The attributes (Content-Type, Cache-Control...) the server keeps for `path`.
    pub async fn attributes(&self, path: &str) -> object_store::Attributes {
        let path = object_store::path::Path::from(path);
        self.client().get(&path).await.unwrap().attributes
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.server.as_str().trim_end_matches('/'))
            .with_allow_http(true)
            .with_bucket_name(&self.name)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap()
    }
}

/// S3 settings for `bucket` at `endpoint` (path style: the server is an address, not a domain).
/// Panics unless the credentials are in the environment (see the module's documentation).
pub fn s3_settings(endpoint: &Url, bucket: &str) -> S3Settings {
    require_credentials();
    S3Settings {
        bucket: bucket.to_owned(),
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".to_owned(),
        path_style: true,
    }
}

fn require_credentials() {
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(
            std::env::var_os(var).is_some_and(|v| !v.is_empty()),
            "{var} is not set: the S3 store reads its credentials from the environment, and \
             the S3 tests need dummy ones (moto accepts any); {HOW_TO_RUN}"
        );
    }
}

/// The test S3 server's base URL: `IGW_TEST_S3_URL`, or a moto_server of this process's own,
/// started once.
fn server_url() -> &'static Url {
    static SERVER: OnceLock<Result<Url, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var("IGW_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => Url::parse(&url)
            .map_err(|e| format!("IGW_TEST_S3_URL={url} is not a URL: {e}"))
            .and_then(|url| {
                answers_as_s3(&url).then_some(url.clone()).ok_or_else(|| {
                    format!("IGW_TEST_S3_URL={url}: no S3 server answers there; {HOW_TO_RUN}")
                })
            }),
        _ => start_moto(),
    });
    match server {
        Ok(url) => url,
        Err(message) => panic!("no S3 server for the test: {message}"),
    }
}

/// Starts `moto_server` on a free port and waits (bounded) until it answers.
fn start_moto() -> Result<Url, String> {
    let program = match std::env::var_os("IGW_TEST_MOTO_SERVER") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/ci-venv/bin/moto_server"
        )),
    };
    if !program.is_file() {
        return Err(format!(
            "{} does not exist; {HOW_TO_RUN}",
            program.display()
        ));
    }
    let port = crate::processes::free_port();
    let log_path = std::env::temp_dir().join(format!("igw-test-moto-{port}.log"));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;

    // The shell keeps the read end of a pipe whose write end only this process holds, then
    // becomes moto_server (exec: same pid). When this process exits, however it exits, the
    // kernel closes the write end, `read` sees end of file, and moto_server is stopped: no
    // server outlives the tests, and its log goes too. (fd 3: a background job's stdin would
    // be /dev/null.)
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            r#"exec 3<&0
(read -r line <&3; kill "$$" 2>/dev/null; rm -f "$2") &
exec "$0" -H 127.0.0.1 -p "$1" </dev/null 3<&-"#,
        )
        .arg(&program)
        .arg(port.to_string())
        .arg(&log_path)
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    // Never written to, never closed: held open until this process exits (see above).
    std::mem::forget(child.stdin.take());

    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let log_tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    // Importing moto takes a second or two; a cold disk may take longer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{} exited ({status}) before answering on port {port}; its log ({}):\n{}",
                program.display(),
                log_path.display(),
                log_tail()
            ));
        }
        if answers_as_s3(&url) {
            return Ok(url);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    Err(format!(
        "{} did not answer on port {port} within 30 s; its log ({}):\n{}",
        program.display(),
        log_path.display(),
        log_tail()
    ))
}

/// Does an S3 server answer `GET /` (ListBuckets) at `url`? A blocking, bounded probe over
/// plain HTTP/1.1, usable before any runtime exists.
fn answers_as_s3(url: &Url) -> bool {
    let Some(address) = url
        .socket_addrs(|| None)
        .ok()
        .and_then(|a| a.first().copied())
    else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        url.authority()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") && response.contains("ListAllMyBucketsResult")
}
