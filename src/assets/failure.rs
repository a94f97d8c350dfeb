//! A picture that could not be re-hosted: why, how often, and when to try again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The CDN's 403: the signed URL expired; the next sync brings a fresh one.
    Expired,
    NotFound,
    HttpError,
    Timeout,
    TooLarge,
    NotAPicture,
    Corrupt,
    /// The copies could not be written.
    StoreError,
}

impl FailureKind {
    /// The `outcome` label of `igw_assets_processed_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotFound => "not_found",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::TooLarge => "too_large",
            Self::NotAPicture => "not_a_picture",
            Self::Corrupt => "corrupt",
            Self::StoreError => "store_error",
        }
    }
}

/// Recorded in the store, shared by the replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub kind: FailureKind,
    pub message: String,
    pub attempts: u32,
    /// A fingerprint of the URL that failed (the URL itself carries Instagram's signature).
    pub url_fingerprint: String,
    pub failed_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
}

impl FailureRecord {
    /// The record after one more failure: the wait doubles from `backoff`, up to 6 hours.
    pub fn after(
        previous: Option<&Self>,
        kind: FailureKind,
        message: String,
        url: &str,
        now: DateTime<Utc>,
        backoff: Duration,
    ) -> Self {
        let attempts = previous.map_or(0, |p| p.attempts).saturating_add(1);
        let wait = backoff
            .saturating_mul(1 << (attempts - 1).min(16))
            .min(MAX_BACKOFF);
        Self {
            kind,
            message,
            attempts,
            url_fingerprint: fingerprint(url),
            failed_at: now,
            next_attempt_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
        }
    }

    /// Try again now? When the wait is over, or at once when the source has a new URL (an
    /// expired one replaced by the next sync).
    pub fn due(&self, url: &str, now: DateTime<Utc>) -> bool {
        now >= self.next_attempt_at || self.url_fingerprint != fingerprint(url)
    }
}

fn fingerprint(url: &str) -> String {
    Sha256::digest(url.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_six_hours_and_a_new_url_is_tried_at_once() {
        let now = Utc::now();
        let minute = Duration::from_secs(60);
        let first =
            FailureRecord::after(None, FailureKind::Expired, "403".into(), "u1", now, minute);
        assert_eq!(first.attempts, 1);
        assert_eq!(first.next_attempt_at - now, chrono::Duration::minutes(1));
        assert!(!first.due("u1", now));
        assert!(first.due("u2", now), "a fresh URL is tried at once");
        assert!(first.due("u1", now + chrono::Duration::minutes(1)));
        let third = FailureRecord::after(
            Some(&FailureRecord::after(
                Some(&first),
                FailureKind::Timeout,
                "t".into(),
                "u1",
                now,
                minute,
            )),
            FailureKind::Timeout,
            "t".into(),
            "u1",
            now,
            minute,
        );
        assert_eq!(third.attempts, 3);
        assert_eq!(third.next_attempt_at - now, chrono::Duration::minutes(4));
        let mut many = third;
        for _ in 0..40 {
            many = FailureRecord::after(
                Some(&many),
                FailureKind::Timeout,
                "t".into(),
                "u1",
                now,
                minute,
            );
        }
        assert_eq!(many.next_attempt_at - now, chrono::Duration::hours(6));
        assert!(!many.url_fingerprint.contains("u1"));
    }
}
