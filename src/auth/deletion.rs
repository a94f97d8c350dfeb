//! Data-deletion requests from Meta: each gets a confirmation code whose status can be looked up.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{Store, StoreError};

/// How long a confirmation code can be looked up.
const KEEP_FOR: Duration = Duration::from_secs(90 * 24 * 3600);
pub const CODE_CHARS: usize = 20;

/// `GET /oauth/data-deletion/{code}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletionStatus {
    #[schema(example = "k3J9sQ2mXc8VbN4tR7wZ")]
    pub confirmation_code: String,
    /// Deletion runs synchronously, so every known request is `completed`.
    #[schema(example = "completed")]
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

pub struct DataDeletions {
    store: Store,
}

impl DataDeletions {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn key(code: &str) -> String {
        format!("deletion:{code}")
    }

    /// Is `code` shaped like one of ours? Checked before any store lookup.
    pub fn is_code(code: &str) -> bool {
        code.len() == CODE_CHARS && code.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// Records a completed deletion and returns its status.
    pub async fn record(&self, requested_at: DateTime<Utc>) -> Result<DeletionStatus, StoreError> {
        let status = DeletionStatus {
            confirmation_code: crate::random::alphanumeric(CODE_CHARS),
            status: "completed".to_owned(),
            requested_at,
            completed_at: Utc::now(),
        };
        let json = serde_json::to_vec(&status).unwrap_or_default();
        self.store
            .set(&Self::key(&status.confirmation_code), &json, Some(KEEP_FOR))
            .await?;
        Ok(status)
    }

    pub async fn find(&self, code: &str) -> Result<Option<DeletionStatus>, StoreError> {
        if !Self::is_code(code) {
            return Ok(None);
        }
        let stored = self.store.get(&Self::key(code)).await?;
        Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }
}
