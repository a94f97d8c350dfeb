//! Logging: a lean per-request span (method, route template, status, request id; never the
//! query string, which carries OAuth codes), JSON or human-readable output, `RUST_LOG` filter.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing::subscriber::set_global_default;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, Registry, layer::SubscriberExt as _};

use crate::config::LogFormat;

/// HTTP-client internals that log at trace level in ways we do not control (header frames
/// of requests whose query holds an access token). Kept at `info` unless `RUST_LOG` names them.
const CLAMPED_TARGETS: [&str; 5] = ["h2", "hyper", "hyper_util", "rustls", "reqwest"];

/// The filter from `RUST_LOG` (default `info`). When that asks for more than `info`, the
/// [`CLAMPED_TARGETS`] stay at `info` unless a directive names them.
pub fn env_filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or("info");
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let verbose = filter
        .max_level_hint()
        .is_none_or(|max| max > tracing::level_filters::LevelFilter::INFO);
    let named = |target: &str| {
        spec.split(',').any(|directive| {
            let name = directive
                .split(['=', '['])
                .next()
                .unwrap_or_default()
                .trim();
            name == target || name.starts_with(&format!("{target}::"))
        })
    };
    let clamps = CLAMPED_TARGETS
        .iter()
        .filter(|_| verbose)
        .map(|target| (*target, "info"))
        // tracing-actix-web repeats every 4xx/5xx (WARN/ERROR); `LeanRootSpan` already logs them.
        .chain(std::iter::once(("tracing_actix_web", "off")));
    for (target, level) in clamps {
        if !named(target)
            && let Ok(directive) = format!("{target}={level}").parse()
        {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Builds the subscriber; `writer` is stdout in production and a buffer in tests.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Pretty => {
            Box::new(registry.with(tracing_subscriber::fmt::layer().with_writer(writer)))
        }
    }
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    set_global_default(subscriber(
        format,
        env_filter(rust_log.as_deref()),
        std::io::stdout,
    ))
}

/// The root span of each request: four fields, and one line at the end (DEBUG for success,
/// INFO for client errors, ERROR with the cause for server errors).
pub struct LeanRootSpan;

impl RootSpanBuilder for LeanRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                match response.response().error() {
                    Some(error) if status.is_server_error() => {
                        tracing::error!(status = status.as_u16(), error = %error, "request failed");
                    }
                    _ if status.is_client_error() => {
                        tracing::info!(status = status.as_u16(), "request refused");
                    }
                    _ => tracing::debug!(status = status.as_u16(), "request served"),
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "request failed before a response");
            }
        }
    }
}
