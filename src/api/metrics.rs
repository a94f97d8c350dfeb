//! `GET /metrics`: Prometheus text format. Gauges that depend on the store or the feed are
//! refreshed at scrape time.

use actix_web::{HttpResponse, get, web};
use chrono::Utc;

use crate::auth::TokenService;
use crate::feed::Feed;
use crate::metrics::Metrics;

/// Prometheus metrics: requests, cache results, upstream calls, sync, token and rate limits.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn get_metrics(
    metrics: web::Data<Metrics>,
    tokens: web::Data<TokenService>,
    feed: web::Data<Feed>,
) -> HttpResponse {
    // A store outage must not break scraping: the token gauges keep their last values.
    if let Ok(status) = tokens.status().await {
        metrics
            .reauth_required
            .set(i64::from(status.reauth_required));
        if let Some(expires_at) = status.expires_at {
            metrics
                .token_expiry_seconds
                .set((expires_at - Utc::now()).num_seconds() as f64);
        }
    }
    metrics
        .cache_bytes
        .set(i64::try_from(feed.cache_bytes()).unwrap_or(i64::MAX));
    if let Some(usage) = feed.status().rate_limit {
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
