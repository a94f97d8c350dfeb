//! Instagram, faked with wiremock: the documented response bodies and the mocks that serve them.

use chrono::Utc;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

// The fake app and account: what the service is configured with and what Instagram answers.
pub const CLIENT_ID: &str = "990602627938098";
pub const CLIENT_SECRET: &str = "test-client-secret-a1b2C3D4e5";
pub const SHORT_TOKEN: &str = "IGQWshort-lived-test-token-0001";
pub const LONG_TOKEN: &str = "IGQWlong-lived-test-token-0002";
pub const REFRESHED_TOKEN: &str = "IGQWrefreshed-test-token-0003";
pub const CODE: &str = "AQBx-hBsH3test-authorization-code";
pub const USER_ID: &str = "17841405309211844";
pub const APP_USER_ID: &str = "10200000000001";
pub const USERNAME: &str = "acme.coffee";

/// The code exchange in the documented `{"data": [...]}` shape.
pub fn documented_code_exchange() -> Value {
    json!({"data": [{
        "access_token": SHORT_TOKEN,
        "user_id": APP_USER_ID,
        "permissions": "instagram_business_basic,instagram_business_manage_messages"
    }]})
}

/// The flat shape some apps get, with a numeric user_id.
pub fn flat_code_exchange() -> Value {
    json!({
        "access_token": SHORT_TOKEN,
        "user_id": 10200000000001u64,
        "permissions": "instagram_business_basic"
    })
}

pub fn code_exchange(body: Value, expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .and(wiremock::matchers::body_string_contains(format!(
            "client_id={CLIENT_ID}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(expect)
}

pub fn long_lived_exchange(expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/access_token"))
        .and(query_param("grant_type", "ig_exchange_token"))
        .and(query_param("client_secret", CLIENT_SECRET))
        .and(query_param("access_token", SHORT_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": LONG_TOKEN,
            "token_type": "bearer",
            "expires_in": 5183944
        })))
        .expect(expect)
}

pub fn me(body: Value, expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", "user_id,username"))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(expect)
}

pub fn documented_me() -> Value {
    json!({"data": [{"user_id": USER_ID, "username": USERNAME}]})
}

pub fn refresh(response: ResponseTemplate, expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", LONG_TOKEN))
        .respond_with(response)
        .expect(expect)
}

pub fn refreshed() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": REFRESHED_TOKEN,
        "token_type": "bearer",
        "expires_in": 5183944,
        "permissions": "instagram_business_basic"
    }))
}

pub fn graph_error(
    status: u16,
    code: i64,
    subcode: Option<i64>,
    message: &str,
) -> ResponseTemplate {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "EJplcsCHuLu"});
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

/// Mounts the three successful login calls, each expected exactly once.
pub async fn mount_login(upstream: &MockServer) {
    code_exchange(documented_code_exchange(), 1)
        .mount(upstream)
        .await;
    long_lived_exchange(1).mount(upstream).await;
    me(documented_me(), 1).mount(upstream).await;
}

/// Calls made to a path so far.
/// Reads of `/me` that identify the account at login (not the profile reads of syncs).
pub async fn login_me_calls(upstream: &MockServer) -> usize {
    upstream
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.url.path() == "/v25.0/me"
                && r.url
                    .query_pairs()
                    .any(|(k, v)| k == "fields" && v == "user_id,username")
        })
        .count()
}

pub async fn calls_to(upstream: &MockServer, p: &str) -> usize {
    upstream
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

// ---- The media edge ---------------------------------------------------------------------------

/// An IG Media object as Instagram sends it: `+0000` timestamps, `oe`-signed URLs.
pub fn image_post(id: u64, hours_ago: i64, caption: Option<&str>) -> Value {
    let ts = (Utc::now() - chrono::Duration::hours(hours_ago)).format("%Y-%m-%dT%H:%M:%S%z");
    let mut post = json!({
        "id": id.to_string(),
        "media_type": "IMAGE",
        "media_url": format!("https://scontent.cdninstagram.com/v/t51/{id}.jpg?_nc_sid=8ae9d6&oe={:X}", far_expiry()),
        "permalink": format!("https://www.instagram.com/p/P{id}/"),
        "timestamp": ts.to_string(),
        "username": USERNAME,
    });
    if let Some(caption) = caption {
        post["caption"] = json!(caption);
    }
    post
}

/// An `oe` a week ahead: never the reason for a sync in tests that do not ask for it.
pub fn far_expiry() -> i64 {
    (Utc::now() + chrono::Duration::days(7)).timestamp()
}

/// `n` image posts, newest first, ids counting down from `first_id`.
pub fn posts(n: usize, first_id: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            image_post(
                first_id - i as u64,
                i as i64 + 1,
                Some(&format!("post number {i}")),
            )
        })
        .collect()
}

/// Mounts `items` as Graph API pages of `page_size`, each page expected `times` times.
/// Page k>0 is requested with `after=cursor-k`; the last page has no `next`.
pub async fn mount_media(
    upstream: &MockServer,
    items: &[Value],
    page_size: usize,
    times: impl Into<wiremock::Times> + Clone,
) {
    mount_media_for(upstream, LONG_TOKEN, items, page_size, times).await;
}

/// [`mount_media`] answering requests made with `token`.
pub async fn mount_media_for(
    upstream: &MockServer,
    token: &str,
    items: &[Value],
    page_size: usize,
    times: impl Into<wiremock::Times> + Clone,
) {
    let pages: Vec<&[Value]> = items.chunks(page_size.max(1)).collect();
    let count = pages.len().max(1);
    for k in 0..count {
        let data = pages.get(k).copied().unwrap_or(&[]);
        let mut body = json!({"data": data, "paging": {"cursors": {"before": format!("before-{k}"), "after": format!("cursor-{}", k + 1)}}});
        if k + 1 < count {
            body["paging"]["next"] = json!(format!(
                "{}/v25.0/me/media?after=cursor-{}",
                upstream.uri(),
                k + 1
            ));
        }
        let mut mock = Mock::given(method("GET"))
            .and(path("/v25.0/me/media"))
            .and(query_param("access_token", token));
        mock = if k == 0 {
            mock.and(wiremock::matchers::query_param_is_missing("after"))
        } else {
            mock.and(query_param("after", format!("cursor-{k}")))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(times.clone())
            .mount(upstream)
            .await;
    }
}

/// Media calls made so far.
pub async fn media_calls(upstream: &MockServer) -> usize {
    calls_to(upstream, "/v25.0/me/media").await
}
