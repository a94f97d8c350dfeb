//! The name of an encoded copy: derived from its bytes, so a URL never changes meaning.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// The first 128 bits of the SHA-256 of a copy's bytes, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetKey([u8; 16]);

impl AssetKey {
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }

    /// Exactly 32 lowercase hex digits; anything else is not a key.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        let mut key = [0; 16];
        for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            *byte = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Self(key))
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetKey({self})")
    }
}

impl Serialize for AssetKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AssetKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("not an asset key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_anything_else() {
        let key = AssetKey::of(b"bytes");
        let text = key.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(AssetKey::parse(&text), Some(key));
        assert_ne!(AssetKey::of(b"other"), key);
        for bad in [
            "",
            "../../etc/passwd",
            &text.to_uppercase(),
            &text[..31],
            &format!("{text}0"),
            "zz000000000000000000000000000000",
            "é0000000000000000000000000000000",
        ] {
            assert_eq!(AssetKey::parse(bad), None, "{bad}");
        }
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<AssetKey>(&json).unwrap(), key);
    }
}
