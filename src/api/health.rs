//! Probes: liveness never depends on anything external; readiness says whether this instance
//! can answer reads (a snapshot in memory or a store that answers), and turns 503 once a
//! shutdown begins so that load balancers stop sending traffic before the server stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::examples;
use crate::accounts::Accounts;
use crate::error::{ApiError, Problem};
use crate::store::StoreHealth;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Set once SIGTERM (or SIGINT) arrives; shared by every worker.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "store": "down", "snapshot_age_secs": 312}))]
pub struct Readiness {
    /// Always `ready` (not ready is a 503 problem).
    #[schema(example = "ready")]
    status: &'static str,
    /// `ok`, or `down` while the store does not answer (reads are then served from memory).
    #[schema(example = "ok")]
    store: &'static str,
    /// Age of the snapshot held in memory; null when none is held yet.
    #[schema(required = true)]
    snapshot_age_secs: Option<u64>,
}

/// Liveness: 200 while the process runs.
///
/// For a liveness probe (Kubernetes `livenessProbe`). It never checks a dependency, so a Redis
/// or Instagram outage does not get the process restarted. No caching headers, and no error
/// response.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is running", body = Health,
               example = json!({"status": "ok"})))
)]
#[get("/healthz")]
pub async fn check_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: 200 while this instance can answer reads, with what is degraded.
///
/// For a readiness probe or a load balancer's health check. It answers `200` while this
/// instance holds a snapshot in memory **or** its store (Redis) answers, so a Redis outage does
/// not take replicas out of service: the body then says `store: down` (from a background check
/// every second) and reads are served from memory. `snapshot_age_secs` is the age of the
/// snapshot held, or `null` when none is held yet. No caching headers.
///
/// **Errors.** `503 not_ready` with `Retry-After: 5` when there is neither a snapshot nor a
/// store that answers, and from the moment a shutdown begins (SIGTERM), while in-flight and new
/// requests are still served for `server.drain_secs`, so that load balancers stop sending
/// traffic first.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve: a snapshot is held in memory or the store answers. \
                                      The body says what is degraded (`store: down` while Redis does not answer).",
         body = Readiness,
         examples(
            ("Ready" = (summary = "Store up, snapshot held", value = json!({"status": "ready", "store": "ok", "snapshot_age_secs": 42}))),
            ("Degraded" = (summary = "Redis down: reads served from memory", value = json!({"status": "ready", "store": "down", "snapshot_age_secs": 312}))),
            ("Starting" = (summary = "Store up, first sync not finished", value = json!({"status": "ready", "store": "ok", "snapshot_age_secs": null}))),
         )),
        (status = 503, description = "Cannot serve: no snapshot held and the store does not answer, or shutting down",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying (5)")),
         examples(
            ("No store, no snapshot" = (value = json!(examples::problem("not_ready", "Not ready", 503, "the store (redis) does not answer and no snapshot is held in memory")))),
            ("Shutting down" = (value = json!(examples::problem("not_ready", "Not ready", 503, "shutting down")))),
         )),
    )
)]
#[get("/readyz")]
pub async fn check_readiness(
    store: web::Data<StoreHealth>,
    accounts: web::Data<Accounts>,
    draining: web::Data<Draining>,
) -> Result<web::Json<Readiness>, ApiError> {
    if draining.is_draining() {
        return Err(ApiError::NotReady("shutting down".to_owned()));
    }
    let store_up = store.is_up().await;
    // The default account's age is what the body reports; any account's snapshot in memory
    // keeps the instance serving while the store is down.
    let all = accounts.all();
    let snapshot_age_secs = accounts
        .get(accounts.default_slug().as_str())
        .and_then(|a| a.feed.snapshot_age_secs());
    let holds_one = all.iter().any(|a| a.feed.snapshot_age_secs().is_some());
    if !store_up && !holds_one {
        return Err(ApiError::NotReady(format!(
            "the store ({}) does not answer and no snapshot is held in memory",
            store.kind()
        )));
    }
    Ok(web::Json(Readiness {
        status: "ready",
        store: if store_up { "ok" } else { "down" },
        snapshot_age_secs,
    }))
}
