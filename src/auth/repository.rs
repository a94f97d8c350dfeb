//! Loading and saving the encrypted token record.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::crypto::{DecryptError, TokenCipher};
use super::token::TokenRecord;
use crate::store::{LockGuard, Store, StoreError};

const TOKEN_KEY: &str = "token";
/// Kept this long past expiry so operators see `expired` rather than `missing`.
const KEEP_AFTER_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// What is stored under the token key.
pub enum Stored {
    Missing,
    Record(TokenRecord),
    /// Present but unreadable: tampered, corrupted, or written under a key no longer configured.
    Unreadable(DecryptError),
}

pub struct TokenRepository {
    store: Store,
    /// Shared by every account's repository.
    cipher: Arc<TokenCipher>,
}

impl TokenRepository {
    pub fn new(store: Store, cipher: Arc<TokenCipher>) -> Self {
        Self { store, cipher }
    }

    /// The store key of the token (relative to the prefix).
    pub fn key() -> &'static str {
        TOKEN_KEY
    }

    pub async fn load(&self) -> Result<Stored, StoreError> {
        let Some(bytes) = self.store.get(TOKEN_KEY).await? else {
            return Ok(Stored::Missing);
        };
        let plain = match self.cipher.decrypt(&bytes) {
            Ok(plain) => plain,
            Err(e) => return Ok(Stored::Unreadable(e)),
        };
        Ok(match serde_json::from_slice::<TokenRecord>(&plain) {
            Ok(record) => Stored::Record(record),
            Err(_) => Stored::Unreadable(DecryptError::Malformed),
        })
    }

    /// Encrypts and writes; with a guard, only while that lock is still held (fencing).
    /// Returns false when the fence refused the write.
    pub async fn save(
        &self,
        record: &TokenRecord,
        guard: Option<&LockGuard>,
    ) -> Result<bool, StoreError> {
        // Serializing a struct of strings and dates into a Vec cannot fail.
        let plain = serde_json::to_vec(record).unwrap_or_default();
        let sealed = self.cipher.encrypt(&plain);
        let ttl = (record.expires_at - Utc::now())
            .to_std()
            .unwrap_or_default()
            .saturating_add(KEEP_AFTER_EXPIRY);
        match guard {
            Some(guard) => {
                self.store
                    .set_fenced(guard, TOKEN_KEY, &sealed, Some(ttl))
                    .await
            }
            None => self
                .store
                .set(TOKEN_KEY, &sealed, Some(ttl))
                .await
                .map(|()| true),
        }
    }

    pub async fn delete(&self) -> Result<(), StoreError> {
        self.store.delete(TOKEN_KEY).await
    }
}
