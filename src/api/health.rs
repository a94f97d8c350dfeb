//! Probes: liveness never depends on anything external; readiness says whether this instance
//! can answer reads (a snapshot in memory or a store that answers), and turns 503 once a
//! shutdown begins so that load balancers stop sending traffic before the server stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::feed::Feed;
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
    snapshot_age_secs: Option<u64>,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is running", body = Health)))]
#[get("/healthz")]
pub async fn check_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: 200 while this instance can answer reads, with what is degraded.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve: a snapshot is held in memory or the store answers. \
                                      The body says what is degraded (`store: down` while Redis does not answer).",
         body = Readiness),
        (status = 503, description = "Cannot serve: no snapshot held and the store does not answer, or shutting down",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
#[get("/readyz")]
pub async fn check_readiness(
    store: web::Data<StoreHealth>,
    feed: web::Data<Feed>,
    draining: web::Data<Draining>,
) -> Result<web::Json<Readiness>, ApiError> {
    if draining.is_draining() {
        return Err(ApiError::NotReady("shutting down".to_owned()));
    }
    let store_up = store.is_up().await;
    let snapshot_age_secs = feed.snapshot_age_secs();
    if !store_up && snapshot_age_secs.is_none() {
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
