//! Limits on what a client may send, enforced before any handler runs: the request line and
//! headers (tighter than actix's 128 KiB head buffer), and the body: at most
//! [`MAX_BODY_BYTES`] on every route, arriving within the body timeout. A body is read here in
//! full (it is small by then), so a slow or oversized one never reaches a handler and never
//! holds a connection open.

use std::rc::Rc;
use std::time::Duration;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::ConnectionType;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _};
use futures_util::StreamExt as _;
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};

use super::MAX_BODY_BYTES;
use crate::error::ApiError;

pub const MAX_URI_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub struct RequestLimits {
    body_timeout: Duration,
}

impl RequestLimits {
    pub fn new(body_timeout: Duration) -> Self {
        Self { body_timeout }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestLimits
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequestLimitsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLimitsService {
            service: Rc::new(service),
            body_timeout: self.body_timeout,
        }))
    }
}

pub struct RequestLimitsService<S> {
    service: Rc<S>,
    body_timeout: Duration,
}

/// What the request announces about its body.
enum Body {
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

/// A refusal that also closes the connection: the unread rest of the body must not be taken
/// for the next request, and a slow client gets no more of our time.
fn refuse(error: &ApiError, close: bool) -> HttpResponse {
    let mut response = error.error_response();
    // Refused before any scope's headers apply: never cache the refusal either.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if close {
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    response
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "request bodies are limited to {MAX_BODY_BYTES} bytes"
    ))
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

impl<S, B> Service<ServiceRequest> for RequestLimitsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<
        futures_util::future::MapOk<
            S::Future,
            fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>,
        >,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let uri_bytes = req.uri().path().len() + req.uri().query().map_or(0, str::len);
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let body = announced_body(&req);
        let refusal = if uri_bytes > MAX_URI_BYTES {
            Some(ApiError::UriTooLong(format!(
                "request URIs are limited to {MAX_URI_BYTES} bytes"
            )))
        } else if header_bytes > MAX_HEADER_BYTES {
            Some(ApiError::HeadersTooLarge(format!(
                "request headers are limited to {MAX_HEADER_BYTES} bytes in all"
            )))
        } else if matches!(body, Body::TooLarge) {
            Some(too_large())
        } else {
            None
        };
        if let Some(error) = refusal {
            let response = refuse(&error, !matches!(body, Body::None));
            return Either::Right(Box::pin(ready(Ok(req
                .into_response(response)
                .map_into_right_body()))));
        }
        if matches!(body, Body::None) {
            // The hot path: nothing to read, nothing allocated.
            use futures_util::TryFutureExt as _;
            let map: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> =
                ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(req).map_ok(map));
        }
        let service = self.service.clone();
        let timeout = self.body_timeout;
        Either::Right(Box::pin(async move {
            match read_body(&mut req, timeout).await {
                Ok(bytes) => {
                    req.set_payload(bytes.into());
                    service
                        .call(req)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(error) => {
                    tracing::debug!(error = %error, "request body refused");
                    let response = refuse(&error, true);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        }))
    }
}
