//! Encryption of the token at rest: AES-256-GCM, a random nonce per write, and a key id so that
//! values written under a previous key still decrypt after rotation.
//!
//! Stored form: `v1.<key id>.<nonce>.<ciphertext+tag>` (base64url parts). The key id is derived
//! from the key itself, so rotating needs no extra configuration.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";

struct KeyEntry {
    id: String,
    cipher: Aes256Gcm,
}

impl KeyEntry {
    fn new(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        Self {
            id: digest[..4].iter().map(|b| format!("{b:02x}")).collect(),
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)),
        }
    }
}

/// Why a stored value could not be decrypted. Deliberately vague: which byte was wrong is not
/// something to tell anyone.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    #[error("the stored value is not in a known format")]
    Malformed,
    #[error("the stored value was written with a key that is not configured (key id {0})")]
    UnknownKey(String),
    #[error("the stored value failed authentication (tampered or corrupted)")]
    Tampered,
}

/// Encrypts with the current key; decrypts with the current or any previous key.
pub struct TokenCipher {
    current: KeyEntry,
    previous: Vec<KeyEntry>,
}

impl TokenCipher {
    pub fn new(current: [u8; 32], previous: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            current: KeyEntry::new(current),
            previous: previous.into_iter().map(KeyEntry::new).collect(),
        }
    }

    fn aad(key_id: &str) -> String {
        format!("igw:token:{VERSION}:{key_id}")
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = crate::random::bytes::<12>();
        let aad = Self::aad(&self.current.id);
        // AES-GCM only fails for plaintexts near 64 GiB; a token record is a few hundred bytes.
        #[expect(clippy::expect_used, reason = "input far below AES-GCM's size limit")]
        let sealed = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a small record");
        format!(
            "{VERSION}.{}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(nonce_bytes),
            URL_SAFE_NO_PAD.encode(sealed)
        )
        .into_bytes()
    }

    pub fn decrypt(&self, stored: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let text = std::str::from_utf8(stored).map_err(|_| DecryptError::Malformed)?;
        let mut parts = text.split('.');
        let (Some(VERSION), Some(key_id), Some(nonce), Some(sealed), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(DecryptError::Malformed);
        };
        let nonce: [u8; 12] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(DecryptError::Malformed)?;
        let sealed = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| DecryptError::Malformed)?;
        let entry = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| DecryptError::UnknownKey(key_id.to_owned()))?;
        let aad = Self::aad(key_id);
        entry
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| DecryptError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_fresh_nonce_each_time() {
        let cipher = TokenCipher::new([1; 32], []);
        let a = cipher.encrypt(b"secret-token");
        let b = cipher.encrypt(b"secret-token");
        assert_ne!(a, b, "nonces must differ");
        assert!(!String::from_utf8_lossy(&a).contains("secret-token"));
        assert_eq!(cipher.decrypt(&a).as_deref(), Ok(&b"secret-token"[..]));
    }

    #[test]
    fn previous_keys_still_decrypt_after_rotation() {
        let old = TokenCipher::new([1; 32], []);
        let stored = old.encrypt(b"v");
        let rotated = TokenCipher::new([2; 32], [[1; 32]]);
        assert_eq!(rotated.decrypt(&stored).as_deref(), Ok(&b"v"[..]));
        let forgotten = TokenCipher::new([2; 32], []);
        assert!(matches!(
            forgotten.decrypt(&stored),
            Err(DecryptError::UnknownKey(_))
        ));
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let cipher = TokenCipher::new([3; 32], []);
        let stored = cipher.encrypt(b"payload");
        for i in 0..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x01;
            assert!(cipher.decrypt(&bad).is_err(), "flip at {i} went unnoticed");
        }
    }
}
