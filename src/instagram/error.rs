//! What went wrong upstream, classified by what the service should do about it.
//!
//! No variant carries a URL, a token or a raw body: these values end up in logs and in
//! `/admin/status`, and Instagram's URLs carry the access token in their query string.

use std::time::Duration;

use super::wire::{GraphError, OAuthErrorBody};

const MAX_MESSAGE_CHARS: usize = 200;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Error 190 (any subcode) or 102: the token is expired, revoked or otherwise invalid.
    #[error("Instagram rejected the access token (code {code}{}): {message}", subcode_suffix(*.subcode))]
    TokenInvalid {
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
    /// Codes 4, 17, 32, 613, 80001, 80002, 341 or HTTP 429: stop calling until `retry_after`.
    #[error("Instagram is throttling this app (code {code:?}); retry after {retry_after:?}")]
    Throttled {
        code: Option<i64>,
        retry_after: Option<Duration>,
    },
    /// Codes 10 and 200-299: a permission/scope is missing; a configuration problem.
    #[error("Instagram denied a permission (code {code}): {message}")]
    Permission { code: i64, message: String },
    /// Any other refusal of the request itself (4xx): retrying the same request will not help.
    #[error("Instagram refused the request (HTTP {status}, code {code:?}): {message}")]
    Rejected {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// 5xx, codes 1/2, `is_transient`: worth retrying later.
    #[error("Instagram had a transient failure (HTTP {status}): {message}")]
    Transient { status: u16, message: String },
    /// Connection refused/reset, DNS, TLS or timeout.
    #[error("could not reach Instagram: {0}")]
    Transport(String),
    /// A 2xx whose body was not what the API documents, or was too large.
    #[error("Instagram sent an unexpected response: {0}")]
    InvalidResponse(String),
}

fn subcode_suffix(subcode: Option<i64>) -> String {
    subcode
        .map(|s| format!(", subcode {s}"))
        .unwrap_or_default()
}

fn short(message: &str) -> String {
    let mut out: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out
}

impl UpstreamError {
    /// The status to report as `fwd-status` in `Cache-Status`: what the origin answered, or
    /// 504/502 when it did not answer usably.
    pub fn forward_status(&self) -> u16 {
        match self {
            UpstreamError::TokenInvalid { .. } => 401,
            UpstreamError::Throttled { .. } => 429,
            UpstreamError::Permission { .. } => 403,
            UpstreamError::Rejected { status, .. } | UpstreamError::Transient { status, .. } => {
                *status
            }
            UpstreamError::Transport(_) => 504,
            UpstreamError::InvalidResponse(_) => 502,
        }
    }

    /// Worth another attempt (with backoff)?
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            UpstreamError::Transient { .. } | UpstreamError::Transport(_)
        )
    }

    /// Replaces any of `secrets` quoted in an upstream message with `[redacted]`.
    pub fn redact(self, secrets: &[&str]) -> Self {
        let scrub = |mut message: String| {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                message = message.replace(secret, "[redacted]");
            }
            message
        };
        match self {
            UpstreamError::TokenInvalid {
                code,
                subcode,
                message,
            } => UpstreamError::TokenInvalid {
                code,
                subcode,
                message: scrub(message),
            },
            UpstreamError::Permission { code, message } => UpstreamError::Permission {
                code,
                message: scrub(message),
            },
            UpstreamError::Rejected {
                status,
                code,
                message,
            } => UpstreamError::Rejected {
                status,
                code,
                message: scrub(message),
            },
            UpstreamError::Transient { status, message } => UpstreamError::Transient {
                status,
                message: scrub(message),
            },
            other => other,
        }
    }

    /// From a reqwest error, without its URL (which may hold the access token).
    pub fn from_transport(err: reqwest::Error) -> Self {
        let err = err.without_url();
        let kind = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_body() || err.is_decode() {
            "connection broke while reading the response"
        } else {
            "request failed"
        };
        UpstreamError::Transport(kind.to_owned())
    }

    /// Classifies a non-2xx response from its status and body (either error envelope).
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        if let Ok(envelope) = serde_json::from_slice::<super::wire::GraphErrorEnvelope>(body) {
            return Self::from_graph(status, envelope.error, retry_after);
        }
        if let Ok(oauth) = serde_json::from_slice::<OAuthErrorBody>(body) {
            return UpstreamError::Rejected {
                status,
                code: oauth.code,
                message: short(&oauth.error_message),
            };
        }
        match status {
            429 => UpstreamError::Throttled {
                code: None,
                retry_after,
            },
            500..=599 => UpstreamError::Transient {
                status,
                message: "no error body".to_owned(),
            },
            _ => UpstreamError::Rejected {
                status,
                code: None,
                message: "no error body".to_owned(),
            },
        }
    }

    fn from_graph(status: u16, error: GraphError, retry_after: Option<Duration>) -> Self {
        let message = short(&error.message);
        match error.code {
            Some(code @ (190 | 102)) => UpstreamError::TokenInvalid {
                code,
                subcode: error.error_subcode,
                message,
            },
            Some(4 | 17 | 32 | 613 | 80001 | 80002 | 341) => UpstreamError::Throttled {
                code: error.code,
                retry_after,
            },
            Some(code @ (10 | 200..=299)) => UpstreamError::Permission { code, message },
            Some(1 | 2) => UpstreamError::Transient { status, message },
            _ if error.is_transient == Some(true) || status >= 500 => {
                UpstreamError::Transient { status, message }
            }
            _ if status == 429 => UpstreamError::Throttled {
                code: error.code,
                retry_after,
            },
            // An OAuthException without a code means the session/token is invalid.
            None if error.kind.as_deref() == Some("OAuthException") => {
                UpstreamError::TokenInvalid {
                    code: 190,
                    subcode: error.error_subcode,
                    message,
                }
            }
            code => UpstreamError::Rejected {
                status,
                code,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> UpstreamError {
        UpstreamError::from_response(status, body.as_bytes(), None)
    }

    #[test]
    fn classifies_documented_error_bodies() {
        let expired = r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}}"#;
        assert!(matches!(
            classify(400, expired),
            UpstreamError::TokenInvalid {
                code: 190,
                subcode: Some(463),
                ..
            }
        ));
        let throttled = r#"{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"F"}}"#;
        assert!(matches!(
            classify(400, throttled),
            UpstreamError::Throttled { code: Some(32), .. }
        ));
        let permission = r#"{"error":{"message":"no","type":"OAuthException","code":10}}"#;
        assert!(matches!(
            classify(400, permission),
            UpstreamError::Permission { code: 10, .. }
        ));
        let transient = r#"{"error":{"message":"try later","code":2,"is_transient":true}}"#;
        assert!(classify(500, transient).is_transient());
        let oauth = r#"{"error_type":"OAuthException","code":400,"error_message":"Matching code was not found or was already used"}"#;
        assert!(matches!(
            classify(400, oauth),
            UpstreamError::Rejected {
                status: 400,
                code: Some(400),
                ..
            }
        ));
        assert!(matches!(
            classify(429, "busy"),
            UpstreamError::Throttled { .. }
        ));
        assert!(classify(503, "<html>").is_transient());
    }
}
