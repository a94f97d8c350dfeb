//! The durable queue. Each (endpoint, event) pair is a delivery: a record
//! (`webhooks:delivery:<endpoint>:<event>`, JSON, kept 8 days: longer than the whole retry
//! schedule) and a member `<endpoint>/<event>` of the sorted set `webhooks:queue`, scored by
//! when it is due (Unix ms). Workers claim due members by moving them to the end of a lease
//! in one atomic step ([`Store::sorted_claim`]), so each attempt is made by one replica; a
//! replica that dies mid-attempt loses its lease and another one tries again.
//! `webhooks:history:<endpoint>` lists an endpoint's last 100 deliveries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::EventType;
use crate::store::{ClaimLimits, Store, StoreError};

pub const QUEUE: &str = "webhooks:queue";
pub const HISTORY_LEN: usize = 100;
const RECORD_TTL: Duration = Duration::from_secs(8 * 24 * 3600);

/// `pending` while attempts remain; `succeeded`; `failed` (for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// `webhook-id`: the same for every attempt, and for every endpoint the event went to.
    pub event_id: String,
    pub endpoint_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The exact body sent (signed as is).
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receiver's last HTTP status; `None` before any answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, in the service's words.
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A claimed queue member: whose, and the lease's end that proves the claim.
#[derive(Debug, Clone)]
pub struct Claim {
    pub endpoint_id: String,
    pub event_id: String,
    lease: i64,
}

impl Claim {
    fn member(&self) -> String {
        member(&self.endpoint_id, &self.event_id)
    }
}

fn member(endpoint_id: &str, event_id: &str) -> String {
    format!("{endpoint_id}/{event_id}")
}

fn record_key(endpoint_id: &str, event_id: &str) -> String {
    format!("webhooks:delivery:{endpoint_id}:{event_id}")
}

fn history_key(endpoint_id: &str) -> String {
    format!("webhooks:history:{endpoint_id}")
}

#[derive(Clone)]
pub struct Queue {
    store: Store,
}

impl Queue {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stores the delivery, then makes it due: nothing is attempted before it is in the store.
    pub async fn enqueue(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.save(delivery).await?;
        let history = history_key(&delivery.endpoint_id);
        let created = delivery.created_at.timestamp_millis();
        self.store
            .sorted_put(&history, &delivery.event_id, created)
            .await?;
        self.store.sorted_trim(&history, HISTORY_LEN).await?;
        let due = delivery
            .next_attempt_at
            .map_or(created, |at| at.timestamp_millis());
        self.store
            .sorted_put(
                QUEUE,
                &member(&delivery.endpoint_id, &delivery.event_id),
                due,
            )
            .await
    }

    pub async fn save(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let value = serde_json::to_vec(delivery).unwrap_or_default();
        self.store
            .set(
                &record_key(&delivery.endpoint_id, &delivery.event_id),
                &value,
                Some(RECORD_TTL),
            )
            .await
    }

    pub async fn load(
        &self,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .store
            .get(&record_key(endpoint_id, event_id))
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Due deliveries (due at `now_ms` or before), oldest first, each leased until
    /// `lease_until`: at most `max`, and at most `per_endpoint` of one endpoint, or what
    /// `room` says is left for the endpoints listed there. Deliveries of an endpoint without
    /// room stay where they are, so a busy endpoint holds up no other.
    pub async fn claim(
        &self,
        now_ms: i64,
        lease_until: i64,
        max: usize,
        per_endpoint: usize,
        room: &[(String, usize)],
    ) -> Result<Vec<Claim>, StoreError> {
        let limits = ClaimLimits {
            max,
            per_group: per_endpoint,
            room,
        };
        let members = self
            .store
            .sorted_claim(QUEUE, now_ms, lease_until, limits)
            .await?;
        Ok(members
            .into_iter()
            .filter_map(|m| {
                let (endpoint_id, event_id) = m.split_once('/')?;
                Some(Claim {
                    endpoint_id: endpoint_id.to_owned(),
                    event_id: event_id.to_owned(),
                    lease: lease_until,
                })
            })
            .collect())
    }

    /// Ends a claim: due again at `next_ms`, or out of the queue (`None`). False when the
    /// lease had run out and another replica claimed it meanwhile.
    pub async fn settle(&self, claim: &Claim, next_ms: Option<i64>) -> Result<bool, StoreError> {
        self.store
            .sorted_settle(QUEUE, &claim.member(), claim.lease, next_ms)
            .await
    }

    /// The endpoint's last deliveries, newest first.
    pub async fn history(&self, endpoint_id: &str) -> Result<Vec<Delivery>, StoreError> {
        let ids = self
            .store
            .sorted_newest(&history_key(endpoint_id), HISTORY_LEN)
            .await?;
        let keys: Vec<String> = ids.iter().map(|id| record_key(endpoint_id, id)).collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .get_many(&keys)
            .await?
            .into_iter()
            .flatten()
            .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
            .collect())
    }

    /// Forgets an endpoint's history; its queued deliveries are dropped when next claimed.
    pub async fn forget(&self, endpoint_id: &str) -> Result<(), StoreError> {
        self.store.delete(&history_key(endpoint_id)).await
    }

    /// When the earliest delivery is due (Unix ms), if any: one cheap read per poll.
    pub async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        self.store.sorted_min(QUEUE).await
    }

    /// Deliveries in the queue (due, leased or waiting for a retry), and the earliest due time.
    pub async fn stats(&self) -> Result<(u64, Option<i64>), StoreError> {
        self.store.sorted_stats(QUEUE).await
    }
}
