//! `GET /assets/{key}.webp`: the re-hosted pictures, from the hot cache or the asset store.

use std::rc::Rc;

use actix_web::dev::{AppService, HttpServiceFactory, ResourceDef, ResourceMap};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::examples;
use super::fallback::{KnownRoutes, fallback};
use crate::assets::{AssetKey, HotAssets};
use crate::error::{ApiError, Problem};
use crate::feed::etag_listed;

/// A key names its bytes, so a URL never changes meaning: cacheable for a year by anyone.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Any frontend origin may embed the pictures, also under `Cross-Origin-Embedder-Policy`.
const CORP: HeaderValue = HeaderValue::from_static("cross-origin");
const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");

/// A re-hosted picture.
///
/// The WebP copy of a picture of the feed, at one width, as the feed's picture URLs name it.
/// No authentication. `key` is derived from the copy's bytes (the first 128 bits of their
/// SHA-256, in lowercase hex), so a URL never changes meaning: the answer can be cached for
/// ever, by browsers and by any CDN or proxy in front of the gateway.
///
/// **Caching.** `Cache-Control: public, max-age=31536000, immutable` and a strong `ETag` (the
/// key, quoted) on every 200 and 304. `If-None-Match` with that tag (in a list, as `W/`, or
/// `*`) gets `304 Not Modified` without a body. Popular pictures are served from memory
/// (`assets.cache_max_bytes`); the others are read from the asset store.
///
/// **Embedding.** `Cross-Origin-Resource-Policy: cross-origin`: pages of any origin may show
/// the pictures, also under `Cross-Origin-Embedder-Policy: require-corp`. `X-Content-Type-Options:
/// nosniff`. Copies that no snapshot references any more are deleted after
/// `assets.retention_days` (then `404`).
///
/// **Errors.** `400 invalid_request` when the file name is not 32 lowercase hex digits and
/// `.webp` (another extension, or a path of several segments, is a `404`). `404 not_found` when
/// the store holds no such copy. `503 store_unavailable` with `Retry-After` while the asset
/// store does not answer.
#[utoipa::path(
    get,
    path = "/assets/{key}.webp",
    tag = "assets",
    params(
        ("key" = String, Path, description = "The copy's content key: 32 lowercase hex digits",
         pattern = "^[0-9a-f]{32}$", example = "3f2a9c0d41b7e65a8c19d2f0b3e4a5c6"),
    ),
    responses(
        (status = 200, description = "The picture, WebP", content_type = "image/webp", body = inline(WebpBytes),
         headers(
            ("ETag" = String, description = "The key, quoted (`\"3f2a9c0d41b7e65a8c19d2f0b3e4a5c6\"`): a strong validator; send it back as `If-None-Match`"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
            ("Content-Length" = u64, description = "The picture's size in bytes"),
            ("Cross-Origin-Resource-Policy" = String, description = "`cross-origin`: any origin may embed the picture"),
            ("X-Content-Type-Options" = String, description = "`nosniff`"),
         )),
        (status = 304, description = "Not modified: `If-None-Match` names this picture's ETag (or is `*`). No body.",
         headers(
            ("ETag" = String, description = "The picture's ETag"),
            ("Cache-Control" = String, description = "As on the 200"),
            ("Cross-Origin-Resource-Policy" = String, description = "As on the 200"),
         )),
        (status = 400, description = "The file name is not 32 lowercase hex digits and `.webp`",
         body = Problem, content_type = "application/problem+json",
         example = json!(examples::invalid_request(BAD_NAME))),
        (status = 404, description = "The store holds no copy with this key", body = Problem,
         content_type = "application/problem+json",
         example = json!(examples::problem("not_found", "Not found", 404, NOT_FOUND))),
        (status = 503, description = "The asset store does not answer", body = Problem,
         content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
         example = json!(examples::problem("store_unavailable", "Store unavailable", 503,
                                           "the asset store is not answering; try again shortly"))),
    )
)]
pub async fn get_asset(
    req: HttpRequest,
    assets: web::Data<HotAssets>,
    routes: web::Data<KnownRoutes>,
) -> Result<HttpResponse, ApiError> {
    let Some(name) = asset_name(req.path()).filter(|_| req.method() == Method::GET) else {
        return Ok(fallback(req, routes).await);
    };
    let key = AssetKey::parse(name).ok_or_else(|| ApiError::BadRequest(BAD_NAME.to_owned()))?;
    let Some(bytes) = assets.get(&key).await? else {
        return Err(ApiError::NotFound(NOT_FOUND.to_owned()));
    };
    // `name` is the key's text: it was parsed strictly.
    let etag = HeaderValue::from_str(&["\"", name, "\""].concat())
        .map_err(|_| ApiError::BadRequest(BAD_NAME.to_owned()))?;
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| etag_listed(v.as_bytes(), etag.as_bytes()));
    let mut response = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::with_body(StatusCode::OK, bytes).map_into_boxed_body()
    };
    // Headers go straight into the map: the builder would re-validate every pair.
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, CACHE_CONTROL);
    headers.insert(CROSS_ORIGIN_RESOURCE_POLICY, CORP);
    if !not_modified {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/webp"));
    }
    Ok(response)
}

/// The `{key}` of `/assets/{key}.webp`: one segment, `.webp` taken off.
fn asset_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/assets/")?.strip_suffix(".webp")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// The route of [`get_asset`], registered as the static prefix `/assets` and parsed by
/// [`asset_name`]: as the pattern `/assets/{key}.webp`, actix would match every request against
/// a regex with a capture (~11,000 instructions, a third of a 304). The nested pattern only
/// names the route in metrics and logs (see `observe`). Other methods and paths under
/// `/assets` get the answers of the fallback (405, 404).
pub struct AssetRoute;

impl HttpServiceFactory for AssetRoute {
    fn register(self, config: &mut AppService) {
        let mut names = ResourceMap::new(ResourceDef::root_prefix("/assets"));
        names.add(&mut ResourceDef::new("/{key}.webp"), None);
        config.register_service(
            ResourceDef::root_prefix("/assets"),
            None,
            web::to(get_asset),
            Some(Rc::new(names)),
        );
    }
}

/// The body of a 200, as OpenAPI 3.1 describes binary content: a string of media type
/// `image/webp`.
enum WebpBytes {}

impl utoipa::PartialSchema for WebpBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("image/webp")
            .into()
    }
}

impl utoipa::ToSchema for WebpBytes {}

const BAD_NAME: &str = "an asset is `/assets/<key>.webp`, the key being 32 lowercase hex digits";
const NOT_FOUND: &str = "no asset with this key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_one_segment_before_webp() {
        let key = "3f2a9c0d41b7e65a8c19d2f0b3e4a5c6";
        assert_eq!(asset_name(&format!("/assets/{key}.webp")), Some(key));
        assert_eq!(
            asset_name("/assets/x.webp"),
            Some("x"),
            "parsed (400) later"
        );
        for not_one in [
            "/assets",
            "/assets/",
            "/assets/.webp",
            "/assets/x.png",
            "/assets/a/b.webp",
            "/assetsx/a.webp",
        ] {
            assert_eq!(asset_name(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_the_wildcard() {
        let etag = br#""3f2a9c0d41b7e65a8c19d2f0b3e4a5c6""#;
        for yes in [
            &br#""3f2a9c0d41b7e65a8c19d2f0b3e4a5c6""#[..],
            br#"W/"3f2a9c0d41b7e65a8c19d2f0b3e4a5c6""#,
            br#""other", "3f2a9c0d41b7e65a8c19d2f0b3e4a5c6""#,
            b"*",
            br#" "a",* "#,
        ] {
            assert!(etag_listed(yes, etag), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b""[..],
            br#""other""#,
            b"3f2a9c0d41b7e65a8c19d2f0b3e4a5c6",
            br#""3F2A9C0D41B7E65A8C19D2F0B3E4A5C6""#,
            br#"w/"3f2a9c0d41b7e65a8c19d2f0b3e4a5c6""#,
        ] {
            assert!(!etag_listed(no, etag), "{}", String::from_utf8_lossy(no));
        }
    }
}
