//! The served OpenAPI document and Swagger UI (assets vendored into the binary: works offline).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, http::header, web};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The OpenAPI document, serialized once at start-up and shared by every worker: the document
/// is some 400 KB of JSON, and a copy of it as structs per worker (Swagger UI's own way) costs
/// megabytes of memory and a serialization per request.
#[derive(Clone)]
pub struct SpecJson(Bytes);

impl SpecJson {
    pub fn new(spec: &utoipa::openapi::OpenApi) -> Self {
        // Serializing plain data into memory cannot fail.
        Self(Bytes::from(serde_json::to_vec(spec).unwrap_or_default()))
    }
}

/// `/openapi.json`, `/docs/` and a `/docs` → `/docs/` redirect (the UI's assets are relative).
pub fn configure_docs(cfg: &mut web::ServiceConfig, spec: SpecJson) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }),
    )
    .route(
        "/openapi.json",
        web::get().to(move || {
            let body = spec.0.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body)
            }
        }),
    )
    .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/openapi.json"])));
}
