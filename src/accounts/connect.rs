//! Connecting and forgetting accounts: one path each, used by the OAuth callbacks, the admin
//! API and the sandbox bootstrap.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::error::AccountError;
use super::registry::{Account, Accounts};
use super::slug::Slug;
use crate::auth::signed_request::SignedRequestError;
use crate::auth::{
    self, AuthError, CallbackParams, FacebookGrant, GrantedAccount, OAuthStates, TokenCipher,
    TokenRecord,
};
use crate::hashtags::PublicSearch;
use crate::instagram::Login;
use crate::store::{LockGuard, Store, StoreError};
use crate::webhooks::{DisconnectReason, Event, Events};

/// Keys of the single-account version, deleted with the default account's data so that
/// nothing of a purged account outlives it (see `migrate`).
const LEGACY_KEYS: [&str; 3] = ["token", "feed:snapshot", "feed:meta"];
const CONNECT_LOCK: &str = "lock:account-connect";
const CONNECT_LOCK_TTL: Duration = Duration::from_secs(10);
const CONNECT_LOCK_WAIT: Duration = Duration::from_secs(5);
/// What the single-account version stored as the value of every OAuth `state`.
const LEGACY_STATE_VALUE: &str = "1";
/// A pending Page choice: 256 random bits, as a `state`.
const CHOICE_BYTES: usize = 32;
const CHOICE_CHARS: usize = 43;

/// A connected account: which one, and its new token.
pub struct Connected {
    pub slug: Slug,
    pub record: TokenRecord,
}

/// What a callback came to.
pub enum Completion {
    Connected(Connected),
    /// A Facebook Login reaching several Instagram accounts: the operator picks one with the
    /// one-time `choice` (valid as long as a `state`).
    Choose {
        slug: Slug,
        choice: String,
        accounts: Vec<GrantedAccount>,
    },
}

/// A Facebook Login waiting for the operator's pick, encrypted at rest (it holds the token).
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingChoice {
    slug: String,
    grant: FacebookGrant,
}

pub struct Connections {
    parts: ConnectionParts,
}

/// What [`Connections`] is built from.
pub struct ConnectionParts {
    pub accounts: Arc<Accounts>,
    pub states: Arc<OAuthStates>,
    /// Signs Meta's `signed_request` callbacks.
    pub app_secret: SecretString,
    /// The Facebook app's secret, which signs its callbacks.
    pub facebook_secret: Option<SecretString>,
    pub store: Store,
    pub events: Events,
    /// Encrypts pending Page choices.
    pub cipher: Arc<TokenCipher>,
    /// How long a pending choice is kept (`oauth.state_ttl_secs`).
    pub choice_ttl: Duration,
    pub public_search: Arc<PublicSearch>,
}

impl Connections {
    pub fn new(parts: ConnectionParts) -> Self {
        Self { parts }
    }

    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.parts.accounts
    }

    /// Instagram's (or Facebook's) redirect back: the `state` names the account and the login;
    /// the code becomes its token, unless that Instagram account is connected under another
    /// slug. A failure anywhere leaves the account's previous token as it was.
    pub async fn complete(&self, params: CallbackParams) -> Result<Completion, AccountError> {
        if let Some(denied) = params.denied() {
            // Burn the state so this URL cannot be replayed with a code later.
            self.parts
                .states
                .consume(params.state.as_deref())
                .await
                .map_err(AuthError::from)?
                .ok();
            return Err(denied.into());
        }
        let (slug, login) = self
            .parts
            .states
            .consume(params.state.as_deref())
            .await
            .map_err(AuthError::from)?
            .map_err(AuthError::from)?;
        let code = params.code()?;
        let account = match self.parts.accounts.get(&slug) {
            Some(account) => account,
            // A state issued by the single-account version (during a rolling update): its
            // one account is the default. Its value, `1`, is a valid slug, so it is
            // recognized as such, not parsed.
            None if login == Login::Instagram
                && (slug == LEGACY_STATE_VALUE || Slug::parse(&slug).is_err()) =>
            {
                self.parts.accounts.default_account()?
            }
            None => return Err(AccountError::NotFound(slug)),
        };
        if account.tokens.login() != login {
            // The account was deleted and created again with another login since.
            return Err(AuthError::from(auth::StateError::Unknown).into());
        }
        if login == Login::Instagram {
            let record = account.tokens.exchange_code(code).await?;
            return self
                .connect(&account, record)
                .await
                .map(Completion::Connected);
        }
        let grant = account.tokens.exchange_facebook_code(code).await?;
        match grant.accounts.as_slice() {
            [] => Err(AuthError::NoLinkedAccount.into()),
            [only] => {
                let record = grant.record_for(&only.user_id)?;
                self.connect(&account, record)
                    .await
                    .map(Completion::Connected)
            }
            _ => {
                let choice = crate::random::token_urlsafe(CHOICE_BYTES);
                let accounts = grant.accounts.clone();
                let pending = PendingChoice {
                    slug: account.slug.to_string(),
                    grant,
                };
                let json = serde_json::to_vec(&pending).unwrap_or_default();
                self.parts
                    .store
                    .set(
                        &choice_key(&choice),
                        &self.parts.cipher.encrypt(&json),
                        Some(self.parts.choice_ttl),
                    )
                    .await?;
                Ok(Completion::Choose {
                    slug: account.slug.clone(),
                    choice,
                    accounts,
                })
            }
        }
    }

    /// The operator's pick after a Facebook Login that reached several Instagram accounts:
    /// `choice` works once, and only for an account the login offered.
    pub async fn choose(&self, choice: &str, user_id: &str) -> Result<Connected, AccountError> {
        let well_formed = choice.len() == CHOICE_CHARS
            && choice
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(AuthError::UnknownChoice.into());
        }
        let stored = self
            .parts
            .store
            .take(&choice_key(choice))
            .await?
            .ok_or(AuthError::UnknownChoice)?;
        let pending: PendingChoice = self
            .parts
            .cipher
            .decrypt(&stored)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(AuthError::UnknownChoice)?;
        let account = self.parts.accounts.find(&pending.slug)?;
        let record = pending.grant.record_for(user_id)?;
        self.connect(&account, record).await
    }

    /// Stores `record` as `account`'s token (refusing an Instagram account connected under
    /// another slug), announces it and starts the first sync.
    async fn connect(
        &self,
        account: &Arc<Account>,
        record: TokenRecord,
    ) -> Result<Connected, AccountError> {
        // Check and save under one lock: two callbacks of one Instagram account for two slugs
        // at the same moment must not both pass the check.
        let guard = self.connect_lock().await?;
        let saved = match self.refuse_duplicate(account, &record).await {
            Ok(()) => account
                .tokens
                .save_connected(&record)
                .await
                .map_err(AccountError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = self.parts.store.unlock(guard).await {
            tracing::debug!(error = %e, "could not release the connect lock; it expires on its own");
        }
        saved?;
        self.parts
            .events
            .emit(
                Some(&account.slug),
                Event::account_connected(&account.slug, record.username.as_deref()),
            )
            .await;
        // The token is stored; the first sync of this account starts in the background.
        if let Err(e) = account.feed.account_connected(&record.user_id).await {
            tracing::warn!(account = %account.slug, error = %e, "could not start the sync of the connected account");
        }
        if record.login == Login::Facebook {
            // Meta may count hashtags searched before (by another tool, or before a purge).
            let (search, account) = (self.parts.public_search.clone(), account.clone());
            tokio::spawn(async move {
                if let Err(e) = search.reconcile(&account).await {
                    tracing::warn!(account = %account.slug, error = %e, "could not read the hashtags Meta counts");
                }
            });
        }
        Ok(Connected {
            slug: account.slug.clone(),
            record,
        })
    }

    /// The lock of [`Connections::complete`]'s check and save, waited for a few seconds (the
    /// holder does two store round trips per account, then releases it).
    async fn connect_lock(&self) -> Result<LockGuard, AccountError> {
        let deadline = tokio::time::Instant::now() + CONNECT_LOCK_WAIT;
        loop {
            if let Some(guard) = self
                .parts
                .store
                .try_lock(CONNECT_LOCK, CONNECT_LOCK_TTL)
                .await?
            {
                return Ok(guard);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Timeout(CONNECT_LOCK_WAIT).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One Instagram account, one slug: two slugs would sync, store and serve it twice.
    async fn refuse_duplicate(
        &self,
        account: &Account,
        record: &TokenRecord,
    ) -> Result<(), AccountError> {
        for other in self.parts.accounts.all() {
            if other.slug == account.slug {
                continue;
            }
            let status = other.tokens.status().await?;
            if status.user_id.as_deref() == Some(record.user_id.as_str()) {
                return Err(AccountError::AlreadyConnected {
                    who: record.username.as_ref().map_or_else(
                        || format!("with user id {}", record.user_id),
                        |u| format!("@{u}"),
                    ),
                    slug: other.slug.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Meta's deauthorize and data-deletion callbacks: verifies the `signed_request`, then
    /// forgets the account(s) of that user whose token is not newer than the request. Returns
    /// whether something was deleted.
    pub async fn forget_signed_user(&self, signed_request: &str) -> Result<bool, AccountError> {
        let verify = |secret: &SecretString| {
            auth::signed_request::verify(signed_request, secret.expose_secret().as_bytes())
        };
        // Meta signs with the secret of the app the user removed: the Instagram app, or the
        // Facebook app of the accounts connected through Facebook Login.
        let request = match (verify(&self.parts.app_secret), &self.parts.facebook_secret) {
            (Err(SignedRequestError::BadSignature), Some(facebook)) => verify(facebook),
            (result, _) => result,
        }
        .map_err(AuthError::from)?;
        let mut forgot = false;
        for account in self.parts.accounts.all() {
            if self
                .forget_user_of(&account, &request.user_id, request.issued_at)
                .await?
            {
                forgot = true;
            }
        }
        Ok(forgot)
    }

    async fn forget_user_of(
        &self,
        account: &Account,
        user_id: &str,
        issued_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !account.tokens.forget_user(user_id, issued_at).await? {
            return Ok(false);
        }
        self.purge_media(account).await?;
        self.parts
            .events
            .emit(
                Some(&account.slug),
                Event::account_disconnected(&account.slug, DisconnectReason::Deauthorized),
            )
            .await;
        Ok(true)
    }

    /// Deletes an account: its token, snapshot and pictures, then its registration. The
    /// default account stays registered (the single-account routes serve it), empty.
    pub async fn delete(&self, slug: &str) -> Result<(), AccountError> {
        let account = self.parts.accounts.find(slug)?;
        let was_connected = account.tokens.status().await?.user_id.is_some();
        account.tokens.delete().await?;
        self.purge_media(&account).await?;
        if account.slug != *self.parts.accounts.default_slug() {
            self.parts.accounts.remove(&account.slug).await?;
        }
        tracing::info!(account = %account.slug, "account deleted");
        if was_connected {
            self.parts
                .events
                .emit(
                    Some(&account.slug),
                    Event::account_disconnected(&account.slug, DisconnectReason::Deleted),
                )
                .await;
        }
        Ok(())
    }

    /// The account's snapshot, curation and pictures, on every replica (and, for the default account,
    /// what the single-account version left).
    async fn purge_media(&self, account: &Account) -> Result<(), StoreError> {
        account.feed.purge().await?;
        account.feed.forget_curation().await?;
        self.parts
            .public_search
            .purge(account.slug.as_str())
            .await?;
        self.parts.accounts.pictures().purge(&account.slug);
        if account.slug == *self.parts.accounts.default_slug() {
            for key in LEGACY_KEYS {
                self.parts.store.delete(key).await?;
            }
        }
        Ok(())
    }
}

fn choice_key(choice: &str) -> String {
    format!("oauth:choice:{choice}")
}
