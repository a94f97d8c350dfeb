//! The sandbox's stand-in for Instagram's CDN: signed-looking media URLs that expire the way
//! the real ones do (`oe`, a hex Unix time, then 403 `URL signature expired`), and the
//! generated JPEGs behind them, drawn on first request and then kept in memory.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::images::{self, Still};
use super::{facebook, posts, profile};

const DAY_SECS: i64 = 86_400;
/// Real CDN URLs are observed to live 4–5 days. Counting from the start of the current UTC day
/// keeps every URL (and so the gateway's snapshot version) unchanged within a day.
const URL_LIFETIME_DAYS: i64 = 4;

/// `<base>/sandbox/cdn/<file>?_nc_cat=1&_nc_sid=8ae9d6&oe=<hex expiry>&oh=<hex hash>`, the
/// shape of an Instagram CDN URL.
pub(super) fn signed_url(base: &str, file: &str, now: DateTime<Utc>) -> String {
    let path = format!("/sandbox/cdn/{file}");
    let expires = expiry(now);
    let signature = posts::hash64(&format!("sandbox/cdn{path}"));
    format!("{base}{path}?_nc_cat=1&_nc_sid=8ae9d6&oe={expires:08X}&oh={signature:016x}")
}

fn expiry(now: DateTime<Utc>) -> i64 {
    let today = now.timestamp().div_euclid(DAY_SECS) * DAY_SECS;
    today + URL_LIFETIME_DAYS * DAY_SECS
}

#[derive(Deserialize)]
pub(super) struct CdnQuery {
    oe: Option<String>,
}

/// `GET /sandbox/cdn/{file}`: a still (`<id>.jpg`, `<id>_thumb.jpg`, `<user id>_profile.jpg`,
/// `ht<hashtag id>_….jpg` for public hashtag posts), or 404. Videos themselves (`.mp4`) are not
/// served.
pub(super) async fn serve(file: web::Path<String>, q: web::Query<CdnQuery>) -> HttpResponse {
    // Like the real CDN, the URL's expiry is checked before anything is looked up.
    if let Some(oe) = q.oe.as_deref() {
        match i64::from_str_radix(oe, 16) {
            Ok(expires) if expires < Utc::now().timestamp() => {
                return forbidden("URL signature expired");
            }
            Ok(_) => {}
            Err(_) => return forbidden("Bad URL timestamp"),
        }
    }
    let name = file.as_str();
    let drawn = match FILES.get(name) {
        Some(file) => match file.jpeg.get() {
            Some(bytes) => Ok(bytes.clone()),
            None => draw(move || file.render()).await,
        },
        None => match facebook::public_still(name) {
            Some((seed, still)) => match PUBLIC.get(name) {
                Some(bytes) => Ok(bytes),
                None => {
                    let drawn = draw(move || images::jpeg(&seed, &still).map(Bytes::from)).await;
                    if let Ok(bytes) = &drawn {
                        PUBLIC.insert(name.to_owned(), bytes.clone());
                    }
                    drawn
                }
            },
            None => {
                return HttpResponse::NotFound()
                    .content_type("text/plain; charset=utf-8")
                    .body("Not Found");
            }
        },
    };
    match drawn {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("image/jpeg")
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(bytes),
        Err(response) => response,
    }
}

/// Runs `render` off the async worker: drawing and encoding take up to a few hundred
/// milliseconds.
async fn draw(
    render: impl FnOnce() -> Result<Bytes, image::ImageError> + Send + 'static,
) -> Result<Bytes, HttpResponse> {
    match web::block(render).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            tracing::error!(%error, "sandbox: encoding a still failed");
            Err(HttpResponse::InternalServerError().finish())
        }
        Err(error) => {
            tracing::error!(%error, "sandbox: no blocking thread to draw a still");
            Err(HttpResponse::InternalServerError().finish())
        }
    }
}

/// The public hashtag posts' pictures (`facebook/public.rs`): any tag has them, so they are
/// drawn on demand and only the most recently used 32 MB are kept.
static PUBLIC: LazyLock<moka::sync::Cache<String, Bytes>> = LazyLock::new(|| {
    moka::sync::Cache::builder()
        .weigher(|_, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
        .max_capacity(32 * 1024 * 1024)
        .build()
});

/// A file the CDN serves: what to draw, and the JPEG once drawn.
struct File {
    /// What the picture is drawn from: the media id, or the username for a profile picture.
    seed: &'static str,
    still: &'static Still,
    jpeg: OnceLock<Bytes>,
}

impl File {
    /// Draws and encodes the still, and keeps the bytes. Two first requests at once may both
    /// draw it; the pictures are deterministic, so either copy will do.
    fn render(&self) -> Result<Bytes, image::ImageError> {
        let bytes = Bytes::from(images::jpeg(self.seed, self.still)?);
        Ok(self.jpeg.get_or_init(|| bytes).clone())
    }
}

/// Every file the CDN serves, by name, but the public hashtag posts' pictures. The set is fixed:
/// one per image and video thumbnail of the accounts' posts and album children (153 stills,
/// 75–200 KB each, and 48 more for the Facebook side's accounts) and one profile picture per
/// account (about 13 KB), so about 26 MB once every one has been asked for, and never more.
static FILES: LazyLock<HashMap<String, File>> = LazyLock::new(|| {
    let media = posts::all_media().filter_map(|media| {
        let (name, still) = media.still()?;
        Some((name, media.id.as_str(), still))
    });
    media
        .chain(profile::avatars())
        .chain(facebook::cdn_files())
        .map(|(name, seed, still)| {
            let jpeg = OnceLock::new();
            (name, File { seed, still, jpeg })
        })
        .collect()
});

fn forbidden(message: &'static str) -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/plain; charset=utf-8")
        .body(message)
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test as actix_test};
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn urls_expire_four_days_after_the_start_of_the_day() {
        let noon = Utc.with_ymd_and_hms(2026, 11, 28, 12, 34, 56).unwrap();
        let url = signed_url("http://h:1", "1.jpg", noon);
        let midnight_plus_4 = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let oe = format!("oe={:08X}&", midnight_plus_4.timestamp());
        assert!(url.starts_with("http://h:1/sandbox/cdn/1.jpg?_nc_cat=1&_nc_sid=8ae9d6&"));
        assert!(url.contains(&oe), "{url}");
        let later = Utc.with_ymd_and_hms(2026, 11, 28, 23, 59, 59).unwrap();
        assert_eq!(signed_url("http://h:1", "1.jpg", later), url);
    }

    #[test]
    fn oe_is_a_hex_time_after_now() {
        let now = Utc::now();
        let url = url::Url::parse(&signed_url("http://h", "1.jpg", now)).unwrap();
        let oe = url.query_pairs().find(|(k, _)| k == "oe").unwrap().1;
        assert_eq!(oe.len(), 8);
        assert!(i64::from_str_radix(&oe, 16).unwrap() >= now.timestamp());
    }

    async fn fetch(uri: &str) -> (u16, Option<String>, Bytes) {
        let app = actix_test::init_service(App::new().configure(super::super::configure)).await;
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri(uri).to_request())
                .await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, content_type, actix_test::read_body(response).await)
    }

    #[actix_web::test]
    async fn serves_stills_and_refuses_expired_or_unknown_files() {
        let post = &posts::posts(0)[0];
        let url = signed_url("", &format!("{}.jpg", post.media.id), Utc::now());
        let (status, content_type, body) = fetch(&url).await;
        assert_eq!(status, 200);
        assert_eq!(content_type.as_deref(), Some("image/jpeg"));
        let picture = image::load_from_memory(&body).unwrap();
        assert_eq!((picture.width(), picture.height()), (1080, 1080));
        assert_eq!(fetch(&url).await.2, body, "the same bytes again");

        // 0x5F5E1000 is 2020-09-13.
        let expired = format!("/sandbox/cdn/{}.jpg?oe=5F5E1000", post.media.id);
        let (status, _, body) = fetch(&expired).await;
        assert_eq!((status, &body[..]), (403, &b"URL signature expired"[..]));
        let garbled = format!("/sandbox/cdn/{}.jpg?oe=zz", post.media.id);
        assert_eq!(fetch(&garbled).await.0, 403);
        assert_eq!(fetch("/sandbox/cdn/123.jpg").await.0, 404);
        let svg = format!("/sandbox/cdn/{}.svg", post.media.id);
        assert_eq!(fetch(&svg).await.0, 404);
        let video = format!("/sandbox/cdn/{}.mp4", post.media.id);
        assert_eq!(fetch(&video).await.0, 404);
    }

    #[actix_web::test]
    async fn profile_pictures_and_other_accounts_stills_are_served() {
        let (file, _, _) = profile::avatars().nth(1).unwrap();
        assert_eq!(file, "17841400000000002_profile.jpg");
        let url = signed_url("", &file, Utc::now());
        let (status, content_type, body) = fetch(&url).await;
        assert_eq!((status, content_type.as_deref()), (200, Some("image/jpeg")));
        let picture = image::load_from_memory(&body).unwrap();
        assert_eq!((picture.width(), picture.height()), (320, 320));
        let expired = format!("/sandbox/cdn/{file}?oe=5F5E1000");
        assert_eq!(fetch(&expired).await.0, 403);

        let shop_post = &posts::posts(2)[1];
        let url = signed_url("", &format!("{}.jpg", shop_post.media.id), Utc::now());
        assert_eq!(fetch(&url).await.0, 200);
    }

    #[actix_web::test]
    async fn video_thumbnails_are_served_at_their_size() {
        let video = posts::all_media()
            .find(|m| m.media_type() == "VIDEO")
            .unwrap();
        let (file, still) = video.still().unwrap();
        assert_eq!(file, format!("{}_thumb.jpg", video.id));
        let (status, content_type, body) = fetch(&format!("/sandbox/cdn/{file}")).await;
        assert_eq!(status, 200);
        assert_eq!(content_type.as_deref(), Some("image/jpeg"));
        let picture = image::load_from_memory(&body).unwrap();
        assert_eq!(
            (picture.width(), picture.height()),
            (still.width, still.height)
        );
        assert_eq!(
            fetch(&format!("/sandbox/cdn/{}.jpg", video.id)).await.0,
            404
        );
    }
}
