//! HTTP only: the route table, extractors, DTOs, headers. Handlers are thin and call into
//! `auth`/`store`; every error leaves through `crate::error::ApiError`.

mod account;
mod admin;
mod admin_accounts;
mod admin_auth;
mod admin_curation;
mod admin_errors;
mod admin_hashtags;
mod admin_page;
mod admin_webhooks;
mod assets;
mod cors;
mod docs;
mod edge;
mod examples;
mod fallback;
mod feed_http;
mod finishing;
mod health;
mod images;
mod metrics;
mod oauth;
mod observe;
mod profile;
mod rate_limit;
mod request_limits;
mod search;
mod security_headers;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt as _, scope};

pub use admin_auth::AdminToken;
pub use docs::{SpecJson, configure_docs};
pub use edge::Edge;
pub use fallback::{KnownRoutes, fallback, not_found};
pub use feed_http::FeedEndpoint;
pub use health::Draining;
pub use metrics::get_metrics;
pub use oauth::OAuthPages;
pub use rate_limit::RateLimit;

use crate::error::ApiError;

/// Request bodies (only small forms from Meta) are refused above this.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The document's fixed parts; paths and schemas are collected from the route table. The
/// license comes from Cargo.toml (`license = "MIT"`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "instagram-gateway",
        description = "A business's Instagram media as fast, cached JSON.

The service connects Instagram professional accounts, keeps their tokens on the server, syncs \
each account's media into a snapshot and serves it to frontends. Reads are answered from memory \
and keep working from the last snapshot while Instagram fails.

- **Frontends** call the `feed` operations: `GET /images` (paged, newest first), \
`GET /images/{id}` and `GET /search` for the default account, and the same under \
`/accounts/{slug}/` for each account an operator added. No authentication. Answers carry a strong `ETag` \
(send it back as `If-None-Match` for a `304`), `Cache-Control: public, max-age=60, \
stale-while-revalidate=300, stale-if-error=86400` and `Cache-Status` (RFC 9211). Browsers on \
other origins may read them when their origin is in `cors.allowed_origins`; `ETag`, `Age`, \
`Retry-After` and `Cache-Status` are exposed to them. The pictures the gateway re-hosts are \
`GET /assets/{key}.webp` (`assets`): immutable, cacheable for a year, embeddable from any origin.
- **Operators** use `/admin/*` with the admin bearer token (`Authorization: Bearer \
<admin.token>`), or the operator page at `/admin/`.
- **Instagram and Meta** call `/oauth/*`; **probes and Prometheus** call `/healthz`, `/readyz` \
and `/metrics`.

Every GET operation also answers HEAD: the same status and headers (a `304` too), without the \
body. Another method on a documented path answers `405 method_not_allowed` with `Allow`; an \
unknown path answers `404 not_found`.

**Errors** are `application/problem+json` (RFC 9457): a stable snake_case `type` to branch on, \
a `title`, the `status`, and a `detail` for humans that never contains an upstream body or a \
token. Each operation lists its own; besides those, any request can be refused with \
`414 uri_too_long` (URI over 8 KiB), `431 headers_too_large` (headers over 16 KiB in all), \
`413 payload_too_large` (body over 16 KiB) or `408 request_timeout` (body not arrived within \
`server.body_timeout_secs`).",
        contact(name = "instagram-gateway maintainers"),
    ),
    servers(
        // Relative: Swagger UI and schemathesis resolve it against the document's own address.
        (url = "/", description = "This instance (locally http://127.0.0.1:8080 by default)")
    ),
    // Registered by hand (see `assets::AssetRoute`), so documented here.
    paths(assets::get_asset),
    modifiers(&AdminBearer),
    tags(
        (name = "feed", description = "The account's media, for frontends: no authentication, answered from the \
                                       snapshot in memory, paged, searchable, and cacheable by browsers and CDNs \
                                       (strong ETags, `Cache-Control`, `Cache-Status`)"),
        (name = "assets", description = "Re-hosted pictures, for frontends: WebP copies named by their content, \
                                         immutable and cacheable for a year, embeddable from any origin"),
        (name = "health", description = "Liveness and readiness probes, and Prometheus metrics: for Kubernetes, \
                                         load balancers and monitoring"),
        (name = "oauth", description = "Instagram Login callbacks, called by Instagram (through the operator's \
                                        browser) and by Meta, never by frontends. Responses are `Cache-Control: no-store`"),
        (name = "admin", description = "Operator endpoints: add and delete accounts, connect them to Instagram, \
                                        check or refresh their tokens, force a sync, register webhook endpoints. The admin bearer token is required; responses are \
                                        `Cache-Control: no-store`"),
        (name = "curation", description = "Operator endpoints: what each account's feed shows. Hide posts, pin up to 12 \
                                           to lead the feed, filter by type and caption words. Applied when pages are built, \
                                           on every replica within about `feed.version_poll_ms`; the pages get new ETags. \
                                           The admin bearer token is required; responses are `Cache-Control: no-store`"),
    )
)]
struct ApiDoc;

struct AdminBearer;

impl Modify for AdminBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Headers for everything under `/oauth` and `/admin`: never cached, never framed, no referrer.
fn sensitive_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ))
}

/// Per-client request limits of the route groups that have one.
#[derive(Clone)]
pub struct RateLimits {
    pub images: RateLimit,
    pub search: RateLimit,
    pub admin: RateLimit,
}

impl RateLimits {
    pub fn from_settings(s: &crate::config::RateLimitSettings) -> Self {
        Self {
            images: RateLimit::per_minute(s.images_per_minute, s.trust_forwarded_for),
            search: RateLimit::per_minute(s.search_per_minute, s.trust_forwarded_for),
            admin: RateLimit::per_minute(s.admin_per_minute, s.trust_forwarded_for),
        }
    }

    /// Starts each limiter's periodic cleanup of idle clients (see [`RateLimit::spawn_cleanup`]).
    pub fn spawn_cleanup(&self) {
        for limit in [&self.images, &self.search, &self.admin] {
            limit.spawn_cleanup();
        }
    }

    fn disabled() -> Self {
        Self {
            images: RateLimit::per_minute(0, false),
            search: RateLimit::per_minute(0, false),
            admin: RateLimit::per_minute(0, false),
        }
    }
}

/// The one route table, used by the server and by [`openapi`]. `/metrics` is left out when it
/// has a listener of its own (`metrics.listen`).
pub fn configure(cfg: &mut ServiceConfig, limits: &RateLimits, metrics_here: bool) {
    // A limit that is off adds no layer: `/images` is the hot path.
    let images = scope("/images")
        .service(images::list_images)
        .service(images::get_image);
    match limits.images.middleware() {
        Some(limit) => cfg.service(images.wrap(limit)),
        None => cfg.service(images),
    };
    let search = scope("/search").service(search::search_images);
    match limits.search.middleware() {
        Some(limit) => cfg.service(search.wrap(limit)),
        None => cfg.service(search),
    };
    // A static prefix, before the regexes of `/accounts/{slug}` that no picture should wait for.
    cfg.map(|cfg| cfg.service(assets::AssetRoute));
    // The feed's routes for the account `{slug}`, under the same limits (one budget per client).
    let account_images = scope("/accounts/{slug}/images")
        .service(images::list_account_images)
        .service(images::get_account_image);
    match limits.images.middleware() {
        Some(limit) => cfg.service(account_images.wrap(limit)),
        None => cfg.service(account_images),
    };
    let account_search = scope("/accounts/{slug}/search").service(search::search_account_images);
    match limits.search.middleware() {
        Some(limit) => cfg.service(account_search.wrap(limit)),
        None => cfg.service(account_search),
    };
    // After the scopes above: this one's prefix would take their paths.
    let profile = scope("/accounts/{slug}").service(profile::get_profile);
    match limits.images.middleware() {
        Some(limit) => cfg.service(profile.wrap(limit)),
        None => cfg.service(profile),
    };
    cfg.service(health::check_health)
        .service(health::check_readiness)
        .configure(|cfg| {
            if metrics_here {
                cfg.service(metrics::get_metrics);
            }
        })
        .service(
            scope("/oauth")
                .wrap(sensitive_headers())
                .service(oauth::handle_oauth_callback)
                .service(oauth::handle_choice)
                .service(oauth::handle_deauthorize)
                .service(oauth::handle_data_deletion)
                .service(oauth::get_data_deletion_status),
        );
    let admin = scope("/admin")
        .service(admin::start_reauth)
        .service(admin::get_admin_status)
        .service(admin::refresh_token)
        .service(admin::sync_feed)
        .service(admin::retry_assets)
        .service(admin_accounts::create_account)
        .service(admin_accounts::list_accounts)
        .service(admin_accounts::get_account)
        .service(admin_accounts::delete_account)
        .service(admin_accounts::start_account_reauth)
        .service(admin_accounts::refresh_account_token)
        .service(admin_accounts::sync_account)
        .service(admin_hashtags::get_hashtag_budget)
        .service(admin_hashtags::warm_hashtag)
        .service(admin_curation::get_curation)
        .service(admin_curation::list_posts)
        .service(admin_curation::list_hidden)
        .service(admin_curation::hide_post)
        .service(admin_curation::unhide_post)
        .service(admin_curation::list_pinned)
        .service(admin_curation::pin_posts)
        .service(admin_curation::get_filters)
        .service(admin_curation::set_filters)
        .service(admin_webhooks::create_webhook)
        .service(admin_webhooks::list_webhooks)
        .service(admin_webhooks::get_webhook)
        .service(admin_webhooks::update_webhook)
        .service(admin_webhooks::delete_webhook)
        .service(admin_webhooks::rotate_webhook_secret)
        .service(admin_webhooks::test_webhook)
        .service(admin_webhooks::list_webhook_deliveries)
        // The operator page: plain actix routes, outside the OpenAPI document.
        .map(admin_page::mount);
    // The last `wrap` is the outermost: the headers also reach the limiter's 429s.
    match limits.admin.middleware() {
        Some(limit) => cfg.service(admin.wrap(limit).wrap(sensitive_headers())),
        None => cfg.service(admin.wrap(sensitive_headers())),
    };
}

/// Extractor settings that turn actix's plain-text rejections into problems.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _| {
        ApiError::BadRequest(format!("invalid query string: {err}")).into()
    }))
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _| ApiError::BadRequest(format!("invalid path: {err}")).into()),
    )
    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
    .app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| {
                use actix_web::error::JsonPayloadError as E;
                match err {
                    E::Overflow { .. } | E::OverflowKnownLength { .. } => {
                        ApiError::PayloadTooLarge(format!(
                            "request bodies are limited to {MAX_BODY_BYTES} bytes"
                        ))
                    }
                    E::ContentType => ApiError::UnsupportedMediaType(
                        "send the body as application/json".to_owned(),
                    ),
                    E::Deserialize(e) => ApiError::BadRequest(format!("invalid JSON body: {e}")),
                    other => ApiError::BadRequest(format!("invalid JSON body: {other}")),
                }
                .into()
            }),
    )
    .app_data(
        web::FormConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| {
                use actix_web::error::UrlencodedError as E;
                match err {
                    E::Overflow { .. } | E::UnknownLength => ApiError::PayloadTooLarge(format!(
                        "request bodies are limited to {MAX_BODY_BYTES} bytes"
                    )),
                    E::ContentType => ApiError::UnsupportedMediaType(
                        "send the body as application/x-www-form-urlencoded".to_owned(),
                    ),
                    other => ApiError::BadRequest(format!("invalid form body: {other}")),
                }
                .into()
            }),
    );
}

/// The OpenAPI document of the route table (what `/openapi.json` serves and the committed
/// `openapi/openapi.json` must equal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(|cfg| configure(cfg, &RateLimits::disabled(), true))
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}
