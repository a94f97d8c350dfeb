//! Ready-made response bodies: serialized once per (snapshot version, normalized query).

use actix_web::web::Bytes;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// A serialized body and its strong ETag (a hash of the bytes: identical on every replica).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: String,
}

impl Rendered {
    pub fn json<T: Serialize>(value: &T) -> Self {
        // Serializing plain data into memory cannot fail.
        let body = Bytes::from(serde_json::to_vec(value).unwrap_or_default());
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Self { body, etag }
    }

    /// Does an `If-None-Match` header value name this representation? (`*` or a list.)
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_hash_the_bytes_and_match_lists() {
        let a = Rendered::json(&serde_json::json!({"a": 1}));
        let b = Rendered::json(&serde_json::json!({"a": 1}));
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, Rendered::json(&serde_json::json!({"a": 2})).etag);
        assert!(a.matches(&format!("\"x\", {}", a.etag)));
        assert!(a.matches(&format!("W/{}", a.etag)));
        assert!(a.matches("*"));
        assert!(!a.matches("\"other\""));
    }
}
