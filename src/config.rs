//! Typed settings, layered `config/default.toml` -> `config/<IGW_ENV>.toml` -> `IGW__*` env vars,
//! and validated once at start-up with errors that name the offending key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

/// Everything the service reads from its configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `IGW_ENV`: `local` (default) or `production` (which makes secrets mandatory).
    #[serde(skip, default = "default_environment")]
    pub environment: String,
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
    #[serde(default)]
    pub metrics: MetricsSettings,
}

fn default_environment() -> String {
    "local".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub public_url: Option<String>,
    /// After SIGTERM: `/readyz` answers 503 while every request is still served, this long.
    pub drain_secs: u64,
    /// Then: in-flight requests get this long to finish.
    pub shutdown_grace_secs: u64,
    /// A request body must arrive within this long (else 408 and the connection is closed).
    pub body_timeout_secs: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsSettings {
    /// `host:port` of a listener of its own for `/metrics`; unset: served on the main port.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub listen: Option<String>,
}

impl MetricsSettings {
    pub fn listen_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.listen
            .as_deref()
            .map(|l| {
                l.parse().map_err(|_| {
                    invalid(
                        "metrics.listen",
                        "must be an address such as `0.0.0.0:9090`",
                    )
                })
            })
            .transpose()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// May carry a password, hence secret.
    #[serde(default, deserialize_with = "empty_secret_as_none")]
    pub url: Option<SecretString>,
    pub key_prefix: String,
    pub command_timeout_ms: u64,
    pub pool_size: usize,
}

impl RedisSettings {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstagramMode {
    /// The built-in fake Instagram under `/sandbox/`.
    Sandbox,
    /// The real Instagram Platform.
    Live,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InstagramSettings {
    pub mode: InstagramMode,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "empty_secret_as_none")]
    pub client_secret: Option<SecretString>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub redirect_uri: Option<String>,
    #[serde(deserialize_with = "string_list")]
    pub scopes: Vec<String>,
    pub api_version: String,
    pub authorize_url: String,
    pub token_url: String,
    pub graph_url: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OAuthSettings {
    #[serde(default, deserialize_with = "empty_as_none")]
    pub success_redirect: Option<String>,
    pub state_ttl_secs: u64,
}

impl OAuthSettings {
    /// `success_redirect` as validated and normalized: what the `Location` header carries.
    pub fn success_redirect_url(&self) -> Result<Option<Url>, ConfigError> {
        let Some(target) = &self.success_redirect else {
            return Ok(None);
        };
        // URL parsing would silently drop a CR or LF; such a value is a mistake or an attack.
        if target.chars().any(char::is_control) {
            return Err(invalid(
                "oauth.success_redirect",
                "must not contain control characters (such as CR or LF): it becomes a Location header",
            ));
        }
        http_url("oauth.success_redirect", target).map(Some)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    pub check_interval_secs: u64,
    pub refresh_margin_secs: u64,
    pub lock_ttl_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    #[serde(default, deserialize_with = "empty_secret_as_none")]
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    #[serde(default, deserialize_with = "empty_secret_as_none")]
    pub token_key: Option<SecretString>,
    #[serde(default, deserialize_with = "secret_list")]
    pub previous_token_keys: Vec<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedSettings {
    pub max_items: usize,
    pub page_size: usize,
    pub refresh_interval_secs: u64,
    pub url_expiry_margin_secs: u64,
    pub cold_wait_ms: u64,
    pub failure_backoff_secs: u64,
    pub throttle_backoff_secs: u64,
    pub version_poll_ms: u64,
    pub sync_lock_ttl_ms: u64,
    pub client_max_age_secs: u64,
    pub stale_while_revalidate_secs: u64,
    pub stale_if_error_secs: u64,
    pub cache_max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub search_per_minute: u32,
    pub admin_per_minute: u32,
    pub images_per_minute: u32,
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CorsSettings {
    #[serde(deserialize_with = "string_list")]
    pub allowed_origins: Vec<String>,
}

/// A configuration problem, displayed as one line that names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

impl Settings {
    /// Loads from `IGW_CONFIG_DIR` (default `config`), `IGW_ENV` and the `IGW__*` environment.
    pub fn load() -> Result<Self, ConfigError> {
        let dir = std::env::var_os("IGW_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let environment = std::env::var("IGW_ENV").unwrap_or_else(|_| default_environment());
        Self::load_layers(&dir, &environment, true)
    }

    /// The defaults alone, ignoring the process environment: what tests start from.
    pub fn load_defaults(dir: &Path) -> Result<Self, ConfigError> {
        Self::load_layers(dir, "local", false)
    }

    fn load_layers(dir: &Path, environment: &str, with_env: bool) -> Result<Self, ConfigError> {
        if environment.is_empty()
            || !environment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "IGW_ENV",
                "must be a plain name such as `local` or `production`",
            ));
        }
        let env_file = dir.join(format!("{environment}.toml"));
        // Only `local` may run without its file: a typo such as `IGW_ENV=prod` must not
        // silently start with local defaults.
        if environment != "local" && !env_file.exists() {
            return Err(invalid(
                "IGW_ENV",
                format!("{} does not exist", env_file.display()),
            ));
        }
        let mut builder = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")).required(true))
            .add_source(config::File::from(env_file).required(false));
        if with_env {
            // No `try_parsing`: it turns numeric-looking strings such as a client id "0123" into
            // numbers. Lists are split on commas by `string_list` instead.
            builder = builder.add_source(
                config::Environment::with_prefix("IGW")
                    .prefix_separator("__")
                    .separator("__"),
            );
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.environment = environment.to_owned();
        settings.validate()?;
        Ok(settings)
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// Checks every rule that serde cannot express. Public so tests that tweak settings can re-check.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let production = self.is_production();
        if self.server.body_timeout_secs == 0 {
            return Err(invalid(
                "server.body_timeout_secs",
                "must be greater than 0",
            ));
        }
        if let Some(listen) = self.metrics.listen_addr()?
            && listen.port() == self.server.port
            && self.server.port != 0
        {
            return Err(invalid(
                "metrics.listen",
                "must use another port than server.port",
            ));
        }
        if let Some(url) = &self.server.public_url {
            http_url("server.public_url", url)?;
        }
        if self.redis.key_prefix.is_empty() {
            return Err(invalid("redis.key_prefix", "must not be empty"));
        }
        if self.redis.command_timeout_ms == 0 {
            return Err(invalid(
                "redis.command_timeout_ms",
                "must be greater than 0",
            ));
        }
        if self.redis.pool_size == 0 {
            return Err(invalid("redis.pool_size", "must be greater than 0"));
        }
        match &self.redis.url {
            Some(url) => {
                let parsed = Url::parse(url.expose_secret())
                    .map_err(|_| invalid("redis.url", "is not a valid URL"))?;
                if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
                    return Err(invalid(
                        "redis.url",
                        "must start with redis:// or rediss://",
                    ));
                }
            }
            None if production => return Err(invalid("redis.url", "is required in production")),
            None => {}
        }

        if production && self.server.public_url.is_none() {
            return Err(invalid(
                "server.public_url",
                "is required in production (the redirect URI and callback URLs derive from it)",
            ));
        }
        let ig = &self.instagram;
        if production && ig.mode == InstagramMode::Sandbox {
            return Err(invalid(
                "instagram.mode",
                "must be \"live\" in production (the sandbox's app secret is public)",
            ));
        }
        if ig.mode == InstagramMode::Live {
            if ig.client_id.is_none() {
                return Err(invalid(
                    "instagram.client_id",
                    "is required when instagram.mode = \"live\"",
                ));
            }
            if ig.client_secret.is_none() {
                return Err(invalid(
                    "instagram.client_secret",
                    "is required when instagram.mode = \"live\"",
                ));
            }
        }
        if let Some(uri) = &ig.redirect_uri {
            http_url("instagram.redirect_uri", uri)?;
        }
        http_url("instagram.authorize_url", &ig.authorize_url)?;
        http_url("instagram.token_url", &ig.token_url)?;
        http_url("instagram.graph_url", &ig.graph_url)?;
        if ig.scopes.is_empty() {
            return Err(invalid("instagram.scopes", "must name at least one scope"));
        }
        if let Some(bad) = ig
            .scopes
            .iter()
            .find(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return Err(invalid(
                "instagram.scopes",
                format!("`{bad}` is not a scope name (lowercase letters and `_`)"),
            ));
        }
        let version_ok = ig
            .api_version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty()
                    && !minor.is_empty()
                    && major.chars().all(|c| c.is_ascii_digit())
                    && minor.chars().all(|c| c.is_ascii_digit())
            });
        if !version_ok {
            return Err(invalid("instagram.api_version", "must look like `v25.0`"));
        }
        if ig.connect_timeout_ms == 0 || ig.request_timeout_ms == 0 {
            return Err(invalid(
                "instagram.request_timeout_ms",
                "timeouts must be greater than 0",
            ));
        }
        if ig.max_response_bytes < 1024 {
            return Err(invalid(
                "instagram.max_response_bytes",
                "must be at least 1024",
            ));
        }

        self.oauth.success_redirect_url()?;
        if self.oauth.state_ttl_secs == 0 {
            return Err(invalid("oauth.state_ttl_secs", "must be greater than 0"));
        }
        if self.token.check_interval_secs == 0 {
            return Err(invalid(
                "token.check_interval_secs",
                "must be greater than 0",
            ));
        }
        if self.token.lock_ttl_ms < 1000 {
            return Err(invalid("token.lock_ttl_ms", "must be at least 1000"));
        }

        match &self.admin.token {
            Some(token) if token.expose_secret().chars().count() < 32 => {
                return Err(invalid("admin.token", "must be at least 32 characters"));
            }
            None if production => {
                return Err(invalid("admin.token", "is required in production"));
            }
            _ => {}
        }
        match &self.security.token_key {
            Some(key) => {
                decode_key(key).map_err(|m| invalid("security.token_key", m))?;
            }
            None if production => {
                return Err(invalid("security.token_key", "is required in production"));
            }
            None => {}
        }
        for key in &self.security.previous_token_keys {
            decode_key(key).map_err(|m| invalid("security.previous_token_keys", m))?;
        }
        let feed = &self.feed;
        if feed.max_items == 0 {
            return Err(invalid("feed.max_items", "must be greater than 0"));
        }
        if !(1..=100).contains(&feed.page_size) {
            return Err(invalid("feed.page_size", "must be between 1 and 100"));
        }
        for (key, value) in [
            ("feed.refresh_interval_secs", feed.refresh_interval_secs),
            ("feed.cold_wait_ms", feed.cold_wait_ms),
            ("feed.failure_backoff_secs", feed.failure_backoff_secs),
            ("feed.throttle_backoff_secs", feed.throttle_backoff_secs),
            ("feed.version_poll_ms", feed.version_poll_ms),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        if feed.sync_lock_ttl_ms < 1000 {
            return Err(invalid("feed.sync_lock_ttl_ms", "must be at least 1000"));
        }
        if feed.cache_max_bytes < 1024 * 1024 {
            return Err(invalid("feed.cache_max_bytes", "must be at least 1 MiB"));
        }
        for origin in &self.cors.allowed_origins {
            let pattern = origin.strip_suffix(":*").unwrap_or(origin);
            let parsed = Url::parse(pattern).map_err(|_| {
                invalid(
                    "cors.allowed_origins",
                    format!("`{origin}` is not an origin"),
                )
            })?;
            if parsed.path() != "/" || parsed.query().is_some() || origin.ends_with('/') {
                return Err(invalid(
                    "cors.allowed_origins",
                    format!("`{origin}` must be an origin such as https://app.example.com"),
                ));
            }
        }
        Ok(())
    }
}

/// Decodes a base64 AES-256 key; the message never contains the key itself.
pub fn decode_key(key: &SecretString) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.expose_secret().trim())
        .map_err(|_| "must be base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("must decode to 32 bytes, got {}", bytes.len()))
}

fn http_url(key: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| invalid(key, format!("`{value}` is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(key, format!("`{value}` must be an http(s) URL")));
    }
    Ok(url)
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

fn empty_secret_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(empty_as_none(d)?.map(SecretString::from))
}

/// A list from TOML, or a comma-separated string from an environment variable.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrString {
    List(Vec<String>),
    Text(String),
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items = match ListOrString::deserialize(d)? {
        ListOrString::List(items) => items,
        ListOrString::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_list(d)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Settings::load_defaults(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config")))
            .expect("defaults load")
    }

    #[test]
    fn defaults_are_valid_and_local() {
        let s = defaults();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.instagram.mode, InstagramMode::Sandbox);
        assert_eq!(s.instagram.scopes, vec!["instagram_business_basic"]);
        assert!(s.redis.url.is_none());
    }

    #[test]
    fn production_requires_secrets_and_names_the_key() {
        let mut s = defaults();
        s.environment = "production".into();
        let mut missing = Vec::new();
        // Fix each reported key in turn: every requirement is named once.
        for _ in 0..10 {
            let Err(err) = s.validate() else { break };
            let err = err.to_string();
            if err.contains("redis.url") {
                s.redis.url = Some("redis://127.0.0.1:6379".to_owned().into());
                missing.push("redis.url");
            } else if err.contains("server.public_url") {
                s.server.public_url = Some("https://gateway.example.com".into());
                missing.push("server.public_url");
            } else if err.contains("instagram.mode") {
                s.instagram.mode = InstagramMode::Live;
                s.instagram.client_id = Some("1".into());
                s.instagram.client_secret = Some("s".to_owned().into());
                missing.push("instagram.mode");
            } else if err.contains("admin.token") {
                s.admin.token = Some("x".repeat(32).into());
                missing.push("admin.token");
            } else if err.contains("security.token_key") {
                s.security.token_key = Some(
                    base64::engine::general_purpose::STANDARD
                        .encode([7u8; 32])
                        .into(),
                );
                missing.push("security.token_key");
            } else {
                panic!("unexpected: {err}");
            }
        }
        missing.sort_unstable();
        assert_eq!(
            missing,
            vec![
                "admin.token",
                "instagram.mode",
                "redis.url",
                "security.token_key",
                "server.public_url"
            ]
        );
        s.validate().expect("complete production settings validate");
    }

    #[test]
    fn short_admin_token_and_bad_key_are_rejected() {
        let mut s = defaults();
        s.admin.token = Some("too-short".to_owned().into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("admin.token")
        );
        s.admin.token = None;
        s.security.token_key = Some("bm90IDMyIGJ5dGVz".to_owned().into());
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("security.token_key") && err.contains("32 bytes"),
            "{err}"
        );
    }

    #[test]
    fn live_mode_requires_client_credentials() {
        let mut s = defaults();
        s.instagram.mode = InstagramMode::Live;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("instagram.client_id")
        );
        s.instagram.client_id = Some("0123".into());
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("instagram.client_secret")
        );
    }

    #[test]
    fn comma_separated_lists_parse() {
        #[derive(Deserialize)]
        struct L {
            #[serde(deserialize_with = "string_list")]
            v: Vec<String>,
        }
        let l: L = serde_json::from_str(r#"{"v":"a, b,,c"}"#).expect("parses");
        assert_eq!(l.v, vec!["a", "b", "c"]);
        let l: L = serde_json::from_str(r#"{"v":["a"]}"#).expect("parses");
        assert_eq!(l.v, vec!["a"]);
    }
}
