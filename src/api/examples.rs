//! Example bodies for the OpenAPI document (`example = json!(examples::...)` in the
//! `#[utoipa::path]` attributes). They are real answers of the sandbox (`instagram.mode =
//! "sandbox"`) on the local default address, so the reference shows what a frontend will get.
//! Spectral (`oas3-valid-media-example`) checks each one against its schema.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// A sandbox CDN URL, signed like Instagram's (`oe` is the hex expiry, `oh` the signature).
fn cdn(file: &str, oh: &str) -> String {
    format!("http://127.0.0.1:8080/sandbox/cdn/{file}?_nc_cat=1&_nc_sid=8ae9d6&oe=6B135400&oh={oh}")
}

/// The `image` object of a picture re-hosted from `id`'s still of `width` x `height`, at the
/// default widths (320, 640, 1080). Keys are the content hashes the real copies would have.
fn rehosted(id: &str, width: u32, height: u32) -> Value {
    let sizes: Vec<Value> = [320, 640, 1080]
        .into_iter()
        .map(|w| {
            let key: String = Sha256::digest(format!("{id}-{w}").as_bytes())[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            json!({
                "width": w,
                "height": (f64::from(height) * f64::from(w) / f64::from(width)).round(),
                "url": format!("http://127.0.0.1:8080/assets/{key}.webp"),
            })
        })
        .collect();
    json!({
        "width": width,
        "height": height,
        "placeholder": "3OcRJYB4d3h/iIeHeEh3eIhw+j3A",
        "color": "#8a6f5c",
        "sizes": sizes,
    })
}

/// `item` once its pictures are re-hosted: `image` set and `display_url` the largest copy.
fn with_images(mut item: Value, shapes: &[(u32, u32)]) -> Value {
    let own = |item: &mut Value, id: &str, (w, h): (u32, u32)| {
        let image = rehosted(id, w, h);
        item["display_url"] = image["sizes"][2]["url"].clone();
        item["image"] = image;
    };
    let id = item["id"].as_str().unwrap_or_default().to_owned();
    let children = item["children"].as_array().cloned().unwrap_or_default();
    if children.is_empty() {
        own(&mut item, &id, shapes[0]);
    } else {
        for (i, (child, shape)) in children.iter().zip(shapes).enumerate() {
            let child_id = child["id"].as_str().unwrap_or_default().to_owned();
            own(&mut item["children"][i], &child_id, *shape);
        }
        item["image"] = item["children"][0]["image"].clone();
        item["display_url"] = item["children"][0]["display_url"].clone();
    }
    item
}

fn image() -> Value {
    let url = cdn("17950000000857678.jpg", "2f1da921fdf6f130");
    json!({
        "id": "17950000000857678",
        "media_type": "IMAGE",
        "caption": "First frost on the terrace. #winter #garden",
        "hashtags": ["winter", "garden"],
        "permalink": "https://www.instagram.com/p/XqXzhbFqRfA/",
        "timestamp": "2026-11-01T12:34:59Z",
        "username": "sandbox.gallery",
        "like_count": 573,
        "comments_count": 20,
        "media_url": url,
        "thumbnail_url": null,
        "display_url": url,
        "image": null,
        "children": []
    })
}

fn album() -> Value {
    let cover = cdn("18671890712729625.jpg", "3335fb0a45fcddab");
    let still = cdn("18622553376832623_thumb.jpg", "523473b758449d01");
    let last = cdn("18014405889429967.jpg", "1f797be143258850");
    json!({
        "id": "17948765432584007",
        "media_type": "CAROUSEL_ALBUM",
        "caption": "Weekend market haul 🧺 #café #market #Café",
        "hashtags": ["café", "market"],
        "permalink": "https://www.instagram.com/p/iN9mZ_suqJE/",
        "timestamp": "2026-10-30T23:37:20Z",
        "username": "sandbox.gallery",
        "like_count": 806,
        "comments_count": 36,
        "media_url": cover,
        "thumbnail_url": null,
        "display_url": cover,
        "image": null,
        "children": [
            {"id": "18671890712729625", "media_type": "IMAGE", "media_url": cover,
             "thumbnail_url": null, "display_url": cover, "image": null},
            {"id": "18622553376832623", "media_type": "VIDEO",
             "media_url": cdn("18622553376832623.mp4", "310455e92d836840"),
             "thumbnail_url": still, "display_url": still, "image": null},
            {"id": "18014405889429967", "media_type": "IMAGE", "media_url": last,
             "thumbnail_url": null, "display_url": last, "image": null}
        ]
    })
}

fn sunset_image() -> Value {
    let url = cdn("17947530864923383.jpg", "fc6c802c6e0bf84c");
    json!({
        "id": "17947530864923383",
        "media_type": "IMAGE",
        "caption": "golden hour #sunset#beach.",
        "hashtags": ["sunset", "beach"],
        "permalink": "https://www.instagram.com/p/W75Hs7lf5ng/",
        "timestamp": "2026-10-29T10:40:39Z",
        "username": "sandbox.gallery",
        "like_count": 864,
        "comments_count": 27,
        "media_url": url,
        "thumbnail_url": null,
        "display_url": url,
        "image": null,
        "children": []
    })
}

fn sunset_video() -> Value {
    let still = cdn("17946296297188783_thumb.jpg", "98a1cc8ce55ab522");
    json!({
        "id": "17946296297188783",
        "media_type": "VIDEO",
        "caption": "Waves, on repeat. #ocean #sunset 🌊",
        "hashtags": ["ocean", "sunset"],
        "permalink": "https://www.instagram.com/p/EFCZfXKO7zI/",
        "timestamp": "2026-10-27T21:38:33Z",
        "username": "sandbox.gallery",
        "like_count": 323,
        "comments_count": 10,
        "media_url": cdn("17946296297188783.mp4", "d3c6c92dea305412"),
        "thumbnail_url": still,
        "display_url": still,
        "image": null,
        "children": []
    })
}

fn dessert() -> Value {
    let url = cdn("17929012346167077.jpg", "541ec43da532d94e");
    json!({
        "id": "17929012346167077",
        "media_type": "IMAGE",
        "caption": "crème brûlée #dessert #crèmebrûlée",
        "hashtags": ["dessert", "crèmebrûlée"],
        "permalink": "https://www.instagram.com/p/YFXGg3vdp6Y/",
        "timestamp": "2026-10-06T07:00:57Z",
        "username": "sandbox.gallery",
        "like_count": 220,
        "comments_count": 46,
        "media_url": url,
        "thumbnail_url": null,
        "display_url": url,
        "image": null,
        "children": []
    })
}

/// `GET /images?limit=2`.
pub fn first_page() -> Value {
    json!({
        "data": [
            with_images(image(), &[(1080, 1350)]),
            with_images(album(), &[(1080, 1080), (1080, 1920), (1080, 566)])
        ],
        "paging": {"next_cursor": "MTc5MzQwMzQ0MC4xNzk0ODc2NTQzMjU4NDAwNw"}
    })
}

/// `GET /images?limit=2&cursor=MTc5MzQwMzQ0MC4xNzk0ODc2NTQzMjU4NDAwNw`: the next two.
pub fn second_page() -> Value {
    json!({
        "data": [
            with_images(sunset_image(), &[(1080, 1080)]),
            with_images(sunset_video(), &[(1080, 1920)])
        ],
        "paging": {"next_cursor": "MTc5MzEzNzExMy4xNzk0NjI5NjI5NzE4ODc4Mw"}
    })
}

/// `GET /images/17942592593543863`: a reel whose `media_url` Instagram withholds.
pub fn reel() -> Value {
    with_images(reel_from_instagram(), &[(1080, 1920)])
}

fn reel_from_instagram() -> Value {
    let still = cdn("17942592593543863_thumb.jpg", "737ef784dd4bb9de");
    json!({
        "id": "17942592593543863",
        "media_type": "VIDEO",
        "caption": "Behind the scenes of our autumn shoot, sound on 🎬 #reels #bts",
        "hashtags": ["reels", "bts"],
        "permalink": "https://www.instagram.com/p/XKpDzDkOH48/",
        "timestamp": "2026-10-23T06:20:23Z",
        "username": "sandbox.gallery",
        "like_count": 529,
        "comments_count": 39,
        "media_url": null,
        "thumbnail_url": still,
        "display_url": still,
        "image": null,
        "children": []
    })
}

/// `GET /images/17948765432584007`.
pub fn one_album() -> Value {
    with_images(album(), &[(1080, 1080), (1080, 1920), (1080, 566)])
}

/// `GET /search?q=%23sunset&limit=2`.
pub fn hashtag_search() -> Value {
    second_page()
}

/// `GET /search?q=creme%20brulee`: words match without case or accents; the last page.
pub fn word_search() -> Value {
    json!({"data": [dessert()], "paging": {"next_cursor": null}})
}

/// `GET /search?q=nothing-here`.
pub fn no_match() -> Value {
    json!({"data": [], "paging": {"next_cursor": null}})
}

/// An `application/problem+json` body, as `crate::error` writes it.
pub fn problem(kind: &str, title: &str, status: u16, detail: &str) -> Value {
    json!({"type": kind, "title": title, "status": status, "detail": detail})
}

pub fn invalid_request(detail: &str) -> Value {
    problem("invalid_request", "Invalid request", 400, detail)
}

pub fn unauthorized() -> Value {
    problem(
        "unauthorized",
        "Unauthorized",
        401,
        "send the admin token as `Authorization: Bearer <admin.token>`",
    )
}

pub fn rate_limited() -> Value {
    problem(
        "rate_limited",
        "Too many requests",
        429,
        "this client sent too many requests; retry in 1 s",
    )
}

pub fn upstream_error(detail: &str) -> Value {
    problem("upstream_error", "Instagram request failed", 502, detail)
}

pub fn feed_unavailable(detail: &str) -> Value {
    problem("feed_unavailable", "Feed unavailable", 503, detail)
}

pub fn store_unavailable() -> Value {
    problem(
        "store_unavailable",
        "Store unavailable",
        503,
        "the service's store is not answering; try again shortly",
    )
}

/// `GET /admin/status` → `token`, right after the sandbox round trip.
pub fn token_status() -> Value {
    json!({
        "state": "valid",
        "user_id": "17841400000000001",
        "username": "sandbox.gallery",
        "scopes": ["instagram_business_basic"],
        "obtained_at": "2026-12-01T02:34:17.507219945Z",
        "expires_at": "2027-01-30T02:34:17.505904085Z",
        "refreshed_at": null,
        "reauth_required": false,
        "expires_soon": false,
        "login": "instagram",
        "last_error": null
    })
}

/// `GET /admin/status` → `feed`: the sandbox's 60 posts, synced.
pub fn feed_status() -> Value {
    json!({
        "version": "2994e43bf2f35606a51a24e3",
        "synced_at": "2026-12-01T02:34:26.194555876Z",
        "items": 60,
        "next_sync_at": "2026-12-01T02:49:26.194555876Z",
        "urls_expire_at": "2026-12-05T00:00:00Z",
        "last_error": null,
        "rate_limit": {
            "app": {"call_count": 1.0, "total_cputime": 1.0, "total_time": 1.0},
            "business_use_case": {},
            "max_percent": 1.0,
            "regain_access_minutes": null,
            "observed_at": "2026-12-01T02:34:26.193434712Z"
        }
    })
}

pub fn admin_status() -> Value {
    json!({"token": token_status(), "feed": feed_status(), "assets": asset_status()})
}

/// The re-hosted pictures of the sandbox feed, all ready.
pub fn asset_status() -> Value {
    json!({"enabled": true, "store": "memory", "ready": 71, "pending": 0, "failed": 0, "bytes": 9_437_184})
}

/// The same, before any account is connected (or after a deauthorize).
pub fn admin_status_missing() -> Value {
    json!({
        "token": {
            "state": "missing",
            "user_id": null,
            "username": null,
            "scopes": [],
            "obtained_at": null,
            "expires_at": null,
            "refreshed_at": null,
            "reauth_required": true,
            "expires_soon": false,
            "login": "instagram",
            "last_error": null
        },
        "feed": {
            "version": null,
            "synced_at": null,
            "items": 0,
            "next_sync_at": null,
            "urls_expire_at": null,
            "last_error": null,
            "rate_limit": null
        },
        "assets": {"enabled": true, "store": "memory", "ready": 0, "pending": 0, "failed": 0, "bytes": 0}
    })
}

/// `POST /admin/token/refresh`: the token a day later, refreshed.
pub fn refreshed_status() -> Value {
    let mut status = admin_status();
    status["token"]["expires_at"] = json!("2027-01-31T03:02:44.861920347Z");
    status["token"]["refreshed_at"] = json!("2026-12-02T03:02:44.861920347Z");
    status
}

pub fn assets_retry() -> Value {
    let mut status = asset_status();
    status["ready"] = json!(68);
    status["pending"] = json!(3);
    json!({"requeued": 3, "assets": status})
}

pub fn sync_response() -> Value {
    json!({"feed": feed_status()})
}

/// `POST /admin/accounts/{slug}/reauth` for the sandbox's second account.
pub fn reauth_response() -> Value {
    json!({
        "authorize_url": "http://127.0.0.1:8080/sandbox/oauth/authorize?client_id=1000000000000001&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Foauth%2Fcallback&response_type=code&scope=instagram_business_basic&state=k7Qm0aZ3xY9vB2nC4dE6fG8hJ1kL3mN5pQ7rS9tU0wX&force_authentication=1&enable_fb_login=0",
        "state_expires_at": "2026-12-01T02:44:21.491844507Z"
    })
}

pub fn account_not_found() -> Value {
    problem(
        "account_not_found",
        "Account not found",
        404,
        "no account `shop`",
    )
}

/// `POST /admin/accounts` `{"slug": "shop", "label": "The shop in Lyon"}`: not connected yet.
pub fn new_account() -> Value {
    let missing = admin_status_missing();
    json!({
        "slug": "shop",
        "label": "The shop in Lyon",
        "created_at": "2026-12-01T02:40:03.118254201Z",
        "login": "instagram",
        "default": false,
        "token": missing["token"],
        "feed": missing["feed"],
    })
}

/// `GET /admin/accounts/default`: the sandbox account, synced.
pub fn account() -> Value {
    json!({
        "slug": "default",
        "label": null,
        "created_at": "2026-12-01T02:34:16.902114387Z",
        "login": "instagram",
        "default": true,
        "token": token_status(),
        "feed": feed_status(),
    })
}

/// `GET /admin/accounts`: the default account connected, another one not yet.
pub fn account_list() -> Value {
    json!({"accounts": [account(), new_account()], "max": 100})
}

/// `GET /admin/accounts/{slug}/filters`: no giveaways, no stories without words.
pub fn filters() -> Value {
    json!({
        "types": ["IMAGE", "CAROUSEL_ALBUM"],
        "caption_includes": [],
        "caption_excludes": ["giveaway", "#ad"],
        "hide_without_caption": true
    })
}

/// `GET /admin/accounts/{slug}/curation`.
pub fn curation() -> Value {
    json!({
        "revision": "q3ZPb1x9V0KAcTmE",
        "hidden": ["17841400008460056"],
        "pinned": ["17918195224117851"],
        "filters": filters()
    })
}

/// `GET /admin/accounts/{slug}/posts`: one pinned post, one hidden, one filtered out.
pub fn curated_posts() -> Value {
    json!({"data": [
        {"id": "17950000000857678", "media_type": "IMAGE",
         "caption": "First frost on the terrace. #winter #garden",
         "timestamp": "2026-11-01T12:34:59Z",
         "thumbnail_url": "https://gateway.example.com/assets/3f9a5be04c1d27e8a0b6f1c2d3e4f5a6.webp",
         "hidden": false, "pinned": null, "shown": true},
        {"id": "17948765432584007", "media_type": "CAROUSEL_ALBUM",
         "caption": "Giveaway! Win a mug #ad",
         "timestamp": "2026-10-30T23:37:20Z",
         "thumbnail_url": "https://gateway.example.com/assets/7c2e9d41b0a3f5e6d7c8b9a0e1f2a3b4.webp",
         "hidden": false, "pinned": null, "shown": false},
        {"id": "17841400008460056", "media_type": "VIDEO", "caption": null,
         "timestamp": "2026-10-12T08:00:00Z",
         "thumbnail_url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp",
         "hidden": true, "pinned": null, "shown": false},
        {"id": "17918195224117851", "media_type": "IMAGE", "caption": "Our shop in Lyon",
         "timestamp": "2026-09-26T22:36:43Z",
         "thumbnail_url": "https://gateway.example.com/assets/9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.webp",
         "hidden": false, "pinned": 1, "shown": true}
    ]})
}

/// A webhook endpoint as `GET /admin/webhooks/{id}` shows it.
pub fn webhook() -> Value {
    json!({
        "id": "ep_3kT9vQm2LxW8pZr4NbY6cHd1",
        "url": "https://example.com/hooks/instagram",
        "events": ["feed.updated", "account.disconnected"],
        "accounts": ["shop"],
        "description": "The shop's site: rebuild on new posts",
        "enabled": true,
        "disabled_reason": null,
        "created_at": "2026-12-01T09:30:00Z",
        "updated_at": "2026-12-01T09:30:00Z",
        "previous_secret_expires_at": null,
    })
}

/// `POST /admin/webhooks`: the endpoint and its secret, shown this once.
pub fn new_webhook() -> Value {
    let mut value = webhook();
    value["secret"] = json!("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD6uSnTwFm2lA=");
    value
}

pub fn webhook_list() -> Value {
    json!({"webhooks": [webhook()], "max": 100})
}

pub fn rotated_secret() -> Value {
    json!({
        "secret": "whsec_ZbAmgNVlbXx8ZxIM4Vb9vgc1pHtTmAhwx4Ki2Mvaf0s=",
        "previous_secret_expires_at": "2026-12-02T10:00:00Z",
    })
}

pub fn webhook_test() -> Value {
    json!({"event_id": "msg_9fR2kLw7XcV1bN4mQz8TpY3s"})
}

pub fn deliveries() -> Value {
    json!({"deliveries": [
        {
            "event_id": "msg_9fR2kLw7XcV1bN4mQz8TpY3s",
            "type": "feed.updated",
            "status": "pending",
            "attempts": 2,
            "last_status": 503,
            "last_error": "the receiver answered 503",
            "created_at": "2026-12-01T10:00:00Z",
            "last_attempt_at": "2026-12-01T10:00:05Z",
            "next_attempt_at": "2026-12-01T10:05:05Z",
        },
        {
            "event_id": "msg_4hQ8sDk2WnZ7cV1xLp9RbT6m",
            "type": "account.connected",
            "status": "succeeded",
            "attempts": 1,
            "last_status": 204,
            "last_error": null,
            "created_at": "2026-12-01T09:31:12Z",
            "last_attempt_at": "2026-12-01T09:31:12Z",
            "next_attempt_at": null,
        },
    ]})
}

pub fn webhook_not_found() -> Value {
    problem(
        "webhook_not_found",
        "Webhook endpoint not found",
        404,
        "no webhook endpoint `ep_3kT9vQm2LxW8pZr4NbY6cHd1`",
    )
}

pub fn webhook_url_refused() -> Value {
    problem(
        "webhook_url_refused",
        "Webhook URL refused",
        422,
        "`url` points at a private, loopback or link-local address (webhooks.allow_private_networks is false)",
    )
}

/// `GET /admin/accounts/tags/hashtags`: three of the 30 weekly hashtags counted.
pub fn hashtag_budget() -> Value {
    json!({
        "weekly_budget": 30,
        "operator_reserve": 5,
        "used": 3,
        "left": 27,
        "left_for_visitors": 22,
        "tags": [
            {"tag": "coffee", "hashtag_id": "17843857450040591", "counted_at": "2026-11-28T09:12:44Z", "expires_at": "2026-12-05T09:12:44Z"},
            {"tag": "latteart", "hashtag_id": "17841562906103814", "counted_at": "2026-11-30T16:03:10Z", "expires_at": "2026-12-07T16:03:10Z"},
            {"tag": null, "hashtag_id": "17841563587120501", "counted_at": "2026-12-01T08:00:00Z", "expires_at": "2026-12-08T08:00:00Z"}
        ]
    })
}

/// `POST /admin/accounts/tags/hashtags/coffee/warm`.
pub fn hashtag_warmed() -> Value {
    json!({
        "tag": "coffee",
        "top": 100,
        "recent": 38,
        "budget": hashtag_budget()
    })
}

/// A new hashtag beyond the weekly budget.
pub fn hashtag_budget_exhausted() -> Value {
    problem(
        "hashtag_budget_exhausted",
        "Hashtag budget exhausted",
        429,
        "the account's weekly hashtag budget is used up (25 of 25 new hashtags in 7 days); #latte can be searched from 2026-12-05T09:12:44Z",
    )
}
