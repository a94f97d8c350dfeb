//! The token lifecycle's operations, independent of HTTP.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error::AuthError;
use super::repository::{Stored, TokenRepository};
use super::state::OAuthStates;
use super::token::{EXPIRY_WARNING, TokenRecord, TokenState, TokenStatus};
use crate::accounts::Slug;
use crate::instagram::{InstagramClient, LinkedPage, Login, UpstreamError};
use crate::store::{LockGuard, Store, StoreError};
use crate::webhooks::{Event, EventType, Events};

const REFRESH_LOCK: &str = "lock:token-refresh";
const MAX_REASON_CHARS: usize = 200;
const OPERATOR_LOCK_WAIT: Duration = Duration::from_secs(5);
const LOCK_POLL: Duration = Duration::from_millis(100);
/// How long a token's events are remembered across replicas: longer than a token lives.
const TOKEN_MEMORY: Duration = Duration::from_secs(90 * 86_400);
/// `account.token_expiring` this long before the expiry, when the token is not refreshed.
const TOKEN_EXPIRING_WINDOW: chrono::Duration = EXPIRY_WARNING;

/// What the token service needs from the configuration.
#[derive(Clone)]
pub struct TokenServiceConfig {
    pub redirect_uri: String,
    /// Where Facebook Login sends the operator back (`facebook.redirect_uri`, else the same).
    pub facebook_redirect_uri: String,
    pub scopes: Vec<String>,
    pub refresh_margin: chrono::Duration,
    pub lock_ttl: Duration,
}

/// The query of `GET /oauth/callback`.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_reason: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// Instagram's refusal (`error=...`), in words for the operator.
    pub fn denied(&self) -> Option<AuthError> {
        let error = self.error.as_deref().filter(|e| !e.is_empty())?;
        let reason = self
            .error_description
            .as_deref()
            .or(self.error_reason.as_deref())
            .unwrap_or(error);
        Some(AuthError::Denied {
            reason: reason.chars().take(MAX_REASON_CHARS).collect(),
        })
    }

    /// The authorization code, without the `#_` Instagram appends to the redirect.
    pub fn code(&self) -> Result<&str, AuthError> {
        self.code
            .as_deref()
            .map(|c| c.trim().trim_end_matches("#_"))
            .filter(|c| !c.is_empty())
            .ok_or(AuthError::MissingCode)
    }
}

/// A URL for the operator to open, and until when its `state` is accepted.
pub struct AuthorizationRequest {
    pub authorize_url: Url,
    pub state_expires_at: DateTime<Utc>,
}

/// A token the feed may use now, and whose it is.
pub struct UsableToken {
    pub access_token: SecretString,
    pub user_id: String,
    pub username: Option<String>,
    /// Which API it works with.
    pub login: Login,
}

/// A Facebook Login's long-lived user token and the Instagram accounts it reaches (through the
/// user's Pages); not stored until one account is picked.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct FacebookGrant {
    #[serde(serialize_with = "super::token::expose")]
    pub access_token: SecretString,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub accounts: Vec<GrantedAccount>,
    /// The Facebook user's app-scoped id, which Meta's callbacks name (when it could be read).
    #[serde(default)]
    pub facebook_user_id: Option<String>,
}

/// One Instagram account a Facebook Login reaches, and the Page it is linked to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GrantedAccount {
    pub user_id: String,
    pub username: Option<String>,
    pub page_name: String,
}

impl FacebookGrant {
    /// The token record for the Instagram account `user_id` among those granted.
    pub fn record_for(&self, user_id: &str) -> Result<TokenRecord, AuthError> {
        let account = self
            .accounts
            .iter()
            .find(|a| a.user_id == user_id)
            .ok_or(AuthError::NotOffered)?;
        Ok(TokenRecord {
            access_token: self.access_token.clone(),
            user_id: account.user_id.clone(),
            app_scoped_user_id: self.facebook_user_id.clone(),
            username: account.username.clone(),
            scopes: self.scopes.clone(),
            obtained_at: Utc::now(),
            expires_at: self.expires_at,
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: Login::Facebook,
        })
    }
}

impl From<LinkedPage> for GrantedAccount {
    fn from(page: LinkedPage) -> Self {
        Self {
            user_id: page.ig_user_id,
            username: page.ig_username,
            page_name: page.page_name,
        }
    }
}

/// What a refresh attempt came to.
#[derive(Debug)]
pub enum RefreshOutcome {
    Refreshed,
    NotDue,
    /// Another replica holds the refresh lock.
    Busy,
}

/// One account's token: its authorization, storage (under the account's scope), refresh.
pub struct TokenService {
    /// The account's slug, carried by the `state` of its authorize URLs.
    slug: Slug,
    /// Fixed when the account is created.
    login: Login,
    repo: TokenRepository,
    states: Arc<OAuthStates>,
    client: Arc<InstagramClient>,
    store: Store,
    config: TokenServiceConfig,
    events: Events,
}

impl TokenService {
    #[expect(
        clippy::too_many_arguments,
        reason = "one per collaborator; each account's unit is built in one place"
    )]
    pub fn new(
        slug: Slug,
        login: Login,
        repo: TokenRepository,
        states: Arc<OAuthStates>,
        client: Arc<InstagramClient>,
        store: Store,
        config: TokenServiceConfig,
        events: Events,
    ) -> Self {
        Self {
            slug,
            login,
            repo,
            states,
            client,
            store,
            config,
            events,
        }
    }

    pub fn redirect_uri(&self) -> &str {
        match self.login {
            Login::Instagram => &self.config.redirect_uri,
            Login::Facebook => &self.config.facebook_redirect_uri,
        }
    }

    pub fn login(&self) -> Login {
        self.login
    }

    /// Builds the authorize URL with a fresh one-time `state`.
    pub async fn start_authorization(&self) -> Result<AuthorizationRequest, AuthError> {
        if self.login == Login::Facebook && self.client.facebook().is_none() {
            return Err(AuthError::FacebookNotConfigured);
        }
        let (state, state_expires_at) = self.states.issue(self.slug.as_str(), self.login).await?;
        if self.login == Login::Facebook {
            let url = self
                .client
                .facebook_authorize_url(&self.config.facebook_redirect_uri, &state)?;
            return Ok(AuthorizationRequest {
                authorize_url: url,
                state_expires_at,
            });
        }
        let mut url = self.client.endpoints().authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("client_id", self.client.client_id())
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &self.config.scopes.join(","))
            .append_pair("state", &state)
            .append_pair("force_authentication", "1")
            .append_pair("enable_fb_login", "0");
        Ok(AuthorizationRequest {
            authorize_url: url,
            state_expires_at,
        })
    }

    /// The code of a callback whose `state` was issued for this account: exchanged for a
    /// short-lived token, upgraded to a long-lived one, with the account read from `/me`. Not
    /// stored yet (see [`TokenService::save_connected`]): the caller checks the account first.
    #[tracing::instrument(skip_all, fields(account = %self.slug))]
    pub async fn exchange_code(&self, code: &str) -> Result<TokenRecord, AuthError> {
        let short = self
            .client
            .exchange_code(code, &self.config.redirect_uri)
            .await?;
        let long = self
            .client
            .exchange_for_long_lived(&short.access_token)
            .await?;
        let account = self.client.me(&long.access_token).await?;
        let scopes = if short.permissions.is_empty() {
            self.config.scopes.clone()
        } else {
            short.permissions
        };
        let record = TokenRecord {
            access_token: long.access_token,
            app_scoped_user_id: Some(short.user_id).filter(|id| *id != account.user_id),
            user_id: account.user_id,
            username: account.username,
            scopes,
            obtained_at: Utc::now(),
            expires_at: long.expires_at,
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: Login::Instagram,
        };
        Ok(record)
    }

    /// A Facebook Login's code: exchanged for a short-lived user token, upgraded to a
    /// long-lived one, with the Instagram accounts linked to the user's Pages. Not stored: the
    /// caller picks the account (or lets the operator pick).
    #[tracing::instrument(skip_all, fields(account = %self.slug))]
    pub async fn exchange_facebook_code(&self, code: &str) -> Result<FacebookGrant, AuthError> {
        if self.client.facebook().is_none() {
            return Err(AuthError::FacebookNotConfigured);
        }
        let short = self
            .client
            .facebook_exchange_code(code, &self.config.facebook_redirect_uri)
            .await?;
        let long = self.client.facebook_long_lived(&short).await?;
        let pages = self
            .client
            .facebook_linked_accounts(&long.access_token)
            .await?;
        // Only for Meta's callbacks: a login without it still connects.
        let facebook_user_id = match self.client.facebook_user_id(&long.access_token).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the Facebook user's id; Meta's deauthorize callback will not find this account");
                None
            }
        };
        let mut accounts: Vec<GrantedAccount> = Vec::with_capacity(pages.len());
        // Two Pages may link the same account: offer it once.
        for page in pages {
            if !accounts.iter().any(|a| a.user_id == page.ig_user_id) {
                accounts.push(page.into());
            }
        }
        let scopes = self
            .client
            .facebook()
            .map(|app| app.scopes.clone())
            .unwrap_or_default();
        Ok(FacebookGrant {
            access_token: long.access_token,
            expires_at: long.expires_at,
            scopes,
            accounts,
            facebook_user_id,
        })
    }

    /// Stores a token obtained by [`TokenService::exchange_code`], replacing any other.
    pub async fn save_connected(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.repo.save(record, None).await?;
        tracing::info!(
            account = %self.slug,
            user_id = %record.user_id,
            expires_at = %record.expires_at,
            "Instagram account connected"
        );
        Ok(())
    }

    /// Deletes the stored token (the account is deleted).
    pub async fn delete(&self) -> Result<(), StoreError> {
        self.repo.delete().await
    }

    /// The stored token if it can be used (valid or due for refresh), else why not.
    pub async fn usable_token(&self) -> Result<UsableToken, AuthError> {
        match self.repo.load().await? {
            Stored::Missing => Err(AuthError::NoToken),
            Stored::Unreadable(_) => Err(AuthError::ReauthRequired(TokenState::Invalid)),
            Stored::Record(record) => match record.state(Utc::now(), self.config.refresh_margin) {
                TokenState::Valid | TokenState::RefreshDue => Ok(UsableToken {
                    access_token: record.access_token,
                    user_id: record.user_id,
                    username: record.username,
                    login: record.login,
                }),
                state => Err(AuthError::ReauthRequired(state)),
            },
        }
    }

    /// Instagram rejected `failed` (error 190) during another call: mark the token invalid,
    /// unless it has been replaced in the meantime (a refresh or a re-auth).
    pub async fn mark_invalid(
        &self,
        failed: &SecretString,
        err: &UpstreamError,
    ) -> Result<(), StoreError> {
        if let Stored::Record(mut record) = self.repo.load().await?
            && record.access_token.expose_secret() == failed.expose_secret()
        {
            self.record_failure(&mut record, err, None).await?;
        }
        Ok(())
    }

    pub async fn status(&self) -> Result<TokenStatus, StoreError> {
        Ok(match self.repo.load().await? {
            Stored::Missing => TokenStatus::missing(),
            Stored::Unreadable(e) => TokenStatus::unreadable(
                TokenState::Invalid,
                Some(format!("stored token cannot be read: {e}")),
            ),
            Stored::Record(record) => {
                TokenStatus::of(&record, Utc::now(), self.config.refresh_margin)
            }
        })
    }

    /// Operator-triggered refresh: ignores the margin, still honours Instagram's 24 h rule.
    pub async fn refresh_now(&self) -> Result<TokenStatus, AuthError> {
        if self.login == Login::Facebook {
            return Err(AuthError::NotRefreshable);
        }
        match self.refresh(true).await? {
            RefreshOutcome::Busy => Err(AuthError::RefreshInProgress),
            RefreshOutcome::Refreshed | RefreshOutcome::NotDue => Ok(self.status().await?),
        }
    }

    /// Scheduled refresh: only when due, on one replica at a time.
    pub async fn refresh_if_due(&self) -> Result<RefreshOutcome, AuthError> {
        self.refresh(false).await
    }

    /// `force` (the operator) waits a little for a running refresh to finish, then decides on
    /// what it left; the scheduled check simply skips when another replica is at it.
    async fn refresh(&self, force: bool) -> Result<RefreshOutcome, AuthError> {
        let mut waited = Duration::ZERO;
        let guard = loop {
            match self
                .store
                .try_lock(REFRESH_LOCK, self.config.lock_ttl)
                .await?
            {
                Some(guard) => break guard,
                None if force && waited < OPERATOR_LOCK_WAIT => {
                    tokio::time::sleep(LOCK_POLL).await;
                    waited += LOCK_POLL;
                }
                None => return Ok(RefreshOutcome::Busy),
            }
        };
        let result = self.refresh_locked(&guard, force).await;
        if let Err(e) = self.store.unlock(guard).await {
            // The lock expires on its own; nothing else to do.
            tracing::debug!(error = %e, "could not release the refresh lock");
        }
        result
    }

    async fn refresh_locked(
        &self,
        guard: &LockGuard,
        force: bool,
    ) -> Result<RefreshOutcome, AuthError> {
        // Read under the lock: another replica may have refreshed a moment ago.
        let mut record = match self.repo.load().await? {
            Stored::Missing => return Err(AuthError::NoToken),
            Stored::Unreadable(_) => return Err(AuthError::ReauthRequired(TokenState::Invalid)),
            Stored::Record(record) => record,
        };
        let now = Utc::now();
        let state = record.state(now, self.config.refresh_margin);
        match state {
            TokenState::Invalid | TokenState::Expired => {
                // Expiry is noticed here; an invalid token was announced when marked (this
                // covers one marked before the events existed).
                self.reauth_required(&record, state).await;
                return Err(AuthError::ReauthRequired(state));
            }
            TokenState::Missing => return Err(AuthError::ReauthRequired(state)),
            TokenState::Valid | TokenState::RefreshDue => {}
        }
        if record.login == Login::Facebook {
            // Nothing to refresh: the operator hears of the expiry a week ahead.
            if record.expires_within(now, TOKEN_EXPIRING_WINDOW) {
                self.token_expiring(&record).await;
            }
            return Ok(RefreshOutcome::NotDue);
        }
        let outcome = self
            .refresh_usable(&mut record, state, guard, force, now)
            .await;
        // Refreshed, the expiry moved; otherwise (failing, or not due with a short margin)
        // the operator hears of it a week ahead.
        if !matches!(outcome, Ok(RefreshOutcome::Refreshed))
            && !record.invalid
            && record.expires_within(now, TOKEN_EXPIRING_WINDOW)
        {
            self.token_expiring(&record).await;
        }
        outcome
    }

    /// The refresh of a token still usable (`state`: valid or due).
    async fn refresh_usable(
        &self,
        record: &mut TokenRecord,
        state: TokenState,
        guard: &LockGuard,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, AuthError> {
        if state == TokenState::Valid && !force {
            return Ok(RefreshOutcome::NotDue);
        }
        if now < record.refreshable_at() {
            return Err(AuthError::TooYoung {
                refreshable_at: record.refreshable_at(),
            });
        }
        match self.client.refresh(&record.access_token).await {
            Ok(issued) => {
                record.access_token = issued.access_token;
                record.expires_at = issued.expires_at;
                record.refreshed_at = Some(Utc::now());
                record.last_error = None;
                if !self.repo.save(record, Some(guard)).await? {
                    tracing::warn!("refresh lock expired before the refreshed token was saved");
                }
                tracing::info!(expires_at = %record.expires_at, "Instagram token refreshed");
                Ok(RefreshOutcome::Refreshed)
            }
            Err(err) => {
                self.record_failure(record, &err, Some(guard)).await?;
                Err(err.into())
            }
        }
    }

    /// Notes an upstream failure on the record; error 190 marks it invalid (WARN once, at the
    /// transition), which stops further refresh attempts until a re-auth.
    async fn record_failure(
        &self,
        record: &mut TokenRecord,
        err: &UpstreamError,
        guard: Option<&LockGuard>,
    ) -> Result<(), StoreError> {
        let newly_invalid = matches!(err, UpstreamError::TokenInvalid { .. }) && !record.invalid;
        if matches!(err, UpstreamError::TokenInvalid { .. }) {
            if !record.invalid {
                tracing::warn!(
                    user_id = %record.user_id,
                    error = %err,
                    "Instagram token is invalid; re-authorization required (POST /admin/reauth)"
                );
            }
            record.invalid = true;
        } else {
            tracing::warn!(error = %err, "Instagram token refresh failed");
        }
        record.last_error = Some(err.to_string());
        let saved = self.repo.save(record, guard).await?;
        if newly_invalid && saved {
            self.reauth_required(record, TokenState::Invalid).await;
        }
        Ok(())
    }

    /// `account.token_expiring` for this token, once per token across replicas.
    async fn token_expiring(&self, record: &TokenRecord) {
        let extra = serde_json::Map::from_iter([(
            "expires_at".to_owned(),
            serde_json::Value::from(
                record
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        )]);
        let event = Event::about_account(EventType::AccountTokenExpiring, &self.slug, extra);
        self.emit_once_per_token("token-expiring", record, event)
            .await;
    }

    /// `account.reauth_required` for this token (`state`: invalid or expired), once per token
    /// across replicas.
    async fn reauth_required(&self, record: &TokenRecord, state: TokenState) {
        let extra = serde_json::Map::from_iter([(
            "reason".to_owned(),
            serde_json::Value::from(state.to_string()),
        )]);
        let event = Event::about_account(EventType::AccountReauthRequired, &self.slug, extra);
        self.emit_once_per_token("reauth-required", record, event)
            .await;
    }

    /// Emits `event` unless it was already emitted for this token (its authorization).
    async fn emit_once_per_token(&self, what: &str, record: &TokenRecord, event: Event) {
        let once = format!(
            "{what}:{}:{}",
            self.slug,
            record.obtained_at.timestamp_millis()
        );
        self.events
            .emit_once(&once, TOKEN_MEMORY, Some(&self.slug), event)
            .await;
    }

    /// Forgets the token if it belongs to `user_id` and is not newer than `issued_at` (whole
    /// seconds, as Meta's `issued_at`). Returns whether something was deleted.
    pub async fn forget_user(
        &self,
        user_id: &str,
        issued_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match self.repo.load().await? {
            Stored::Record(record)
                if record.user_id == user_id
                    || record.app_scoped_user_id.as_deref() == Some(user_id) =>
            {
                if issued_at.timestamp() < record.obtained_at.timestamp() {
                    tracing::warn!(
                        user_id,
                        %issued_at,
                        obtained_at = %record.obtained_at,
                        "Meta's deletion request is older than the current authorization; token kept"
                    );
                    return Ok(false);
                }
                self.repo.delete().await?;
                tracing::info!(account = %self.slug, user_id, "token deleted on Meta's request");
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
