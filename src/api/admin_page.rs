//! The operator page at `/admin/`: a small static page (HTML, JS, CSS embedded in the binary)
//! that calls the bearer-protected admin API from the operator's browser.
//!
//! Not part of the OpenAPI contract: [`mount`] registers the handlers on the plain actix scope,
//! past utoipa. The page needs no token to load; every call it makes sends the token the
//! operator pasted (kept in the tab's `sessionStorage`).

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::http::header;
use actix_web::{Error, HttpResponse, ResponseError as _, get, web};

use crate::error::ApiError;

const INDEX_HTML: &str = include_str!("admin_page/index.html");
const ADMIN_JS: &str = include_str!("admin_page/admin.js");
const ADMIN_CSS: &str = include_str!("admin_page/admin.css");

/// Same-origin assets only; no inline script or style, no frames, no forms posting anywhere.
/// Set by the handlers themselves, so the scope's default CSP (added only when a response has
/// none) does not replace it.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        connect-src 'self'; img-src 'self'; form-action 'none'; \
                        frame-ancestors 'none'; base-uri 'none'";

/// Adds the operator page's routes to the `/admin` scope.
pub fn mount<T>(scope: actix_web::Scope<T>) -> actix_web::Scope<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = Error, InitError = ()>,
{
    scope
        .service(redirect_to_page)
        .service(page)
        .service(script)
        .service(stylesheet)
        // Any other method on these paths: 405 with `Allow`, as for the API's routes.
        .service(web::resource(["", "/", "/admin.js", "/admin.css"]).to(method_not_allowed))
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

/// `/admin` → `/admin/` (the page's assets are relative to it).
#[get("")]
async fn redirect_to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/admin/"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[get("/")]
async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

#[get("/admin.js")]
async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", ADMIN_JS)
}

#[get("/admin.css")]
async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", ADMIN_CSS)
}

async fn method_not_allowed() -> HttpResponse {
    ApiError::MethodNotAllowed {
        allow: "GET".to_owned(),
    }
    .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_references_only_its_own_assets() {
        assert!(INDEX_HTML.contains(r#"src="admin.js""#));
        assert!(INDEX_HTML.contains(r#"href="admin.css""#));
        // No inline script or style: the CSP would block them.
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains(" style="));
        assert!(!INDEX_HTML.contains("<script>"));
        assert!(!INDEX_HTML.contains("onclick"));
        assert!(!INDEX_HTML.contains("http://") && !INDEX_HTML.contains("https://"));
        assert!(!ADMIN_JS.contains("http://") && !ADMIN_JS.contains("https://"));
    }

    #[test]
    fn csp_allows_only_self() {
        assert!(PAGE_CSP.contains("script-src 'self'"));
        assert!(!PAGE_CSP.contains("unsafe"));
    }
}
