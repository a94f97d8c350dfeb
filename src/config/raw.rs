//! The configuration as written (TOML files, `IGW__*` variables) and its parsing, section by
//! section, into the typed [`Settings`]: every rule that names a key lives here.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use super::{
    AccountSettings, AdminSettings, AppCredentials, AssetSettings, AssetStoreSettings, ConfigError,
    CorsSettings, Environment, FacebookSettings, FeedSettings, HashtagSettings, InstagramMode,
    InstagramSettings, LogFormat, LogSettings, MAX_ACCOUNTS, MetricsSettings, OAuthSettings,
    RateLimitSettings, RedisSettings, S3Settings, SecuritySettings, ServerSettings, Settings,
    TokenKey, TokenSettings, WebhookSettings, invalid,
};
use crate::accounts::Slug;

/// Every key the service reads. `Serialize` lists them (see `unknown_keys`); values that are
/// secrets are plain strings only here, until [`RawSettings::parse`] wraps them.
#[derive(Deserialize, Serialize)]
pub(super) struct RawSettings {
    server: RawServer,
    log: RawLog,
    redis: RawRedis,
    instagram: RawInstagram,
    oauth: RawOAuth,
    token: RawToken,
    admin: RawAdmin,
    security: RawSecurity,
    cors: RawCors,
    feed: RawFeed,
    rate_limit: RawRateLimit,
    #[serde(default)]
    metrics: RawMetrics,
    assets: RawAssets,
    accounts: RawAccounts,
    webhooks: RawWebhooks,
    facebook: RawFacebook,
    hashtags: RawHashtags,
}

#[derive(Deserialize, Serialize)]
struct RawFacebook {
    #[serde(default, deserialize_with = "empty_as_none")]
    app_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    app_secret: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    config_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    redirect_uri: Option<String>,
    #[serde(deserialize_with = "string_list")]
    scopes: Vec<String>,
    api_version: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    authorize_url: Option<String>,
    graph_url: String,
}

#[derive(Deserialize, Serialize)]
struct RawHashtags {
    weekly_budget: usize,
    operator_reserve: usize,
    #[serde(deserialize_with = "string_list")]
    allowed: Vec<String>,
    refresh_secs: u64,
    max_items: usize,
}

#[derive(Deserialize, Serialize)]
struct RawWebhooks {
    allow_insecure: bool,
    allow_private_networks: bool,
    timeout_secs: u64,
    max_concurrency: usize,
    max_concurrency_per_endpoint: usize,
    poll_interval_ms: u64,
    max_endpoints: usize,
    sync_failing_after_secs: u64,
}

#[derive(Deserialize, Serialize)]
struct RawAccounts {
    max: usize,
    default: String,
}

#[derive(Deserialize, Serialize)]
struct RawServer {
    host: String,
    port: u16,
    #[serde(default, deserialize_with = "empty_as_none")]
    public_url: Option<String>,
    drain_secs: u64,
    shutdown_grace_secs: u64,
    body_timeout_secs: u64,
}

#[derive(Deserialize, Serialize)]
struct RawLog {
    format: LogFormat,
}

#[derive(Deserialize, Serialize)]
struct RawRedis {
    #[serde(default, deserialize_with = "empty_as_none")]
    url: Option<String>,
    key_prefix: String,
    command_timeout_ms: u64,
    pool_size: usize,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum RawMode {
    Sandbox,
    Live,
}

#[derive(Deserialize, Serialize)]
struct RawInstagram {
    mode: RawMode,
    #[serde(default, deserialize_with = "empty_as_none")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    redirect_uri: Option<String>,
    #[serde(deserialize_with = "string_list")]
    scopes: Vec<String>,
    api_version: String,
    authorize_url: String,
    token_url: String,
    graph_url: String,
    connect_timeout_ms: u64,
    request_timeout_ms: u64,
    max_response_bytes: usize,
}

#[derive(Deserialize, Serialize)]
struct RawOAuth {
    #[serde(default, deserialize_with = "empty_as_none")]
    success_redirect: Option<String>,
    state_ttl_secs: u64,
}

#[derive(Deserialize, Serialize)]
struct RawToken {
    check_interval_secs: u64,
    refresh_margin_secs: u64,
    lock_ttl_ms: u64,
}

#[derive(Deserialize, Serialize)]
struct RawAdmin {
    #[serde(default, deserialize_with = "empty_as_none")]
    token: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct RawSecurity {
    #[serde(default, deserialize_with = "empty_as_none")]
    token_key: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    previous_token_keys: Vec<String>,
}

#[derive(Deserialize, Serialize)]
struct RawCors {
    #[serde(deserialize_with = "string_list")]
    allowed_origins: Vec<String>,
}

#[derive(Deserialize, Serialize)]
struct RawFeed {
    max_items: usize,
    page_size: usize,
    refresh_interval_secs: u64,
    url_expiry_margin_secs: u64,
    cold_wait_ms: u64,
    failure_backoff_secs: u64,
    throttle_backoff_secs: u64,
    version_poll_ms: u64,
    sync_lock_ttl_ms: u64,
    client_max_age_secs: u64,
    stale_while_revalidate_secs: u64,
    stale_if_error_secs: u64,
    cache_max_bytes: u64,
}

#[derive(Deserialize, Serialize)]
struct RawRateLimit {
    search_per_minute: u32,
    admin_per_minute: u32,
    images_per_minute: u32,
    trust_forwarded_for: bool,
}

#[derive(Default, Deserialize, Serialize)]
struct RawMetrics {
    #[serde(default, deserialize_with = "empty_as_none")]
    listen: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum RawStoreKind {
    Memory,
    Fs,
    S3,
}

#[derive(Deserialize, Serialize)]
struct RawAssets {
    enabled: bool,
    #[serde(deserialize_with = "number_list")]
    widths: Vec<u32>,
    webp_quality: u8,
    max_source_bytes: u64,
    max_pixels: u64,
    workers: usize,
    fetch_timeout_ms: u64,
    retention_days: u64,
    retry_backoff_secs: u64,
    claim_ttl_ms: u64,
    cache_max_bytes: u64,
    #[serde(default, deserialize_with = "empty_as_none")]
    public_base_url: Option<String>,
    store: RawStoreKind,
    memory_max_bytes: u64,
    #[serde(default, deserialize_with = "empty_as_none")]
    path: Option<String>,
    s3: RawS3,
}

#[derive(Deserialize, Serialize)]
struct RawS3 {
    #[serde(default, deserialize_with = "empty_as_none")]
    bucket: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    endpoint: Option<String>,
    region: String,
    path_style: bool,
}

impl RawSettings {
    pub(super) fn parse(self, environment: Environment) -> Result<Settings, ConfigError> {
        let production = environment == Environment::Production;
        let settings = Settings {
            environment,
            server: self.server.parse(production)?,
            log: LogSettings {
                format: self.log.format,
            },
            redis: self.redis.parse(production)?,
            instagram: self.instagram.parse(production)?,
            oauth: self.oauth.parse()?,
            token: self.token.parse()?,
            admin: self.admin.parse(production)?,
            security: self.security.parse(production)?,
            cors: self.cors.parse()?,
            feed: self.feed.parse()?,
            rate_limit: RateLimitSettings {
                search_per_minute: self.rate_limit.search_per_minute,
                admin_per_minute: self.rate_limit.admin_per_minute,
                images_per_minute: self.rate_limit.images_per_minute,
                trust_forwarded_for: self.rate_limit.trust_forwarded_for,
            },
            metrics: self.metrics.parse()?,
            assets: self.assets.parse(production)?,
            accounts: self.accounts.parse()?,
            webhooks: self.webhooks.parse()?,
            facebook: self.facebook.parse()?,
            hashtags: self.hashtags.parse()?,
        };
        settings.check_across_sections()?;
        Ok(settings)
    }
}

impl RawServer {
    fn parse(self, production: bool) -> Result<ServerSettings, ConfigError> {
        let public_url = self
            .public_url
            .map(|url| http_url("server.public_url", &url))
            .transpose()?;
        if production && public_url.is_none() {
            return Err(invalid(
                "server.public_url",
                "is required in production (the redirect URI and callback URLs derive from it)",
            ));
        }
        Ok(ServerSettings {
            host: self.host,
            port: self.port,
            public_url,
            drain: Duration::from_secs(self.drain_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            body_timeout: positive_secs("server.body_timeout_secs", self.body_timeout_secs)?,
        })
    }
}

impl RawRedis {
    fn parse(self, production: bool) -> Result<RedisSettings, ConfigError> {
        let url = match self.url {
            Some(url) => {
                let parsed =
                    Url::parse(&url).map_err(|_| invalid("redis.url", "is not a valid URL"))?;
                if !matches!(parsed.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
                    return Err(invalid(
                        "redis.url",
                        "must start with redis://, rediss://, redis+unix:// or unix://",
                    ));
                }
                Some(SecretString::from(url))
            }
            None if production => return Err(invalid("redis.url", "is required in production")),
            None => None,
        };
        if self.key_prefix.is_empty() {
            return Err(invalid("redis.key_prefix", "must not be empty"));
        }
        if self.pool_size == 0 {
            return Err(invalid("redis.pool_size", "must be greater than 0"));
        }
        Ok(RedisSettings {
            url,
            key_prefix: self.key_prefix,
            command_timeout: positive_ms("redis.command_timeout_ms", self.command_timeout_ms)?,
            pool_size: self.pool_size,
        })
    }
}

impl RawInstagram {
    fn parse(self, production: bool) -> Result<InstagramSettings, ConfigError> {
        let mode = match self.mode {
            RawMode::Sandbox if production => {
                return Err(invalid(
                    "instagram.mode",
                    "must be \"live\" in production (the sandbox's app secret is public)",
                ));
            }
            RawMode::Sandbox => InstagramMode::Sandbox,
            RawMode::Live => {
                let client_id = self.client_id.ok_or_else(|| {
                    invalid(
                        "instagram.client_id",
                        "is required when instagram.mode = \"live\"",
                    )
                })?;
                let client_secret = self.client_secret.ok_or_else(|| {
                    invalid(
                        "instagram.client_secret",
                        "is required when instagram.mode = \"live\"",
                    )
                })?;
                InstagramMode::Live(AppCredentials {
                    client_id,
                    client_secret: SecretString::from(client_secret),
                })
            }
        };
        check_scopes("instagram.scopes", &self.scopes)?;
        check_api_version("instagram.api_version", &self.api_version)?;
        if self.max_response_bytes < 1024 {
            return Err(invalid(
                "instagram.max_response_bytes",
                "must be at least 1024",
            ));
        }
        Ok(InstagramSettings {
            mode,
            redirect_uri: self
                .redirect_uri
                .map(|uri| http_url("instagram.redirect_uri", &uri))
                .transpose()?,
            scopes: self.scopes,
            api_version: self.api_version,
            authorize_url: http_url("instagram.authorize_url", &self.authorize_url)?,
            token_url: http_url("instagram.token_url", &self.token_url)?,
            graph_url: http_url("instagram.graph_url", &self.graph_url)?,
            connect_timeout: positive_ms("instagram.connect_timeout_ms", self.connect_timeout_ms)?,
            request_timeout: positive_ms("instagram.request_timeout_ms", self.request_timeout_ms)?,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

impl RawOAuth {
    fn parse(self) -> Result<OAuthSettings, ConfigError> {
        let success_redirect = match self.success_redirect {
            // URL parsing would silently drop a CR or LF; such a value is a mistake or an attack.
            Some(target) if target.chars().any(char::is_control) => {
                return Err(invalid(
                    "oauth.success_redirect",
                    "must not contain control characters (such as CR or LF): it becomes a Location header",
                ));
            }
            Some(target) => Some(http_url("oauth.success_redirect", &target)?),
            None => None,
        };
        Ok(OAuthSettings {
            success_redirect,
            state_ttl: positive_secs("oauth.state_ttl_secs", self.state_ttl_secs)?,
        })
    }
}

impl RawToken {
    fn parse(self) -> Result<TokenSettings, ConfigError> {
        if self.lock_ttl_ms < 1000 {
            return Err(invalid("token.lock_ttl_ms", "must be at least 1000"));
        }
        Ok(TokenSettings {
            check_interval: positive_secs("token.check_interval_secs", self.check_interval_secs)?,
            refresh_margin: Duration::from_secs(self.refresh_margin_secs),
            lock_ttl: Duration::from_millis(self.lock_ttl_ms),
        })
    }
}

impl RawAdmin {
    fn parse(self, production: bool) -> Result<AdminSettings, ConfigError> {
        match self.token {
            // The message never repeats the value.
            Some(token) if token.chars().count() < 32 => {
                Err(invalid("admin.token", "must be at least 32 characters"))
            }
            None if production => Err(invalid("admin.token", "is required in production")),
            token => Ok(AdminSettings {
                token: token.map(SecretString::from),
            }),
        }
    }
}

impl RawSecurity {
    fn parse(self, production: bool) -> Result<SecuritySettings, ConfigError> {
        let token_key = match self.token_key {
            Some(key) => {
                Some(TokenKey::from_base64(&key).map_err(|m| invalid("security.token_key", m))?)
            }
            None if production => {
                return Err(invalid("security.token_key", "is required in production"));
            }
            None => None,
        };
        let previous_token_keys = self
            .previous_token_keys
            .iter()
            .map(|key| {
                TokenKey::from_base64(key).map_err(|m| invalid("security.previous_token_keys", m))
            })
            .collect::<Result<_, _>>()?;
        Ok(SecuritySettings {
            token_key,
            previous_token_keys,
        })
    }
}

impl RawCors {
    fn parse(self) -> Result<CorsSettings, ConfigError> {
        for origin in &self.allowed_origins {
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
        Ok(CorsSettings {
            allowed_origins: self.allowed_origins,
        })
    }
}

impl RawFeed {
    fn parse(self) -> Result<FeedSettings, ConfigError> {
        if self.max_items == 0 {
            return Err(invalid("feed.max_items", "must be greater than 0"));
        }
        if !(1..=100).contains(&self.page_size) {
            return Err(invalid("feed.page_size", "must be between 1 and 100"));
        }
        if self.sync_lock_ttl_ms < 1000 {
            return Err(invalid("feed.sync_lock_ttl_ms", "must be at least 1000"));
        }
        if self.cache_max_bytes < 1024 * 1024 {
            return Err(invalid("feed.cache_max_bytes", "must be at least 1 MiB"));
        }
        Ok(FeedSettings {
            max_items: self.max_items,
            page_size: self.page_size,
            refresh_interval: positive_secs(
                "feed.refresh_interval_secs",
                self.refresh_interval_secs,
            )?,
            url_expiry_margin: Duration::from_secs(self.url_expiry_margin_secs),
            cold_wait: positive_ms("feed.cold_wait_ms", self.cold_wait_ms)?,
            failure_backoff: positive_secs("feed.failure_backoff_secs", self.failure_backoff_secs)?,
            throttle_backoff: positive_secs(
                "feed.throttle_backoff_secs",
                self.throttle_backoff_secs,
            )?,
            version_poll: positive_ms("feed.version_poll_ms", self.version_poll_ms)?,
            sync_lock_ttl: Duration::from_millis(self.sync_lock_ttl_ms),
            client_max_age: Duration::from_secs(self.client_max_age_secs),
            stale_while_revalidate: Duration::from_secs(self.stale_while_revalidate_secs),
            stale_if_error: Duration::from_secs(self.stale_if_error_secs),
            cache_max_bytes: self.cache_max_bytes,
        })
    }
}

impl RawAccounts {
    fn parse(self) -> Result<AccountSettings, ConfigError> {
        if !(1..=MAX_ACCOUNTS).contains(&self.max) {
            return Err(invalid(
                "accounts.max",
                format!("must be from 1 to {MAX_ACCOUNTS}"),
            ));
        }
        let default = Slug::parse(&self.default).map_err(|e| {
            invalid(
                "accounts.default",
                format!("{e} (pattern `^[a-z0-9][a-z0-9-]{{0,31}}$`)"),
            )
        })?;
        Ok(AccountSettings {
            max: self.max,
            default,
        })
    }
}

impl RawFacebook {
    fn parse(self) -> Result<FacebookSettings, ConfigError> {
        let app = match (self.app_id, self.app_secret) {
            (Some(app_id), Some(app_secret)) => {
                if !app_id.chars().all(|c| c.is_ascii_digit()) {
                    return Err(invalid("facebook.app_id", "must be the app's numeric ID"));
                }
                Some(AppCredentials {
                    client_id: app_id,
                    client_secret: SecretString::from(app_secret),
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "facebook.app_secret",
                    "is required when facebook.app_id is set",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "facebook.app_id",
                    "is required when facebook.app_secret is set",
                ));
            }
        };
        check_scopes("facebook.scopes", &self.scopes)?;
        check_api_version("facebook.api_version", &self.api_version)?;
        let authorize_url = match self.authorize_url {
            Some(url) => http_url("facebook.authorize_url", &url)?,
            None => http_url(
                "facebook.authorize_url",
                &format!("https://www.facebook.com/{}/dialog/oauth", self.api_version),
            )?,
        };
        Ok(FacebookSettings {
            app,
            config_id: self.config_id,
            redirect_uri: self
                .redirect_uri
                .map(|uri| http_url("facebook.redirect_uri", &uri))
                .transpose()?,
            scopes: self.scopes,
            api_version: self.api_version,
            authorize_url,
            graph_url: http_url("facebook.graph_url", &self.graph_url)?,
        })
    }
}

impl RawHashtags {
    fn parse(self) -> Result<HashtagSettings, ConfigError> {
        if !(1..=30).contains(&self.weekly_budget) {
            return Err(invalid(
                "hashtags.weekly_budget",
                "must be from 1 to 30 (Meta's limit per account and 7 days)",
            ));
        }
        if self.operator_reserve > self.weekly_budget {
            return Err(invalid(
                "hashtags.operator_reserve",
                "must not exceed hashtags.weekly_budget",
            ));
        }
        if !(1..=1000).contains(&self.max_items) {
            return Err(invalid("hashtags.max_items", "must be from 1 to 1000"));
        }
        let mut allowed = Vec::with_capacity(self.allowed.len());
        for tag in &self.allowed {
            let parsed = crate::hashtags::Hashtag::parse(tag)
                .map_err(|e| invalid("hashtags.allowed", format!("`{tag}`: {e}")))?;
            if !allowed.contains(&parsed) {
                allowed.push(parsed);
            }
        }
        Ok(HashtagSettings {
            weekly_budget: self.weekly_budget,
            operator_reserve: self.operator_reserve,
            allowed,
            refresh: positive_secs("hashtags.refresh_secs", self.refresh_secs)?,
            max_items: self.max_items,
        })
    }
}

fn check_scopes(key: &'static str, scopes: &[String]) -> Result<(), ConfigError> {
    if scopes.is_empty() {
        return Err(invalid(key, "must name at least one scope"));
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| !s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        return Err(invalid(
            key,
            format!("`{bad}` is not a scope name (lowercase letters and `_`)"),
        ));
    }
    Ok(())
}

fn check_api_version(key: &'static str, version: &str) -> Result<(), ConfigError> {
    let version_ok = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && minor.chars().all(|c| c.is_ascii_digit())
        });
    if version_ok {
        Ok(())
    } else {
        Err(invalid(key, "must look like `v25.0`"))
    }
}

impl RawWebhooks {
    fn parse(self) -> Result<WebhookSettings, ConfigError> {
        // The specification's advice: 15 to 30 s; beyond a minute a slow receiver holds its
        // share of the workers too long.
        if !(1..=60).contains(&self.timeout_secs) {
            return Err(invalid("webhooks.timeout_secs", "must be from 1 to 60"));
        }
        if !(1..=1024).contains(&self.max_concurrency) {
            return Err(invalid(
                "webhooks.max_concurrency",
                "must be from 1 to 1024",
            ));
        }
        if !(1..=self.max_concurrency).contains(&self.max_concurrency_per_endpoint) {
            return Err(invalid(
                "webhooks.max_concurrency_per_endpoint",
                "must be from 1 to webhooks.max_concurrency",
            ));
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err(invalid(
                "webhooks.poll_interval_ms",
                "must be from 10 to 60000",
            ));
        }
        if !(1..=10_000).contains(&self.max_endpoints) {
            return Err(invalid("webhooks.max_endpoints", "must be from 1 to 10000"));
        }
        if !(1..=30 * 86_400).contains(&self.sync_failing_after_secs) {
            return Err(invalid(
                "webhooks.sync_failing_after_secs",
                "must be from 1 to 2592000 (30 days)",
            ));
        }
        Ok(WebhookSettings {
            allow_insecure: self.allow_insecure,
            allow_private_networks: self.allow_private_networks,
            timeout: Duration::from_secs(self.timeout_secs),
            max_concurrency: self.max_concurrency,
            max_concurrency_per_endpoint: self.max_concurrency_per_endpoint,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            max_endpoints: self.max_endpoints,
            sync_failing_after: Duration::from_secs(self.sync_failing_after_secs),
        })
    }
}

impl RawMetrics {
    fn parse(self) -> Result<MetricsSettings, ConfigError> {
        let listen = self
            .listen
            .map(|listen| {
                listen.parse::<SocketAddr>().map_err(|_| {
                    invalid(
                        "metrics.listen",
                        "must be an address such as `0.0.0.0:9090`",
                    )
                })
            })
            .transpose()?;
        Ok(MetricsSettings { listen })
    }
}

impl RawAssets {
    fn parse(self, production: bool) -> Result<AssetSettings, ConfigError> {
        let mut widths = self.widths;
        widths.sort_unstable();
        widths.dedup();
        if widths.is_empty() || widths.len() > 8 {
            return Err(invalid("assets.widths", "must list 1 to 8 widths"));
        }
        if let Some(bad) = widths.iter().find(|w| !(16..=4096).contains(*w)) {
            return Err(invalid(
                "assets.widths",
                format!("{bad} is not a width between 16 and 4096"),
            ));
        }
        if !(1..=100).contains(&self.webp_quality) {
            return Err(invalid("assets.webp_quality", "must be between 1 and 100"));
        }
        if self.max_source_bytes < 1024 {
            return Err(invalid("assets.max_source_bytes", "must be at least 1024"));
        }
        if self.max_pixels < 10_000 {
            return Err(invalid("assets.max_pixels", "must be at least 10000"));
        }
        if self.claim_ttl_ms < 1000 {
            return Err(invalid("assets.claim_ttl_ms", "must be at least 1000"));
        }
        let store = match self.store {
            RawStoreKind::Memory if production && self.enabled => {
                return Err(invalid(
                    "assets.store",
                    "must be \"s3\" or a shared \"fs\" in production: replicas serve each other's pictures",
                ));
            }
            RawStoreKind::Memory => AssetStoreSettings::Memory {
                max_bytes: self.memory_max_bytes,
            },
            RawStoreKind::Fs => AssetStoreSettings::Fs {
                path: self
                    .path
                    .ok_or_else(|| {
                        invalid("assets.path", "is required when assets.store = \"fs\"")
                    })?
                    .into(),
            },
            RawStoreKind::S3 => AssetStoreSettings::S3(S3Settings {
                bucket: self.s3.bucket.ok_or_else(|| {
                    invalid("assets.s3.bucket", "is required when assets.store = \"s3\"")
                })?,
                endpoint: self
                    .s3
                    .endpoint
                    .map(|url| http_url("assets.s3.endpoint", &url))
                    .transpose()?,
                region: self.s3.region,
                path_style: self.s3.path_style,
            }),
        };
        let workers = if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            self.workers
        };
        Ok(AssetSettings {
            enabled: self.enabled,
            widths,
            webp_quality: f32::from(self.webp_quality),
            max_source_bytes: self.max_source_bytes,
            max_pixels: self.max_pixels,
            workers,
            fetch_timeout: positive_ms("assets.fetch_timeout_ms", self.fetch_timeout_ms)?,
            retention: Duration::from_secs(self.retention_days * 86_400),
            retry_backoff: positive_secs("assets.retry_backoff_secs", self.retry_backoff_secs)?,
            claim_ttl: Duration::from_millis(self.claim_ttl_ms),
            cache_max_bytes: self.cache_max_bytes,
            public_base_url: self
                .public_base_url
                .map(|url| http_url("assets.public_base_url", &url))
                .transpose()?,
            store,
        })
    }
}

fn positive_secs(key: &'static str, secs: u64) -> Result<Duration, ConfigError> {
    if secs == 0 {
        return Err(invalid(key, "must be greater than 0"));
    }
    Ok(Duration::from_secs(secs))
}

fn positive_ms(key: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(invalid(key, "must be greater than 0"));
    }
    Ok(Duration::from_millis(ms))
}

pub(super) fn http_url(key: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| invalid(key, format!("`{value}` is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(key, format!("`{value}` must be an http(s) URL")));
    }
    Ok(url)
}

/// A list of numbers from TOML, or a comma-separated string from an environment variable.
fn number_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumbersOrString {
        Numbers(Vec<u32>),
        Text(String),
    }
    match NumbersOrString::deserialize(d)? {
        NumbersOrString::Numbers(numbers) => Ok(numbers),
        NumbersOrString::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse()
                    .map_err(|_| serde::de::Error::custom(format!("`{item}` is not a width")))
            })
            .collect(),
    }
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
