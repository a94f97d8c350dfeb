//! The served OpenAPI document and Swagger UI (assets vendored into the binary: works offline).

use actix_web::{HttpResponse, http::header, web};
use utoipa_swagger_ui::SwaggerUi;

/// `/openapi.json`, `/docs/` and a `/docs` → `/docs/` redirect (the UI's assets are relative).
pub fn configure_docs(cfg: &mut web::ServiceConfig, api: utoipa::openapi::OpenApi) {
    cfg.route(
        "/docs",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }),
    )
    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api));
}
