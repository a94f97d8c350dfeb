//! Ready-made response bodies: serialized (and gzipped) once per (snapshot version, normalized
//! query), never per request.

use std::io::Write as _;

use actix_web::web::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Bodies smaller than this are not worth a compressed variant.
const GZIP_MIN_BYTES: usize = 1024;

/// One representation: its bytes and its strong ETag (a hash of the uncompressed bytes, the
/// same on every replica; the gzip variant's carries a `-gz` suffix).
#[derive(Debug, Clone)]
pub struct Variant {
    pub body: Bytes,
    pub etag: String,
    /// Sent with `Content-Encoding: gzip`.
    pub gzipped: bool,
}

impl Variant {
    /// Does an `If-None-Match` header value name this representation? (`*` or a list.)
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag)
    }
}

/// A serialized body, plus its gzip variant when that is smaller.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub identity: Variant,
    pub gzip: Option<Variant>,
}

impl Rendered {
    pub fn json<T: Serialize>(value: &T) -> Self {
        // Serializing plain data into memory cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_default();
        let digest = Sha256::digest(&body);
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let gzip = (body.len() >= GZIP_MIN_BYTES)
            .then(|| gzip(&body))
            .flatten()
            .filter(|compressed| compressed.len() < body.len())
            .map(|compressed| Variant {
                body: Bytes::from(compressed),
                etag: format!("\"{hash}-gz\""),
                gzipped: true,
            });
        Self {
            identity: Variant {
                body: Bytes::from(body),
                etag: format!("\"{hash}\""),
                gzipped: false,
            },
            gzip,
        }
    }

    /// The representation for a client that does (or does not) accept gzip.
    pub fn variant(&self, accepts_gzip: bool) -> &Variant {
        match &self.gzip {
            Some(gzip) if accepts_gzip => gzip,
            _ => &self.identity,
        }
    }

    /// Bytes held, for the cache's weigher.
    pub fn weight(&self) -> usize {
        let variant = |v: &Variant| v.body.len() + v.etag.len();
        variant(&self.identity) + self.gzip.as_ref().map_or(0, variant)
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::default());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Does an `Accept-Encoding` value accept gzip (`gzip` or `*`, with a non-zero `q`)?
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn etags_hash_the_bytes_and_match_lists() {
        let a = Rendered::json(&serde_json::json!({"a": 1}));
        let b = Rendered::json(&serde_json::json!({"a": 1}));
        assert_eq!(a.identity.etag, b.identity.etag);
        assert_ne!(
            a.identity.etag,
            Rendered::json(&serde_json::json!({"a": 2})).identity.etag
        );
        let v = &a.identity;
        assert!(v.matches(&format!("\"x\", {}", v.etag)));
        assert!(v.matches(&format!("W/{}", v.etag)));
        assert!(v.matches("*"));
        assert!(!v.matches("\"other\""));
        assert!(a.gzip.is_none(), "tiny bodies are not compressed");
    }

    #[test]
    fn large_bodies_get_a_gzip_variant_with_its_own_etag() {
        let value: Vec<String> = (0..200).map(|i| format!("caption number {i}")).collect();
        let rendered = Rendered::json(&value);
        let gzip = rendered.gzip.as_ref().expect("compressible");
        assert!(gzip.body.len() < rendered.identity.body.len());
        assert_ne!(gzip.etag, rendered.identity.etag);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gzip.body[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, rendered.identity.body);
        assert_eq!(
            Rendered::json(&value).gzip.unwrap().body,
            gzip.body,
            "deterministic"
        );
    }

    #[test]
    fn accept_encoding_is_parsed_with_q_values() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("br, deflate"));
    }
}
