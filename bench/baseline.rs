//! The benchmark's yardstick: a bare actix-web handler (same actix-web version as the gateway,
//! default workers, no middleware) serving the bytes of `GET /images?limit=20` with the same
//! `ETag`, `Cache-Control` and `Content-Type`, and 304 on a matching `If-None-Match`. It shows
//! what this stack can do on this machine, so the gateway is judged against its own limit.
//!
//! Usage: bench-baseline <port> <body file> <etag>   (built by bench/images.sh)

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

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, file, etag] = args.as_slice() else {
        eprintln!("usage: bench-baseline <port> <body file> <etag>");
        std::process::exit(2);
    };
    let port: u16 = port
        .parse()
        .map_err(|_| std::io::Error::other("port must be a number"))?;
    let page = web::Data::new(Page {
        body: Bytes::from(std::fs::read(file)?),
        etag: HeaderValue::from_str(etag).map_err(std::io::Error::other)?,
    });
    HttpServer::new(move || {
        App::new()
            .app_data(page.clone())
            .route("/images", web::get().to(images))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
