//! What unmatched requests get: 405 with `Allow` when the path exists for other methods
//! (taken from the OpenAPI document, so the list cannot drift from the routes), else 404.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, web};

use crate::error::ApiError;

pub struct KnownRoutes(Vec<(ResourceDef, String)>);

impl KnownRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                // Every GET route also answers HEAD (see `observe`).
                let head = [("HEAD", item.get.is_some())];
                let allow: Vec<&str> = methods
                    .iter()
                    .chain(&head)
                    .filter(|(_, on)| *on)
                    .map(|(m, _)| *m)
                    .collect();
                (ResourceDef::new(path.as_str()), allow.join(", "))
            })
            .collect();
        Self(routes)
    }

    /// Forgets a path served elsewhere (`/metrics` on its own listener): a 404 here.
    pub fn remove(&mut self, path: &str) {
        self.0.retain(|(def, _)| def.pattern() != Some(path));
    }

    fn allowed(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, allow)| allow.as_str())
    }
}

/// The app's default service.
pub async fn fallback(req: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    let error = match routes.allowed(req.path()) {
        Some(allow) => ApiError::MethodNotAllowed {
            allow: allow.to_owned(),
        },
        None => ApiError::NotFound(format!("no resource at {}", truncate(req.path()))),
    };
    error.error_response()
}

fn truncate(path: &str) -> String {
    path.chars().take(100).collect()
}

/// The default service of the `/metrics` listener.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no resource at {}", truncate(req.path()))).error_response()
}
