//! The stored token record and the state it is in.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

use crate::instagram::Login;

/// Instagram refuses to refresh a token younger than this.
pub const MIN_REFRESH_AGE: Duration = Duration::hours(24);

/// What is kept (encrypted) about the connected account's token.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    #[serde(serialize_with = "expose")]
    pub access_token: SecretString,
    /// The Instagram professional account id (from `/me`).
    pub user_id: String,
    /// The app-scoped id from the code exchange, when it differs; Meta's callbacks may use it.
    #[serde(default)]
    pub app_scoped_user_id: Option<String>,
    pub username: Option<String>,
    pub scopes: Vec<String>,
    pub obtained_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Set when Instagram said the token is invalid (error 190): only a re-auth helps.
    #[serde(default)]
    pub invalid: bool,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Which login issued it (records of earlier versions: Instagram Login).
    #[serde(default)]
    pub login: Login,
}

/// Operators are warned (status, events, metrics) this long before a token expires.
pub const EXPIRY_WARNING: Duration = Duration::days(7);

pub(super) fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .field("invalid", &self.invalid)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    /// When the current token was issued (by the login or the last refresh).
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.refreshed_at
            .unwrap_or(self.obtained_at)
            .max(self.obtained_at)
    }

    /// Old enough for Instagram to accept a refresh?
    pub fn refreshable_at(&self) -> DateTime<Utc> {
        self.issued_at() + MIN_REFRESH_AGE
    }

    /// Not expired at `now`, but within `window` of it.
    pub fn expires_within(&self, now: DateTime<Utc>, window: Duration) -> bool {
        now < self.expires_at && self.expires_at - now <= window
    }

    pub fn state(&self, now: DateTime<Utc>, refresh_margin: Duration) -> TokenState {
        if self.invalid {
            TokenState::Invalid
        } else if now >= self.expires_at {
            TokenState::Expired
        } else if self.login == Login::Instagram
            && now >= self.refreshable_at()
            && self.expires_at - now <= refresh_margin
        {
            TokenState::RefreshDue
        } else {
            TokenState::Valid
        }
    }
}

/// The token's state as operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// No account connected yet: run the re-authorization.
    Missing,
    /// Usable.
    Valid,
    /// Usable, and due for the scheduled refresh.
    RefreshDue,
    /// Past its expiry: re-authorization required.
    Expired,
    /// Rejected by Instagram or unreadable: re-authorization required.
    Invalid,
}

impl std::fmt::Display for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenState::Missing => "missing",
            TokenState::Valid => "valid",
            TokenState::RefreshDue => "refresh_due",
            TokenState::Expired => "expired",
            TokenState::Invalid => "invalid",
        })
    }
}

/// `GET /admin/status` → `token`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenStatus {
    pub state: TokenState,
    /// The Instagram professional account id.
    #[schema(required = true, example = "17841400000000000")]
    pub user_id: Option<String>,
    #[schema(required = true, example = "acme.coffee")]
    pub username: Option<String>,
    pub scopes: Vec<String>,
    #[schema(required = true)]
    pub obtained_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub refreshed_at: Option<DateTime<Utc>>,
    /// True when only a new authorization can bring the feed back.
    pub reauth_required: bool,
    /// True within 7 days of the expiry: a Facebook Login token (which the gateway cannot
    /// refresh) needs a new login by then; an Instagram one is failing to refresh.
    pub expires_soon: bool,
    /// Which login the token came from.
    pub login: Login,
    /// The last problem with the token, for the operator.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

impl TokenStatus {
    pub fn missing() -> Self {
        Self::unreadable(TokenState::Missing, None)
    }

    pub fn unreadable(state: TokenState, last_error: Option<String>) -> Self {
        Self {
            state,
            user_id: None,
            username: None,
            scopes: Vec::new(),
            obtained_at: None,
            expires_at: None,
            refreshed_at: None,
            reauth_required: true,
            expires_soon: false,
            login: Login::default(),
            last_error,
        }
    }

    pub fn of(record: &TokenRecord, now: DateTime<Utc>, refresh_margin: Duration) -> Self {
        let state = record.state(now, refresh_margin);
        Self {
            state,
            user_id: Some(record.user_id.clone()),
            username: record.username.clone(),
            scopes: record.scopes.clone(),
            obtained_at: Some(record.obtained_at),
            expires_at: Some(record.expires_at),
            refreshed_at: record.refreshed_at,
            reauth_required: matches!(state, TokenState::Expired | TokenState::Invalid),
            expires_soon: !record.invalid && record.expires_within(now, EXPIRY_WARNING),
            login: record.login,
            last_error: record.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(issued_days_ago: i64, expires_in_days: i64) -> TokenRecord {
        let now = Utc::now();
        TokenRecord {
            access_token: "t".to_owned().into(),
            user_id: "1".into(),
            app_scoped_user_id: None,
            username: None,
            scopes: vec![],
            obtained_at: now - Duration::days(issued_days_ago),
            expires_at: now + Duration::days(expires_in_days),
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: Login::Instagram,
        }
    }

    #[test]
    fn states_follow_age_and_expiry() {
        let margin = Duration::days(10);
        let now = Utc::now();
        assert_eq!(record(1, 59).state(now, margin), TokenState::Valid);
        assert_eq!(record(55, 5).state(now, margin), TokenState::RefreshDue);
        // Expiring soon but issued less than 24 h ago: Instagram would refuse, so not due.
        let mut young = record(0, 5);
        young.obtained_at = now - Duration::hours(23);
        assert_eq!(young.state(now, margin), TokenState::Valid);
        assert_eq!(record(61, -1).state(now, margin), TokenState::Expired);
        // A Facebook Login token is never due: no server can refresh it.
        let mut facebook = record(55, 5);
        facebook.login = Login::Facebook;
        assert_eq!(facebook.state(now, margin), TokenState::Valid);
        let mut bad = record(1, 59);
        bad.invalid = true;
        assert_eq!(bad.state(now, margin), TokenState::Invalid);
    }

    #[test]
    fn expiring_within_a_window_excludes_the_expired() {
        let now = Utc::now();
        let week = Duration::days(7);
        assert!(record(55, 5).expires_within(now, week));
        assert!(!record(50, 10).expires_within(now, week));
        assert!(!record(61, -1).expires_within(now, week));
    }
}
