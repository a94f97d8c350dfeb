//! This replica's delivery worker: claims due deliveries, signs and sends them, and records
//! what happened. Every attempt runs in a task of its own under two bounds, one for the whole
//! replica (`webhooks.max_concurrency`) and one per endpoint
//! (`webhooks.max_concurrency_per_endpoint`), so a slow receiver holds at most its own share
//! and never delays syncs, reads or other receivers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use super::delivery::{Claim, Delivery, DeliveryStatus};
use super::schedule::{Verdict, judge_status, retry_delay};
use super::url_guard::{GuardedResolver, is_address_refused};
use super::{Webhooks, secret, signer};
use crate::config::WebhookSettings;
use crate::metrics::Metrics;

/// A claim outlives the longest attempt by this much before another replica may take over.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

pub struct Deliverer {
    webhooks: Webhooks,
    client: reqwest::Client,
    poll_interval: Duration,
    lease: Duration,
    total: Arc<Semaphore>,
    per_endpoint_limit: usize,
    per_endpoint: Mutex<HashMap<String, Arc<Semaphore>>>,
    metrics: Arc<Metrics>,
}

/// What one attempt came to.
struct Attempt {
    verdict: Verdict,
    status: Option<u16>,
    error: Option<String>,
}

impl Deliverer {
    pub fn new(
        webhooks: Webhooks,
        settings: &WebhookSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            // A redirect could lead anywhere, an internal address included: not followed.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: webhooks.inner.policy,
            }))
            .user_agent(concat!(
                "instagram-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self {
            webhooks,
            client,
            poll_interval: settings.poll_interval,
            lease: settings.timeout + LEASE_MARGIN,
            total: Arc::new(Semaphore::new(settings.max_concurrency)),
            per_endpoint_limit: settings.max_concurrency_per_endpoint,
            per_endpoint: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// Polls the queue every `webhooks.poll_interval_ms`, or at once when this replica queued
    /// an event, until `stop` turns true (attempts in flight finish on their own).
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.poll_interval) => {}
                () = self.webhooks.inner.wake.notified() => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
            if let Err(e) = self.tick().await {
                tracing::debug!(error = %e, "webhook queue: the store is not answering");
            }
        }
    }

    async fn tick(self: &Arc<Self>) -> Result<(), crate::store::StoreError> {
        let inner = &self.webhooks.inner;
        let now = inner.clock.now_ms();
        // One read per poll while nothing is due (the idle case of every replica).
        if inner.queue.next_due().await?.is_none_or(|due| due > now) {
            return Ok(());
        }
        let free = self.total.available_permits();
        let lease_until = now + i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let room = self.endpoint_room();
        let claims = inner
            .queue
            .claim(now, lease_until, free, self.per_endpoint_limit, &room)
            .await?;
        for claim in claims {
            let permits = self.total.clone().try_acquire_owned().ok().zip(
                self.endpoint_limit(&claim.endpoint_id)
                    .try_acquire_owned()
                    .ok(),
            );
            let Some(permits) = permits else {
                // Only this loop takes permits, and the claim stayed within what was free:
                // not expected. Due again at once, for the next tick.
                inner.queue.settle(&claim, Some(now)).await?;
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let _permits = permits;
                if let Err(e) = this.deliver(&claim).await {
                    tracing::warn!(webhook = %claim.endpoint_id, event_id = %claim.event_id, error = %e, "webhook delivery left to its lease");
                }
            });
        }
        Ok(())
    }

    /// The endpoints with attempts in flight on this replica, and how many more each may have.
    fn endpoint_room(&self) -> Vec<(String, usize)> {
        let map = self
            .per_endpoint
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.iter()
            .map(|(id, limit)| (id.clone(), limit.available_permits()))
            .filter(|(_, room)| *room < self.per_endpoint_limit)
            .collect()
    }

    fn endpoint_limit(&self, endpoint_id: &str) -> Arc<Semaphore> {
        let mut map = self
            .per_endpoint
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(endpoint_id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint_limit)))
            .clone()
    }

    /// One attempt of one claimed delivery, and its bookkeeping.
    async fn deliver(&self, claim: &Claim) -> Result<(), crate::store::StoreError> {
        let inner = &self.webhooks.inner;
        let Some(mut delivery) = inner
            .queue
            .load(&claim.endpoint_id, &claim.event_id)
            .await?
        else {
            inner.queue.settle(claim, None).await?;
            return Ok(());
        };
        let endpoint = inner.endpoints.get(&claim.endpoint_id).await?;
        let Some(mut endpoint) = endpoint.filter(|e| e.endpoint.enabled) else {
            // Deleted or disabled since the event was queued.
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = Some("the endpoint was deleted or disabled".to_owned());
            delivery.next_attempt_at = None;
            inner.queue.save(&delivery).await?;
            self.metrics
                .webhook_deliveries
                .with_label_values(&["dropped"])
                .inc();
            inner.queue.settle(claim, None).await?;
            return Ok(());
        };

        let now = inner.clock.now();
        let secrets: Vec<&SecretString> = endpoint.signing_secrets(now);
        let keys: Vec<Vec<u8>> = secrets.into_iter().filter_map(secret::key_bytes).collect();
        let attempt = if keys.is_empty() {
            Attempt {
                verdict: Verdict::Failed,
                status: None,
                error: Some("the endpoint's secret is unreadable; rotate it".to_owned()),
            }
        } else {
            let signature = signer::signature_header(
                keys.iter().map(Vec::as_slice),
                &delivery.event_id,
                now.timestamp(),
                delivery.body.as_bytes(),
            );
            self.send(
                &endpoint.endpoint.url,
                &delivery,
                now.timestamp(),
                &signature,
            )
            .await
        };

        let after = inner.clock.now();
        let verdict = attempt.verdict;
        let label = record_attempt(&mut delivery, attempt, now, after);
        self.metrics
            .webhook_deliveries
            .with_label_values(&[label])
            .inc();
        tracing::info!(
            webhook = %delivery.endpoint_id,
            event_id = %delivery.event_id,
            event = delivery.kind.name(),
            attempt = delivery.attempts,
            status = delivery.last_status,
            outcome = label,
            "webhook delivery attempted"
        );
        // The record first: a crash before the settle leaves the claim to expire, and the
        // delivery is tried again (at least once, never lost).
        inner.queue.save(&delivery).await?;
        if verdict == Verdict::Gone {
            endpoint.endpoint.enabled = false;
            endpoint.endpoint.disabled_reason = Some(format!(
                "the receiver answered 410 Gone at {}",
                after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
            endpoint.endpoint.updated_at = after;
            inner.endpoints.save(&endpoint).await?;
            tracing::warn!(webhook = %delivery.endpoint_id, "webhook endpoint disabled: the receiver answered 410 Gone");
        }
        let next = delivery.next_attempt_at.map(|at| at.timestamp_millis());
        inner.queue.settle(claim, next).await?;
        Ok(())
    }

    async fn send(
        &self,
        url: &str,
        delivery: &Delivery,
        timestamp: i64,
        signature: &str,
    ) -> Attempt {
        // An IP literal is connected to without DNS: checked here (the resolver sees names).
        if let Ok(parsed) = url::Url::parse(url)
            && let Some(ip) = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            }
            && self.webhooks.inner.policy.check_ip(ip).is_err()
        {
            return refused();
        }
        let result = self
            .client
            .post(url)
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(CONTENT_TYPE, "application/json")
            .body(delivery.body.clone())
            .send()
            .await;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let verdict = judge_status(status);
                Attempt {
                    verdict,
                    status: Some(status),
                    error: (verdict != Verdict::Delivered)
                        .then(|| format!("the receiver answered {status}")),
                }
            }
            Err(e) if is_address_refused(&e) => refused(),
            Err(e) if e.is_timeout() => Attempt {
                verdict: Verdict::Retry,
                status: None,
                error: Some("timed out".to_owned()),
            },
            Err(_) => Attempt {
                verdict: Verdict::Retry,
                status: None,
                error: Some("could not connect".to_owned()),
            },
        }
    }
}

/// Writes an attempt made at `at` (and judged at `after`) into the delivery: its status and
/// when the next attempt is due. Returns the metric's outcome label.
fn record_attempt(
    delivery: &mut Delivery,
    attempt: Attempt,
    at: DateTime<Utc>,
    after: DateTime<Utc>,
) -> &'static str {
    delivery.attempts += 1;
    delivery.last_attempt_at = Some(at);
    delivery.last_status = attempt.status;
    delivery.last_error = attempt.error;
    let (status, next) = match attempt.verdict {
        Verdict::Delivered => (DeliveryStatus::Succeeded, None),
        Verdict::Retry => match retry_delay(delivery.attempts) {
            Some(wait) => (
                DeliveryStatus::Pending,
                Some(after + chrono::Duration::from_std(wait).unwrap_or_default()),
            ),
            None => (DeliveryStatus::Failed, None),
        },
        Verdict::Gone | Verdict::Failed => (DeliveryStatus::Failed, None),
    };
    delivery.status = status;
    delivery.next_attempt_at = next;
    match (attempt.verdict, status) {
        (Verdict::Delivered, _) => "delivered",
        (Verdict::Gone, _) => "gone",
        (_, DeliveryStatus::Pending) => "retrying",
        _ => "failed",
    }
}

fn refused() -> Attempt {
    Attempt {
        verdict: Verdict::Failed,
        status: None,
        error: Some(
            "the URL leads to a private, loopback or link-local address (webhooks.allow_private_networks is false)"
                .to_owned(),
        ),
    }
}
