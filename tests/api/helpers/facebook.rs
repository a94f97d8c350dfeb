//! Meta's Instagram API with Facebook Login, faked with wiremock on the same server as
//! Instagram (its paths do not overlap): the login's exchanges, the Pages, an account's media
//! and hashtag search, with the documented bodies.

use chrono::Utc;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::app::{TestApp, TestEnv, query_value};

pub const FB_APP_ID: &str = "3000000000000003";
pub const FB_APP_SECRET: &str = "test-facebook-app-secret-9z8y7x";
pub const FB_CODE: &str = "AQDfacebook-test-authorization-code";
pub const FB_SHORT_TOKEN: &str = "EAAGshort-lived-user-token-0001";
pub const FB_LONG_TOKEN: &str = "EAAGlong-lived-user-token-0002";
pub const IG_BUSINESS_ID: &str = "17841400000000501";
pub const IG_BUSINESS_USERNAME: &str = "acme.tags";
pub const IG_OTHER_ID: &str = "17841400000000502";
pub const IG_OTHER_USERNAME: &str = "acme.second";
/// The Facebook user's app-scoped id, as `/me?fields=id` gives it.
pub const FB_USER_ID: &str = "10160000000000042";

/// `GET /v25.0/oauth/access_token?...&code=` → the short-lived user token.
pub fn fb_code_exchange(expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("client_id", FB_APP_ID))
        .and(query_param("client_secret", FB_APP_SECRET))
        .and(query_param("code", FB_CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": FB_SHORT_TOKEN,
            "token_type": "bearer",
            "expires_in": 5183
        })))
        .expect(expect)
}

/// `grant_type=fb_exchange_token` → the long-lived user token (the documented body).
pub fn fb_long_lived(expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", FB_SHORT_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": FB_LONG_TOKEN,
            "token_type": "bearer",
            "expires_in": 5183944
        })))
        .expect(expect)
}

/// A Page, with a linked Instagram account when `ig` is given.
pub fn fb_page(id: &str, name: &str, ig: Option<(&str, &str)>) -> Value {
    let mut page = json!({"id": id, "name": name});
    if let Some((ig_id, username)) = ig {
        page["instagram_business_account"] = json!({"id": ig_id, "username": username});
    }
    page
}

/// `GET /v25.0/me/accounts` → `pages`.
pub fn fb_pages(pages: Vec<Value>, expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("access_token", FB_LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": pages,
            "paging": {"cursors": {"before": "QVFIUk1", "after": "QVFIUkx"}}
        })))
        .expect(expect)
}

/// `GET /v25.0/me?fields=id` → the Facebook user's id.
pub fn fb_me(expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", "id"))
        .and(query_param("access_token", FB_LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": FB_USER_ID})))
        .expect(expect)
}

/// The four calls of a login whose user has `pages`, each expected once.
pub async fn mount_facebook_login(upstream: &MockServer, pages: Vec<Value>) {
    fb_code_exchange(1).mount(upstream).await;
    fb_long_lived(1).mount(upstream).await;
    fb_pages(pages, 1).mount(upstream).await;
    fb_me(1).mount(upstream).await;
}

/// The account's own media on graph.facebook.com (`/{ig-user-id}/media`), one page.
pub async fn mount_facebook_media(
    upstream: &MockServer,
    ig_user_id: &str,
    items: Vec<Value>,
    expect: impl Into<wiremock::Times>,
) {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{ig_user_id}/media")))
        .and(query_param("access_token", FB_LONG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": items})))
        .expect(expect)
        .mount(upstream)
        .await;
}

/// A deterministic hashtag id for `tag` (Meta's are 17 digits, static and global).
pub fn hashtag_id(tag: &str) -> String {
    let sum: u64 = tag
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("1784{:013}", sum % 10u64.pow(13))
}

/// `GET /v25.0/ig_hashtag_search?user_id=&q=<tag>` → its id.
pub fn hashtag_search(tag: &str, expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/ig_hashtag_search"))
        .and(query_param("user_id", IG_BUSINESS_ID))
        .and(query_param("q", tag))
        .and(query_param("access_token", FB_LONG_TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": hashtag_id(tag)}]})),
        )
        .expect(expect)
}

/// Any `ig_hashtag_search` → an id derived from `q` (for tests of many tags).
pub struct AnyHashtag;

impl wiremock::Respond for AnyHashtag {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let q = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": hashtag_id(&q)}]}))
    }
}

/// A public post as `top_media` / `recent_media` return it: no `username`, `+0000` timestamps.
pub fn public_post(id: u64, hours_ago: i64, caption: &str) -> Value {
    let ts = (Utc::now() - chrono::Duration::hours(hours_ago)).format("%Y-%m-%dT%H:%M:%S%z");
    json!({
        "id": id.to_string(),
        "media_type": "IMAGE",
        "caption": caption,
        "media_url": format!("https://scontent.cdninstagram.com/v/t51/h{id}.jpg"),
        "permalink": format!("https://www.instagram.com/p/H{id}/"),
        "timestamp": ts.to_string(),
        "comments_count": 3,
        "like_count": 41
    })
}

/// `n` public posts with ids counting down from `first_id`.
pub fn public_posts(n: usize, first_id: u64, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| public_post(first_id - i as u64, i as i64, &format!("post {i} #{tag}")))
        .collect()
}

/// `items` as pages of 50 of the tag's `edge` (`top_media` or `recent_media`), each page
/// expected `times` times. Page k>0 is asked for with `after=c<k>`.
pub async fn mount_hashtag_media(
    upstream: &MockServer,
    tag: &str,
    edge: &str,
    items: &[Value],
    times: impl Into<wiremock::Times> + Clone,
) {
    let pages: Vec<&[Value]> = items.chunks(50).collect();
    let count = pages.len().max(1);
    for k in 0..count {
        let data = pages.get(k).copied().unwrap_or(&[]);
        let mut body =
            json!({"data": data, "paging": {"cursors": {"after": format!("c{}", k + 1)}}});
        if k + 1 < count {
            body["paging"]["next"] = json!(format!(
                "{}/v25.0/{}/{edge}?after=c{}",
                upstream.uri(),
                hashtag_id(tag),
                k + 1
            ));
        }
        let mut mock = Mock::given(method("GET"))
            .and(path(format!("/v25.0/{}/{edge}", hashtag_id(tag))))
            .and(query_param("user_id", IG_BUSINESS_ID))
            .and(query_param("limit", "50"))
            .and(query_param("access_token", FB_LONG_TOKEN));
        mock = if k == 0 {
            mock.and(query_param_is_missing("after"))
        } else {
            mock.and(query_param("after", format!("c{k}")))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(times.clone())
            .mount(upstream)
            .await;
    }
}

/// Any `ig_hashtag_search` → an id derived from `q` ([`AnyHashtag`]).
pub fn any_hashtag_search(expect: impl Into<wiremock::Times>) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/ig_hashtag_search"))
        .and(query_param("user_id", IG_BUSINESS_ID))
        .respond_with(AnyHashtag)
        .expect(expect)
}

/// `ig_hashtag_search?q=<tag>` answering `response` (Meta's errors, an empty `data`).
pub fn hashtag_search_answering(
    tag: &str,
    response: ResponseTemplate,
    expect: impl Into<wiremock::Times>,
) -> Mock {
    Mock::given(method("GET"))
        .and(path("/v25.0/ig_hashtag_search"))
        .and(query_param("q", tag))
        .respond_with(response)
        .expect(expect)
}

/// Every tag's `edge` (`top_media` or `recent_media`): `items`, on one last page.
pub fn any_hashtag_media(
    edge: &str,
    items: Vec<Value>,
    expect: impl Into<wiremock::Times>,
) -> Mock {
    Mock::given(method("GET"))
        .and(path_regex(format!(r"^/v25\.0/[0-9]+/{edge}$")))
        .and(query_param("user_id", IG_BUSINESS_ID))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": items})))
        .expect(expect)
}

/// Every page of `tag`'s `edge` answering `response`, ahead of what
/// [`mount_hashtag_media`] mounted (priority 1).
pub fn hashtag_media_answering(
    tag: &str,
    edge: &str,
    response: ResponseTemplate,
    expect: impl Into<wiremock::Times>,
) -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{}/{edge}", hashtag_id(tag))))
        .respond_with(response)
        .with_priority(1)
        .expect(expect)
}

/// Meta's answer once the account has queried 30 tags in 7 days (code 24, subcode 2207034,
/// as observed).
pub fn hashtag_limit_reached() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "(#24) The user has reached the limit of 30 unique hashtags queried in a rolling 7 day period",
        "type": "OAuthException",
        "code": 24,
        "error_subcode": 2207034,
        "fbtrace_id": "x"
    }}))
}

/// Requests to Meta's hashtag endpoints so far: id lookups, media edges, recently searched.
pub async fn hashtag_calls(upstream: &MockServer) -> usize {
    upstream
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            let p = r.url.path();
            p.ends_with("/ig_hashtag_search")
                || p.ends_with("/top_media")
                || p.ends_with("/recent_media")
                || p.ends_with("/recently_searched_hashtags")
        })
        .count()
}

/// `GET /{ig-user-id}/recently_searched_hashtags` → `ids`.
pub fn recently_searched(ids: &[String], expect: impl Into<wiremock::Times>) -> Mock {
    let data: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    Mock::given(method("GET"))
        .and(path(format!(
            "/v25.0/{IG_BUSINESS_ID}/recently_searched_hashtags"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": data})))
        .expect(expect)
}

impl TestEnv {
    /// Stores a Facebook Login token for `slug` (an account created with `login: facebook`),
    /// for [`IG_BUSINESS_ID`], expiring in `expires_in_days`.
    pub async fn store_facebook_token(&self, slug: &str, expires_in_days: i64) {
        let now = Utc::now();
        let record = instagram_gateway::auth::TokenRecord {
            access_token: FB_LONG_TOKEN.to_owned().into(),
            user_id: IG_BUSINESS_ID.to_owned(),
            app_scoped_user_id: None,
            username: Some(IG_BUSINESS_USERNAME.to_owned()),
            scopes: vec!["instagram_basic".to_owned()],
            obtained_at: now - chrono::Duration::days(60 - expires_in_days),
            expires_at: now + chrono::Duration::days(expires_in_days),
            refreshed_at: None,
            invalid: false,
            last_error: None,
            login: instagram_gateway::instagram::Login::Facebook,
        };
        assert!(self.repository_for(slug).save(&record, None).await.unwrap());
    }
}

impl TestApp {
    /// `POST /admin/accounts` with `login: facebook`.
    pub async fn create_facebook_account(&self, slug: &str) {
        let response = self
            .admin_send(
                reqwest::Method::POST,
                "/admin/accounts",
                Some(json!({"slug": slug, "login": "facebook"})),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    /// A fresh `state` for `slug` (`POST /admin/accounts/{slug}/reauth`).
    pub async fn account_state(&self, slug: &str) -> String {
        let response = self
            .admin_post(&format!("/admin/accounts/{slug}/reauth"))
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let url = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        query_value(&url, "state").unwrap()
    }

    /// `GET /admin/accounts/{slug}/hashtags`: the account's hashtag budget.
    pub async fn hashtag_budget(&self, slug: &str) -> Value {
        let response = self
            .admin_get(&format!("/admin/accounts/{slug}/hashtags"))
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}
