//! One-time OAuth `state` values: minted for each authorize URL, kept in the store (so the
//! callback may land on any replica) and consumed atomically by the callback.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::instagram::Login;
use crate::store::{Store, StoreError};

/// Prefix of the stored value of a state issued for a Facebook Login (`facebook:<slug>`); a
/// plain slug is an Instagram Login (as the single-login versions stored it).
const FACEBOOK_PREFIX: &str = "facebook:";

/// 32 random bytes = 256 bits, 43 base64url characters.
const STATE_BYTES: usize = 32;
const STATE_CHARS: usize = 43;

/// Why a callback's `state` was refused. All of them mean: start again from `/admin/reauth`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("the `state` parameter is missing")]
    Missing,
    #[error("the `state` is unknown, expired or already used")]
    Unknown,
}

pub struct OAuthStates {
    store: Store,
    ttl: Duration,
}

impl OAuthStates {
    pub fn new(store: Store, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    fn key(state: &str) -> String {
        format!("oauth:state:{state}")
    }

    /// Mints and stores a fresh state for connecting the account `slug` through `login`;
    /// returns it with its expiry.
    pub async fn issue(
        &self,
        slug: &str,
        login: Login,
    ) -> Result<(String, DateTime<Utc>), StoreError> {
        let state = crate::random::token_urlsafe(STATE_BYTES);
        let expires_at = Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let value = match login {
            Login::Instagram => slug.to_owned(),
            Login::Facebook => format!("{FACEBOOK_PREFIX}{slug}"),
        };
        self.store
            .set(&Self::key(&state), value.as_bytes(), Some(self.ttl))
            .await?;
        Ok((state, expires_at))
    }

    /// Consumes `state`: succeeds once per issued value, within its lifetime, with the slug
    /// of the account it was issued for and the login. Values that are not even shaped like
    /// ours are refused without touching the store.
    pub async fn consume(
        &self,
        state: Option<&str>,
    ) -> Result<Result<(String, Login), StateError>, StoreError> {
        let Some(state) = state.filter(|s| !s.is_empty()) else {
            return Ok(Err(StateError::Missing));
        };
        let well_formed = state.len() == STATE_CHARS
            && state
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Ok(Err(StateError::Unknown));
        }
        Ok(match self.store.take(&Self::key(state)).await? {
            // A state of the single-account version (value `1`) was for the default account:
            // `Connections::complete` resolves that value to it.
            Some(value) => {
                let value = String::from_utf8(value).unwrap_or_default();
                Ok(match value.strip_prefix(FACEBOOK_PREFIX) {
                    Some(slug) => (slug.to_owned(), Login::Facebook),
                    None => (value, Login::Instagram),
                })
            }
            None => Err(StateError::Unknown),
        })
    }
}
