//! Limits on what a client may send, enforced by the [`Edge`](super::edge::Edge) before any
//! handler runs: the request line and headers (tighter than actix's 128 KiB head buffer), and
//! the body: at most [`MAX_BODY_BYTES`] on every route, arriving within the body timeout. A
//! body is read in full (it is small by then), so a slow or oversized one never reaches a
//! handler and never holds a connection open.

use std::time::Duration;

use actix_web::dev::ServiceRequest;
use actix_web::http::ConnectionType;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _};
use futures_util::StreamExt as _;

use super::MAX_BODY_BYTES;
use crate::error::ApiError;

pub const MAX_URI_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What the request announces about its body.
#[derive(PartialEq, Eq)]
pub enum Body {
    None,
    /// Announced larger than the limit: refused without reading it.
    TooLarge,
    Some,
}

fn announced_body(req: &ServiceRequest) -> Body {
    let headers = req.headers();
    match headers.get(header::CONTENT_LENGTH) {
        Some(length) => match length.to_str().ok().and_then(|l| l.parse::<u64>().ok()) {
            Some(0) => Body::None,
            Some(n) if n > MAX_BODY_BYTES as u64 => Body::TooLarge,
            // A malformed length never gets here (the codec refuses it); read to find out.
            _ => Body::Some,
        },
        None if headers.contains_key(header::TRANSFER_ENCODING) => Body::Some,
        None => Body::None,
    }
}

/// A request refused before any handler runs.
pub struct Refusal {
    error: ApiError,
    /// Also close the connection: the unread rest of the body must not be taken for the next
    /// request, and a slow client gets no more of our time.
    close: bool,
}

impl Refusal {
    pub fn into_response(self) -> HttpResponse {
        let mut response = self.error.error_response();
        // Refused before any scope's headers apply: never cache the refusal either.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.close {
            response
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
        response
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "request bodies are limited to {MAX_BODY_BYTES} bytes"
    ))
}

/// What the request line and headers allow: the body to expect, or the refusal (which also
/// closes the connection when a body may follow).
pub fn inspect(req: &ServiceRequest) -> Result<Body, Refusal> {
    let uri_bytes = req.uri().path().len() + req.uri().query().map_or(0, str::len);
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let body = announced_body(req);
    let error = if uri_bytes > MAX_URI_BYTES {
        ApiError::UriTooLong(format!("request URIs are limited to {MAX_URI_BYTES} bytes"))
    } else if header_bytes > MAX_HEADER_BYTES {
        ApiError::HeadersTooLarge(format!(
            "request headers are limited to {MAX_HEADER_BYTES} bytes in all"
        ))
    } else if matches!(body, Body::TooLarge) {
        too_large()
    } else {
        return Ok(body);
    };
    Err(Refusal {
        error,
        close: body != Body::None,
    })
}

/// Reads the body into `req` (small by then), or answers the refusal: too large, malformed,
/// or not arrived within `timeout`.
pub async fn read_into(req: &mut ServiceRequest, timeout: Duration) -> Result<(), Refusal> {
    match read_body(req, timeout).await {
        Ok(bytes) => {
            req.set_payload(bytes.into());
            Ok(())
        }
        Err(error) => {
            tracing::debug!(error = %error, "request body refused");
            Err(Refusal { error, close: true })
        }
    }
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`] of it, within `timeout`.
async fn read_body(req: &mut ServiceRequest, timeout: Duration) -> Result<Bytes, ApiError> {
    let mut payload = req.take_payload();
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::BadRequest(format!("the request body is malformed: {e}")))?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(ApiError::BodyTimeout))
}
