//! The background task that keeps the token fresh.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::error::AuthError;
use super::service::{RefreshOutcome, TokenService};

const FIRST_RETRY: Duration = Duration::from_secs(60);

/// Checks now, then every `interval` (±10 % so replicas do not tick together). A transient
/// failure is retried sooner, backing off from one minute up to the interval.
pub fn spawn_refresher(tokens: Arc<TokenService>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut retry = FIRST_RETRY;
        loop {
            let next = match tokens.refresh_if_due().await {
                Ok(RefreshOutcome::Refreshed | RefreshOutcome::NotDue | RefreshOutcome::Busy) => {
                    retry = FIRST_RETRY;
                    interval
                }
                Err(AuthError::Upstream(e)) if e.is_transient() => {
                    let wait = retry.min(interval);
                    retry = retry.saturating_mul(2);
                    tracing::info!(error = %e, retry_in = ?wait, "token refresh will be retried");
                    wait
                }
                Err(AuthError::Store(e)) => {
                    tracing::warn!(error = %e, "token refresh check could not reach the store");
                    FIRST_RETRY.min(interval)
                }
                // Missing/invalid/expired tokens and permanent refusals wait for an operator.
                Err(e) => {
                    tracing::debug!(error = %e, "token refresh skipped");
                    interval
                }
            };
            tokio::time::sleep(jitter(next)).await;
        }
    })
}

fn jitter(d: Duration) -> Duration {
    let [r] = crate::random::bytes::<1>();
    // 90 % .. 110 %
    d.mul_f64(0.9 + f64::from(r) / 255.0 * 0.2)
}
