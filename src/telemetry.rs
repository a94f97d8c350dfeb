//! Logging: JSON or human-readable output, the `RUST_LOG` filter, and client mistakes that
//! actix reports at ERROR turned into DEBUG lines. The per-request span and line are made by
//! `api::observe` (method, route template, status, request id; never the query string, which
//! carries OAuth codes).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::subscriber::set_global_default;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
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
        .map(|target| (*target, "info"));
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
    let registry = Registry::default().with(ClientMistakes).with(filter);
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

/// actix-http logs a connection that ends in a client's mistake (a malformed request line or
/// header, a connection reset mid-request) as `ERROR stream error: …`, so any client could
/// fill the error log. Those events are dropped and said again at DEBUG, under
/// [`CLIENT_ERRORS_TARGET`].
struct ClientMistakes;

pub const CLIENT_ERRORS_TARGET: &str = "instagram_gateway::client_errors";
const ACTIX_DISPATCHER: &str = "actix_http::h1::dispatcher";

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for ClientMistakes {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || meta.target() != ACTIX_DISPATCHER {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        if !message.0.starts_with("stream error") {
            return true;
        }
        tracing::debug!(target: CLIENT_ERRORS_TARGET, detail = %message.0, "connection closed after a client error");
        false
    }
}
