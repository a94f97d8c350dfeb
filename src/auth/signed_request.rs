//! Meta's `signed_request` (deauthorize and data-deletion callbacks):
//! `<base64url(HMAC-SHA256(payload_b64, app_secret))>.<base64url(JSON payload)>`.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac};
use serde::Deserialize;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedRequestError {
    #[error("signed_request is not of the form <signature>.<payload>")]
    Malformed,
    #[error("signed_request signature does not match")]
    BadSignature,
    #[error("signed_request payload is not valid JSON with a user_id")]
    BadPayload,
    #[error("signed_request uses an unsupported algorithm")]
    UnsupportedAlgorithm,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(deserialize_with = "crate::instagram::id_string")]
    user_id: String,
}

/// Meta's encoders sometimes keep `=` padding; accept both.
fn decode(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(part)
        .or_else(|_| URL_SAFE.decode(part))
        .ok()
}

/// Verifies the signature (in constant time) and returns the payload's `user_id`.
pub fn verify(signed_request: &str, app_secret: &[u8]) -> Result<String, SignedRequestError> {
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
    if payload
        .algorithm
        .as_deref()
        .is_some_and(|a| !a.eq_ignore_ascii_case("HMAC-SHA256"))
    {
        return Err(SignedRequestError::UnsupportedAlgorithm);
    }
    if payload.user_id.is_empty() {
        return Err(SignedRequestError::BadPayload);
    }
    Ok(payload.user_id)
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
        assert_eq!(verify(&signed, b"app-secret"), Ok("218471".to_owned()));
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
        let numeric = sign(r#"{"user_id":17841,"algorithm":"hmac-sha256"}"#, b"s");
        assert_eq!(verify(&numeric, b"s"), Ok("17841".to_owned()));
        let other_alg = sign(r#"{"user_id":"1","algorithm":"RS256"}"#, b"s");
        assert_eq!(
            verify(&other_alg, b"s"),
            Err(SignedRequestError::UnsupportedAlgorithm)
        );
    }
}
