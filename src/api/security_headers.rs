//! Headers on every response, refusals included (added by the [`Edge`](super::edge::Edge)):
//! `nosniff` everywhere, and for the API reference UI under `/docs` a CSP that lets the bundled
//! Swagger UI run but forbids framing (it shares an origin with the operator page).

use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// Swagger UI: its own scripts and styles (React sets inline styles), `data:` icons, the spec
/// fetched from this origin.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                        base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether `path` is the API reference UI's.
pub fn is_docs(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/")
}

/// The headers of every response, and those of the reference UI's when `docs`.
pub fn add_headers(headers: &mut HeaderMap, docs: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if docs {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
}
