//! The one layer around every request, outermost: it observes the request (metrics, request
//! id, log line, HEAD as GET), enforces the request limits, answers CORS preflights, and adds
//! the CORS and security headers to every response, refusals included.
//!
//! One service and one future for the four concerns (each in its own module): the order in
//! which they apply is written once, here, and a request pays for one layer instead of four (a
//! service call, a future, a body type and a move of the response each; ~300 instructions of a
//! cached page's ~42,000, see docs/development.md).

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::HeaderValue;
use futures_util::future::LocalBoxFuture;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;

use super::cors::{self, Cors};
use super::finishing::Finishing;
use super::observe::{Observer, Outcome};
use super::request_limits::{self, Body};
use super::security_headers;
use crate::metrics::Metrics;

pub struct Edge {
    metrics: Arc<Metrics>,
    allowed_origins: Vec<String>,
    body_timeout: Duration,
}

impl Edge {
    /// CORS for `allowed_origins` (none: no browser on another origin may read), request bodies
    /// arriving within `body_timeout`.
    pub fn new(metrics: Arc<Metrics>, allowed_origins: &[String], body_timeout: Duration) -> Self {
        Self {
            metrics,
            allowed_origins: allowed_origins.to_vec(),
            body_timeout,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Edge
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = EdgeService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(EdgeService {
            service: Rc::new(service),
            observer: Observer::new(self.metrics.clone()),
            cors: cors::cors(&self.allowed_origins),
            body_timeout: self.body_timeout,
        }))
    }
}

pub struct EdgeService<S> {
    service: Rc<S>,
    observer: Observer,
    cors: Cors,
    body_timeout: Duration,
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

impl<S, B> Service<ServiceRequest> for EdgeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Finishing<Handling<S::Future, B>, Finish, Answer<B>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let outcome = self.observer.start(&mut req);
        let docs = security_headers::is_docs(req.path());
        if let Some(preflight) = self.cors.preflight(&req) {
            let handling = Handling::answered(req.into_response(preflight));
            let finish = Finish {
                outcome,
                docs,
                cors: CorsHeaders::OfPreflight,
            };
            return Finishing::new(handling, finish, finish_response);
        }
        let allowed = self.cors.allowed_origin(&req);
        let handling = match request_limits::inspect(&req) {
            Err(refusal) => Handling::answered(req.into_response(refusal.into_response())),
            Ok(Body::None) => match outcome.span() {
                // The hot path: nothing to read, nothing allocated.
                None => Handling::Direct {
                    inner: self.service.call(req),
                },
                Some(span) => Handling::Traced {
                    inner: self.service.call(req).instrument(span.clone()),
                },
            },
            Ok(_) => {
                let read = read_then_call(self.service.clone(), req, self.body_timeout);
                Handling::Boxed {
                    inner: match outcome.span() {
                        Some(span) => Box::pin(read.instrument(span.clone())),
                        None => Box::pin(read),
                    },
                }
            }
        };
        let finish = Finish {
            outcome,
            docs,
            cors: CorsHeaders::Add(allowed),
        };
        Finishing::new(handling, finish, finish_response)
    }
}

/// A request with a body: read it within the limits, then handle it.
async fn read_then_call<S, B>(
    service: Rc<S>,
    mut req: ServiceRequest,
    timeout: Duration,
) -> Answer<B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    match request_limits::read_into(&mut req, timeout).await {
        Ok(()) => service
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(refusal) => Ok(req
            .into_response(refusal.into_response())
            .map_into_right_body()),
    }
}

pin_project_lite::pin_project! {
    /// How a request is being answered: by the app (traced at DEBUG, after reading its body when
    /// it has one), or already, by the edge itself.
    #[project = HandlingProj]
    pub enum Handling<F, B> {
        Direct { #[pin] inner: F },
        Traced { #[pin] inner: Instrumented<F> },
        Boxed { inner: LocalBoxFuture<'static, Answer<B>> },
        Answered { #[pin] inner: Ready<Answer<B>> },
    }
}

impl<F, B> Handling<F, B> {
    fn answered(response: ServiceResponse<BoxBody>) -> Self {
        Self::Answered {
            inner: ready(Ok(response.map_into_right_body())),
        }
    }
}

impl<F, B> Future for Handling<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Answer<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer<B>> {
        match self.project() {
            HandlingProj::Direct { inner } => inner
                .poll(cx)
                .map(|r| r.map(ServiceResponse::map_into_left_body)),
            HandlingProj::Traced { inner } => inner
                .poll(cx)
                .map(|r| r.map(ServiceResponse::map_into_left_body)),
            HandlingProj::Boxed { inner } => inner.as_mut().poll(cx),
            HandlingProj::Answered { inner } => inner.poll(cx),
        }
    }
}

/// What the edge adds once the response is there.
pub struct Finish {
    outcome: Outcome,
    /// Under `/docs`: the reference UI's own headers.
    docs: bool,
    cors: CorsHeaders,
}

enum CorsHeaders {
    /// A preflight's answer carries its own.
    OfPreflight,
    /// Those of a response to a request from this allowed origin, or from none.
    Add(Option<HeaderValue>),
}

fn finish_response<B>(finish: Finish, answer: Answer<B>) -> Answer<B> {
    let answer = answer.map(|mut response| {
        let headers = response.headers_mut();
        if let CorsHeaders::Add(allowed) = finish.cors {
            cors::add_headers(headers, allowed);
        }
        security_headers::add_headers(headers, finish.docs);
        response
    });
    finish.outcome.record(answer)
}
