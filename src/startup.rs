//! Builds the application from settings: store, token service, background tasks, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use url::Url;
use utoipa_actix_web::AppExt as _;

use crate::accounts::{
    AccountParts, Accounts, ConnectionParts, Connections, migrate_single_account,
    spawn_account_tasks,
};
use crate::api::{
    self, AdminToken, Draining, Edge, FeedEndpoint, KnownRoutes, OAuthPages, RateLimits,
};
use crate::assets::{AssetStorage, Assets, HotAssets, Pipeline};
use crate::auth::{DataDeletions, OAuthStates, TokenCipher, TokenServiceConfig};
use crate::config::{InstagramMode, Settings};
use crate::feed::ResponseCache;
use crate::hashtags::{PublicSearch, PublicSearchSettings};
use crate::instagram::{Endpoints, FacebookApp, InstagramClient};
use crate::metrics::Metrics;
use crate::sandbox::{self, Sandbox};
use crate::store::{MemoryStore, RedisStore, Store, StoreHealth};
use crate::webhooks::{Clock, Deliverer, Webhooks};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

/// A built, listening application.
pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on a listener of its own (`metrics.listen`).
    metrics: Option<(u16, Server)>,
    draining: Draining,
    drain: Duration,
    /// Tells the webhook worker to stop claiming deliveries once the server has stopped.
    stop_workers: tokio::sync::watch::Sender<bool>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`Application::build`] with the clock webhook deliveries run on (tests move it to
    /// check the retry schedule).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Setup(e.to_string()))?
            .port();
        let public_url = public_url(&settings, port)?;
        let metrics_listener = settings
            .metrics
            .listen
            .map(|address| {
                TcpListener::bind(address).map_err(|source| StartupError::Bind {
                    address: address.to_string(),
                    source,
                })
            })
            .transpose()?;

        let store = build_store(&settings)?;
        let cipher = Arc::new(build_cipher(&settings));
        let admin_token = admin_token(&settings);
        let redirect_uri = match &settings.instagram.redirect_uri {
            Some(uri) => uri.to_string(),
            None => format!(
                "{}/oauth/callback",
                public_url.as_str().trim_end_matches('/')
            ),
        };

        let metrics = Metrics::new();
        let (endpoints, client_id, client_secret) = upstream(&settings, &public_url);
        let ig = &settings.instagram;
        let client = Arc::new(
            InstagramClient::new(
                endpoints,
                client_id,
                client_secret.clone(),
                ig.connect_timeout,
                ig.request_timeout,
                ig.max_response_bytes,
                metrics.clone(),
            )
            .map_err(|e| StartupError::Setup(e.to_string()))?
            .with_facebook(facebook_app(&settings, &public_url)),
        );
        let client_facebook_secret = client.facebook().map(|app| app.app_secret.clone());

        let states = Arc::new(OAuthStates::new(store.clone(), settings.oauth.state_ttl));
        // Before the accounts: whatever emits events (`webhooks.events()`) can be given it.
        let webhooks = Webhooks::new(store.clone(), cipher.clone(), &settings.webhooks, clock);
        let accounts = Accounts::new(
            AccountParts {
                store: store.clone(),
                cipher: cipher.clone(),
                client: client.clone(),
                states: states.clone(),
                token_config: TokenServiceConfig {
                    redirect_uri: redirect_uri.clone(),
                    facebook_redirect_uri: settings
                        .facebook
                        .redirect_uri
                        .as_ref()
                        .map_or_else(|| redirect_uri.clone(), Url::to_string),
                    scopes: ig.scopes.clone(),
                    refresh_margin: chrono::Duration::from_std(settings.token.refresh_margin)
                        .unwrap_or(chrono::Duration::MAX),
                    lock_ttl: settings.token.lock_ttl,
                },
                token_check_interval: settings.token.check_interval,
                feed: settings.feed.clone(),
                metrics: metrics.clone(),
                cache: ResponseCache::new(settings.feed.cache_max_bytes),
                events: webhooks.events(),
                sync_failing_after: settings.webhooks.sync_failing_after,
            },
            settings.accounts.default.clone(),
            settings.accounts.max,
        );
        let public_search = PublicSearch::new(
            store.clone(),
            client.clone(),
            PublicSearchSettings {
                weekly_budget: settings.hashtags.weekly_budget,
                operator_reserve: settings.hashtags.operator_reserve,
                allowed: settings.hashtags.allowed.clone(),
                refresh: settings.hashtags.refresh,
                max_items: settings.hashtags.max_items,
            },
            metrics.clone(),
            accounts.pictures().clone(),
        );
        load_accounts(&accounts, &store).await;
        let deliverer = Arc::new(
            Deliverer::new(webhooks.clone(), &settings.webhooks, metrics.clone())
                .map_err(|e| StartupError::Setup(format!("webhooks: {e}")))?,
        );
        let connections = Arc::new(Connections::new(ConnectionParts {
            accounts: accounts.clone(),
            states,
            app_secret: client_secret,
            facebook_secret: client_facebook_secret,
            store: store.clone(),
            events: webhooks.events(),
            cipher: cipher.clone(),
            choice_ttl: settings.oauth.state_ttl,
            public_search: public_search.clone(),
        }));

        // Served whatever `assets.enabled` says: published URLs stay valid (see the docs).
        let asset_storage = AssetStorage::new(&settings.assets.store)
            .map_err(|e| StartupError::Setup(format!("assets.store: {e}")))?;
        if settings.assets.enabled && asset_storage.kind() == "memory" {
            tracing::warn!(
                "assets.store is \"memory\": re-hosted pictures are kept in this process only and made again after a restart"
            );
        }
        let hot_assets = Arc::new(HotAssets::new(
            asset_storage.clone(),
            settings.assets.cache_max_bytes,
            metrics.clone(),
        ));
        let pipeline = settings.assets.enabled.then(|| {
            let url_base = match &settings.assets.public_base_url {
                Some(base) => base.to_string(),
                None => format!("{}/assets", public_url.as_str().trim_end_matches('/')),
            };
            Pipeline::new(
                store.clone(),
                asset_storage.clone(),
                hot_assets.clone(),
                settings.assets.clone(),
                &url_base,
                settings.feed.version_poll,
                metrics.clone(),
            )
        });
        let assets = Assets::new(pipeline.clone(), &asset_storage);

        let store_health = StoreHealth::new(store.clone(), metrics.clone());
        store_health.spawn_monitor(Duration::from_secs(1));
        let draining = Draining::default();
        let public_base = public_url.as_str().trim_end_matches('/').to_owned();
        let spec = api::openapi();
        let metrics_here = metrics_listener.is_none();
        let mut known_routes = KnownRoutes::from_openapi(&spec);
        if !metrics_here {
            known_routes.remove("/metrics");
        }
        let metrics_state = MetricsState {
            metrics: web::Data::from(metrics.clone()),
            accounts: web::Data::from(accounts.clone()),
            webhooks: web::Data::new(webhooks.clone()),
            body_timeout: settings.server.body_timeout,
        };
        let state = AppState {
            accounts: web::Data::from(accounts.clone()),
            connections: web::Data::from(connections.clone()),
            webhooks: web::Data::new(webhooks),
            metrics: web::Data::from(metrics.clone()),
            store_health: web::Data::from(store_health),
            draining: web::Data::new(draining.clone()),
            metrics_here,
            body_timeout: settings.server.body_timeout,
            feed_endpoint: web::Data::new(FeedEndpoint::new(
                accounts.clone(),
                &settings.feed,
                metrics.clone(),
            )),
            public_search: web::Data::from(public_search.clone()),
            deletions: web::Data::new(DataDeletions::new(store.clone())),
            assets: web::Data::new(assets),
            hot_assets: web::Data::from(hot_assets),
            store: web::Data::new(store.clone()),
            admin_token: web::Data::new(admin_token),
            pages: web::Data::new(OAuthPages {
                success_redirect: settings.oauth.success_redirect.as_ref().map(Url::to_string),
                public_url: public_base.clone(),
            }),
            known_routes: web::Data::new(known_routes),
            spec: api::SpecJson::new(&spec),
            sandbox: ig
                .mode
                .is_sandbox()
                .then(|| web::Data::new(Sandbox::new(redirect_uri))),
            cors_origins: settings.cors.allowed_origins.clone(),
            rate_limits: RateLimits::from_settings(&settings.rate_limit),
        };
        state.rate_limits.spawn_cleanup();
        // Signals are ours (see `run_until_stopped`): actix would stop accepting at once.
        let server = HttpServer::new(move || state.clone().app())
            .shutdown_timeout(settings.server.shutdown_grace.as_secs())
            .disable_signals()
            .listen(listener)
            .map_err(|source| StartupError::Bind { address, source })?
            .run();
        let metrics_server = match metrics_listener {
            Some(listener) => {
                let port = listener
                    .local_addr()
                    .map_err(|e| StartupError::Setup(e.to_string()))?
                    .port();
                let server = HttpServer::new(move || metrics_state.clone().app())
                    .workers(1)
                    .shutdown_timeout(settings.server.shutdown_grace.as_secs())
                    .disable_signals()
                    .listen(listener)
                    .map_err(|source| StartupError::Bind {
                        address: format!("metrics.listen port {port}"),
                        source,
                    })?
                    .run();
                Some((port, server))
            }
            None => None,
        };

        spawn_account_tasks(accounts.clone(), settings.feed.version_poll);
        let (stop_workers, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(deliverer.run(stopped));
        if let Some(pipeline) = pipeline {
            spawn_asset_tasks(pipeline, &accounts, &public_search);
        }
        if ig.mode.is_sandbox() {
            tokio::spawn(sandbox::connect_at_startup(connections));
        }
        tracing::info!(
            url = %public_base,
            store = store.kind(),
            sandbox = ig.mode.is_sandbox(),
            "instagram-gateway listening"
        );
        Ok(Self {
            port,
            server,
            metrics: metrics_server,
            draining,
            drain: settings.server.drain,
            stop_workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener, when `metrics.listen` gives it one of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Stops the server (gracefully when `graceful`); the metrics listener follows.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped through [`Application::handle`] (what tests do; no signal handlers
    /// are installed, so Ctrl-C still ends a test run).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            server,
            metrics,
            stop_workers,
            ..
        } = self;
        // An actix `Server` handles its stop command only while polled: run both at once.
        let metrics = metrics.map(|(_, server)| (server.handle(), tokio::spawn(server)));
        let result = server.await;
        stop_workers.send_replace(true);
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            task.await.map_err(std::io::Error::other)??;
        }
        result
    }

    /// Serves until SIGTERM or SIGINT, then drains: `/readyz` turns 503 at once while every
    /// request is still served for `server.drain_secs` (load balancers take the instance out
    /// meanwhile), then the listener closes and in-flight requests get
    /// `server.shutdown_grace_secs`. A second signal ends the drain early.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let signals = tokio::spawn(drain_on_signal(
            self.handle(),
            self.draining.clone(),
            self.drain,
        ));
        let result = self.run_until_stopped().await;
        signals.abort();
        result
    }
}

async fn drain_on_signal(server: ServerHandle, draining: Draining, drain: Duration) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop the process with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    draining.start();
    tracing::info!(
        drain_secs = drain.as_secs(),
        "shutting down: /readyz answers 503; still serving while load balancers catch up"
    );
    tokio::select! {
        () = tokio::time::sleep(drain) => {}
        _ = term.recv() => tracing::info!("second signal: ending the drain early"),
        _ = int.recv() => tracing::info!("second signal: ending the drain early"),
    }
    tracing::info!("no longer accepting connections; finishing in-flight requests");
    server.stop(true).await;
}

/// What the `/metrics` listener's `App` needs.
#[derive(Clone)]
struct MetricsState {
    metrics: web::Data<Metrics>,
    accounts: web::Data<Accounts>,
    webhooks: web::Data<Webhooks>,
    body_timeout: Duration,
}

impl MetricsState {
    fn app(
        self,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        App::new()
            .app_data(self.metrics.clone())
            .app_data(self.accounts)
            .app_data(self.webhooks)
            .service(api::get_metrics)
            .default_service(web::to(api::not_found))
            .wrap(Edge::new(self.metrics.into_inner(), &[], self.body_timeout))
    }
}

/// Everything a worker's `App` needs; cloned once per worker.
#[derive(Clone)]
struct AppState {
    accounts: web::Data<Accounts>,
    connections: web::Data<Connections>,
    webhooks: web::Data<Webhooks>,
    metrics: web::Data<Metrics>,
    store_health: web::Data<StoreHealth>,
    draining: web::Data<Draining>,
    metrics_here: bool,
    body_timeout: Duration,
    feed_endpoint: web::Data<FeedEndpoint>,
    public_search: web::Data<PublicSearch>,
    deletions: web::Data<DataDeletions>,
    assets: web::Data<Assets>,
    hot_assets: web::Data<HotAssets>,
    store: web::Data<Store>,
    admin_token: web::Data<AdminToken>,
    pages: web::Data<OAuthPages>,
    known_routes: web::Data<KnownRoutes>,
    spec: api::SpecJson,
    sandbox: Option<web::Data<Sandbox>>,
    cors_origins: Vec<String>,
    rate_limits: RateLimits,
}

impl AppState {
    fn app(
        self,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        // The spec is built once (in `build`); this only mounts the same route table.
        let app = App::new()
            .into_utoipa_app()
            .app_data(self.accounts)
            .app_data(self.connections)
            .app_data(self.webhooks)
            .app_data(self.metrics.clone())
            .app_data(self.store_health)
            .app_data(self.draining)
            .app_data(self.feed_endpoint)
            .app_data(self.public_search)
            .app_data(self.deletions)
            .app_data(self.assets)
            .app_data(self.hot_assets)
            .app_data(self.store)
            .app_data(self.admin_token)
            .app_data(self.pages)
            .app_data(self.known_routes)
            .configure(|cfg| api::configure(cfg, &self.rate_limits, self.metrics_here))
            .into_app();
        let (sandbox, spec) = (self.sandbox, self.spec);
        app.configure(api::configure_extractors)
            .configure(|cfg| api::configure_docs(cfg, spec))
            .configure(|cfg| {
                if let Some(sandbox) = sandbox {
                    cfg.app_data(sandbox);
                    sandbox::configure(cfg);
                }
            })
            .default_service(web::to(api::fallback))
            .wrap(Edge::new(
                self.metrics.into_inner(),
                &self.cors_origins,
                self.body_timeout,
            ))
    }
}

/// The pipeline follows what every account's feed shows; every feed shows the pipeline's
/// finished pictures.
fn spawn_asset_tasks(
    pipeline: Arc<Pipeline>,
    accounts: &Arc<Accounts>,
    public_search: &Arc<PublicSearch>,
) {
    let Some((wanted, purges)) = accounts.pictures().subscribe() else {
        return;
    };
    let mut images = pipeline.images();
    tokio::spawn(pipeline.run(wanted, purges));
    let (accounts, public_search) = (accounts.clone(), public_search.clone());
    tokio::spawn(async move {
        while images.changed().await.is_ok() {
            let current = images.borrow_and_update().clone();
            public_search.set_images(current.clone());
            accounts.set_images(current);
        }
    });
}

/// The upgrade from the single-account key layout, the default account's registration, and
/// the accounts in the store. With the store down, the default account serves meanwhile
/// (from nothing: reads answer 503 until the store is back) and this is retried.
async fn load_accounts(accounts: &Arc<Accounts>, store: &Store) {
    async fn once(accounts: &Accounts, store: &Store) -> Result<(), crate::store::StoreError> {
        migrate_single_account(store, accounts.default_slug()).await?;
        accounts.ensure_default().await?;
        accounts.reload().await
    }
    if let Err(e) = once(accounts, store).await {
        tracing::warn!(error = %e, "could not load the accounts from the store; retrying in the background");
        let (accounts, store) = (accounts.clone(), store.clone());
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(1);
            while let Err(e) = once(&accounts, &store).await {
                tracing::debug!(error = %e, "loading the accounts: the store is not answering");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            tracing::info!("accounts loaded from the store");
        });
    }
}

fn public_url(settings: &Settings, port: u16) -> Result<Url, StartupError> {
    if let Some(url) = &settings.server.public_url {
        return Ok(url.clone());
    }
    // A wildcard bind address is not something a browser can open.
    let host = match settings.server.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "localhost",
        host => host,
    };
    let text = format!("http://{host}:{port}");
    Url::parse(&text)
        .map_err(|_| StartupError::Setup(format!("server.host: `{host}` is not a host")))
}

fn build_store(settings: &Settings) -> Result<Store, StartupError> {
    let redis = &settings.redis;
    match &redis.url {
        Some(url) => RedisStore::new(
            url,
            &redis.key_prefix,
            redis.command_timeout,
            redis.pool_size,
        )
        .map(Store::redis)
        .map_err(|e| StartupError::Setup(format!("redis.url: {e}"))),
        None => {
            tracing::warn!(
                "redis.url is not set: using the in-memory store; nothing survives a restart"
            );
            Ok(Store::memory(MemoryStore::new()))
        }
    }
}

fn build_cipher(settings: &Settings) -> TokenCipher {
    let security = &settings.security;
    let current = match &security.token_key {
        Some(key) => *key.expose(),
        None => {
            tracing::warn!(
                "security.token_key is not set: generated an ephemeral key; a stored token will not decrypt after a restart"
            );
            crate::random::bytes::<32>()
        }
    };
    TokenCipher::new(
        current,
        security.previous_token_keys.iter().map(|key| *key.expose()),
    )
}

/// The configured admin token, or (locally) a generated one printed once to stderr. A
/// configured token is never printed.
fn admin_token(settings: &Settings) -> AdminToken {
    match &settings.admin.token {
        Some(token) => AdminToken::new(token),
        None => {
            let generated = SecretString::from(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(crate::random::bytes::<32>()),
            );
            eprintln!(
                "admin.token is not set; generated one for this run:\n\n    {}\n\nuse it as `Authorization: Bearer <token>` on /admin/*",
                generated.expose_secret()
            );
            AdminToken::new(&generated)
        }
    }
}

/// The Facebook app: the sandbox's (mounted on this service), the configured one, or none.
fn facebook_app(settings: &Settings, public_url: &Url) -> Option<FacebookApp> {
    let fb = &settings.facebook;
    let (app_id, app_secret, authorize_url, graph_url) = match (&settings.instagram.mode, &fb.app) {
        (InstagramMode::Sandbox, _) => {
            let (authorize_url, graph_url) = sandbox::facebook_endpoints(public_url);
            (
                sandbox::FACEBOOK_APP_ID.to_owned(),
                SecretString::from(sandbox::FACEBOOK_APP_SECRET),
                authorize_url,
                graph_url,
            )
        }
        (InstagramMode::Live(_), Some(app)) => (
            app.client_id.clone(),
            app.client_secret.clone(),
            fb.authorize_url.clone(),
            fb.graph_url.clone(),
        ),
        (InstagramMode::Live(_), None) => return None,
    };
    Some(FacebookApp {
        app_id,
        app_secret,
        config_id: fb.config_id.clone(),
        scopes: fb.scopes.clone(),
        api_version: fb.api_version.clone(),
        authorize_url,
        graph_url,
    })
}

/// Upstream endpoints and app credentials: the sandbox's (mounted on this service) or the
/// configured live ones.
fn upstream(settings: &Settings, public_url: &Url) -> (Endpoints, String, SecretString) {
    let ig = &settings.instagram;
    match &ig.mode {
        InstagramMode::Sandbox => (
            sandbox::endpoints(public_url, &ig.api_version),
            sandbox::CLIENT_ID.to_owned(),
            SecretString::from(sandbox::CLIENT_SECRET),
        ),
        InstagramMode::Live(app) => (
            Endpoints {
                authorize_url: ig.authorize_url.clone(),
                token_url: ig.token_url.clone(),
                graph_url: ig.graph_url.clone(),
                api_version: ig.api_version.clone(),
            },
            app.client_id.clone(),
            app.client_secret.clone(),
        ),
    }
}
