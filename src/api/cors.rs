//! CORS for frontends on other origins (applied by the [`Edge`](super::edge::Edge)): exact
//! origins, or `scheme://host:*` for any port. Read-only: preflights may ask for GET/HEAD with
//! `If-None-Match`/`Accept`. CORS headers go only to allowed origins; a refused preflight is a
//! problem like every other error.

use std::rc::Rc;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError as _};

use crate::error::ApiError;

const ALLOWED_METHODS: &str = "GET, HEAD";
const ALLOWED_HEADERS: [&str; 2] = ["if-none-match", "accept"];
const EXPOSED_HEADERS: &str = "ETag, Age, Retry-After, Cache-Status";
const PREFLIGHT_MAX_AGE: &str = "3600";

/// The allowed origins: `(pattern, any_port)`.
#[derive(Clone)]
pub struct Cors(Rc<Vec<(String, bool)>>);

pub fn cors(allowed_origins: &[String]) -> Cors {
    Cors(Rc::new(
        allowed_origins
            .iter()
            .map(|o| match o.strip_suffix(":*") {
                Some(prefix) => (format!("{prefix}:"), true),
                None => (o.clone(), false),
            })
            .collect(),
    ))
}

impl Cors {
    fn allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        self.0.iter().any(|(pattern, any_port)| {
            if *any_port {
                origin.strip_prefix(pattern.as_str()).is_some_and(|port| {
                    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                })
            } else {
                origin == pattern
            }
        })
    }

    /// The request's origin when it is allowed.
    pub fn allowed_origin(&self, req: &ServiceRequest) -> Option<HeaderValue> {
        req.headers()
            .get(header::ORIGIN)
            .filter(|origin| self.allows(origin))
            .cloned()
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`),
    /// or `None` when `req` is not one.
    pub fn preflight(&self, req: &ServiceRequest) -> Option<HttpResponse> {
        if req.method() != Method::OPTIONS
            || !req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let origin = req.headers().get(header::ORIGIN)?;
        Some(self.answer_preflight(req, origin))
    }

    fn answer_preflight(&self, req: &ServiceRequest, origin: &HeaderValue) -> HttpResponse {
        let headers = req.headers();
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m == "GET" || m == "HEAD");
        let headers_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .map_or(Some(true), |v| {
                v.to_str().ok().map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .all(|h| ALLOWED_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(h)))
                })
            })
            .unwrap_or(false);
        let refusal = if !self.allows(origin) {
            Some("this origin is not allowed (cors.allowed_origins)")
        } else if !method_ok {
            Some("only GET and HEAD may be requested from another origin")
        } else if !headers_ok {
            Some("only the If-None-Match and Accept request headers are allowed")
        } else {
            None
        };
        let mut response = match refusal {
            Some(detail) => ApiError::CorsRefused(detail.to_owned()).error_response(),
            None => {
                let mut ok = HttpResponse::new(StatusCode::NO_CONTENT);
                let h = ok.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(ALLOWED_METHODS),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("If-None-Match, Accept"),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(PREFLIGHT_MAX_AGE),
                );
                ok
            }
        };
        response.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        response
    }
}

/// The CORS headers of a response to a request from `allowed` (an allowed origin), or from no
/// allowed origin.
pub fn add_headers(headers: &mut HeaderMap, allowed: Option<HeaderValue>) {
    // Every response of a resource that answers some origins differently varies on it.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}
