//! HTTP calls to Instagram's OAuth and Graph endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::RETRY_AFTER;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::UpstreamError;
use super::facebook::FacebookApp;
use super::usage::RateLimitUsage;
use super::wire::{
    CodeExchangeBody, LongLivedBody, MaybeWrapped, MeBody, MediaBody, MediaPageBody, ProfileBody,
};
use crate::metrics::Metrics;

/// GETs are tried at most this many times when the failure is transient.
const MAX_ATTEMPTS: u32 = 3;

/// The fields the feed needs; children are expanded in the same call.
pub(super) const MEDIA_FIELDS: &str = "id,caption,media_type,media_url,permalink,thumbnail_url,timestamp,username,like_count,comments_count,children{id,media_type,media_url,thumbnail_url}";

/// Where the upstream lives: the real Instagram, a wiremock server in tests, or the sandbox.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize_url: Url,
    pub token_url: Url,
    pub graph_url: Url,
    pub api_version: String,
}

/// The short-lived token from the code exchange.
pub struct ShortLivedToken {
    pub access_token: SecretString,
    pub user_id: String,
    pub permissions: Vec<String>,
}

/// A long-lived token from the exchange or a refresh.
pub struct IssuedToken {
    pub access_token: SecretString,
    pub expires_at: DateTime<Utc>,
}

/// One page of the account's media, and the cursor of the next one (none on the last page).
pub struct MediaPage {
    pub items: Vec<MediaBody>,
    pub next_after: Option<String>,
}

impl MediaPage {
    pub(super) fn from_body(body: MediaPageBody) -> Self {
        let paging = body.paging.unwrap_or(super::wire::Paging {
            cursors: None,
            next: None,
        });
        // `next` absent means the last page, whatever the cursors say.
        let next_after = paging
            .next
            .and(paging.cursors.and_then(|c| c.after))
            .filter(|a| !a.is_empty());
        Self {
            items: body.data,
            next_after,
        }
    }
}

/// The connected account.
pub struct Account {
    pub user_id: String,
    pub username: Option<String>,
}

const PROFILE_FIELDS: &str = "user_id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count";

pub struct InstagramClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    client_id: String,
    client_secret: SecretString,
    max_body_bytes: usize,
    last_usage: Mutex<Option<RateLimitUsage>>,
    metrics: Arc<Metrics>,
    /// The Facebook app, for accounts connected through Facebook Login (`None`: not configured).
    facebook: Option<FacebookApp>,
}

impl InstagramClient {
    pub fn new(
        endpoints: Endpoints,
        client_id: String,
        client_secret: SecretString,
        connect_timeout: Duration,
        request_timeout: Duration,
        max_body_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, UpstreamError> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            // Never follow a redirect: the upstream hosts are fixed by configuration.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("instagram-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(UpstreamError::from_transport)?;
        Ok(Self {
            http,
            endpoints,
            client_id,
            client_secret,
            max_body_bytes,
            last_usage: Mutex::new(None),
            metrics,
            facebook: None,
        })
    }

    /// Enables the Facebook Login calls (see `facebook.rs`).
    pub fn with_facebook(mut self, app: Option<FacebookApp>) -> Self {
        self.facebook = app;
        self
    }

    pub fn facebook(&self) -> Option<&FacebookApp> {
        self.facebook.as_ref()
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The latest usage headers Instagram sent, if any.
    pub fn rate_limit_usage(&self) -> Option<RateLimitUsage> {
        self.last_usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn graph(&self, path: &[&str]) -> Url {
        at_path(&self.endpoints.graph_url, path)
    }

    /// Step 2 of the login: code -> short-lived token. Not retried: a code works once.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<ShortLivedToken, UpstreamError> {
        let request = self.http.post(self.endpoints.token_url.clone()).form(&[
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ]);
        let secrets = [code, self.client_secret.expose_secret()];
        let body: MaybeWrapped<CodeExchangeBody> =
            self.send("token_exchange", request, &secrets).await?;
        let body = body
            .into_first()
            .ok_or_else(|| UpstreamError::InvalidResponse("empty token response".to_owned()))?;
        if body.access_token.is_empty() || body.user_id.is_empty() {
            return Err(UpstreamError::InvalidResponse(
                "token response without access_token or user_id".to_owned(),
            ));
        }
        Ok(ShortLivedToken {
            access_token: body.access_token.into(),
            user_id: body.user_id,
            permissions: body.permissions.map(|p| p.into_vec()).unwrap_or_default(),
        })
    }

    /// Step 3: short-lived -> long-lived (60 days).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_for_long_lived(
        &self,
        short_lived: &SecretString,
    ) -> Result<IssuedToken, UpstreamError> {
        let url = self.graph(&["access_token"]);
        let body: LongLivedBody = self
            .get_with_retries(
                "long_lived_exchange",
                url,
                &[
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", self.client_secret.expose_secret()),
                    ("access_token", short_lived.expose_secret()),
                ],
            )
            .await?;
        issued(body)
    }

    /// Another 60 days for a long-lived token that is at least 24 h old and still valid.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, token: &SecretString) -> Result<IssuedToken, UpstreamError> {
        let url = self.graph(&["refresh_access_token"]);
        let body: LongLivedBody = self
            .get_with_retries(
                "refresh",
                url,
                &[
                    ("grant_type", "ig_refresh_token"),
                    ("access_token", token.expose_secret()),
                ],
            )
            .await?;
        issued(body)
    }

    /// Who the token belongs to.
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, token: &SecretString) -> Result<Account, UpstreamError> {
        let url = self.graph(&[self.endpoints.api_version.as_str(), "me"]);
        let body: MaybeWrapped<MeBody> = self
            .get_with_retries(
                "me",
                url,
                &[
                    ("fields", "user_id,username"),
                    ("access_token", token.expose_secret()),
                ],
            )
            .await?;
        let me = body
            .into_first()
            .ok_or_else(|| UpstreamError::InvalidResponse("empty /me response".to_owned()))?;
        let user_id = me
            .user_id
            .or(me.id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| UpstreamError::InvalidResponse("/me without user_id".to_owned()))?;
        Ok(Account {
            user_id,
            username: me.username.filter(|u| !u.is_empty()),
        })
    }

    /// The account's profile (`/me` with the profile fields Instagram Login offers).
    pub async fn profile(&self, token: &SecretString) -> Result<ProfileBody, UpstreamError> {
        let url = self.graph(&[self.endpoints.api_version.as_str(), "me"]);
        let body: MaybeWrapped<ProfileBody> = self
            .get_with_retries(
                "profile",
                url,
                &[
                    ("fields", PROFILE_FIELDS),
                    ("access_token", token.expose_secret()),
                ],
            )
            .await?;
        body.into_first()
            .ok_or_else(|| UpstreamError::InvalidResponse("empty /me response".to_owned()))
    }

    /// One page of the account's media, newest first.
    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn media_page(
        &self,
        token: &SecretString,
        after: Option<&str>,
        limit: usize,
    ) -> Result<MediaPage, UpstreamError> {
        let url = self.graph(&[self.endpoints.api_version.as_str(), "me", "media"]);
        self.media_page_at("media", url, MEDIA_FIELDS, token, after, limit)
            .await
    }

    pub(super) async fn media_page_at(
        &self,
        endpoint: &'static str,
        url: Url,
        fields: &str,
        token: &SecretString,
        after: Option<&str>,
        limit: usize,
    ) -> Result<MediaPage, UpstreamError> {
        let limit = limit.to_string();
        let mut query = vec![
            ("fields", fields),
            ("limit", limit.as_str()),
            ("access_token", token.expose_secret()),
        ];
        if let Some(after) = after {
            query.push(("after", after));
        }
        let body: MediaPageBody = self.get_with_retries(endpoint, url, &query).await?;
        Ok(MediaPage::from_body(body))
    }

    pub(super) async fn get_with_retries<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<T, UpstreamError> {
        let mut attempt = 1;
        loop {
            let secrets: Vec<&str> = query
                .iter()
                .map(|(_, v)| *v)
                .filter(|v| v.len() >= 8)
                .collect();
            match self
                .send(endpoint, self.http.get(url.clone()).query(query), &secrets)
                .await
            {
                Err(err) if err.is_transient() && attempt < MAX_ATTEMPTS => {
                    let delay = backoff(attempt);
                    tracing::debug!(attempt, ?delay, error = %err, "retrying Instagram call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// One call, counted by `endpoint` and outcome.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<T, UpstreamError> {
        let result = self.send_once(request, secrets).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::Throttled { .. }) => "throttled",
            Err(UpstreamError::TokenInvalid { .. }) => "token_invalid",
            Err(_) => "error",
        };
        self.metrics
            .upstream_requests
            .with_label_values(&[endpoint, outcome])
            .inc();
        result
    }

    /// Sends, reads at most `max_body_bytes`, classifies errors (scrubbing `secrets` from
    /// upstream messages that echo them), parses JSON.
    async fn send_once<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<T, UpstreamError> {
        let mut response = request
            .send()
            .await
            .map_err(UpstreamError::from_transport)?;
        let status = response.status();
        let usage = RateLimitUsage::from_headers(response.headers());
        let regain = usage
            .as_ref()
            .and_then(|u| u.regain_access_minutes)
            .map(|m| Duration::from_secs(m * 60));
        if let Some(usage) = usage {
            *self.last_usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(usage);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Instagram's own estimate first; a plain Retry-After only when there is none.
        let retry_after = regain.or(retry_after);
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body_bytes as u64)
        {
            return Err(UpstreamError::InvalidResponse(
                "response body too large".to_owned(),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(UpstreamError::from_transport)?
        {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(UpstreamError::InvalidResponse(
                    "response body too large".to_owned(),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(
                UpstreamError::from_response(status.as_u16(), &body, retry_after).redact(secrets),
            );
        }
        serde_json::from_slice(&body).map_err(|e| {
            // Only the category and position: serde's message can quote values, such as a token.
            UpstreamError::InvalidResponse(format!(
                "malformed JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

pub(super) fn issued(body: LongLivedBody) -> Result<IssuedToken, UpstreamError> {
    if body.access_token.is_empty() || body.expires_in <= 0 {
        return Err(UpstreamError::InvalidResponse(
            "token response without access_token or expires_in".to_owned(),
        ));
    }
    Ok(IssuedToken {
        access_token: body.access_token.into(),
        expires_at: Utc::now() + chrono::Duration::seconds(body.expires_in),
    })
}

/// `base` with `path`'s segments appended (each percent-encoded).
pub(super) fn at_path(base: &Url, path: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path);
    }
    url
}

/// Full-jitter exponential backoff: up to 200 ms, 400 ms, ...
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 200u64 << attempt.min(6);
    let [a, b, ..] = crate::random::bytes::<8>();
    Duration::from_millis(u64::from(u16::from_le_bytes([a, b])) % cap_ms + 1)
}
