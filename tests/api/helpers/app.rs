//! The harness: a [`TestEnv`] per test, and [`TestApp`]s spawned from it on random ports.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use instagram_gateway::auth::{Stored, TokenCipher, TokenRecord, TokenRepository};
use instagram_gateway::config::{AppCredentials, InstagramMode, Settings, TokenKey};
use instagram_gateway::startup::Application;
use instagram_gateway::store::{RedisStore, Store};
use instagram_gateway::webhooks::Clock;
use serde_json::Value;
use wiremock::MockServer;

use super::instagram::{APP_USER_ID, CLIENT_ID, CLIENT_SECRET, CODE, LONG_TOKEN, USERNAME};
use super::logs::init_logging;

pub fn redis_url() -> String {
    std::env::var("IGW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

pub fn random_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand_bytes())
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    b
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", hex(&rand_bytes()[..8]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What instances of one test share: the Redis namespace, keys, secrets and fake Instagram.
pub struct TestEnv {
    pub upstream: Arc<MockServer>,
    pub prefix: String,
    pub token_key: String,
    pub admin_token: String,
    /// The account id of tokens stored with [`TestEnv::store_token`], unique per test.
    pub user_id: String,
    pub redis_url: String,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with_redis(redis_url()).await
    }

    /// On a Redis of the test's own (fault tests).
    pub async fn with_redis(redis_url: String) -> Self {
        init_logging();
        Self {
            upstream: Arc::new(MockServer::start().await),
            prefix: unique("igw-test:"),
            token_key: random_key(),
            admin_token: format!("admin-{}", hex(&rand_bytes())),
            user_id: format!(
                "1784{}",
                u64::from_le_bytes(rand_bytes()[..8].try_into().unwrap()) % 10u64.pow(13)
            ),
            redis_url,
        }
    }

    /// Settings of a live instance on a random port, Redis-backed, upstream = wiremock.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::load_defaults(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
            .expect("default settings load");
        s.server.port = 0;
        s.redis.url = Some(self.redis_url.clone().into());
        s.redis.key_prefix = self.prefix.clone();
        s.instagram.mode = InstagramMode::Live(AppCredentials {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned().into(),
        });
        let base = self.upstream.uri();
        s.instagram.authorize_url = url(&format!("{base}/oauth/authorize"));
        s.instagram.token_url = url(&format!("{base}/oauth/access_token"));
        s.instagram.graph_url = url(&base);
        s.instagram.request_timeout = Duration::from_millis(2000);
        s.facebook.app = Some(AppCredentials {
            client_id: super::facebook::FB_APP_ID.to_owned(),
            client_secret: super::facebook::FB_APP_SECRET.to_owned().into(),
        });
        s.facebook.authorize_url = url(&format!("{base}/v25.0/dialog/oauth"));
        s.facebook.graph_url = url(&base);
        s.admin.token = Some(self.admin_token.clone().into());
        // Tests make many admin calls from one address; the limit has its own test.
        s.rate_limit.admin_per_minute = 0;
        s.security.token_key = Some(token_key(&self.token_key));
        // The picture pipeline has its own tests (assets_pipeline.rs); elsewhere the media
        // URLs point at a CDN that cannot be reached from here.
        s.assets.enabled = false;
        s
    }

    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(|_| {}).await
    }

    /// An app on the built-in sandbox upstream and the in-memory store, as `cargo run` starts.
    pub async fn spawn_sandbox(&self) -> TestApp {
        self.spawn_with(|s| {
            s.instagram.mode = InstagramMode::Sandbox;
            s.redis.url = None;
        })
        .await
    }

    pub async fn spawn_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        self.spawn_with_clock(Clock::system(), tweak).await
    }

    /// [`TestEnv::spawn_with`] with webhook deliveries on `clock` (a manual one moves only when
    /// the test says).
    pub async fn spawn_with_clock(
        &self,
        clock: Clock,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let mut settings = self.settings();
        tweak(&mut settings);
        let app = Application::build_with_clock(settings, clock)
            .await
            .expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            handle,
            admin_token: self.admin_token.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// The full Redis key of the default account's `key` (`token`, `feed:snapshot`, ...).
    pub fn account_key(&self, key: &str) -> String {
        format!("{}acct:default:{key}", self.prefix)
    }

    /// The Redis store as the service sees it (same prefix).
    pub fn store(&self) -> Store {
        Store::redis(
            RedisStore::new(
                &self.redis_url.clone().into(),
                &self.prefix,
                Duration::from_secs(10),
                4,
            )
            .unwrap(),
        )
    }

    /// A raw Redis connection, for looking at and tampering with what the service wrote.
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("test Redis reachable (set IGW_TEST_REDIS_URL or run scripts/test.sh)")
    }

    pub fn repository(&self) -> TokenRepository {
        let key = base64::engine::general_purpose::STANDARD
            .decode(&self.token_key)
            .unwrap();
        TokenRepository::new(
            self.store().scoped("acct:default:"),
            std::sync::Arc::new(TokenCipher::new(key.try_into().unwrap(), [])),
        )
    }

    /// Stores a token record directly, e.g. one issued long ago.
    pub async fn store_token(&self, issued_days_ago: i64, expires_in_days: i64) {
        let now = Utc::now();
        let record = TokenRecord {
            access_token: LONG_TOKEN.to_owned().into(),
            user_id: self.user_id.clone(),
            app_scoped_user_id: Some(APP_USER_ID.to_owned()),
            username: Some(USERNAME.to_owned()),
            scopes: vec!["instagram_business_basic".to_owned()],
            obtained_at: now - chrono::Duration::days(issued_days_ago),
            expires_at: now + chrono::Duration::days(expires_in_days),
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: instagram_gateway::instagram::Login::Instagram,
        };
        assert!(self.repository().save(&record, None).await.unwrap());
    }

    pub async fn stored_token(&self) -> Option<TokenRecord> {
        match self.repository().load().await.unwrap() {
            Stored::Record(r) => Some(r),
            _ => None,
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub handle: actix_web::dev::ServerHandle,
    pub admin_token: String,
    pub http: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn admin_post(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
    }

    /// POSTs Meta's `signed_request` form (deauthorize, data deletion) to `path`.
    pub async fn post_signed_request(&self, path: &str, signed_request: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(&[("signed_request", signed_request)])
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /admin/reauth` → the parsed authorize URL.
    pub async fn reauth(&self) -> url::Url {
        let response = self.admin_post("/admin/reauth").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap()
    }

    /// A fresh, valid state from `POST /admin/reauth`.
    pub async fn new_state(&self) -> String {
        query_value(&self.reauth().await, "state").unwrap()
    }

    pub async fn callback(&self, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(self.url("/oauth/callback"))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// The whole login: reauth, then Instagram's redirect back with `CODE`.
    pub async fn connect(&self) -> reqwest::Response {
        let state = self.new_state().await;
        self.callback(&[("code", CODE), ("state", &state)]).await
    }

    pub async fn status(&self) -> Value {
        let response = self.admin_get("/admin/status").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub fn query_value(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Asserts a problem+json response and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "errors are problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["status"], status);
    body
}

/// Feed settings for tests: no scheduled sync unless a test asks, quick version polls.
pub fn quiet_feed(s: &mut Settings) {
    s.feed.refresh_interval = Duration::from_secs(3600);
    s.feed.version_poll = Duration::from_millis(100);
}

/// A URL for a setting.
pub fn url(text: &str) -> url::Url {
    url::Url::parse(text).expect("a valid URL")
}

/// A token encryption key from its base64 form.
pub fn token_key(base64: &str) -> TokenKey {
    TokenKey::from_base64(base64).expect("a valid key")
}

/// Waits (bounded: 100 checks 50 ms apart) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until `check` holds, at most `limit` (for what takes seconds by design).
pub async fn eventually_within<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

// ---- Several accounts -------------------------------------------------------------------------

impl TestEnv {
    /// The cipher the apps of this test encrypt tokens with.
    pub fn cipher(&self) -> Arc<TokenCipher> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(&self.token_key)
            .unwrap();
        Arc::new(TokenCipher::new(key.try_into().unwrap(), []))
    }

    /// The token repository of the account `slug` (keys under `acct:<slug>:`).
    pub fn repository_for(&self, slug: &str) -> TokenRepository {
        TokenRepository::new(self.store().scoped(&format!("acct:{slug}:")), self.cipher())
    }

    /// The full Redis key of `slug`'s `key`.
    pub fn key_of(&self, slug: &str, key: &str) -> String {
        format!("{}acct:{slug}:{key}", self.prefix)
    }

    /// Registers accounts the way the service does (the hash, then its version bumped), so that
    /// running replicas load them within a version poll.
    pub async fn create_accounts(&self, slugs: &[&str]) {
        use redis::AsyncCommands as _;
        let mut redis = self.redis().await;
        let record = r#"{"label":null,"created_at":"2026-12-01T00:00:00Z"}"#;
        let fields: Vec<(&str, &str)> = slugs.iter().map(|s| (*s, record)).collect();
        let _: () = redis
            .hset_multiple(format!("{}accounts", self.prefix), &fields)
            .await
            .unwrap();
        let _: i64 = redis
            .incr(format!("{}accounts:version", self.prefix), 1)
            .await
            .unwrap();
    }

    /// [`TestEnv::store_token`] for the account `slug`, with its own access token and user.
    pub async fn store_token_for(
        &self,
        slug: &str,
        access_token: &str,
        user_id: &str,
        username: &str,
    ) -> TokenRecord {
        let now = Utc::now();
        let record = TokenRecord {
            access_token: access_token.to_owned().into(),
            user_id: user_id.to_owned(),
            app_scoped_user_id: None,
            username: Some(username.to_owned()),
            scopes: vec!["instagram_business_basic".to_owned()],
            obtained_at: now - chrono::Duration::days(2),
            expires_at: now + chrono::Duration::days(58),
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: instagram_gateway::instagram::Login::Instagram,
        };
        assert!(self.repository_for(slug).save(&record, None).await.unwrap());
        record
    }

    /// The token record stored for `slug`, if any (and readable).
    pub async fn stored_token_of(&self, slug: &str) -> Option<TokenRecord> {
        match self.repository_for(slug).load().await.unwrap() {
            Stored::Record(r) => Some(r),
            _ => None,
        }
    }
}
