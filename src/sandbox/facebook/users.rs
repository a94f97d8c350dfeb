//! The Facebook users, their Pages and the Instagram business accounts linked to some of them;
//! `/me/accounts` (a user's Pages) and an account's profile, `/{ig-user-id}`.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::cdn;
use super::super::fields::{Fields, put};
use super::super::images::Still;
use super::super::invalid_token;
use super::super::media::{self, MediaQuery};
use super::super::posts::{self, Post};
use super::super::profile;
use super::super::tokens::Lifetime;
use super::super::users::User;
use super::{NO_NODE, NodeQuery, data_user, tables, tokens};

/// A Facebook user who logs in to the app: `sandbox_fb_user=<name>` picks one.
pub(super) struct FacebookUser {
    pub name: &'static str,
    pub pages: &'static [Page],
}

impl FacebookUser {
    /// The Instagram account with id `ig_user_id`, if one of the user's Pages links it: what
    /// every call naming an IG user checks.
    pub fn reaches(&self, ig_user_id: &str) -> Option<&'static User> {
        self.pages
            .iter()
            .filter_map(|page| page.instagram)
            .find(|account| account.user_id == ig_user_id)
    }
}

pub(super) struct Page {
    pub id: &'static str,
    pub name: &'static str,
    /// The Instagram business account linked to the Page (`instagram_business_account`).
    pub instagram: Option<&'static User>,
}

// Facebook Login knows no app-scoped Instagram id: `app_scoped_id` repeats `user_id`. The ids
// are 178414000000001xx, apart from the Instagram Login accounts' 1784140000000000x.

static TAGS: User = User {
    user_id: "17841400000000101",
    app_scoped_id: "17841400000000101",
    username: "sandbox.tags",
    name: "Sandbox Tags",
    account_type: "BUSINESS",
    followers_count: 2_048,
    follows_count: 150,
    biography: Some("Following #coffee, #travel and #sunset for the sandbox 🔎"),
    website: Some("https://tags.example.com/"),
    // Purples.
    hues: (260, 50),
    catalogue: &tables::TAGS,
};

static NORTH: User = User {
    user_id: "17841400000000102",
    app_scoped_id: "17841400000000102",
    username: "sandbox.north",
    name: "Sandbox Studio North",
    account_type: "BUSINESS",
    followers_count: 730,
    follows_count: 64,
    biography: Some("Photo studio, north side. Bookings via the website."),
    website: Some("https://north.example.com/"),
    // Greens.
    hues: (80, 50),
    catalogue: &tables::NORTH,
};

/// The account without `biography` and `website`.
static SOUTH: User = User {
    user_id: "17841400000000103",
    app_scoped_id: "17841400000000103",
    username: "sandbox.south",
    name: "Sandbox Studio South",
    account_type: "BUSINESS",
    followers_count: 415,
    follows_count: 38,
    biography: None,
    website: None,
    // Pinks.
    hues: (310, 40),
    catalogue: &tables::SOUTH,
};

static ACCOUNTS: [&User; 3] = [&TAGS, &NORTH, &SOUTH];

static USERS: [FacebookUser; 3] = [
    // One linked Page and one without: the gateway connects the linked account directly.
    FacebookUser {
        name: "manager",
        pages: &[
            Page {
                id: "110000000000001",
                name: "Sandbox Tags",
                instagram: Some(&TAGS),
            },
            Page {
                id: "110000000000002",
                name: "Sandbox Manager Notes",
                instagram: None,
            },
        ],
    },
    // Two linked Pages: the gateway asks which account.
    FacebookUser {
        name: "agency",
        pages: &[
            Page {
                id: "110000000000003",
                name: "Sandbox Studio North",
                instagram: Some(&NORTH),
            },
            Page {
                id: "110000000000004",
                name: "Sandbox Studio South",
                instagram: Some(&SOUTH),
            },
        ],
    },
    // No linked Page: the gateway explains how to link one.
    FacebookUser {
        name: "nolink",
        pages: &[Page {
            id: "110000000000005",
            name: "Sandbox Unlinked Page",
            instagram: None,
        }],
    },
];

/// The Facebook users' names, the default first.
pub const FACEBOOK_USERS: &[&str] = &["manager", "agency", "nolink"];

pub(super) fn get(index: usize) -> Option<&'static FacebookUser> {
    USERS.get(index)
}

pub(super) fn index_of(name: &str) -> Option<usize> {
    USERS.iter().position(|user| user.name == name)
}

#[cfg(test)]
pub(super) fn all() -> &'static [FacebookUser] {
    &USERS
}

/// Each linked account's posts, in the order of [`ACCOUNTS`].
static POSTS: LazyLock<Vec<Vec<Post>>> =
    LazyLock::new(|| ACCOUNTS.iter().map(|a| posts::build_posts(a)).collect());

/// The posts of a linked account, newest first.
pub(super) fn posts_of(account: &User) -> &'static [Post] {
    let index = ACCOUNTS.iter().position(|a| a.user_id == account.user_id);
    index.and_then(|i| POSTS.get(i)).map_or(&[], Vec::as_slice)
}

static AVATARS: LazyLock<Vec<Still>> =
    LazyLock::new(|| ACCOUNTS.iter().map(|a| profile::avatar(a)).collect());

/// Every file the CDN serves for the linked accounts: post stills and profile pictures, with
/// the seed each is drawn from.
pub(in crate::sandbox) fn cdn_files() -> impl Iterator<Item = (String, &'static str, &'static Still)>
{
    let media = POSTS
        .iter()
        .flatten()
        .flat_map(|post| std::iter::once(&post.media).chain(post.media.children()))
        .filter_map(|media| {
            let (name, still) = media.still()?;
            Some((name, media.id.as_str(), still))
        });
    let avatars = AVATARS.iter().map(|still| {
        (
            profile::avatar_file(still.owner),
            still.owner.username,
            still,
        )
    });
    media.chain(avatars)
}

/// What `/me/accounts` answers without `fields`: what the gateway reads.
const DEFAULT_PAGE_FIELDS: &str = "id,name,instagram_business_account{id,username}";
const PAGE_CURSOR_PREFIX: &str = "sandbox-page:";

/// `/me/accounts`: every Page of `user` on one page, with Facebook's `before`/`after` cursors.
/// A Page without a linked account has no `instagram_business_account` key.
pub(super) fn render_pages(user: &FacebookUser, spec: Option<&str>) -> Value {
    let spec = spec.filter(|f| !f.trim().is_empty());
    let fields = Fields::parse(spec.unwrap_or(DEFAULT_PAGE_FIELDS));
    let inner = fields.nested("instagram_business_account");
    let data: Vec<Value> = user
        .pages
        .iter()
        .map(|page| {
            let mut item = Map::new();
            put(&mut item, &fields, "id", Some(page.id.into()));
            put(&mut item, &fields, "name", Some(page.name.into()));
            let linked = page.instagram.map(|account| {
                let mut linked = Map::new();
                put(&mut linked, &inner, "id", Some(account.user_id.into()));
                put(
                    &mut linked,
                    &inner,
                    "username",
                    Some(account.username.into()),
                );
                Value::Object(linked)
            });
            put(&mut item, &fields, "instagram_business_account", linked);
            Value::Object(item)
        })
        .collect();
    let cursor = |page: Option<&Page>| {
        page.map(|p| STANDARD.encode(format!("{PAGE_CURSOR_PREFIX}{}", p.id)))
    };
    match (cursor(user.pages.first()), cursor(user.pages.last())) {
        (Some(before), Some(after)) => json!({
            "data": data,
            "paging": {"cursors": {"before": before, "after": after}}
        }),
        _ => json!({ "data": data }),
    }
}

/// `/{ig-user-id}`: the account's profile, as Facebook Login's IG User node has it (`id` is the
/// account id; no `user_id` or `account_type`). Without `fields`, only `id`, as on Graph.
pub(super) fn render_profile(
    account: &User,
    spec: Option<&str>,
    base: &str,
    now: DateTime<Utc>,
) -> Value {
    let fields = Fields::parse(spec.unwrap_or_default());
    let picture = cdn::signed_url(base, &profile::avatar_file(account), now);
    let values: [(&str, Option<Value>); 9] = [
        ("id", Some(account.user_id.into())),
        ("username", Some(account.username.into())),
        ("name", Some(account.name.into())),
        ("biography", account.biography.map(Value::from)),
        ("website", account.website.map(Value::from)),
        ("profile_picture_url", Some(picture.into())),
        ("followers_count", Some(account.followers_count.into())),
        ("follows_count", Some(account.follows_count.into())),
        ("media_count", Some(posts_of(account).len().into())),
    ];
    let mut body = Map::new();
    for (key, value) in values {
        put(&mut body, &fields, key, value);
    }
    Value::Object(body)
}

/// `/me/accounts`: the user's Pages. Short-lived tokens work here too, so the gateway can list
/// the Pages before the exchange.
pub(super) async fn list_pages(q: web::Query<NodeQuery>) -> HttpResponse {
    let token = q.access_token.as_deref();
    let user =
        tokens::user_of(token, Lifetime::Long).or_else(|| tokens::user_of(token, Lifetime::Short));
    match user {
        Some((_, user)) => HttpResponse::Ok().json(render_pages(user, q.fields.as_deref())),
        None => invalid_token(),
    }
}

/// `/{ig-user-id}/media`: the linked account's own posts, as Instagram Login's `/me/media`.
pub(super) async fn list_media(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<MediaQuery>,
) -> HttpResponse {
    let (_, id) = path.into_inner();
    media::respond(&req, |origin| {
        let user = data_user(q.access_token.as_deref())?;
        let account = user.reaches(&id).ok_or(NO_NODE)?;
        media::page_of(posts_of(account), account.username, &q, origin)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::super::users as instagram_users;
    use super::*;

    #[test]
    fn the_names_list_the_table_in_order() {
        let names: Vec<&str> = all().iter().map(|u| u.name).collect();
        assert_eq!(names, FACEBOOK_USERS);
        assert_eq!(index_of("agency"), Some(1));
        assert_eq!(index_of("sandbox.gallery"), None);
    }

    #[test]
    fn linked_accounts_are_new_and_have_their_own_posts() {
        let instagram: HashSet<&str> = instagram_users::all().iter().map(|u| u.user_id).collect();
        let mut seen = HashSet::new();
        for account in ACCOUNTS {
            assert!(!instagram.contains(account.user_id), "{}", account.user_id);
            assert!(seen.insert(account.user_id));
            assert_eq!(posts_of(account).len(), account.catalogue.rows.len());
        }
        let counts: Vec<usize> = ACCOUNTS.iter().map(|a| posts_of(a).len()).collect();
        assert_eq!(counts, [18, 12, 9]);
        let names: HashSet<String> = cdn_files().map(|(name, _, _)| name).collect();
        let existing: HashSet<String> = posts::all_media()
            .filter_map(|m| m.still().map(|(name, _)| name))
            .collect();
        assert!(names.is_disjoint(&existing));
        assert!(names.contains("17841400000000101_profile.jpg"));
    }

    #[test]
    fn pages_have_facebooks_shape() {
        let manager = render_pages(get(0).unwrap(), None);
        assert_eq!(
            manager["data"],
            json!([
                {"id": "110000000000001", "name": "Sandbox Tags",
                 "instagram_business_account": {"id": "17841400000000101", "username": "sandbox.tags"}},
                {"id": "110000000000002", "name": "Sandbox Manager Notes"}
            ])
        );
        assert!(manager["paging"]["cursors"]["before"].is_string());
        assert!(manager["paging"]["cursors"]["after"].is_string());
        let agency = render_pages(get(1).unwrap(), Some(DEFAULT_PAGE_FIELDS));
        let linked: Vec<&str> = agency["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p["instagram_business_account"]["username"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(linked, ["sandbox.north", "sandbox.south"]);
        let nolink = render_pages(get(2).unwrap(), None);
        assert_eq!(
            nolink["data"],
            json!([{"id": "110000000000005", "name": "Sandbox Unlinked Page"}])
        );
        let ids_only = render_pages(get(0).unwrap(), Some("instagram_business_account"));
        assert_eq!(
            ids_only["data"][0],
            json!({"id": "110000000000001", "instagram_business_account": {"id": "17841400000000101"}})
        );
    }

    #[test]
    fn profiles_answer_the_asked_fields() {
        let all = "username,name,biography,website,profile_picture_url,followers_count,\
                   follows_count,media_count";
        let tags = render_profile(&TAGS, Some(all), "http://h:1", Utc::now());
        assert_eq!(tags.as_object().unwrap().len(), 9);
        assert_eq!(tags["id"], "17841400000000101");
        assert_eq!(tags["media_count"], 18);
        let picture = tags["profile_picture_url"].as_str().unwrap();
        assert!(picture.starts_with("http://h:1/sandbox/cdn/17841400000000101_profile.jpg?"));
        let south = render_profile(&SOUTH, Some(all), "http://h:1", Utc::now());
        assert!(south.get("biography").is_none() && south.get("website").is_none());
        let bare = render_profile(&NORTH, None, "http://h:1", Utc::now());
        assert_eq!(bare, json!({"id": "17841400000000102"}));
    }
}
