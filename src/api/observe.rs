//! Observing every request (part of the [`Edge`](super::edge::Edge)): counts and times it by
//! route template, logs it with a request id, and answers HEAD as GET (the HTTP/1 codec drops
//! the body of a HEAD response and keeps its `Content-Length`).
//!
//! It is built to cost almost nothing on a served 200/304: the route template and the metric
//! handles are looked up once per (method, path) and kept per worker, the request id is a
//! counter formatted only when a line is written, and the request span is created only when
//! something will be logged (every request at DEBUG; at INFO only refusals and failures). At
//! INFO a warning logged while a request is handled therefore carries no request span.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use prometheus::{Histogram, IntCounter, IntCounterVec};
use tracing::{Level, Span};

use crate::metrics::Metrics;

/// The target of the request span and its line (for `RUST_LOG` directives).
pub const TARGET: &str = "instagram_gateway::request";

/// Paths remembered per worker; beyond this the memo starts again (random paths from clients
/// must not grow it without bound).
const MEMO_MAX_PATHS: usize = 512;

/// Request ids: a random per-process prefix and a counter, unique across replicas and
/// restarts with overwhelming probability, without a syscall per request.
struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl RequestIds {
    fn global() -> &'static Self {
        static IDS: std::sync::OnceLock<RequestIds> = std::sync::OnceLock::new();
        IDS.get_or_init(|| Self {
            prefix: u64::from_le_bytes(crate::random::bytes::<8>()),
            next: AtomicU64::new(0),
        })
    }

    fn next(&self) -> RequestId {
        RequestId {
            prefix: self.prefix,
            sequence: self.next.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Shown as a UUID-shaped 32-hex-digit string.
#[derive(Clone, Copy)]
struct RequestId {
    prefix: u64,
    sequence: u64,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (p, s) = (self.prefix, self.sequence);
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            p >> 32,
            (p >> 16) & 0xffff,
            p & 0xffff,
            s >> 48,
            s & 0xffff_ffff_ffff
        )
    }
}

/// Methods outside this list are labelled `other`, so clients cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// What one (method, path) resolves to: its route template and metric handles.
pub struct Route {
    template: Rc<str>,
    method: &'static str,
    duration: Histogram,
    /// Request counters by status, filled as statuses occur (a handful per route)...
    counters: RefCell<Vec<(StatusCode, IntCounter)>>,
    /// ...from this family.
    requests: IntCounterVec,
}

impl Route {
    fn count(&self, status: StatusCode) {
        let mut counters = self.counters.borrow_mut();
        if let Some((_, counter)) = counters.iter().find(|(s, _)| *s == status) {
            counter.inc();
            return;
        }
        let counter =
            self.requests
                .with_label_values(&[self.method, &self.template, status.as_str()]);
        counter.inc();
        counters.push((status, counter));
    }
}

/// Per worker: routes by path, then method label (a path sees one or two methods). Paths come
/// from clients, hence a seeded hash.
#[derive(Default)]
struct Memo {
    routes: HashMap<Box<str>, Vec<Rc<Route>>, foldhash::fast::RandomState>,
}

impl Memo {
    fn route(
        &mut self,
        metrics: &Metrics,
        req: &ServiceRequest,
        method: &'static str,
    ) -> Rc<Route> {
        if let Some(route) = self
            .routes
            .get(req.path())
            .and_then(|routes| routes.iter().find(|r| r.method == method))
        {
            return route.clone();
        }
        if self.routes.len() >= MEMO_MAX_PATHS {
            self.routes.clear();
        }
        let template: Rc<str> = req
            .match_pattern()
            .map_or_else(|| Rc::from("unmatched"), Rc::from);
        let route = Rc::new(Route {
            duration: metrics
                .http_duration
                .with_label_values(&[method, &template]),
            template,
            method,
            counters: RefCell::new(Vec::new()),
            requests: metrics.http_requests.clone(),
        });
        self.routes
            .entry(req.path().into())
            .or_default()
            .push(route.clone());
        route
    }
}

/// The observing part of the [`Edge`](super::edge::Edge), per worker.
pub struct Observer {
    metrics: Arc<Metrics>,
    memo: RefCell<Memo>,
}

impl Observer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            memo: RefCell::new(Memo::default()),
        }
    }

    /// Starts observing `req`: its route and metric handles, its id, and (at DEBUG) its span.
    /// A HEAD becomes a GET: every GET route answers HEAD with exactly the GET's status and
    /// headers.
    pub fn start(&self, req: &mut ServiceRequest) -> Outcome {
        let started = Instant::now();
        let method = method_label(req.method());
        let route = self.memo.borrow_mut().route(&self.metrics, req, method);
        if req.method() == Method::HEAD {
            req.head_mut().method = Method::GET;
        }
        let id = RequestIds::global().next();
        // Every request is logged at DEBUG: then the span covers the handling too.
        let span = tracing::enabled!(target: TARGET, Level::DEBUG)
            .then(|| request_span(method, &route.template, id));
        Outcome {
            started,
            method,
            route,
            id,
            span,
        }
    }
}

/// What is known of a request before its response: counted, timed and (when it matters)
/// logged once the response is there.
pub struct Outcome {
    started: Instant,
    method: &'static str,
    route: Rc<Route>,
    id: RequestId,
    span: Option<Span>,
}

impl Outcome {
    /// The request's span, when one covers the handling (at DEBUG).
    pub fn span(&self) -> Option<&Span> {
        self.span.as_ref()
    }

    /// Counts, times and (when it matters) logs the request, once its response is there.
    pub fn record<B>(
        self,
        result: Result<ServiceResponse<B>, actix_web::Error>,
    ) -> Result<ServiceResponse<B>, actix_web::Error> {
        let status = match &result {
            Ok(r) => r.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        self.route.count(status);
        self.route
            .duration
            .observe(self.started.elapsed().as_secs_f64());
        if self.span.is_some() || status.is_client_error() || status.is_server_error() {
            let span = self
                .span
                .unwrap_or_else(|| request_span(self.method, &self.route.template, self.id));
            log_outcome(&span, &result);
        }
        result
    }
}

fn request_span(method: &str, route: &str, id: RequestId) -> Span {
    tracing::info_span!(
        target: TARGET,
        "request",
        method = method,
        route = route,
        request_id = %id,
        status = tracing::field::Empty,
    )
}

/// One line per request: DEBUG when served, INFO when refused (4xx), ERROR with the cause
/// when failed (5xx).
fn log_outcome<B>(span: &Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
    let _entered = span.enter();
    match outcome {
        Ok(response) => {
            let status = response.status();
            span.record("status", status.as_u16());
            match response.response().error() {
                Some(error) if status.is_server_error() => {
                    tracing::error!(target: TARGET, status = status.as_u16(), error = %error, "request failed");
                }
                _ if status.is_client_error() => {
                    tracing::info!(target: TARGET, status = status.as_u16(), "request refused");
                }
                _ => tracing::debug!(target: TARGET, status = status.as_u16(), "request served"),
            }
        }
        Err(error) => {
            tracing::error!(target: TARGET, error = %error, "request failed before a response");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use actix_web::test as actix_test;
    use actix_web::{App, HttpResponse, web};

    use super::*;
    use crate::config::LogFormat;
    use crate::error::ApiError;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The JSON lines logged at `level` while three requests (200, 404, 500) are served.
    async fn lines_at(level: &str) -> Vec<serde_json::Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = crate::telemetry::subscriber(
            LogFormat::Json,
            crate::telemetry::env_filter(Some(level)),
            move || writer.clone(),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = actix_test::init_service(
            App::new()
                .route(
                    "/ok/{id}",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/broken",
                    web::get().to(|| async {
                        Err::<HttpResponse, _>(ApiError::Store(crate::store::StoreError::Timeout(
                            std::time::Duration::from_secs(1),
                        )))
                    }),
                )
                .wrap(super::super::Edge::new(
                    Metrics::new(),
                    &[],
                    std::time::Duration::from_secs(5),
                )),
        )
        .await;
        for path in ["/ok/1", "/missing", "/broken"] {
            actix_test::call_service(&app, actix_test::TestRequest::get().uri(path).to_request())
                .await;
        }
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[actix_web::test]
    async fn at_info_only_refusals_and_failures_are_logged_with_their_request_span() {
        let lines = lines_at("info").await;
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let (refused, failed) = (&lines[0], &lines[1]);
        assert_eq!(refused["level"], "INFO");
        assert_eq!(refused["span"]["route"], "unmatched");
        assert_eq!(refused["fields"]["status"], 404);
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["span"]["route"], "/broken");
        assert_eq!(failed["span"]["method"], "GET");
        assert_eq!(failed["fields"]["status"], 503);
        assert!(failed["fields"]["error"].is_string(), "{failed}");
        for line in &lines {
            assert_eq!(
                line["span"]["request_id"].as_str().unwrap().len(),
                36,
                "{line}"
            );
        }
    }

    #[actix_web::test]
    async fn at_debug_every_request_is_logged() {
        let lines = lines_at("debug").await;
        let served: Vec<_> = lines
            .iter()
            .filter(|l| l["fields"]["message"] == "request served")
            .collect();
        assert_eq!(served.len(), 1, "{lines:#?}");
        assert_eq!(served[0]["span"]["route"], "/ok/{id}");
        assert_eq!(served[0]["fields"]["status"], 200);
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let ids = RequestIds::global();
        let (a, b) = (ids.next().to_string(), ids.next().to_string());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
