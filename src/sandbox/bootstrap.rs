//! Sandbox start-up: connect the sandbox's three Instagram Login accounts and one Facebook Login
//! account (`tags`, for public hashtag search) through the real authorization code path, so
//! `cargo run` serves several accounts at once.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::users::SANDBOX_USERS;
use crate::accounts::{Account, AccountError, Connections, Slug};
use crate::auth::{CallbackParams, TokenState};
use crate::instagram::Login;

const ATTEMPTS: u32 = 5;
/// The slugs of the sandbox's second and third accounts (the first is the default account).
const OTHER_SLUGS: [&str; 2] = ["cafe", "shop"];
/// The Facebook Login account, connected as the sandbox's Facebook user `manager` (one Page
/// with a linked Instagram account).
const FACEBOOK_SLUG: &str = "tags";
const FACEBOOK_USER: &str = "manager";

/// Creates the sandbox accounts that are missing and connects each one without a token.
pub async fn connect_at_startup(connections: Arc<Connections>) {
    let accounts = connections.accounts().clone();
    let mut slugs = vec![accounts.default_slug().clone()];
    slugs.extend(OTHER_SLUGS.iter().filter_map(|s| Slug::parse(s).ok()));
    let logins = slugs
        .into_iter()
        .zip(SANDBOX_USERS)
        .map(|(slug, user)| (slug, *user, Login::Instagram))
        .chain(
            Slug::parse(FACEBOOK_SLUG)
                .ok()
                .map(|slug| (slug, FACEBOOK_USER, Login::Facebook)),
        );
    for (slug, user, login) in logins {
        let account = match accounts.find(slug.as_str()) {
            Ok(account) => account,
            Err(_) => match accounts
                .create(slug.clone(), Some(sandbox_label(user, login)), login)
                .await
            {
                Ok(account) => account,
                Err(AccountError::Exists(_)) => match accounts.find(slug.as_str()) {
                    Ok(account) => account,
                    Err(_) => continue,
                },
                Err(e) => {
                    tracing::warn!(account = %slug, error = %e, "could not create a sandbox account");
                    continue;
                }
            },
        };
        connect(&connections, &account, user).await;
    }
}

fn sandbox_label(user: &str, login: Login) -> String {
    match login {
        Login::Instagram => format!("Sandbox @{user}"),
        Login::Facebook => "Sandbox hashtags (Facebook Login)".to_owned(),
    }
}

/// Unless a token is stored: starts an authorization, follows the sandbox's authorize redirect
/// and completes the callback, exactly as an operator's browser would.
async fn connect(connections: &Connections, account: &Account, user: &str) {
    for attempt in 1..=ATTEMPTS {
        match connect_once(connections, account, user).await {
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

async fn connect_once(
    connections: &Connections,
    account: &Account,
    user: &str,
) -> Result<(), String> {
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
    let authorize_url = match account.tokens.login() {
        Login::Instagram => super::with_sandbox_user(&request.authorize_url, user),
        Login::Facebook => super::with_facebook_user(&request.authorize_url, user),
    };
    let response = browser
        .get(authorize_url)
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
