//! CORS for frontends on other origins: exact origins, or `scheme://host:*` for any port.

use actix_cors::Cors;
use actix_web::http::{Method, header};

pub fn cors(allowed_origins: &[String]) -> Cors {
    let patterns: Vec<(String, bool)> = allowed_origins
        .iter()
        .map(|o| match o.strip_suffix(":*") {
            Some(prefix) => (format!("{prefix}:"), true),
            None => (o.clone(), false),
        })
        .collect();
    Cors::default()
        .allowed_origin_fn(move |origin, _| {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            patterns.iter().any(|(pattern, any_port)| {
                if *any_port {
                    origin.strip_prefix(pattern.as_str()).is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    })
                } else {
                    origin == pattern
                }
            })
        })
        .allowed_methods([Method::GET])
        .allowed_headers([header::IF_NONE_MATCH, header::ACCEPT])
        .expose_headers([
            header::ETAG,
            header::AGE,
            header::RETRY_AFTER,
            header::HeaderName::from_static("cache-status"),
        ])
        .max_age(3600)
        // Browsers enforce CORS; other clients (curl, servers) still get the response.
        .block_on_origin_mismatch(false)
}
