//! Ready-made response bodies: serialized (and gzipped) once per (snapshot version, normalized
//! query), never per request.

use std::io::Write as _;

use actix_web::http::header::HeaderValue;
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
    /// Ready to send: no per-request header allocation.
    pub etag: HeaderValue,
    /// Sent with `Content-Encoding: gzip`.
    pub gzipped: bool,
}

impl Variant {
    fn new(body: Vec<u8>, etag: &str, gzipped: bool) -> Self {
        Self {
            body: Bytes::from(body),
            // A quoted hex digest is always a valid header value.
            etag: HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            gzipped,
        }
    }

    /// Does an `If-None-Match` header value name this representation? (`*` or a list.)
    pub fn matches(&self, if_none_match: &[u8]) -> bool {
        etag_listed(if_none_match, self.etag.as_bytes())
    }
}

/// Does `If-None-Match` (a list of entity tags, or `*`) name `etag`? Weak comparison, as RFC
/// 9110 asks for this header.
pub fn etag_listed(if_none_match: &[u8], etag: &[u8]) -> bool {
    if_none_match
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag)
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
        let mut body = serde_json::to_vec(value).unwrap_or_default();
        // Cached for long: hold what the body needs, not what the serializer grew to.
        body.shrink_to_fit();
        let digest = Sha256::digest(&body);
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let gzip = (body.len() >= GZIP_MIN_BYTES)
            .then(|| gzip(&body))
            .flatten()
            .filter(|compressed| compressed.len() < body.len())
            .map(|mut compressed| {
                compressed.shrink_to_fit();
                Variant::new(compressed, &format!("\"{hash}-gz\""), true)
            });
        Self {
            identity: Variant::new(body, &format!("\"{hash}\""), false),
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

/// Does an `Accept-Encoding` value accept gzip? As RFC 9110 §12.5.3 says: an explicit `gzip`
/// (or `x-gzip`) entry decides, else `*` does, and a `q` of 0 refuses; a coding listed twice is
/// refused if any entry refuses it. Anything else gets identity, even after `identity;q=0`:
/// identity is what every client can read, and the only other choice here is gzip.
pub fn accepts_gzip(accept_encoding: &[u8]) -> bool {
    // Most values that refuse it name neither gzip nor `*` (`identity`, `br`): one scan.
    if !accept_encoding
        .iter()
        .any(|b| matches!(b, b'g' | b'G' | b'*'))
    {
        return false;
    }
    let Ok(accept_encoding) = std::str::from_utf8(accept_encoding) else {
        return false;
    };
    let (mut gzip, mut any) = (None::<bool>, None::<bool>);
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        // The weight is the `q` parameter (1 when absent); an unreadable one refuses.
        let accepted = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .is_none_or(|(_, q)| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0));
        *slot = Some(slot.unwrap_or(true) && accepted);
    }
    gzip.or(any).unwrap_or(false)
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
        assert!(v.matches(format!("\"x\", {}", v.etag.to_str().unwrap()).as_bytes()));
        assert!(v.matches(format!("W/{}", v.etag.to_str().unwrap()).as_bytes()));
        assert!(v.matches(b"*"));
        assert!(!v.matches(b"\"other\""));
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
        assert!(accepts_gzip(b"gzip, deflate, br"));
        assert!(accepts_gzip(b"br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip(b"*"));
        assert!(!accepts_gzip(b"gzip;q=0"));
        assert!(!accepts_gzip(b"identity"));
        assert!(!accepts_gzip(b"br, deflate"));
        assert!(!accepts_gzip(b""));
    }

    #[test]
    fn q_zero_refuses_gzip_whatever_the_wildcard_says() {
        // An explicit entry wins over `*`, in either direction and in any order.
        assert!(!accepts_gzip(b"gzip;q=0, *"));
        assert!(!accepts_gzip(b"*, gzip;q=0"));
        assert!(!accepts_gzip(b"gzip; q=0.000, *;q=1"));
        assert!(!accepts_gzip(b"GZIP;Q=0, *"));
        assert!(!accepts_gzip(b"x-gzip;q=0, *"));
        assert!(accepts_gzip(b"*;q=0, gzip"));
        assert!(accepts_gzip(b"x-gzip"));
        // `*;q=0` without a gzip entry: identity.
        assert!(!accepts_gzip(b"*;q=0"));
        assert!(!accepts_gzip(b"br, *;q=0"));
        assert!(accepts_gzip(b"*;q=0.1"));
        // Listed twice: a refusal wins.
        assert!(!accepts_gzip(b"gzip, gzip;q=0"));
        // Refusing identity does not make an unlisted gzip acceptable.
        assert!(!accepts_gzip(b"identity;q=0"));
        assert!(accepts_gzip(b"identity;q=0, gzip;q=0.5"));
        assert!(accepts_gzip(b"identity;q=0, *"));
        // Other parameters are ignored; an unreadable weight refuses.
        assert!(accepts_gzip(b"gzip;level=9"));
        assert!(!accepts_gzip(b"gzip;q=abc"));
    }
}
