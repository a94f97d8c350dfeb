//! Typed settings, layered `config/default.toml` -> `config/<IGW_ENV>.toml` -> `IGW__*` env vars,
//! parsed and validated once at start-up with errors that name the key and its variable.
//!
//! [`raw`] holds the file shape and the rules; the types here are what the rest of the service
//! uses (URLs as [`Url`], durations as [`Duration`], keys decoded), so nothing is re-parsed.

mod raw;
mod unknown_keys;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

pub use unknown_keys::UnknownKey;

/// Everything the service reads from its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub log: LogSettings,
    pub redis: RedisSettings,
    pub instagram: InstagramSettings,
    pub oauth: OAuthSettings,
    pub token: TokenSettings,
    pub admin: AdminSettings,
    pub security: SecuritySettings,
    pub cors: CorsSettings,
    pub feed: FeedSettings,
    pub rate_limit: RateLimitSettings,
    pub metrics: MetricsSettings,
    pub assets: AssetSettings,
    pub accounts: AccountSettings,
    pub webhooks: WebhookSettings,
    pub facebook: FacebookSettings,
    pub hashtags: HashtagSettings,
}

/// `[facebook]`: the Facebook app for accounts connected through Facebook Login.
#[derive(Debug, Clone)]
pub struct FacebookSettings {
    /// `facebook.app_id` / `facebook.app_secret`; `None`: not configured (live mode cannot
    /// connect facebook accounts; the sandbox has its own).
    pub app: Option<AppCredentials>,
    pub config_id: Option<String>,
    /// Unset: the Instagram one.
    pub redirect_uri: Option<Url>,
    pub scopes: Vec<String>,
    pub api_version: String,
    pub authorize_url: Url,
    pub graph_url: Url,
}

/// `[hashtags]`: public hashtag search and its budget.
#[derive(Debug, Clone)]
pub struct HashtagSettings {
    pub weekly_budget: usize,
    pub operator_reserve: usize,
    /// Empty: any tag.
    pub allowed: Vec<crate::hashtags::Hashtag>,
    pub refresh: Duration,
    pub max_items: usize,
}

/// `[webhooks]`: outbound events (see `crate::webhooks`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Allow `http://` endpoint URLs (else https only).
    pub allow_insecure: bool,
    /// Allow endpoints on private, loopback and link-local addresses.
    pub allow_private_networks: bool,
    /// One delivery attempt's time limit, connecting included.
    pub timeout: Duration,
    /// Attempts in flight on one replica.
    pub max_concurrency: usize,
    /// Attempts in flight to one endpoint, on one replica.
    pub max_concurrency_per_endpoint: usize,
    /// How often each replica looks for due deliveries.
    pub poll_interval: Duration,
    pub max_endpoints: usize,
    /// `sync.failing` once an account's syncs have been failing for this long.
    pub sync_failing_after: Duration,
}

/// Upper bound of `accounts.max`: every account costs a snapshot in memory and background work.
pub const MAX_ACCOUNTS: usize = 10_000;

/// `[accounts]`.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// How many accounts may exist (the default one included).
    pub max: usize,
    /// The account `/images`, `/search` and the single-account admin routes serve.
    pub default: crate::accounts::Slug,
}

/// `IGW_ENV`. Production makes secrets mandatory and unknown keys fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Production,
}

impl Environment {
    fn from_name(name: &str) -> Result<Self, ConfigError> {
        match name {
            "local" => Ok(Self::Local),
            "production" => Ok(Self::Production),
            _ => Err(ConfigError::Environment),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Production => "production",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Where clients reach the service; unset: `http://<host>:<bound port>`.
    pub public_url: Option<Url>,
    /// After SIGTERM: `/readyz` answers 503 while every request is still served, this long.
    pub drain: Duration,
    /// Then: in-flight requests get this long to finish.
    pub shutdown_grace: Duration,
    /// A request body must arrive within this long (else 408 and the connection is closed).
    pub body_timeout: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// A listener of its own for `/metrics`; unset: served on the main port.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// A validated `redis://` URL; secret because it may carry a password. Unset: in-memory.
    pub url: Option<SecretString>,
    pub key_prefix: String,
    pub command_timeout: Duration,
    pub pool_size: usize,
}

/// Which Instagram the service talks to.
#[derive(Debug, Clone)]
pub enum InstagramMode {
    /// The built-in fake Instagram under `/sandbox/` (its credentials are built in).
    Sandbox,
    /// The real Instagram Platform, with the app's credentials.
    Live(AppCredentials),
}

impl InstagramMode {
    pub fn is_sandbox(&self) -> bool {
        matches!(self, Self::Sandbox)
    }
}

/// The Instagram app's id and secret (`instagram.client_id`, `instagram.client_secret`).
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Debug, Clone)]
pub struct InstagramSettings {
    pub mode: InstagramMode,
    /// Unset: `<public_url>/oauth/callback`.
    pub redirect_uri: Option<Url>,
    pub scopes: Vec<String>,
    pub api_version: String,
    pub authorize_url: Url,
    pub token_url: Url,
    pub graph_url: Url,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// Validated and normalized: what the `Location` header carries.
    pub success_redirect: Option<Url>,
    pub state_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub check_interval: Duration,
    pub refresh_margin: Duration,
    pub lock_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// At least 32 characters. Unset (locally only): one is generated at start-up.
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Unset (locally only): an ephemeral key is generated at start-up.
    pub token_key: Option<TokenKey>,
    pub previous_token_keys: Vec<TokenKey>,
}

/// An AES-256 key for tokens at rest, decoded from base64. Never printed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Decodes base64 (`openssl rand -base64 32`); the message never contains the key itself.
    pub fn from_base64(key: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| "must be base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| format!("must decode to 32 bytes, got {}", bytes.len()))
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([REDACTED])")
    }
}

#[derive(Debug, Clone)]
pub struct CorsSettings {
    /// Exact origins; `scheme://host:*` allows any port on that host.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FeedSettings {
    pub max_items: usize,
    pub page_size: usize,
    pub refresh_interval: Duration,
    pub url_expiry_margin: Duration,
    pub cold_wait: Duration,
    pub failure_backoff: Duration,
    pub throttle_backoff: Duration,
    pub version_poll: Duration,
    pub sync_lock_ttl: Duration,
    pub client_max_age: Duration,
    pub stale_while_revalidate: Duration,
    pub stale_if_error: Duration,
    pub cache_max_bytes: u64,
}

/// Re-hosted pictures (`assets.*`).
#[derive(Debug, Clone)]
pub struct AssetSettings {
    pub enabled: bool,
    /// Ascending, distinct.
    pub widths: Vec<u32>,
    pub webp_quality: f32,
    pub max_source_bytes: u64,
    pub max_pixels: u64,
    /// Pictures processed at once by this replica.
    pub workers: usize,
    pub fetch_timeout: Duration,
    pub retention: Duration,
    pub retry_backoff: Duration,
    pub claim_ttl: Duration,
    /// Bound of the in-process cache of hot assets.
    pub cache_max_bytes: u64,
    /// Where the JSON's picture URLs point; `None`: `<server.public_url>/assets`.
    pub public_base_url: Option<Url>,
    pub store: AssetStoreSettings,
}

/// Where the encoded copies are kept.
#[derive(Debug, Clone)]
pub enum AssetStoreSettings {
    /// In this process, refusing copies beyond `max_bytes` (local runs only).
    Memory {
        max_bytes: u64,
    },
    /// A directory, shared by the replicas (a volume) in production.
    Fs {
        path: std::path::PathBuf,
    },
    S3(S3Settings),
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// An S3-compatible server; `None`: AWS.
    pub endpoint: Option<Url>,
    pub region: String,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub path_style: bool,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub search_per_minute: u32,
    pub admin_per_minute: u32,
    pub images_per_minute: u32,
    pub trust_forwarded_for: bool,
}

/// A configuration problem, displayed as one line that names the key and its variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: IGW_ENV must be `local` or `production`")]
    Environment,
    #[error(
        "invalid configuration: IGW_ENV=production needs {0}, which holds production's defaults"
    )]
    MissingEnvironmentFile(String),
    #[error("invalid configuration: {key} ({}): {message}", env_name(key))]
    Invalid { key: &'static str, message: String },
    /// A value of the wrong type, as the `config` crate reports it, with the variable named.
    #[error("invalid configuration: {key} ({}): {message}", env_name(key))]
    Value { key: String, message: String },
    #[error("invalid configuration: {}", unknown_keys::describe(.0))]
    UnknownKeys(Vec<UnknownKey>),
}

impl ConfigError {
    fn from_deserialize(error: config::ConfigError) -> Self {
        match error {
            config::ConfigError::Type {
                key: Some(key),
                unexpected,
                expected,
                ..
            } => Self::Value {
                key,
                message: format!("invalid type: {unexpected}, expected {expected}"),
            },
            config::ConfigError::At {
                key: Some(key),
                error,
                ..
            } => Self::Value {
                key,
                message: error.to_string(),
            },
            error => Self::Load(error),
        }
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// `server.port` -> `IGW__SERVER__PORT`.
pub fn env_name(key: &str) -> String {
    format!("IGW__{}", key.replace('.', "__").to_uppercase())
}

/// Settings, and the keys that matched no setting (logged as warnings when not fatal).
pub struct Loaded {
    pub settings: Settings,
    pub unknown_keys: Vec<UnknownKey>,
}

impl Settings {
    /// Loads from `IGW_CONFIG_DIR` (default `config`), `IGW_ENV` and the `IGW__*` environment.
    pub fn load() -> Result<Loaded, ConfigError> {
        let dir = std::env::var_os("IGW_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let environment = match std::env::var("IGW_ENV") {
            Ok(name) => Environment::from_name(&name)?,
            Err(_) => Environment::Local,
        };
        Self::load_layers(&dir, environment, None)
    }

    /// The defaults alone, ignoring the process environment: what tests start from.
    pub fn load_defaults(dir: &Path) -> Result<Self, ConfigError> {
        Self::load_layers(dir, Environment::Local, Some(HashMap::new())).map(|l| l.settings)
    }

    /// `variables`: the `IGW__*` variables to read instead of the process environment.
    fn load_layers(
        dir: &Path,
        environment: Environment,
        variables: Option<HashMap<String, String>>,
    ) -> Result<Loaded, ConfigError> {
        let env_file = dir.join(format!("{}.toml", environment.name()));
        // Production's file is not optional: without it the service would bind 127.0.0.1 and
        // log for humans, inside a container, silently.
        if environment == Environment::Production && !env_file.exists() {
            return Err(ConfigError::MissingEnvironmentFile(
                env_file.display().to_string(),
            ));
        }
        // No `try_parsing`: it turns numeric-looking strings such as a client id "0123" into
        // numbers. Lists are split on commas by `string_list` instead.
        let variables = config::Environment::with_prefix("IGW")
            .prefix_separator("__")
            .separator("__")
            .source(variables);
        let config = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")).required(true))
            .add_source(config::File::from(env_file).required(false))
            .add_source(variables)
            .build()?;
        let raw: raw::RawSettings = config
            .clone()
            .try_deserialize()
            .map_err(ConfigError::from_deserialize)?;
        let unknown_keys = unknown_keys::find(&config, &raw)?;
        if environment == Environment::Production && !unknown_keys.is_empty() {
            return Err(ConfigError::UnknownKeys(unknown_keys));
        }
        Ok(Loaded {
            settings: raw.parse(environment)?,
            unknown_keys,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Rules that span sections.
    fn check_across_sections(&self) -> Result<(), ConfigError> {
        if let Some(listen) = self.metrics.listen
            && listen.port() == self.server.port
            && self.server.port != 0
        {
            return Err(invalid(
                "metrics.listen",
                "must use another port than server.port",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
    }

    fn load(environment: Environment, vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let vars = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_layers(&dir(), environment, Some(vars))
    }

    fn error(environment: Environment, vars: &[(&str, &str)]) -> String {
        match load(environment, vars) {
            Ok(_) => panic!("{vars:?} loaded"),
            Err(e) => e.to_string(),
        }
    }

    const PRODUCTION: &[(&str, &str)] = &[
        ("IGW__REDIS__URL", "redis://127.0.0.1:6379"),
        ("IGW__SERVER__PUBLIC_URL", "https://gateway.example.com"),
        ("IGW__INSTAGRAM__CLIENT_ID", "0123"),
        ("IGW__INSTAGRAM__CLIENT_SECRET", "s"),
        ("IGW__ADMIN__TOKEN", "0123456789abcdef0123456789abcdef"),
        (
            "IGW__SECURITY__TOKEN_KEY",
            "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ),
        ("IGW__ASSETS__S3__BUCKET", "igw-assets"),
    ];

    #[test]
    fn defaults_are_valid_typed_and_local() {
        let s = Settings::load_defaults(&dir()).expect("defaults load");
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.server.port, 8080);
        assert!(s.instagram.mode.is_sandbox());
        assert_eq!(s.instagram.scopes, vec!["instagram_business_basic"]);
        assert_eq!(
            s.instagram.graph_url.as_str(),
            "https://graph.instagram.com/"
        );
        assert_eq!(s.feed.refresh_interval, Duration::from_secs(900));
        assert_eq!(s.redis.command_timeout, Duration::from_millis(1000));
        assert!(s.redis.url.is_none());
    }

    #[test]
    fn production_loads_its_file_and_typed_credentials() {
        let loaded = load(Environment::Production, PRODUCTION).expect("complete production");
        let s = loaded.settings;
        assert_eq!(s.server.host, "0.0.0.0", "from config/production.toml");
        assert_eq!(s.log.format, LogFormat::Json);
        let InstagramMode::Live(app) = &s.instagram.mode else {
            panic!("production is live")
        };
        // A numeric-looking id stays a string.
        assert_eq!(app.client_id, "0123");
        assert_eq!(s.security.token_key.expect("a key").expose(), &[7u8; 32]);
        assert!(loaded.unknown_keys.is_empty());
    }

    #[test]
    fn production_requires_each_secret_and_names_key_and_variable() {
        for (missing, _) in PRODUCTION {
            if *missing == "IGW__INSTAGRAM__CLIENT_ID"
                || *missing == "IGW__INSTAGRAM__CLIENT_SECRET"
            {
                continue; // required by live mode, checked below
            }
            let vars: Vec<_> = PRODUCTION
                .iter()
                .copied()
                .filter(|(k, _)| k != missing)
                .collect();
            let err = error(Environment::Production, &vars);
            assert!(err.contains(missing), "{missing}: {err}");
        }
        let vars: Vec<_> = PRODUCTION
            .iter()
            .copied()
            .filter(|(k, _)| *k != "IGW__INSTAGRAM__CLIENT_SECRET")
            .collect();
        let err = error(Environment::Production, &vars);
        assert!(err.contains("instagram.client_secret"), "{err}");
        let mut vars = PRODUCTION.to_vec();
        vars.push(("IGW__INSTAGRAM__MODE", "sandbox"));
        assert!(error(Environment::Production, &vars).contains("instagram.mode"));
    }

    #[test]
    fn bad_values_are_named_and_never_echo_secrets() {
        let err = error(
            Environment::Local,
            &[("IGW__ADMIN__TOKEN", "too-short-secret")],
        );
        assert!(
            err.contains("admin.token") && err.contains("IGW__ADMIN__TOKEN"),
            "{err}"
        );
        assert!(!err.contains("too-short-secret"), "{err}");
        let err = error(
            Environment::Local,
            &[("IGW__SECURITY__TOKEN_KEY", "bm90IDMyIGJ5dGVz")],
        );
        assert!(
            err.contains("security.token_key") && err.contains("32 bytes"),
            "{err}"
        );
        let err = error(
            Environment::Local,
            &[(
                "IGW__OAUTH__SUCCESS_REDIRECT",
                "https://shop.example/done\r\nSet-Cookie: session=evil",
            )],
        );
        assert!(
            err.contains("oauth.success_redirect") && !err.contains("evil"),
            "{err}"
        );
        let err = error(Environment::Local, &[("IGW__SERVER__PORT", "eighty")]);
        assert!(
            err.contains("server.port (IGW__SERVER__PORT): invalid type"),
            "{err}"
        );
        let err = error(Environment::Local, &[("IGW__LOG__FORMAT", "xml")]);
        assert!(err.contains("log.format (IGW__LOG__FORMAT)"), "{err}");
        let err = error(Environment::Local, &[("IGW__FEED__COLD_WAIT_MS", "0")]);
        assert!(err.contains("feed.cold_wait_ms"), "{err}");
        let err = error(Environment::Local, &[("IGW__INSTAGRAM__MODE", "live")]);
        assert!(err.contains("instagram.client_id"), "{err}");
        let err = error(
            Environment::Local,
            &[("IGW__METRICS__LISTEN", "127.0.0.1:8080")],
        );
        assert!(err.contains("metrics.listen"), "{err}");
    }

    #[test]
    fn urls_and_durations_are_typed_once() {
        let loaded = load(
            Environment::Local,
            &[
                ("IGW__OAUTH__SUCCESS_REDIRECT", "HTTPS://Shop.Example/done"),
                ("IGW__METRICS__LISTEN", "0.0.0.0:9090"),
                ("IGW__SERVER__DRAIN_SECS", "7"),
            ],
        )
        .expect("valid");
        let s = loaded.settings;
        assert_eq!(
            s.oauth.success_redirect.expect("set").as_str(),
            "https://shop.example/done"
        );
        assert_eq!(s.metrics.listen, Some("0.0.0.0:9090".parse().unwrap()));
        assert_eq!(s.server.drain, Duration::from_secs(7));
    }

    #[test]
    fn keys_decode_to_32_bytes_and_errors_never_echo_them() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let key = TokenKey::from_base64(&good).expect("decodes");
        assert_eq!(key.expose(), &[7u8; 32]);
        assert_eq!(format!("{key:?}"), "TokenKey([REDACTED])");
        let err = TokenKey::from_base64("bm90IDMyIGJ5dGVz").unwrap_err();
        assert!(err.contains("32 bytes") && !err.contains("bm90"), "{err}");
        let err = TokenKey::from_base64("%%%").unwrap_err();
        assert!(err.contains("base64") && !err.contains("%%%"), "{err}");
    }

    #[test]
    fn environment_names_are_a_closed_set() {
        assert_eq!(
            Environment::from_name("local").ok(),
            Some(Environment::Local)
        );
        assert!(Environment::from_name("prod").is_err());
        assert!(Environment::from_name("../etc").is_err());
    }

    #[test]
    fn production_without_its_file_is_refused() {
        let empty = std::env::temp_dir().join(format!("igw-config-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::copy(dir().join("default.toml"), empty.join("default.toml")).unwrap();
        let vars = PRODUCTION
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let err = Settings::load_layers(&empty, Environment::Production, Some(vars))
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("production.toml"), "{err}");
        // `local` needs no file of its own.
        Settings::load_layers(&empty, Environment::Local, Some(HashMap::new()))
            .expect("local without local.toml");
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn assets_default_to_memory_locally_and_need_a_shared_store_in_production() {
        let s = load(
            Environment::Local,
            &[("IGW__ASSETS__WIDTHS", "640, 320,640")],
        )
        .unwrap()
        .settings;
        assert!(s.assets.enabled);
        assert_eq!(s.assets.widths, vec![320, 640], "sorted, deduplicated");
        assert!(matches!(s.assets.store, AssetStoreSettings::Memory { .. }));
        assert!(s.assets.workers >= 1);

        let production = load(Environment::Production, PRODUCTION).unwrap().settings;
        match production.assets.store {
            AssetStoreSettings::S3(s3) => {
                assert_eq!(s3.bucket, "igw-assets");
                assert_eq!(s3.endpoint, None);
            }
            other => panic!("{other:?}"),
        }
        let memory = [PRODUCTION, &[("IGW__ASSETS__STORE", "memory")]].concat();
        assert!(error(Environment::Production, &memory).contains("IGW__ASSETS__STORE"));
        let disabled = [memory.as_slice(), &[("IGW__ASSETS__ENABLED", "false")]].concat();
        load(Environment::Production, &disabled).expect("no store needed when off");
        let no_bucket: Vec<_> = PRODUCTION
            .iter()
            .copied()
            .filter(|(k, _)| *k != "IGW__ASSETS__S3__BUCKET")
            .collect();
        assert!(error(Environment::Production, &no_bucket).contains("IGW__ASSETS__S3__BUCKET"));
    }

    #[test]
    fn webhooks_are_open_locally_and_guarded_in_production() {
        let local = Settings::load_defaults(&dir())
            .expect("defaults load")
            .webhooks;
        assert!(local.allow_insecure && local.allow_private_networks);
        assert_eq!(local.timeout, Duration::from_secs(15));
        assert_eq!(local.sync_failing_after, Duration::from_secs(3600));
        let production = load(Environment::Production, PRODUCTION)
            .expect("complete production")
            .settings
            .webhooks;
        assert!(!production.allow_insecure && !production.allow_private_networks);
        for (var, value, expected) in [
            ("IGW__WEBHOOKS__TIMEOUT_SECS", "0", "from 1 to 60"),
            (
                "IGW__WEBHOOKS__MAX_CONCURRENCY",
                "0",
                "webhooks.max_concurrency",
            ),
            (
                "IGW__WEBHOOKS__MAX_CONCURRENCY_PER_ENDPOINT",
                "64",
                "webhooks.max_concurrency_per_endpoint",
            ),
            ("IGW__WEBHOOKS__POLL_INTERVAL_MS", "1", "from 10 to 60000"),
            (
                "IGW__WEBHOOKS__MAX_ENDPOINTS",
                "0",
                "webhooks.max_endpoints",
            ),
            (
                "IGW__WEBHOOKS__SYNC_FAILING_AFTER_SECS",
                "0",
                "webhooks.sync_failing_after_secs",
            ),
            (
                "IGW__WEBHOOKS__ALLOW_INSECURE",
                "maybe",
                "webhooks.allow_insecure",
            ),
        ] {
            let err = error(Environment::Local, &[(var, value)]);
            assert!(err.contains(expected), "{var}={value}: {err}");
        }
    }

    #[test]
    fn asset_values_are_checked() {
        for (var, value, expected) in [
            ("IGW__ASSETS__WIDTHS", "0", "between 16 and 4096"),
            ("IGW__ASSETS__WIDTHS", "wide", "assets.widths"),
            ("IGW__ASSETS__WEBP_QUALITY", "0", "between 1 and 100"),
            ("IGW__ASSETS__STORE", "fs", "assets.path"),
            ("IGW__ASSETS__STORE", "disk", "assets.store"),
            ("IGW__ASSETS__PUBLIC_BASE_URL", "cdn", "is not a URL"),
        ] {
            let err = error(Environment::Local, &[(var, value)]);
            assert!(err.contains(expected), "{var}={value}: {err}");
        }
        let s3 = [
            ("IGW__ASSETS__STORE", "s3"),
            ("IGW__ASSETS__S3__BUCKET", "b"),
            ("IGW__ASSETS__S3__ENDPOINT", "ftp://x"),
        ];
        assert!(error(Environment::Local, &s3).contains("IGW__ASSETS__S3__ENDPOINT"));
        let typo = load(Environment::Local, &[("IGW__ASSETS__S3__BUCKT", "b")]).unwrap();
        assert_eq!(typo.unknown_keys[0].closest, "assets.s3.bucket");
    }
}
