//! Signing secrets: `whsec_` + base64 of 32 random bytes, as Standard Webhooks libraries expect.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};

const PREFIX: &str = "whsec_";

/// A new secret, in the form receivers paste into their library.
pub fn generate() -> SecretString {
    SecretString::from(format!(
        "{PREFIX}{}",
        STANDARD.encode(crate::random::bytes::<32>())
    ))
}

/// The HMAC key of a secret: the bytes after `whsec_`. `None` for anything else.
pub fn key_bytes(secret: &SecretString) -> Option<Vec<u8>> {
    let encoded = secret.expose_secret().strip_prefix(PREFIX)?;
    STANDARD.decode(encoded).ok().filter(|key| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let (a, b) = (generate(), generate());
        assert!(a.expose_secret().starts_with("whsec_"));
        assert_eq!(key_bytes(&a).map(|k| k.len()), Some(32));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(key_bytes(&SecretString::from("whsec_!!")), None);
        assert_eq!(key_bytes(&SecretString::from("c2VjcmV0")), None);
    }
}
