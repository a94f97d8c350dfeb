//! Probes: liveness never depends on anything external; readiness checks the store.

use std::collections::BTreeMap;

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::store::Store;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    status: &'static str,
    /// Each dependency and its state.
    #[schema(example = json!({"store": "ok"}))]
    checks: BTreeMap<&'static str, String>,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is running", body = Health)))]
#[get("/healthz")]
pub async fn check_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: 200 when the store answers, 503 naming the failing check otherwise.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "A dependency is failing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn check_readiness(store: web::Data<Store>) -> Result<web::Json<Readiness>, ApiError> {
    store
        .ping()
        .await
        .map_err(|e| ApiError::NotReady(format!("store ({}): {e}", store.kind())))?;
    let checks = BTreeMap::from([("store", "ok".to_owned())]);
    Ok(web::Json(Readiness {
        status: "ready",
        checks,
    }))
}
