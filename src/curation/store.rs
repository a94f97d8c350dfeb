//! Curation in the store, under the account's scope: the setting as one JSON value and its
//! revision beside it (what the version poll reads for every account), written together.

use std::time::Duration;

use super::error::CurationError;
use super::model::Curation;
use crate::store::{Store, StoreError};

const CURATION_KEY: &str = "curation";
/// What the version poll reads (with the account's scope in front).
pub const REVISION_KEY: &str = "curation:revision";
const LOCK_KEY: &str = "lock:curation";
/// Changes take milliseconds; a holder that died frees the lock after this.
const LOCK_TTL: Duration = Duration::from_secs(10);
const LOCK_WAIT: Duration = Duration::from_secs(3);
const LOCK_POLL: Duration = Duration::from_millis(25);

pub struct CurationStore {
    store: Store,
}

impl CurationStore {
    /// `store` is scoped to the account.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The stored setting; none stored (or unreadable) is the empty one.
    pub async fn load(&self) -> Result<Curation, StoreError> {
        let Some(bytes) = self.store.get(CURATION_KEY).await? else {
            return Ok(Curation::default());
        };
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the stored curation is unreadable; treating it as empty");
            Curation::default()
        }))
    }

    /// Applies `change` to the stored setting under the account's curation lock (changes from
    /// several replicas never overwrite each other), gives it a new revision and stores both.
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Curation) -> Result<(), CurationError>,
    ) -> Result<Curation, CurationError> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let guard = loop {
            if let Some(guard) = self.store.try_lock(LOCK_KEY, LOCK_TTL).await? {
                break guard;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CurationError::Busy);
            }
            tokio::time::sleep(LOCK_POLL).await;
        };
        let result = self.change_locked(change).await;
        if let Err(e) = self.store.unlock(guard).await {
            tracing::warn!(error = %e, "could not release the curation lock; it expires");
        }
        result
    }

    async fn change_locked(
        &self,
        change: impl FnOnce(&mut Curation) -> Result<(), CurationError>,
    ) -> Result<Curation, CurationError> {
        let mut curation = self.load().await?;
        change(&mut curation)?;
        curation.revision = crate::random::token_urlsafe(12);
        // Strings, lists and booleans: serializing cannot fail.
        let body = serde_json::to_vec(&curation).unwrap_or_default();
        self.store
            .set_many(&[
                (CURATION_KEY, body.as_slice()),
                (REVISION_KEY, curation.revision.as_bytes()),
            ])
            .await?;
        Ok(curation)
    }

    /// Forgets the setting (the account is deleted).
    pub async fn delete(&self) -> Result<(), StoreError> {
        self.store.delete(CURATION_KEY).await?;
        self.store.delete(REVISION_KEY).await
    }
}
