//! Prometheus metrics. One registry per application instance (tests run several in one
//! process). Label values are bounded: route templates, fixed outcome names.

use std::sync::Arc;

use prometheus::{
    Encoder as _, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// `method`, `route` (template), `status`.
    pub http_requests: IntCounterVec,
    /// `method`, `route`.
    pub http_duration: HistogramVec,
    /// `igw_feed_responses_total` by result, resolved once (the hot path only increments).
    pub feed_responses: FeedResults,
    /// `igw_asset_cache_lookups_total` by result: hit, miss.
    pub asset_lookups: AssetLookups,
    /// `igw_asset_store_reads_total` by outcome: found, not_found, error.
    pub asset_store_reads: AssetStoreReads,
    /// `endpoint`, `outcome`: ok, throttled, token_invalid, error.
    pub upstream_requests: IntCounterVec,
    /// The per-account series (`account` label, bounded by `accounts.max`); see
    /// [`Metrics::account`].
    sync_duration: HistogramVec,
    sync_last_success: GaugeVec,
    snapshot_items: IntGaugeVec,
    token_expiry_seconds: GaugeVec,
    reauth_required: IntGaugeVec,
    /// Every account's response cache together.
    pub cache_bytes: IntGauge,
    /// 1 while the store (Redis) answers, 0 while it does not.
    pub store_up: IntGauge,
    /// `header`: app, business_use_case.
    pub rate_limit_percent: GaugeVec,
    /// `outcome`: ready, or the failure's kind (expired, not_found, http_error, timeout,
    /// too_large, not_a_picture, corrupt, store_error).
    pub assets_processed: IntCounterVec,
    pub assets_processing: Histogram,
    /// Pictures of the served snapshot without a ready copy (failed ones excluded).
    pub assets_pending: IntGauge,
    pub assets_failed: IntGauge,
    /// Bytes of every stored copy.
    pub assets_bytes: IntGauge,
    /// Webhook delivery attempts by outcome: delivered, retrying, failed, gone (410, endpoint
    /// disabled), dropped (endpoint deleted or disabled before the attempt).
    pub webhook_deliveries: IntCounterVec,
    /// Deliveries in the queue: due, in flight, or waiting for a retry.
    pub webhook_queue_depth: IntGauge,
    /// How long the most overdue delivery has been due (0 when none is late).
    pub webhook_oldest_due_seconds: Gauge,
    /// `account`: hashtags counted against its weekly budget (facebook accounts).
    pub hashtag_budget_used: IntGaugeVec,
    /// `reason`: budget, not_allowed, not_facebook, not_found, refused_by_meta.
    pub hashtag_refusals: IntCounterVec,
}

/// Registers `metric` (names are constants, so a failure is a programming error caught by
/// every test that builds an app).
fn registered<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: Result<M, prometheus::Error>,
) -> M {
    #[expect(clippy::expect_used, reason = "constant metric definitions")]
    let metric = metric.expect("valid metric definition");
    #[expect(
        clippy::expect_used,
        reason = "each name is registered once per registry"
    )]
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric name");
    metric
}

/// One account's series, resolved once when the account is loaded (clones share them).
#[derive(Clone)]
pub struct AccountMetrics {
    pub sync_duration: Histogram,
    pub sync_last_success: Gauge,
    pub snapshot_items: IntGauge,
    pub token_expiry_seconds: Gauge,
    pub reauth_required: IntGauge,
}

impl Metrics {
    /// The series of the account `slug`.
    pub fn account(&self, slug: &str) -> AccountMetrics {
        AccountMetrics {
            sync_duration: self.sync_duration.with_label_values(&[slug]),
            sync_last_success: self.sync_last_success.with_label_values(&[slug]),
            snapshot_items: self.snapshot_items.with_label_values(&[slug]),
            token_expiry_seconds: self.token_expiry_seconds.with_label_values(&[slug]),
            reauth_required: self.reauth_required.with_label_values(&[slug]),
        }
    }

    /// Drops a deleted account's series, so that they do not report it forever.
    pub fn forget_account(&self, slug: &str) {
        let _ = self.sync_duration.remove_label_values(&[slug]);
        let _ = self.sync_last_success.remove_label_values(&[slug]);
        let _ = self.snapshot_items.remove_label_values(&[slug]);
        let _ = self.token_expiry_seconds.remove_label_values(&[slug]);
        let _ = self.reauth_required.remove_label_values(&[slug]);
    }

    pub fn new() -> Arc<Self> {
        let r = Registry::new();
        let latency_buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        Arc::new(Self {
            http_requests: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_http_requests_total",
                        "HTTP requests by route template and status",
                    ),
                    &["method", "route", "status"],
                ),
            ),
            http_duration: registered(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "igw_http_request_duration_seconds",
                        "HTTP request latency by route template",
                    )
                    .buckets(latency_buckets),
                    &["method", "route"],
                ),
            ),
            feed_responses: FeedResults::new(&registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_feed_responses_total",
                        "Feed responses by cache result: hit, stale, miss, not_modified",
                    ),
                    &["result"],
                ),
            )),
            asset_lookups: AssetLookups::new(&registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_asset_cache_lookups_total",
                        "Asset requests by in-process cache result: hit, miss",
                    ),
                    &["result"],
                ),
            )),
            asset_store_reads: AssetStoreReads::new(&registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_asset_store_reads_total",
                        "Reads of the asset store by outcome: found, not_found, error",
                    ),
                    &["outcome"],
                ),
            )),
            upstream_requests: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_upstream_requests_total",
                        "Calls to Instagram by endpoint and outcome",
                    ),
                    &["endpoint", "outcome"],
                ),
            ),
            sync_duration: registered(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "igw_feed_sync_duration_seconds",
                        "Duration of successful feed syncs, by account",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
                    &["account"],
                ),
            ),
            sync_last_success: registered(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "igw_feed_last_sync_success_timestamp_seconds",
                        "Unix time of the last successful sync, by account",
                    ),
                    &["account"],
                ),
            ),
            snapshot_items: registered(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "igw_feed_snapshot_items",
                        "Posts in the served snapshot, by account",
                    ),
                    &["account"],
                ),
            ),
            cache_bytes: registered(
                &r,
                IntGauge::new(
                    "igw_feed_cache_bytes",
                    "Bytes held by the in-process response cache",
                ),
            ),
            token_expiry_seconds: registered(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "igw_token_expiry_seconds",
                        "Seconds until the Instagram token expires (negative: expired), by account",
                    ),
                    &["account"],
                ),
            ),
            reauth_required: registered(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "igw_reauth_required",
                        "1 when only a new authorization can bring the account's feed back",
                    ),
                    &["account"],
                ),
            ),
            store_up: registered(
                &r,
                IntGauge::new(
                    "igw_store_up",
                    "1 while the store (Redis) answers, 0 while it does not",
                ),
            ),
            rate_limit_percent: registered(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "igw_rate_limit_usage_percent",
                        "Highest usage percentage Instagram reported, by header",
                    ),
                    &["header"],
                ),
            ),
            assets_processed: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_assets_processed_total",
                        "Pictures re-hosted (outcome=ready) or failed, by outcome",
                    ),
                    &["outcome"],
                ),
            ),
            assets_processing: registered(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "igw_assets_processing_seconds",
                        "Time to download, resize, encode and store one picture",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                ),
            ),
            assets_pending: registered(
                &r,
                IntGauge::new(
                    "igw_assets_queue_depth",
                    "Pictures of the feed waiting for their re-hosted copies",
                ),
            ),
            assets_failed: registered(
                &r,
                IntGauge::new(
                    "igw_assets_failed",
                    "Pictures of the feed whose re-hosting failed (retried with backoff)",
                ),
            ),
            assets_bytes: registered(
                &r,
                IntGauge::new("igw_assets_stored_bytes", "Bytes of the stored copies"),
            ),
            hashtag_budget_used: registered(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "igw_hashtag_budget_used",
                        "Hashtags counted against the account's budget of unique hashtags per rolling 7 days",
                    ),
                    &["account"],
                ),
            ),
            hashtag_refusals: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_hashtag_refusals_total",
                        "Public hashtag searches refused, by reason: budget, not_allowed, not_facebook, not_found, refused_by_meta",
                    ),
                    &["reason"],
                ),
            ),
            webhook_deliveries: registered(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "igw_webhook_deliveries_total",
                        "Webhook delivery attempts by outcome: delivered, retrying, failed, gone, dropped",
                    ),
                    &["outcome"],
                ),
            ),
            webhook_queue_depth: registered(
                &r,
                IntGauge::new(
                    "igw_webhook_queue_depth",
                    "Webhook deliveries queued: due, in flight or waiting for a retry",
                ),
            ),
            webhook_oldest_due_seconds: registered(
                &r,
                Gauge::new(
                    "igw_webhook_oldest_due_seconds",
                    "How long the most overdue webhook delivery has been due",
                ),
            ),
            registry: r,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into memory only fails on metric families that cannot exist here.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The counters of `igw_feed_responses_total`, one per result.
pub struct FeedResults {
    pub hit: IntCounter,
    pub stale: IntCounter,
    pub miss: IntCounter,
    pub not_modified: IntCounter,
}

impl FeedResults {
    fn new(vec: &IntCounterVec) -> Self {
        let of = |result: &str| vec.with_label_values(&[result]);
        Self {
            hit: of("hit"),
            stale: of("stale"),
            miss: of("miss"),
            not_modified: of("not_modified"),
        }
    }
}

/// The counters of `igw_asset_cache_lookups_total`, one per result.
pub struct AssetLookups {
    pub hit: IntCounter,
    pub miss: IntCounter,
}

impl AssetLookups {
    fn new(vec: &IntCounterVec) -> Self {
        let of = |result: &str| vec.with_label_values(&[result]);
        Self {
            hit: of("hit"),
            miss: of("miss"),
        }
    }
}

/// The counters of `igw_asset_store_reads_total`, one per outcome.
pub struct AssetStoreReads {
    pub found: IntCounter,
    pub not_found: IntCounter,
    pub error: IntCounter,
}

impl AssetStoreReads {
    fn new(vec: &IntCounterVec) -> Self {
        let of = |outcome: &str| vec.with_label_values(&[outcome]);
        Self {
            found: of("found"),
            not_found: of("not_found"),
            error: of("error"),
        }
    }
}
