//! Meta's `signed_request` (deauthorize and data-deletion callbacks):
//! `<base64url(HMAC-SHA256(payload_b64, app_secret))>.<base64url(JSON payload)>`.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac};
use serde::Deserialize;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedRequestError {
    #[error("signed_request is not of the form <signature>.<payload>")]
    Malformed,
    #[error("signed_request signature does not match")]
    BadSignature,
    #[error("signed_request payload is not valid JSON with a user_id and an issued_at")]
    BadPayload,
    #[error("signed_request names no algorithm or an unsupported one")]
    UnsupportedAlgorithm,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(deserialize_with = "crate::instagram::id_string")]
    user_id: String,
    /// Unix seconds. Required: without it a captured request could be replayed at any time.
    #[serde(default)]
    issued_at: Option<i64>,
}

/// A verified `signed_request`: whose, and when Meta issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub user_id: String,
    pub issued_at: DateTime<Utc>,
}

/// Meta's encoders sometimes keep `=` padding; accept both.
fn decode(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(part)
        .or_else(|_| URL_SAFE.decode(part))
        .ok()
}

/// Verifies the signature (in constant time) and returns the payload's `user_id` and
/// `issued_at`; the payload must name its algorithm (HMAC-SHA256).
pub fn verify(
    signed_request: &str,
    app_secret: &[u8],
) -> Result<SignedRequest, SignedRequestError> {
    let (signature, payload) = signed_request
        .trim()
        .split_once('.')
        .ok_or(SignedRequestError::Malformed)?;
    let signature = decode(signature).ok_or(SignedRequestError::Malformed)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| SignedRequestError::BadSignature)?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| SignedRequestError::BadSignature)?;
    let payload = decode(payload).ok_or(SignedRequestError::BadPayload)?;
    let payload: Payload =
        serde_json::from_slice(&payload).map_err(|_| SignedRequestError::BadPayload)?;
    if !payload
        .algorithm
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("HMAC-SHA256"))
    {
        return Err(SignedRequestError::UnsupportedAlgorithm);
    }
    let issued_at = payload
        .issued_at
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or(SignedRequestError::BadPayload)?;
    if payload.user_id.is_empty() {
        return Err(SignedRequestError::BadPayload);
    }
    Ok(SignedRequest {
        user_id: payload.user_id,
        issued_at,
    })
}

/// Builds a `signed_request` the way Meta does; used by the sandbox and by tests.
pub fn sign(payload_json: &str, app_secret: &[u8]) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload_json);
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signature}.{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_PAYLOAD: &str = r#"{"user_id":"218471","algorithm":"HMAC-SHA256","issued_at":1291836800,"expires":1291840400}"#;

    #[test]
    fn verifies_the_documented_payload() {
        let signed = sign(DOC_PAYLOAD, b"app-secret");
        assert_eq!(
            verify(&signed, b"app-secret"),
            Ok(SignedRequest {
                user_id: "218471".to_owned(),
                issued_at: DateTime::from_timestamp(1_291_836_800, 0).unwrap(),
            })
        );
    }

    #[test]
    fn requires_the_algorithm_and_issued_at() {
        let no_algorithm = sign(r#"{"user_id":"1","issued_at":1291836800}"#, b"s");
        assert_eq!(
            verify(&no_algorithm, b"s"),
            Err(SignedRequestError::UnsupportedAlgorithm)
        );
        for payload in [
            r#"{"user_id":"1","algorithm":"HMAC-SHA256"}"#,
            r#"{"user_id":"1","algorithm":"HMAC-SHA256","issued_at":"1291836800"}"#,
            r#"{"user_id":"1","algorithm":"HMAC-SHA256","issued_at":null}"#,
        ] {
            assert_eq!(
                verify(&sign(payload, b"s"), b"s"),
                Err(SignedRequestError::BadPayload),
                "{payload}"
            );
        }
    }

    #[test]
    fn rejects_wrong_secret_tampering_and_garbage() {
        let signed = sign(DOC_PAYLOAD, b"app-secret");
        assert_eq!(
            verify(&signed, b"other"),
            Err(SignedRequestError::BadSignature)
        );
        let (sig, _) = signed.split_once('.').expect("two parts");
        let forged = format!("{sig}.{}", URL_SAFE_NO_PAD.encode(r#"{"user_id":"1"}"#));
        assert_eq!(
            verify(&forged, b"app-secret"),
            Err(SignedRequestError::BadSignature)
        );
        assert_eq!(
            verify("nodot", b"app-secret"),
            Err(SignedRequestError::Malformed)
        );
        assert_eq!(
            verify("!!.!!", b"app-secret"),
            Err(SignedRequestError::Malformed)
        );
        let numeric = sign(
            r#"{"user_id":17841,"algorithm":"hmac-sha256","issued_at":1}"#,
            b"s",
        );
        assert_eq!(
            verify(&numeric, b"s").map(|r| r.user_id),
            Ok("17841".to_owned())
        );
        let other_alg = sign(r#"{"user_id":"1","algorithm":"RS256","issued_at":1}"#, b"s");
        assert_eq!(
            verify(&other_alg, b"s"),
            Err(SignedRequestError::UnsupportedAlgorithm)
        );
    }
}
