//! Outbound webhooks (Standard Webhooks): operators register endpoints, the service signs and
//! delivers events to them from a durable queue in Redis, retrying on the specification's
//! schedule. The rest of the service only calls [`Events::emit`].
//!
//! Emitting, from anything that holds an [`Events`] (`Webhooks::events()`, built in
//! `startup.rs` before the accounts; cheap to clone):
//!
//! ```ignore
//! events.emit(Some(&slug), Event::account_connected(&slug, Some("acme.shop"))).await;
//! events.emit(Some(&slug), Event::feed_updated(&slug, &version, &added_ids, &removed_ids)).await;
//! events.emit(Some(&slug), Event::about_account(EventType::SyncFailing, &slug, extra)).await;
//! ```
//!
//! `emit` returns once the deliveries are stored (a few Redis round trips, none when no
//! endpoint wants the event); it never fails the caller, logging a store error instead
//! (`try_emit` returns it). Call it after the change is committed, at most once per change;
//! what several replicas may notice at once goes through `emit_once` with a key naming the
//! occurrence (one token, one failure episode).

mod clock;
mod delivery;
mod endpoint;
mod error;
mod event;
mod schedule;
mod secret;
mod signer;
mod url_guard;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Notify;

pub use clock::Clock;
pub use delivery::{Delivery, DeliveryStatus};
pub use endpoint::Endpoint;
pub use error::WebhookError;
pub use event::{DisconnectReason, Event, EventType};
pub use schedule::RETRY_DELAYS;
pub use worker::Deliverer;

use crate::accounts::Slug;
use crate::auth::TokenCipher;
use crate::config::WebhookSettings;
use crate::store::{Store, StoreError};
use delivery::Queue;
use endpoint::{EndpointRecord, EndpointStore};
use event::MAX_PAYLOAD_BYTES;
use url_guard::UrlPolicy;

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
const MAX_DESCRIPTION_CHARS: usize = 200;

struct Inner {
    store: Store,
    endpoints: EndpointStore,
    queue: Queue,
    policy: UrlPolicy,
    clock: Clock,
    /// Wakes this replica's worker when an event is queued.
    wake: Notify,
}

/// Endpoints and their deliveries: what the admin API works with.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

/// Emitting events: cheap to clone, for whatever notices something happen.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

/// `POST /admin/webhooks`, validated by [`Webhooks::create`].
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub accounts: Option<Vec<String>>,
    pub description: Option<String>,
}

/// `PATCH /admin/webhooks/{id}`: what is `Some` changes. `accounts: Some(None)` clears the
/// account filter.
#[derive(Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub accounts: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

impl Webhooks {
    pub fn new(
        store: Store,
        cipher: Arc<TokenCipher>,
        settings: &WebhookSettings,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoints: EndpointStore::new(store.clone(), cipher, settings.max_endpoints),
                queue: Queue::new(store.clone()),
                store,
                policy: UrlPolicy {
                    allow_insecure: settings.allow_insecure,
                    allow_private_networks: settings.allow_private_networks,
                },
                clock,
                wake: Notify::new(),
            }),
        }
    }

    pub fn events(&self) -> Events {
        Events {
            inner: self.inner.clone(),
        }
    }

    pub fn max_endpoints(&self) -> usize {
        self.inner.endpoints.max()
    }

    /// Registers an endpoint; returns it with its secret, which is never shown again.
    pub async fn create(&self, new: NewEndpoint) -> Result<(Endpoint, SecretString), WebhookError> {
        let url = self.inner.policy.check(&new.url)?;
        let now = self.inner.clock.now();
        let record = EndpointRecord {
            endpoint: Endpoint {
                id: format!("ep_{}", crate::random::alphanumeric(24)),
                url: url.to_string(),
                events: parse_events(&new.events)?,
                accounts: parse_accounts(new.accounts)?,
                description: check_description(new.description)?,
                enabled: true,
                disabled_reason: None,
                created_at: now,
                updated_at: now,
                previous_secret_expires_at: None,
            },
            secret: secret::generate(),
            previous_secret: None,
        };
        self.inner.endpoints.insert(&record).await?;
        tracing::info!(webhook = %record.endpoint.id, "webhook endpoint created");
        Ok((record.endpoint, record.secret))
    }

    pub async fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        Ok(self
            .inner
            .endpoints
            .all()
            .await?
            .into_iter()
            .map(|r| r.endpoint)
            .collect())
    }

    pub async fn get(&self, id: &str) -> Result<Endpoint, WebhookError> {
        Ok(self.inner.endpoints.find(id).await?.endpoint)
    }

    pub async fn update(
        &self,
        id: &str,
        changes: EndpointChanges,
    ) -> Result<Endpoint, WebhookError> {
        let mut record = self.inner.endpoints.find(id).await?;
        let endpoint = &mut record.endpoint;
        if let Some(url) = changes.url {
            endpoint.url = self.inner.policy.check(&url)?.to_string();
        }
        if let Some(events) = changes.events {
            endpoint.events = parse_events(&events)?;
        }
        if let Some(accounts) = changes.accounts {
            endpoint.accounts = parse_accounts(accounts)?;
        }
        if let Some(description) = changes.description {
            endpoint.description = check_description(description)?;
        }
        if let Some(enabled) = changes.enabled {
            endpoint.enabled = enabled;
            if enabled {
                endpoint.disabled_reason = None;
            }
        }
        endpoint.updated_at = self.inner.clock.now();
        self.inner.endpoints.save(&record).await?;
        Ok(record.endpoint)
    }

    /// Deletes the endpoint; deliveries still queued for it are dropped.
    pub async fn delete(&self, id: &str) -> Result<(), WebhookError> {
        self.inner.endpoints.find(id).await?;
        self.inner.endpoints.delete(id).await?;
        self.inner.queue.forget(id).await?;
        tracing::info!(webhook = %id, "webhook endpoint deleted");
        Ok(())
    }

    /// A new secret; the current one keeps signing for [`ROTATION_OVERLAP`].
    pub async fn rotate_secret(&self, id: &str) -> Result<(Endpoint, SecretString), WebhookError> {
        let mut record = self.inner.endpoints.find(id).await?;
        let now = self.inner.clock.now();
        let new = secret::generate();
        record.previous_secret = Some(std::mem::replace(&mut record.secret, new.clone()));
        record.endpoint.previous_secret_expires_at =
            Some(now + chrono::Duration::from_std(ROTATION_OVERLAP).unwrap_or_default());
        record.endpoint.updated_at = now;
        self.inner.endpoints.save(&record).await?;
        tracing::info!(webhook = %id, "webhook secret rotated");
        Ok((record.endpoint, new))
    }

    /// Queues a `webhook.test` event for this endpoint alone; returns its event id.
    pub async fn send_test(&self, id: &str) -> Result<String, WebhookError> {
        let record = self.inner.endpoints.find(id).await?;
        if !record.endpoint.enabled {
            return Err(WebhookError::Disabled(id.to_owned()));
        }
        let events = self.events();
        let event = Event::test(id);
        let body = event
            .envelope(self.inner.clock.now())
            .ok_or_else(|| WebhookError::Invalid("test event too large".to_owned()))?;
        let event_id = new_event_id();
        events
            .queue_for(&[&record.endpoint], &event, &event_id, body)
            .await?;
        Ok(event_id)
    }

    /// Sets the queue's gauges (at scrape time): depth, and how late the most overdue
    /// delivery is.
    pub async fn refresh_metrics(
        &self,
        metrics: &crate::metrics::Metrics,
    ) -> Result<(), StoreError> {
        let (depth, earliest) = self.inner.queue.stats().await?;
        let now = self.inner.clock.now_ms();
        metrics
            .webhook_queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        let overdue_ms = earliest.map_or(0, |due| (now - due).max(0));
        #[expect(clippy::cast_precision_loss, reason = "seconds, for a gauge")]
        metrics
            .webhook_oldest_due_seconds
            .set(overdue_ms as f64 / 1000.0);
        Ok(())
    }

    pub async fn deliveries(&self, id: &str) -> Result<Vec<Delivery>, WebhookError> {
        self.inner.endpoints.find(id).await?;
        Ok(self.inner.queue.history(id).await?)
    }
}

impl Events {
    /// Queues `event` for every enabled endpoint that subscribes to its type (and to
    /// `account`, when it filters by account). Returns once the deliveries are in the store;
    /// sending happens in the background. Never fails the caller: a store error is logged
    /// (the event is then lost; use [`Events::try_emit`] to handle it).
    pub async fn emit(&self, account: Option<&Slug>, event: Event) {
        let kind = event.kind;
        if let Err(e) = self.try_emit(account, event).await {
            tracing::warn!(event = kind.name(), error = %e, "could not queue a webhook event");
        }
    }

    /// [`Events::emit`], once for `once` across replicas and calls: the first caller with this
    /// key (within `remember`) emits, later ones do nothing. For what several replicas notice
    /// at the same moment: `account.token_expiring` once per token (a key such as
    /// `token-expiring:<slug>:<obtained_at>`), `sync.failing` once per episode
    /// (`sync-failing:<slug>:<first failure>`).
    pub async fn emit_once(
        &self,
        once: &str,
        remember: Duration,
        account: Option<&Slug>,
        event: Event,
    ) {
        let key = format!("webhooks:once:{once}");
        match self.inner.store.set_new(&key, b"1", remember).await {
            Ok(true) => self.emit(account, event).await,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(event = event.kind.name(), error = %e, "could not queue a webhook event");
            }
        }
    }

    /// [`Events::emit`], saying how many deliveries were queued.
    pub async fn try_emit(&self, account: Option<&Slug>, event: Event) -> Result<usize, EmitError> {
        let records = self.inner.endpoints.all().await?;
        let targets: Vec<&Endpoint> = records
            .iter()
            .map(|r| &r.endpoint)
            .filter(|e| e.wants(event.kind, account))
            .collect();
        if targets.is_empty() {
            return Ok(0);
        }
        let body = event
            .envelope(self.inner.clock.now())
            .ok_or(EmitError::TooLarge)?;
        self.queue_for(&targets, &event, &new_event_id(), body)
            .await?;
        Ok(targets.len())
    }

    async fn queue_for(
        &self,
        targets: &[&Endpoint],
        event: &Event,
        event_id: &str,
        body: Vec<u8>,
    ) -> Result<(), StoreError> {
        let body = String::from_utf8(body).unwrap_or_default();
        let now = self.inner.clock.now();
        for endpoint in targets {
            let delivery = Delivery {
                event_id: event_id.to_owned(),
                endpoint_id: endpoint.id.clone(),
                kind: event.kind,
                body: body.clone(),
                created_at: now,
                status: DeliveryStatus::Pending,
                attempts: 0,
                last_status: None,
                last_error: None,
                last_attempt_at: None,
                next_attempt_at: Some(now),
            };
            self.inner.queue.enqueue(&delivery).await?;
        }
        tracing::debug!(
            event = event.kind.name(),
            event_id,
            endpoints = targets.len(),
            "webhook event queued"
        );
        self.inner.wake.notify_one();
        Ok(())
    }
}

/// Why [`Events::try_emit`] queued nothing.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("the event's envelope is over {MAX_PAYLOAD_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn new_event_id() -> String {
    format!("msg_{}", crate::random::alphanumeric(24))
}

fn parse_events(names: &[String]) -> Result<Vec<EventType>, WebhookError> {
    if names.is_empty() {
        return Err(WebhookError::Invalid(
            "`events` must name at least one event type".to_owned(),
        ));
    }
    let mut events = Vec::new();
    for name in names {
        let kind = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
            WebhookError::Invalid(format!(
                "unknown event type `{name}`; expected one of {}",
                known.join(", ")
            ))
        })?;
        if !events.contains(&kind) {
            events.push(kind);
        }
    }
    Ok(events)
}

fn parse_accounts(accounts: Option<Vec<String>>) -> Result<Option<Vec<String>>, WebhookError> {
    let Some(accounts) = accounts else {
        return Ok(None);
    };
    if accounts.is_empty() {
        return Err(WebhookError::Invalid(
            "`accounts` must name at least one account, or be left out for every account"
                .to_owned(),
        ));
    }
    let mut slugs = Vec::new();
    for account in accounts {
        let slug =
            Slug::parse(&account).map_err(|e| WebhookError::Invalid(format!("`accounts`: {e}")))?;
        if !slugs.iter().any(|s| s == slug.as_str()) {
            slugs.push(slug.as_str().to_owned());
        }
    }
    Ok(Some(slugs))
}

fn check_description(description: Option<String>) -> Result<Option<String>, WebhookError> {
    let Some(text) = description else {
        return Ok(None);
    };
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_DESCRIPTION_CHARS || text.chars().any(char::is_control) {
        return Err(WebhookError::Invalid(format!(
            "`description` must be 1 to {MAX_DESCRIPTION_CHARS} characters, without control characters"
        )));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn webhooks() -> Webhooks {
        let settings = WebhookSettings {
            allow_insecure: false,
            allow_private_networks: false,
            timeout: Duration::from_secs(15),
            max_concurrency: 4,
            max_concurrency_per_endpoint: 2,
            poll_interval: Duration::from_secs(1),
            max_endpoints: 10,
            sync_failing_after: Duration::from_secs(3600),
        };
        Webhooks::new(
            Store::memory(MemoryStore::new()),
            Arc::new(TokenCipher::new([7; 32], [])),
            &settings,
            Clock::system(),
        )
    }

    async fn endpoint(webhooks: &Webhooks, events: &[&str], accounts: Option<&[&str]>) -> String {
        let new = NewEndpoint {
            url: "https://hooks.example.com/instagram".to_owned(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            accounts: accounts.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
            description: None,
        };
        webhooks.create(new).await.unwrap().0.id
    }

    #[tokio::test]
    async fn events_go_to_the_endpoints_that_want_them() {
        let webhooks = webhooks();
        let all = endpoint(&webhooks, &["sync.failing"], None).await;
        let shop_only = endpoint(&webhooks, &["sync.failing"], Some(&["shop"])).await;
        let other_type = endpoint(&webhooks, &["feed.updated"], None).await;
        let (shop, cafe) = (Slug::parse("shop").unwrap(), Slug::parse("cafe").unwrap());
        let failing = |slug: &Slug| {
            Event::about_account(EventType::SyncFailing, slug, serde_json::Map::new())
        };

        let events = webhooks.events();
        assert_eq!(
            events.try_emit(Some(&shop), failing(&shop)).await.unwrap(),
            2
        );
        assert_eq!(
            events.try_emit(Some(&cafe), failing(&cafe)).await.unwrap(),
            1
        );
        assert_eq!(webhooks.deliveries(&all).await.unwrap().len(), 2);
        assert_eq!(webhooks.deliveries(&shop_only).await.unwrap().len(), 1);
        assert!(webhooks.deliveries(&other_type).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn emit_once_emits_once_per_key() {
        let webhooks = webhooks();
        let id = endpoint(&webhooks, &["account.token_expiring"], None).await;
        let shop = Slug::parse("shop").unwrap();
        let events = webhooks.events();
        for key in [
            "token-expiring:shop:1",
            "token-expiring:shop:1",
            "token-expiring:shop:2",
        ] {
            let event = Event::about_account(
                EventType::AccountTokenExpiring,
                &shop,
                serde_json::Map::new(),
            );
            events
                .emit_once(key, Duration::from_secs(3600), Some(&shop), event)
                .await;
        }
        assert_eq!(webhooks.deliveries(&id).await.unwrap().len(), 2);
    }
}
