//! Sandbox start-up: connect the sandbox account through the real authorization code path,
//! so `cargo run` serves data at once.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::accounts::{Account, Connections};
use crate::auth::{CallbackParams, TokenState};

const ATTEMPTS: u32 = 5;

/// Connects the default account unless a token is stored: starts an authorization, follows
/// the sandbox's authorize redirect and completes the callback, exactly as an operator's
/// browser would.
pub async fn connect_at_startup(connections: Arc<Connections>) {
    let Ok(account) = connections.accounts().default_account() else {
        return;
    };
    for attempt in 1..=ATTEMPTS {
        match connect_once(&connections, &account).await {
            Ok(()) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "sandbox bootstrap will retry");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::warn!(account = %account.slug, error = %e, "could not connect the sandbox account; use POST /admin/reauth")
            }
        }
    }
}

async fn connect_once(connections: &Connections, account: &Account) -> Result<(), String> {
    let status = account.tokens.status().await.map_err(|e| e.to_string())?;
    // Also replace an unreadable token (e.g. written under a previous ephemeral key).
    if !matches!(status.state, TokenState::Missing | TokenState::Invalid) {
        return Ok(());
    }
    let request = account
        .tokens
        .start_authorization()
        .await
        .map_err(|e| e.to_string())?;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let response = browser
        .get(request.authorize_url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Url::parse(v).ok())
        .ok_or_else(|| {
            format!(
                "sandbox authorize answered {} without a redirect",
                response.status()
            )
        })?;
    let mut params = CallbackParams::default();
    for (key, value) in location.query_pairs() {
        match key.as_ref() {
            "code" => params.code = Some(value.into_owned()),
            "state" => params.state = Some(value.into_owned()),
            _ => {}
        }
    }
    connections
        .complete(params)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
