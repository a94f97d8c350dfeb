//! Endpoints: where events go, which ones, and the secrets that sign them. One Redis hash,
//! `webhooks:endpoints` (id -> JSON record, no TTL); the secrets in it are encrypted with the
//! token key (`security.token_key`), like the tokens.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use super::error::WebhookError;
use super::event::EventType;
use crate::accounts::Slug;
use crate::auth::TokenCipher;
use crate::store::{Inserted, Store, StoreError};

const ENDPOINTS: &str = "webhooks:endpoints";

/// An endpoint as operators see it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// Only events of these accounts; `None`: every account's.
    pub accounts: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why it was disabled, when the service did it (a `410 Gone`).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Until then the previous secret signs too (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// Whether an event of `kind` about `account` goes to this endpoint.
    pub fn wants(&self, kind: EventType, account: Option<&Slug>) -> bool {
        self.enabled
            && self.events.contains(&kind)
            && match (&self.accounts, account) {
                (None, _) => true,
                (Some(only), Some(account)) => only.iter().any(|s| s == account.as_str()),
                (Some(_), None) => false,
            }
    }
}

/// An endpoint with its secrets, as stored.
pub struct EndpointRecord {
    pub endpoint: Endpoint,
    pub secret: SecretString,
    pub previous_secret: Option<SecretString>,
}

impl EndpointRecord {
    /// The secrets that sign at `now`: the current one, and the previous one until it expires.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&SecretString> {
        let mut secrets = vec![&self.secret];
        if let (Some(previous), Some(until)) = (
            &self.previous_secret,
            self.endpoint.previous_secret_expires_at,
        ) && now < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    endpoint: Endpoint,
    /// base64 of the encrypted secret.
    secret: String,
    previous_secret: Option<String>,
}

/// The endpoints hash.
#[derive(Clone)]
pub struct EndpointStore {
    store: Store,
    cipher: Arc<TokenCipher>,
    max: usize,
}

impl EndpointStore {
    pub fn new(store: Store, cipher: Arc<TokenCipher>, max: usize) -> Self {
        Self { store, cipher, max }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    fn seal(&self, secret: &SecretString) -> String {
        STANDARD.encode(self.cipher.encrypt(secret.expose_secret().as_bytes()))
    }

    fn open(&self, sealed: &str) -> Option<SecretString> {
        let bytes = STANDARD.decode(sealed).ok()?;
        let plain = self.cipher.decrypt(&bytes).ok()?;
        String::from_utf8(plain).ok().map(SecretString::from)
    }

    fn encode(&self, record: &EndpointRecord) -> Vec<u8> {
        let stored = Stored {
            endpoint: record.endpoint.clone(),
            secret: self.seal(&record.secret),
            previous_secret: record.previous_secret.as_ref().map(|s| self.seal(s)),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// A record that does not parse or decrypt (a token key that changed) reads as absent
    /// secrets: the endpoint is listed, its deliveries fail until its secret is rotated.
    fn decode(&self, bytes: &[u8]) -> Option<EndpointRecord> {
        let stored: Stored = serde_json::from_slice(bytes).ok()?;
        let secret = self.open(&stored.secret).unwrap_or_else(|| {
            tracing::warn!(webhook = %stored.endpoint.id, "the endpoint's secret does not decrypt with the configured token keys; rotate it");
            SecretString::from("")
        });
        Some(EndpointRecord {
            previous_secret: stored.previous_secret.as_deref().and_then(|s| self.open(s)),
            endpoint: stored.endpoint,
            secret,
        })
    }

    pub async fn insert(&self, record: &EndpointRecord) -> Result<(), WebhookError> {
        let value = self.encode(record);
        match self
            .store
            .hash_insert_bounded(ENDPOINTS, &record.endpoint.id, &value, self.max)
            .await?
        {
            Inserted::Inserted => Ok(()),
            // Ids are 143 random bits: a collision is a bug, not a race.
            Inserted::Exists => Err(WebhookError::Invalid("endpoint id collision".to_owned())),
            Inserted::Full => Err(WebhookError::Full(self.max)),
        }
    }

    /// Overwrites an existing endpoint (last writer wins between replicas).
    pub async fn save(&self, record: &EndpointRecord) -> Result<(), StoreError> {
        self.store
            .hash_put(ENDPOINTS, &record.endpoint.id, &self.encode(record))
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<EndpointRecord>, StoreError> {
        Ok(self
            .store
            .hash_get(ENDPOINTS, id)
            .await?
            .and_then(|bytes| self.decode(&bytes)))
    }

    pub async fn find(&self, id: &str) -> Result<EndpointRecord, WebhookError> {
        self.get(id)
            .await?
            .ok_or_else(|| WebhookError::NotFound(id.to_owned()))
    }

    /// Every endpoint, oldest first.
    pub async fn all(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let mut all: Vec<EndpointRecord> = self
            .store
            .hash_get_all(ENDPOINTS)
            .await?
            .iter()
            .filter_map(|(_, bytes)| self.decode(bytes))
            .collect();
        all.sort_by(|a, b| {
            (a.endpoint.created_at, &a.endpoint.id).cmp(&(b.endpoint.created_at, &b.endpoint.id))
        });
        Ok(all)
    }

    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.store.hash_delete(ENDPOINTS, id).await
    }
}
