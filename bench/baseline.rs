//! The benchmark's yardstick: a bare actix-web handler (same actix-web version as the gateway,
//! default workers, no middleware) serving the bytes of `GET /images?limit=20` with the same
//! `ETag`, `Cache-Control` and `Content-Type`, and 304 on a matching `If-None-Match`. It shows
//! what this stack can do on this machine, so the gateway is judged against its own limit.
//!
//! With an asset file, it also serves it at `/assets/{key}.webp` (any key) with the gateway's
//! asset headers: the yardstick of `bench/instructions.sh` for `GET /assets/<key>.webp`.
//!
//! Usage: bench-baseline <port> <body file> <etag> [<asset file>]   (built by bench/images.sh)

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};

struct Page {
    body: Bytes,
    etag: HeaderValue,
}

async fn images(req: HttpRequest, page: web::Data<Page>) -> HttpResponse {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == page.etag.as_bytes());
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, page.etag.clone()))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(
                "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400",
            ),
        ));
    if matches {
        response.finish()
    } else {
        response
            .content_type(HeaderValue::from_static("application/json"))
            .body(page.body.clone())
    }
}

struct Asset(Bytes);

async fn serve_asset(req: HttpRequest, asset: web::Data<Asset>) -> HttpResponse {
    let key = req.match_info().get("key").unwrap_or_default();
    let etag = HeaderValue::from_str(&["\"", key, "\""].concat())
        .unwrap_or(HeaderValue::from_static("\"\""));
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .insert_header((
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        ));
    if matches {
        response.finish()
    } else {
        response
            .content_type(HeaderValue::from_static("image/webp"))
            .body(asset.0.clone())
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (port, file, etag, asset_file) = match args.as_slice() {
        [_, port, file, etag] => (port, file, etag, None),
        [_, port, file, etag, asset] => (port, file, etag, Some(asset)),
        _ => {
            eprintln!("usage: bench-baseline <port> <body file> <etag> [<asset file>]");
            std::process::exit(2);
        }
    };
    let port: u16 = port
        .parse()
        .map_err(|_| std::io::Error::other("port must be a number"))?;
    let page = web::Data::new(Page {
        body: Bytes::from(std::fs::read(file)?),
        etag: HeaderValue::from_str(etag).map_err(std::io::Error::other)?,
    });
    let asset = web::Data::new(Asset(match asset_file {
        Some(file) => Bytes::from(std::fs::read(file)?),
        None => Bytes::new(),
    }));
    HttpServer::new(move || {
        App::new()
            .app_data(page.clone())
            .app_data(asset.clone())
            .route("/images", web::get().to(images))
            .route("/assets/{key}.webp", web::get().to(serve_asset))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
