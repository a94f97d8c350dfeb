//! Per-client rate limits (actix-governor): a 429 problem with `Retry-After` beyond the quota.

use std::net::IpAddr;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor, PeerIpKeyExtractor,
    SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Condition;
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::error::{PROBLEM_JSON, Problem};

/// The client's IP: the peer address, or the forwarded one when configured to trust it.
#[derive(Clone, Copy)]
pub struct ClientIp {
    trust_forwarded_for: bool,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        if self.trust_forwarded_for
            && let Some(ip) = last_forwarded_for(req)
        {
            return Ok(ip);
        }
        PeerIpKeyExtractor.extract(req)
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        let problem = Problem {
            kind: "rate_limited",
            title: "Too many requests",
            status: 429,
            detail: format!("this client sent too many requests; retry in {wait} s"),
        };
        response
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
            .body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

/// The address the nearest proxy appended to `X-Forwarded-For`: the right-most entry. Entries
/// to its left come from the client and can be forged.
fn last_forwarded_for(req: &ServiceRequest) -> Option<IpAddr> {
    let value = req
        .headers()
        .get_all("x-forwarded-for")
        .last()?
        .to_str()
        .ok()?;
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// A limit of `per_minute` requests per client (bursts up to the same number), shared by all
/// workers; `None` when 0 (disabled).
#[derive(Clone)]
pub struct RateLimit(
    Option<
        GovernorConfig<
            ClientIp,
            actix_governor::governor::middleware::NoOpMiddleware<QuantaInstant>,
        >,
    >,
);

impl RateLimit {
    pub fn per_minute(per_minute: u32, trust_forwarded_for: bool) -> Self {
        if per_minute == 0 {
            return Self(None);
        }
        Self(
            GovernorConfigBuilder::default()
                .requests_per_minute(u64::from(per_minute))
                .burst_size(per_minute)
                .key_extractor(ClientIp {
                    trust_forwarded_for,
                })
                .finish(),
        )
    }

    /// The middleware (a no-op when disabled).
    pub fn middleware(
        &self,
    ) -> Condition<
        Governor<ClientIp, actix_governor::governor::middleware::NoOpMiddleware<QuantaInstant>>,
    > {
        match &self.0 {
            Some(config) => Condition::new(true, Governor::new(config)),
            None => Condition::new(false, Governor::new(&disabled())),
        }
    }
}

/// Any valid config: `Condition` needs a middleware value even when it is switched off.
fn disabled()
-> GovernorConfig<ClientIp, actix_governor::governor::middleware::NoOpMiddleware<QuantaInstant>> {
    let mut builder = GovernorConfigBuilder::default();
    let config = builder
        .requests_per_minute(1)
        .key_extractor(ClientIp {
            trust_forwarded_for: false,
        })
        .finish();
    #[expect(clippy::expect_used, reason = "a constant, valid quota")]
    config.expect("1 request per minute is a valid quota")
}
