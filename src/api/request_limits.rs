//! Size limits on the request line and headers, tighter than actix's 128 KiB head buffer:
//! nothing this service serves needs more.

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpResponse, ResponseError as _};
use futures_util::future::{Either, Ready, ready};

use crate::error::ApiError;

pub const MAX_URI_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub struct RequestLimits;

impl<S, B> Transform<S, ServiceRequest> for RequestLimits
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequestLimitsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLimitsService { service }))
    }
}

pub struct RequestLimitsService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RequestLimitsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<
        futures_util::future::MapOk<
            S::Future,
            fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>,
        >,
        Ready<Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let uri_bytes = req.uri().path().len() + req.uri().query().map_or(0, str::len);
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let refusal = if uri_bytes > MAX_URI_BYTES {
            Some(ApiError::UriTooLong(format!(
                "request URIs are limited to {MAX_URI_BYTES} bytes"
            )))
        } else if header_bytes > MAX_HEADER_BYTES {
            Some(ApiError::HeadersTooLarge(format!(
                "request headers are limited to {MAX_HEADER_BYTES} bytes in all"
            )))
        } else {
            None
        };
        match refusal {
            Some(error) => {
                let mut response: HttpResponse = error.error_response();
                // Refused before any scope's headers apply: never cache the refusal either.
                response.headers_mut().insert(
                    actix_web::http::header::CACHE_CONTROL,
                    actix_web::http::header::HeaderValue::from_static("no-store"),
                );
                Either::Right(ready(Ok(req.into_response(response).map_into_right_body())))
            }
            None => {
                use futures_util::TryFutureExt as _;
                let map: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> =
                    ServiceResponse::map_into_left_body;
                Either::Left(self.service.call(req).map_ok(map))
            }
        }
    }
}
