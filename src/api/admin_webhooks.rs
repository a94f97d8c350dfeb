//! `/admin/webhooks`: registering the endpoints outbound events go to, rotating their secrets,
//! sending a test event and reading their deliveries. Every handler takes `AdminAuth`.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::admin_auth::AdminAuth;
use super::admin_errors::AdminFailures;
use super::examples;
use crate::error::{ApiError, Problem};
use crate::webhooks::{
    Delivery, DeliveryStatus, Endpoint, EndpointChanges, EventType, NewEndpoint, Webhooks,
};

/// `POST /admin/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: https (http only where `webhooks.allow_insecure` is true), no
    /// credentials, not on a private, loopback or link-local address unless
    /// `webhooks.allow_private_networks` is true. At most 2048 characters.
    #[schema(max_length = 2048, example = "https://example.com/hooks/instagram")]
    url: String,
    /// The event types to send (at least one).
    #[schema(min_items = 1)]
    events: Vec<EventType>,
    /// Only events of these accounts (slugs); left out: every account's.
    #[schema(min_items = 1, example = json!(["shop"]))]
    accounts: Option<Vec<String>>,
    /// A note for operators: 1 to 200 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
        example = "The shop's site: rebuild on new posts"
    )]
    description: Option<String>,
}

/// `PATCH /admin/webhooks/{id}`: the fields given change, the others stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChanges {
    #[schema(max_length = 2048, example = "https://example.com/hooks/instagram")]
    url: Option<String>,
    #[schema(min_items = 1)]
    events: Option<Vec<EventType>>,
    /// `null`: every account's events again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, nullable, min_items = 1, example = json!(["shop"]))]
    accounts: Option<Option<Vec<String>>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 200,
             example = "The shop's site")]
    description: Option<Option<String>>,
    /// `true` re-enables an endpoint disabled by a `410 Gone` (or by an operator).
    enabled: Option<bool>,
}

/// A field that is present (`null` included), as opposed to left out.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A webhook endpoint (its secret is shown only when created or rotated).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    #[schema(
        pattern = "^ep_[A-Za-z0-9]{24}$",
        example = "ep_3kT9vQm2LxW8pZr4NbY6cHd1"
    )]
    id: String,
    #[schema(example = "https://example.com/hooks/instagram")]
    url: String,
    events: Vec<EventType>,
    /// The accounts whose events it gets; null: every account's.
    #[schema(required = true, example = json!(["shop"]))]
    accounts: Option<Vec<String>>,
    #[schema(required = true, example = "The shop's site: rebuild on new posts")]
    description: Option<String>,
    /// Disabled endpoints get nothing (re-enable with `PATCH`, `"enabled": true`).
    enabled: bool,
    /// Why the service disabled it (a `410 Gone` from the receiver); null otherwise.
    #[schema(required = true, example = json!(null))]
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// After `rotate-secret`: until then, the previous secret signs too.
    #[schema(required = true, example = json!(null))]
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl From<Endpoint> for WebhookView {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            events: e.events,
            accounts: e.accounts,
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
            updated_at: e.updated_at,
            previous_secret_expires_at: e.previous_secret_expires_at,
        }
    }
}

/// A new endpoint and its signing secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    webhook: WebhookView,
    /// The signing secret, `whsec_` + base64 of 32 random bytes: give it to the receiver's
    /// Standard Webhooks library. Shown this once.
    #[schema(example = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD6uSnTwFm2lA=")]
    secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// Every endpoint, oldest first.
    webhooks: Vec<WebhookView>,
    /// `webhooks.max_endpoints`.
    #[schema(example = 100)]
    max: usize,
}

#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret, shown this once.
    #[schema(example = "whsec_ZbAmgNVlbXx8ZxIM4Vb9vgc1pHtTmAhwx4Ki2Mvaf0s=")]
    secret: String,
    /// Until then deliveries carry two signatures, the old secret's and the new one's.
    previous_secret_expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct TestQueued {
    /// The `webhook-id` the test event is sent with.
    #[schema(example = "msg_9fR2kLw7XcV1bN4mQz8TpY3s")]
    event_id: String,
}

/// One event's delivery to this endpoint.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` header: the same on every attempt.
    #[schema(example = "msg_9fR2kLw7XcV1bN4mQz8TpY3s")]
    event_id: String,
    #[serde(rename = "type")]
    kind: EventType,
    status: DeliveryStatus,
    /// Attempts made so far (at most 10).
    #[schema(example = 2)]
    attempts: u32,
    /// The receiver's last HTTP status; null before any answer (or after a timeout).
    #[schema(required = true, example = 503)]
    last_status: Option<u16>,
    /// Why the last attempt failed; null when it succeeded or none was made.
    #[schema(required = true, example = "the receiver answered 503")]
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    #[schema(required = true)]
    last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; null once it succeeded or failed for good.
    #[schema(required = true)]
    next_attempt_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            event_id: d.event_id,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// The last 100 deliveries, newest first.
    deliveries: Vec<DeliveryView>,
}

/// The `{id}` path parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The endpoint's id, from `POST /admin/webhooks`.
    #[param(
        pattern = "^ep_[A-Za-z0-9]{24}$",
        example = "ep_3kT9vQm2LxW8pZr4NbY6cHd1"
    )]
    id: String,
}

/// No endpoint with this id
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documented only: errors are answered by ApiError")]
#[response(status = 404, content_type = "application/problem+json",
           example = json!(examples::webhook_not_found()))]
pub struct WebhookNotFound(Problem);

fn secret_text(secret: &SecretString) -> String {
    secret.expose_secret().to_owned()
}

/// Registers a webhook endpoint.
///
/// Events of the types in `events` (and of the `accounts` listed, if any) are POSTed to `url`,
/// signed as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`), and retried for about three days when the receiver fails. The answer
/// holds the signing secret: it is shown this once. At most `webhooks.max_endpoints`
/// endpoints exist (100 by default).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request`: not an absolute http(s) URL, credentials in it, an
/// unknown event type, no event type, an invalid account slug, a bad description, an unknown
/// field, or a body that is not JSON. `422 webhook_url_refused`: an http URL where only https
/// is allowed, or a private, loopback or link-local address. `409 webhooks_full`. `415
/// unsupported_media_type`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    request_body(content = NewWebhook, content_type = "application/json",
                 example = json!({"url": "https://example.com/hooks/instagram", "events": ["feed.updated", "account.disconnected"], "accounts": ["shop"], "description": "The shop's site: rebuild on new posts"})),
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = CreatedWebhook,
         headers(("Location" = String, description = "`/admin/webhooks/{id}`")),
         example = json!(examples::new_webhook())),
        (status = 400, description = "Invalid URL, event type, account or description, unknown field, or not JSON", body = Problem, content_type = "application/problem+json",
         examples(
            ("event" = (summary = "An unknown event type", value = json!(examples::invalid_request("unknown event type `feed.changed`; expected one of feed.updated, account.connected, account.disconnected, account.reauth_required, account.token_expiring, sync.failing, sync.recovered, webhook.test")))),
            ("url" = (summary = "Not a URL", value = json!(examples::invalid_request("`url` is not an absolute URL: relative URL without a base")))),
         )),
        (status = 409, description = "`webhooks.max_endpoints` endpoints exist", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("webhooks_full", "Too many webhook endpoints", 409, "`webhooks.max_endpoints` (100) endpoints exist already; delete one first"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/json"))),
        (status = 422, description = "A URL this deployment does not call: http where https is required, or an internal address", body = Problem, content_type = "application/problem+json",
         example = json!(examples::webhook_url_refused())),
        AdminFailures,
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    _: AdminAuth,
    webhooks: web::Data<Webhooks>,
    body: web::Json<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let NewWebhook {
        url,
        events,
        accounts,
        description,
    } = body.into_inner();
    let (endpoint, secret) = webhooks
        .create(NewEndpoint {
            url,
            events: events.iter().map(|e| e.name().to_owned()).collect(),
            accounts,
            description,
        })
        .await?;
    let location = format!("/admin/webhooks/{}", endpoint.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(CreatedWebhook {
            webhook: endpoint.into(),
            secret: secret_text(&secret),
        }))
}

/// Every webhook endpoint (without secrets).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The endpoints, oldest first", body = WebhookList,
         example = json!(examples::webhook_list())),
        AdminFailures,
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    _: AdminAuth,
    webhooks: web::Data<Webhooks>,
) -> Result<web::Json<WebhookList>, ApiError> {
    let all = webhooks.list().await?;
    Ok(web::Json(WebhookList {
        webhooks: all.into_iter().map(WebhookView::from).collect(),
        max: webhooks.max_endpoints(),
    }))
}

/// One webhook endpoint (without its secret).
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 webhook_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView,
         example = json!(examples::webhook())),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
) -> Result<web::Json<WebhookView>, ApiError> {
    Ok(web::Json(webhooks.get(&path.id).await?.into()))
}

/// Changes a webhook endpoint: its URL, events, accounts, description, or whether it is enabled.
///
/// The fields given change; the others stay. The URL is checked as at creation.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `400 invalid_request` (as for `POST /admin/webhooks`). `404
/// webhook_not_found`. `422 webhook_url_refused`. `415 unsupported_media_type`. `401`, `429`,
/// `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    request_body(content = WebhookChanges, content_type = "application/json",
                 example = json!({"events": ["feed.updated"], "enabled": true})),
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookView,
         example = json!(examples::webhook())),
        (status = 400, description = "Invalid URL, event type, account or description, unknown field, or not JSON", body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request("`events` must name at least one event type"))),
        (status = 413, description = "Body over 16 KiB", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("payload_too_large", "Payload too large", 413, "request bodies are limited to 16384 bytes"))),
        (status = 415, description = "The body is not `application/json`", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("unsupported_media_type", "Unsupported media type", 415, "send the body as application/json"))),
        (status = 422, description = "A URL this deployment does not call", body = Problem, content_type = "application/problem+json",
         example = json!(examples::webhook_url_refused())),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
    body: web::Json<WebhookChanges>,
) -> Result<web::Json<WebhookView>, ApiError> {
    let WebhookChanges {
        url,
        events,
        accounts,
        description,
        enabled,
    } = body.into_inner();
    let changes = EndpointChanges {
        url,
        events: events.map(|events| events.iter().map(|e| e.name().to_owned()).collect()),
        accounts,
        description,
        enabled,
    };
    Ok(web::Json(webhooks.update(&path.id, changes).await?.into()))
}

/// Deletes a webhook endpoint; deliveries still queued for it are dropped.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 webhook_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted"),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
) -> Result<HttpResponse, ApiError> {
    webhooks.delete(&path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the endpoint's signing secret; the old one keeps signing for 24 hours.
///
/// Meanwhile every delivery carries two signatures in `webhook-signature` (the new secret's
/// and the old one's), so the receiver can switch to the new secret at any moment within the
/// 24 hours. The new secret is shown this once.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 webhook_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The new secret, shown this once", body = RotatedSecret,
         example = json!(examples::rotated_secret())),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
) -> Result<web::Json<RotatedSecret>, ApiError> {
    let (endpoint, secret) = webhooks.rotate_secret(&path.id).await?;
    Ok(web::Json(RotatedSecret {
        secret: secret_text(&secret),
        previous_secret_expires_at: endpoint.previous_secret_expires_at.unwrap_or_else(Utc::now),
    }))
}

/// Sends a `webhook.test` event to this endpoint, whatever event types it subscribes to.
///
/// The event is queued and delivered like any other (signed, retried); follow it in `GET
/// /admin/webhooks/{id}/deliveries`. Its `data` is `{"webhook": "<id>"}`.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 webhook_not_found`. `409 webhook_disabled`: enable it first. `401`, `429`,
/// `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 202, description = "Queued", body = TestQueued,
         example = json!(examples::webhook_test())),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("webhook_disabled", "Webhook endpoint disabled", 409, "the endpoint `ep_3kT9vQm2LxW8pZr4NbY6cHd1` is disabled; enable it first (PATCH with `\"enabled\": true`)"))),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
) -> Result<HttpResponse, ApiError> {
    let event_id = webhooks.send_test(&path.id).await?;
    Ok(HttpResponse::Accepted().json(TestQueued { event_id }))
}

/// The endpoint's last 100 deliveries, newest first.
///
/// Each is one event: its `webhook-id`, type, status (`pending` while attempts remain,
/// `succeeded`, `failed`), how many attempts were made, the receiver's last HTTP status and
/// when the next attempt is due.
///
/// Requires the admin bearer token (`Authorization: Bearer <admin.token>`); without it, `401
/// unauthorized` with `WWW-Authenticate`. Limited to `rate_limit.admin_per_minute` requests per
/// minute per client (`429 rate_limited` with `Retry-After`). Never cached
/// (`Cache-Control: no-store`).
///
/// **Errors.** `404 webhook_not_found`. `401`, `429`, `503 store_unavailable`.
#[utoipa::path(
    tag = "admin",
    security(("admin_bearer" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The deliveries, newest first", body = DeliveryList,
         example = json!(examples::deliveries())),
        AdminFailures,
        WebhookNotFound,
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    _: AdminAuth,
    path: web::Path<WebhookPath>,
    webhooks: web::Data<Webhooks>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    let deliveries = webhooks.deliveries(&path.id).await?;
    Ok(web::Json(DeliveryList {
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}
