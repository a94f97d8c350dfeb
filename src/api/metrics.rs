//! `GET /metrics`: Prometheus text format. Gauges that depend on the store or the feed are
//! refreshed at scrape time.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;

use super::examples;
use crate::accounts::Accounts;
use crate::error::Problem;
use crate::metrics::Metrics;
use crate::webhooks::Webhooks;

/// Prometheus metrics: requests, cache results, upstream calls, sync, token and rate limits.
///
/// For Prometheus to scrape (text exposition format 0.0.4), not for frontends. Served on
/// `server.port` unless `metrics.listen` gives it a listener of its own (the `k8s/` pods: port
/// 9090): then only there, and this path answers `404 not_found` on the main port. The gauges
/// that depend on the token, the cache, the webhook queue and Instagram's usage headers are
/// refreshed at scrape time; a store outage does not break scraping (the token gauges keep their last values).
/// Label values are bounded: routes are templates such as `/images/{id}`, never raw paths.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Prometheus text exposition format (`text/plain; version=0.0.4; charset=utf-8`)",
         content_type = "text/plain", body = String,
         example = json!(concat!(
            "# HELP igw_http_requests_total HTTP requests by route template and status\n",
            "# TYPE igw_http_requests_total counter\n",
            "igw_http_requests_total{method=\"GET\",route=\"/images\",status=\"200\"} 1853\n",
            "igw_http_requests_total{method=\"GET\",route=\"/images/{id}\",status=\"304\"} 356\n",
            "# HELP igw_feed_responses_total Feed responses by cache result: hit, stale, miss, not_modified\n",
            "# TYPE igw_feed_responses_total counter\n",
            "igw_feed_responses_total{result=\"hit\"} 1841\n",
            "igw_feed_responses_total{result=\"miss\"} 12\n",
            "igw_feed_responses_total{result=\"not_modified\"} 356\n",
            "igw_feed_responses_total{result=\"stale\"} 4\n",
            "# HELP igw_feed_snapshot_items Posts in the served snapshot, by account\n",
            "# TYPE igw_feed_snapshot_items gauge\n",
            "igw_feed_snapshot_items{account=\"cafe\"} 24\n",
            "igw_feed_snapshot_items{account=\"default\"} 60\n",
            "# HELP igw_reauth_required 1 when only a new authorization can bring the account's feed back\n",
            "# TYPE igw_reauth_required gauge\n",
            "igw_reauth_required{account=\"cafe\"} 0\n",
            "igw_reauth_required{account=\"default\"} 0\n",
         ))),
        (status = 404, description = "`metrics.listen` is set: scrape that listener instead",
         body = Problem, content_type = "application/problem+json",
         example = json!(examples::problem("not_found", "Not found", 404, "no resource at /metrics"))),
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    metrics: web::Data<Metrics>,
    accounts: web::Data<Accounts>,
    webhooks: web::Data<Webhooks>,
) -> HttpResponse {
    let now = Utc::now();
    for account in accounts.all() {
        // A store outage must not break scraping: the token gauges keep their last values.
        if let Ok(status) = account.tokens.status().await {
            let series = &account.metrics;
            series
                .reauth_required
                .set(i64::from(status.reauth_required));
            if let Some(expires_at) = status.expires_at {
                series
                    .token_expiry_seconds
                    .set((expires_at - now).num_seconds() as f64);
            }
        }
    }
    // Like the token gauges: the last values stay while the store does not answer.
    if let Err(e) = webhooks.refresh_metrics(&metrics).await {
        tracing::debug!(error = %e, "webhook queue gauges not refreshed");
    }
    metrics
        .cache_bytes
        .set(i64::try_from(accounts.response_cache().bytes()).unwrap_or(i64::MAX));
    // Instagram's usage headers are the app's (and the business's), whichever account's call
    // brought them: the client is shared.
    let usage = accounts
        .default_account()
        .ok()
        .and_then(|a| a.feed.status().rate_limit);
    if let Some(usage) = usage {
        let max = |m: &std::collections::BTreeMap<String, f64>| {
            m.iter()
                .filter(|(k, _)| k.as_str() != "estimated_time_to_regain_access")
                .map(|(_, v)| *v)
                .fold(0.0, f64::max)
        };
        metrics
            .rate_limit_percent
            .with_label_values(&["app"])
            .set(max(&usage.app));
        metrics
            .rate_limit_percent
            .with_label_values(&["business_use_case"])
            .set(max(&usage.business_use_case));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
