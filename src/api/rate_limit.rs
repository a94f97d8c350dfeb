//! Per-client rate limits (actix-governor): a 429 problem with `Retry-After` beyond the quota.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor, PeerIpKeyExtractor,
    SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};
use tokio::task::JoinHandle;

use crate::error::{PROBLEM_JSON, Problem};

/// How often a limiter forgets the clients whose budget is full again.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);

type Middleware = actix_governor::governor::middleware::NoOpMiddleware<QuantaInstant>;
type Config = GovernorConfig<ClientIp, Middleware>;

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
            return Ok(client_key(ip));
        }
        PeerIpKeyExtractor.extract(req).map(client_key)
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        // Rounded up and at least 1: actix-governor's own header rounds down, so a client told
        // `Retry-After: 0` would retry at once and be refused again.
        let wait = negative.wait_time_from(DefaultClock::default().now());
        let wait = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let problem = Problem {
            kind: "rate_limited",
            title: "Too many requests",
            status: 429,
            detail: format!("this client sent too many requests; retry in {wait} s"),
        };
        response
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
            .insert_header((header::RETRY_AFTER, wait))
            .insert_header(("x-ratelimit-after", wait))
            .body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

/// What a client is limited by: an IPv4 address, or the /64 prefix of an IPv6 one (a single
/// subscriber usually gets a whole /64, and could otherwise pose as 2^64 clients).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
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
pub struct RateLimit(Option<Config>);

impl RateLimit {
    pub fn per_minute(per_minute: u32, trust_forwarded_for: bool) -> Self {
        if per_minute == 0 {
            return Self(None);
        }
        Self::new(
            Duration::from_secs(60) / per_minute,
            per_minute,
            trust_forwarded_for,
        )
    }

    /// One request every `period`, bursts of `burst`: a full budget takes `period * burst`.
    fn new(period: Duration, burst: u32, trust_forwarded_for: bool) -> Self {
        Self(
            GovernorConfigBuilder::default()
                .period(period)
                .burst_size(burst)
                .key_extractor(ClientIp {
                    trust_forwarded_for,
                })
                .finish(),
        )
    }

    /// The middleware; none when the limit is off, so that a disabled limit adds no layer to
    /// the request path.
    pub fn middleware(&self) -> Option<Governor<ClientIp, Middleware>> {
        self.0.as_ref().map(Governor::new)
    }

    /// Every minute, forgets the clients whose budget is full again (they are
    /// indistinguishable from new ones), so the key store does not grow with every address
    /// ever seen. Ends once the limiter itself is gone (the server stopped).
    pub fn spawn_cleanup(&self) -> Option<JoinHandle<()>> {
        self.spawn_cleanup_every(CLEANUP_EVERY)
    }

    fn spawn_cleanup_every(&self, every: Duration) -> Option<JoinHandle<()>> {
        let limiter = Arc::downgrade(&self.0.as_ref()?.limiter());
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(limiter) = limiter.upgrade() else {
                    return;
                };
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }))
    }

    /// The number of clients the limiter remembers.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.0.as_ref().map_or(0, |c| c.limiter().len())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test as actix_test, web};

    use super::*;

    #[actix_web::test]
    async fn idle_clients_are_forgotten_and_active_ones_kept() {
        // Budgets are full again 20 ms after a client's one request.
        let short = RateLimit::new(Duration::from_millis(20), 1, true);
        let long = RateLimit::per_minute(10, true);
        let app = actix_test::init_service(
            App::new()
                .service(
                    web::scope("/short")
                        .wrap(short.middleware().unwrap())
                        .route("", web::get().to(HttpResponse::Ok)),
                )
                .service(
                    web::scope("/long")
                        .wrap(long.middleware().unwrap())
                        .route("", web::get().to(HttpResponse::Ok)),
                ),
        )
        .await;
        let clients = 200;
        for i in 0..clients {
            for path in ["/short", "/long"] {
                let req = actix_test::TestRequest::get()
                    .uri(path)
                    .insert_header(("x-forwarded-for", format!("198.51.{}.{}", i / 256, i % 256)))
                    .to_request();
                assert_eq!(actix_test::call_service(&app, req).await.status(), 200);
            }
        }
        assert_eq!(short.clients(), clients);
        assert_eq!(long.clients(), clients);

        let cleanups = [
            short.spawn_cleanup_every(Duration::from_millis(10)),
            long.spawn_cleanup_every(Duration::from_millis(10)),
        ];
        let mut waited = Duration::ZERO;
        while short.clients() > 0 && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        assert_eq!(short.clients(), 0, "idle clients are forgotten");
        assert_eq!(
            long.clients(),
            clients,
            "clients within their window are kept"
        );

        // The tasks end with the limiters.
        drop((app, short, long));
        for cleanup in cleanups {
            tokio::time::timeout(Duration::from_secs(1), cleanup.unwrap())
                .await
                .unwrap()
                .unwrap();
        }
    }

    #[actix_web::test]
    async fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let limit = RateLimit::per_minute(1, true);
        let app = actix_test::init_service(
            App::new()
                .wrap(limit.middleware().unwrap())
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let status = |client: &'static str| {
            let req = actix_test::TestRequest::get()
                .uri("/")
                .insert_header(("x-forwarded-for", client))
                .to_request();
            let app = &app;
            async move { actix_test::call_service(app, req).await.status().as_u16() }
        };
        assert_eq!(status("2001:db8:1:2::1").await, 200);
        assert_eq!(
            status("2001:db8:1:2:ffff:ffff:ffff:fffe").await,
            429,
            "same /64"
        );
        assert_eq!(
            status("[2001:db8:1:2::3]:4711").await,
            429,
            "same /64, with a port"
        );
        assert_eq!(status("2001:db8:1:3::1").await, 200, "another /64");
        assert_eq!(status("203.0.113.7").await, 200);
        assert_eq!(
            status("::ffff:203.0.113.7").await,
            429,
            "IPv4-mapped is IPv4"
        );
        assert_eq!(status("203.0.113.8").await, 200, "IPv4 by full address");
        assert_eq!(limit.clients(), 4);
    }

    #[test]
    fn client_keys() {
        let key = |ip: &str| client_key(ip.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(key("::1"), "::");
        assert_eq!(key("192.0.2.1"), "192.0.2.1");
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
    }
}
