//! `GET /sandbox/graph/{version}/me`: the token's account, shaped by `fields` as Instagram
//! Login's `/me` is, and the profile pictures its `profile_picture_url` points at.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::fields::{Fields, put};
use super::images::{Overlay, Still};
use super::tokens::{self, Lifetime};
use super::users::{self, User};
use super::{cdn, invalid_token, request_base};

/// What `/me` answers without `fields`: what the gateway has always asked for (`id` comes
/// anyway).
const DEFAULT_FIELDS: &str = "user_id,username";
/// Instagram serves profile pictures at 320x320 to API clients.
const AVATAR_SIZE: u32 = 320;

#[derive(Deserialize)]
pub(super) struct MeQuery {
    access_token: Option<String>,
    fields: Option<String>,
}

pub(super) async fn me(req: HttpRequest, q: web::Query<MeQuery>) -> HttpResponse {
    let token = q.access_token.as_deref();
    let Some((_, user)) = tokens::user_of(token, Lifetime::Long) else {
        return invalid_token();
    };
    let spec = q.fields.as_deref().filter(|f| !f.trim().is_empty());
    let fields = Fields::parse(spec.unwrap_or(DEFAULT_FIELDS));
    let body = render(user, &fields, &request_base(&req), Utc::now());
    HttpResponse::Ok().json(Value::Object(body))
}

/// The account's profile. Unknown field names are ignored, as on `/me/media`.
fn render(account: &User, fields: &Fields, base: &str, now: DateTime<Utc>) -> Map<String, Value> {
    let mut body = Map::new();
    let picture = cdn::signed_url(base, &avatar_file(account), now);
    let values: [(&str, Option<Value>); 11] = [
        ("id", Some(account.app_scoped_id.into())),
        ("user_id", Some(account.user_id.into())),
        ("username", Some(account.username.into())),
        ("name", Some(account.name.into())),
        ("account_type", Some(account.account_type.into())),
        ("profile_picture_url", Some(picture.into())),
        ("followers_count", Some(account.followers_count.into())),
        ("follows_count", Some(account.follows_count.into())),
        ("media_count", Some(account.media_count().into())),
        ("biography", account.biography.map(Value::from)),
        ("website", account.website.map(Value::from)),
    ];
    for (key, value) in values {
        put(&mut body, fields, key, value);
    }
    body
}

/// The CDN file of the account's profile picture; `_profile` keeps it apart from media files
/// (`<media id>.jpg`, `<media id>_thumb.jpg`).
pub(super) fn avatar_file(user: &User) -> String {
    format!("{}_profile.jpg", user.user_id)
}

/// One profile picture per account, in the order of [`users::all`].
static AVATARS: LazyLock<Vec<Still>> = LazyLock::new(|| users::all().iter().map(avatar).collect());

/// The profile picture of `owner`, to be served as [`avatar_file`].
pub(super) fn avatar(owner: &'static User) -> Still {
    Still {
        width: AVATAR_SIZE,
        height: AVATAR_SIZE,
        owner,
        overlay: Overlay::Avatar,
    }
}

/// Every profile picture the CDN serves: its file, the seed it is drawn from, and the still.
pub(super) fn avatars() -> impl Iterator<Item = (String, &'static str, &'static Still)> {
    AVATARS
        .iter()
        .map(|still| (avatar_file(still.owner), still.owner.username, still))
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test as actix_test};

    use super::*;

    fn get(user: usize, spec: &str) -> Map<String, Value> {
        let account = users::get(user).unwrap();
        render(account, &Fields::parse(spec), "http://h:1", Utc::now())
    }

    fn keys(body: &Map<String, Value>) -> Vec<&str> {
        let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    const ALL: &str = "user_id,username,id,name,account_type,profile_picture_url,\
                       followers_count,follows_count,media_count,biography,website";

    #[test]
    fn only_the_asked_fields_come_back_with_the_id() {
        let body = get(1, "username,followers_count");
        assert_eq!(keys(&body), ["followers_count", "id", "username"]);
        assert_eq!(body["username"], "sandbox.cafe");
        assert_eq!(body["id"], "1020000000000002");
        assert_eq!(body["followers_count"], 5321);
        assert_eq!(get(0, "unknown_field").len(), 1, "unknown names ignored");
    }

    #[test]
    fn every_field_for_every_account() {
        for (user, account) in users::all().iter().enumerate() {
            let body = get(user, ALL);
            assert_eq!(body["user_id"], account.user_id);
            assert_eq!(body["media_count"], account.media_count());
            assert!(body.values().all(|v| !v.is_null()));
            let picture = body["profile_picture_url"].as_str().unwrap();
            assert!(
                picture.starts_with(&format!(
                    "http://h:1/sandbox/cdn/{}_profile.jpg?",
                    account.user_id
                )),
                "{picture}"
            );
            assert!(picture.contains("&oe="), "{picture}");
        }
        assert_eq!(get(0, ALL).len(), 11);
        assert_eq!(get(0, ALL)["website"], "https://gallery.example.com/");
        let shop = get(2, ALL);
        assert_eq!(shop.len(), 9);
        assert!(shop.get("biography").is_none() && shop.get("website").is_none());
    }

    async fn call(uri: &str) -> (u16, Value) {
        let app = actix_test::init_service(App::new().configure(super::super::configure)).await;
        let request = actix_test::TestRequest::get().uri(uri).to_request();
        let response = actix_test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let body = actix_test::read_body(response).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    /// Without `fields`, what `/me` has always answered; the token picks the account.
    #[actix_web::test]
    async fn me_answers_for_the_tokens_account() {
        let token = tokens::issue(Lifetime::Long, 2);
        let (status, body) = call(&format!("/sandbox/graph/v25.0/me?access_token={token}")).await;
        assert_eq!(status, 200);
        let expected = serde_json::json!({
            "user_id": "17841400000000003", "username": "sandbox.shop", "id": "1020000000000003"
        });
        assert_eq!(body, expected);
        let token = tokens::issue(Lifetime::Long, 0);
        let uri = format!("/sandbox/graph/v25.0/me?access_token={token}&fields=name");
        assert_eq!(call(&uri).await.1["name"], "Sandbox Gallery");
        let short = tokens::issue(Lifetime::Short, 0);
        let (status, body) = call(&format!("/sandbox/graph/v25.0/me?access_token={short}")).await;
        assert_eq!((status, &body["error"]["code"]), (400, &Value::from(190)));
    }
}
