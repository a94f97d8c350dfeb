//! The admin bearer token check, as an extractor: a handler that takes `AdminAuth` cannot run
//! without a valid token.

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The configured (or generated) admin token. Only a digest is compared, in constant time.
pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    pub fn new(token: &SecretString) -> Self {
        Self {
            digest: Sha256::digest(token.expose_secret().as_bytes()).into(),
        }
    }

    fn matches(&self, candidate: &str) -> bool {
        // Hashing first makes the comparison independent of the candidate's length too.
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.digest.ct_eq(&candidate).into()
    }
}

/// Proof that the request carried the admin token.
pub struct AdminAuth;

impl FromRequest for AdminAuth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(expected) = req.app_data::<web::Data<AdminToken>>() else {
            return ready(Err(ApiError::Unauthorized));
        };
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        ready(match presented {
            Some(token) if !token.is_empty() && expected.matches(token) => Ok(AdminAuth),
            _ => Err(ApiError::Unauthorized),
        })
    }
}
