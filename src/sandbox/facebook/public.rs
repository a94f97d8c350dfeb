//! Other people's public posts under a hashtag, for `/{hashtag-id}/top_media` and
//! `/recent_media`: made up from the tag id and the post's place, so identical on every run,
//! with pictures the CDN draws on demand from the file name alone.
//!
//! Top media are 120 posts ranked by popularity (likes fall with the rank), posted over the two
//! months before 2026-11-30. Recent media are one post per half hour: the 40 half-hour slots
//! before the current one, so all within the last 24 hours; as time passes, new posts appear
//! and old ones leave, each keeping its id and timestamp.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::Sandbox;
use super::super::cdn;
use super::super::fields::{Fields, put};
use super::super::images::{Overlay, Still};
use super::super::media::{self, GraphError, MediaQuery, Origin, next_url};
use super::super::posts::{hash64, shortcode};
use super::super::tables::{Catalogue, Layout};
use super::super::users::User;
use super::{NO_NODE, data_user, reach};

const TOP_COUNT: i64 = 120;
const RECENT_COUNT: i64 = 40;
const SLOT_SECS: i64 = 1800;
/// Top posts were posted within 60 days before 2026-11-30T00:00:00Z.
const TOP_ANCHOR_UNIX: i64 = 1_795_996_800;
const TOP_SPREAD_SECS: u64 = 60 * 86_400;
const DEFAULT_LIMIT: usize = 25;
/// Meta's maximum page for hashtag media; more is an error, not clamped.
const MAX_LIMIT: usize = 50;
const CURSOR_PREFIX: &str = "sandbox-tag:";

/// Which of a tag's media edges.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Edge {
    Top,
    Recent,
}

impl Edge {
    fn letter(self) -> char {
        match self {
            Edge::Top => 't',
            Edge::Recent => 'r',
        }
    }
}

/// The people posting under every tag: hues for their pictures and `@username` on them. No
/// posts of their own, and never reachable through a Page.
const fn poster(username: &'static str, hues: (u32, u32)) -> User {
    User {
        user_id: "0",
        app_scoped_id: "0",
        username,
        name: username,
        account_type: "PERSONAL",
        followers_count: 0,
        follows_count: 0,
        biography: None,
        website: None,
        hues,
        catalogue: &NO_POSTS,
    }
}

const NO_POSTS: Catalogue = Catalogue {
    rows: &[],
    namespace: "sandbox/public",
    newest_id: 0,
    newest_at_unix: 0,
    gap: TimeDelta::zero(),
};

static POSTERS: [User; 8] = [
    poster("wanderlust.jo", (190, 40)),
    poster("mika.brews", (20, 30)),
    poster("the.slow.traveller", (100, 60)),
    poster("golden.hour.club", (30, 25)),
    poster("latte.lab", (15, 35)),
    poster("nomad.notes", (200, 80)),
    poster("pixel.and.grain", (0, 360)),
    poster("sunday.roaster", (340, 40)),
];

/// `{t}` is the tag, `{T}` the tag capitalised, as people write it.
const CAPTIONS: [&str; 10] = [
    "Another day, another #{t} ✨",
    "Can't get enough of this. #{t} #photooftheday",
    "#{t} vibes only",
    "Weekend mood. #{T} #weekend",
    "First time trying this! #{t}",
    "Saved the best for last 📸 #{t} #instagood",
    "Morning light.\n\n#{t} #explore",
    "Who else loves #{T}? 🙌",
    "Not sponsored, just happy. #{t}#happy",
    "Found this gem today #{t} #local #{t}lovers",
];

/// The layout of a post, as `tables.rs` describes the accounts' (reels aside).
fn layout(seed: u64) -> Layout {
    match (seed >> 8) % 10 {
        0..=2 => Layout::Square,
        3 | 4 => Layout::Portrait,
        5 => Layout::Landscape,
        6 | 7 => Layout::Video,
        _ => Layout::Album(["II", "IV", "III", "IIVI"][(seed >> 16) as usize % 4]),
    }
}

/// A public post: the `n`th of its tag's top media (its rank), or the recent post of
/// half-hour slot `n` (since the Unix epoch).
struct TagPost<'a> {
    tag_id: &'a str,
    edge: Edge,
    n: i64,
    seed: u64,
}

impl<'a> TagPost<'a> {
    fn new(tag_id: &'a str, edge: Edge, n: i64) -> Self {
        let seed = hash64(&format!("sandbox/public/{tag_id}/{}{n}", edge.letter()));
        Self {
            tag_id,
            edge,
            n,
            seed,
        }
    }

    /// The CDN name of its pictures, without extension: `ht<tag id>_<t|r><n>`.
    fn key(&self) -> String {
        format!("ht{}_{}{}", self.tag_id, self.edge.letter(), self.n)
    }

    fn id(&self) -> String {
        media_id(&self.key())
    }

    fn owner(&self) -> &'static User {
        &POSTERS[self.seed as usize % POSTERS.len()]
    }

    fn layout(&self) -> Layout {
        layout(self.seed)
    }

    fn timestamp(&self) -> DateTime<Utc> {
        let (start, spread) = match self.edge {
            Edge::Top => (TOP_ANCHOR_UNIX, TOP_SPREAD_SECS),
            Edge::Recent => (self.n * SLOT_SECS, SLOT_SECS as u64),
        };
        let offset = (self.seed >> 24) % spread;
        let at = match self.edge {
            Edge::Top => start - offset as i64,
            Edge::Recent => start + offset as i64,
        };
        DateTime::UNIX_EPOCH + TimeDelta::seconds(at)
    }

    /// Hidden for one post in seven (Meta then omits `like_count`); falling with the rank in
    /// top media.
    fn like_count(&self) -> Option<u64> {
        let jitter = self.seed % 97;
        match self.edge {
            _ if self.seed.is_multiple_of(7) => None,
            Edge::Top => Some((TOP_COUNT - self.n).unsigned_abs() * 83 + 40 + jitter),
            Edge::Recent => Some(jitter),
        }
    }

    fn comments_count(&self) -> u64 {
        self.like_count().unwrap_or(300) / 25 + self.seed % 9
    }

    fn caption(&self, name: &str) -> String {
        let capitalised: String = match name.chars().next() {
            Some(first) => first.to_uppercase().chain(name.chars().skip(1)).collect(),
            None => String::new(),
        };
        let template = CAPTIONS[(self.seed >> 32) as usize % CAPTIONS.len()];
        template.replace("{t}", name).replace("{T}", &capitalised)
    }

    /// `No. 12 - top`, `14.30 - recent`: what the picture says (the 5x7 font has no `:`).
    fn label(&self) -> String {
        match self.edge {
            Edge::Top => format!("No. {} - top", self.n + 1),
            Edge::Recent => format!("{} - recent", self.timestamp().format("%H.%M")),
        }
    }
}

/// 17 digits `18…`, like Meta's public media ids.
fn media_id(key: &str) -> String {
    let hashed = hash64(&format!("sandbox/public/id/{key}")) % 1_000_000_000_000_000;
    (18_000_000_000_000_000 + hashed).to_string()
}

/// The picture's size: an album's children are square, as Instagram crops a carousel.
fn size(layout: Layout) -> (u32, u32) {
    match layout {
        Layout::Portrait => (1080, 1350),
        Layout::Landscape => (1080, 566),
        _ => (1080, 1080),
    }
}

fn is_tag_id(id: &str) -> bool {
    id.len() == 17 && id.starts_with("17843") && id.bytes().all(|b| b.is_ascii_digit())
}

/// The still behind a CDN file of a public post's picture (`<key>.jpg`, `<key>_<child>.jpg`
/// for an album's image child), with the seed it is drawn from; `None` for any other name.
/// Videos have no picture: hashtag media carry no `thumbnail_url`, and the CDN serves no `.mp4`.
pub(in crate::sandbox) fn still(file: &str) -> Option<(String, Still)> {
    let stem = file.strip_prefix("ht")?.strip_suffix(".jpg")?;
    let mut parts = stem.split('_');
    let tag_id = parts.next().filter(|id| is_tag_id(id))?;
    let place = parts.next()?;
    let child = parts.next().map(str::parse::<usize>);
    if parts.next().is_some() {
        return None;
    }
    let (edge, n) = match place.split_at_checked(1)? {
        ("t", n) => (
            Edge::Top,
            n.parse().ok().filter(|n| (0..TOP_COUNT).contains(n))?,
        ),
        ("r", n) => (Edge::Recent, n.parse().ok().filter(|n: &i64| *n >= 0)?),
        _ => return None,
    };
    let post = TagPost::new(tag_id, edge, n);
    let (layout, label, key) = match (post.layout(), child) {
        (Layout::Album(letters), Some(Ok(c))) if letters.chars().nth(c) == Some('I') => {
            let label = format!("{} - {}/{}", post.label(), c + 1, letters.len());
            (Layout::Square, label, format!("{}_{c}", post.key()))
        }
        (layout @ (Layout::Square | Layout::Portrait | Layout::Landscape), None) => {
            (layout, post.label(), post.key())
        }
        _ => return None,
    };
    let (width, height) = size(layout);
    let overlay = Overlay::Post {
        label,
        video: false,
    };
    let still = Still {
        width,
        height,
        owner: post.owner(),
        overlay,
    };
    Some((media_id(&key), still))
}

/// One page of `edge` of the tag `tag_id` (called `name`), shaped by `fields` as Meta's
/// hashtag media: `media_url` absent on albums, no `username` (an error), no `thumbnail_url`.
pub(super) fn page(
    tag_id: &str,
    name: &str,
    edge: Edge,
    q: &MediaQuery,
    origin: &Origin,
) -> Result<Value, GraphError> {
    let fields = Fields::parse(q.fields.as_deref().unwrap_or_default());
    if fields.wants("username") || fields.nested("children").wants("username") {
        return Err((100, "(#100) Tried accessing nonexisting field (username)"));
    }
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > MAX_LIMIT => {
                return Err((100, "(#100) The limit parameter cannot exceed 50"));
            }
            Ok(n) => n.max(1),
            Err(_) => return Err((100, "(#100) Param limit must be a number")),
        },
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor, tag_id, edge).ok_or((100, "Invalid cursor"))?),
    };
    // The places on this page, and whether more follow.
    let (places, more): (Vec<i64>, bool) = match edge {
        Edge::Top => {
            let start = after.map_or(0, |n| n + 1);
            let end = TOP_COUNT.min(start + limit as i64);
            ((start..end).collect(), end < TOP_COUNT)
        }
        Edge::Recent => {
            let current = origin.now.timestamp().div_euclid(SLOT_SECS);
            let oldest = current - RECENT_COUNT;
            let newest = after.map_or(current - 1, |n| n - 1);
            let places: Vec<i64> = (oldest..=newest).rev().take(limit).collect();
            let more = places.last().is_some_and(|last| *last > oldest);
            (places, more)
        }
    };
    let Some(last) = places.last() else {
        return Ok(json!({"data": []}));
    };
    let data: Vec<Value> = places
        .iter()
        .map(|n| render(&TagPost::new(tag_id, edge, *n), name, &fields, origin))
        .collect();
    let after = STANDARD.encode(format!("{CURSOR_PREFIX}{}:{tag_id}:{last}", edge.letter()));
    let mut paging = Map::new();
    paging.insert("cursors".into(), json!({ "after": after }));
    if more {
        paging.insert("next".into(), next_url(origin, limit, &after).into());
    }
    Ok(json!({"data": data, "paging": paging}))
}

fn decode_cursor(cursor: &str, tag_id: &str, edge: Edge) -> Option<i64> {
    let text = String::from_utf8(STANDARD.decode(cursor).ok()?).ok()?;
    let rest = text.strip_prefix(CURSOR_PREFIX)?;
    let (letter, rest) = rest.split_once(':')?;
    let (tag, n) = rest.split_once(':')?;
    (letter.chars().eq([edge.letter()]) && tag == tag_id)
        .then(|| n.parse().ok())
        .flatten()
}

fn render(post: &TagPost, name: &str, fields: &Fields, origin: &Origin) -> Value {
    let url = |file: String| Value::from(cdn::signed_url(origin.base, &file, origin.now));
    let key = post.key();
    let layout = post.layout();
    let mut item = Map::new();
    put(&mut item, fields, "id", Some(post.id().into()));
    put(
        &mut item,
        fields,
        "media_type",
        Some(media_type(layout).into()),
    );
    let media_url = match layout {
        Layout::Album(_) => None,
        Layout::Video | Layout::Reel => Some(url(format!("{key}.mp4"))),
        _ => Some(url(format!("{key}.jpg"))),
    };
    put(&mut item, fields, "media_url", media_url);
    let permalink = format!("https://www.instagram.com/p/{}/", shortcode(&post.id()));
    put(&mut item, fields, "permalink", Some(permalink.into()));
    let timestamp = post.timestamp().format("%Y-%m-%dT%H:%M:%S%z").to_string();
    put(&mut item, fields, "timestamp", Some(timestamp.into()));
    put(
        &mut item,
        fields,
        "caption",
        Some(post.caption(name).into()),
    );
    put(
        &mut item,
        fields,
        "like_count",
        post.like_count().map(Value::from),
    );
    put(
        &mut item,
        fields,
        "comments_count",
        Some(post.comments_count().into()),
    );
    if let Layout::Album(letters) = layout {
        let inner = fields.nested("children");
        let data: Vec<Value> = letters
            .chars()
            .enumerate()
            .map(|(c, letter)| {
                let child_key = format!("{key}_{c}");
                let (kind, file) = match letter {
                    'V' => ("VIDEO", format!("{child_key}.mp4")),
                    _ => ("IMAGE", format!("{child_key}.jpg")),
                };
                let mut child = Map::new();
                put(&mut child, &inner, "id", Some(media_id(&child_key).into()));
                put(&mut child, &inner, "media_type", Some(kind.into()));
                put(&mut child, &inner, "media_url", Some(url(file)));
                Value::Object(child)
            })
            .collect();
        put(&mut item, fields, "children", Some(json!({ "data": data })));
    }
    Value::Object(item)
}

fn media_type(layout: Layout) -> &'static str {
    match layout {
        Layout::Square | Layout::Portrait | Layout::Landscape => "IMAGE",
        Layout::Video | Layout::Reel => "VIDEO",
        Layout::Album(_) => "CAROUSEL_ALBUM",
    }
}

#[derive(Deserialize)]
pub(super) struct UserQuery {
    user_id: Option<String>,
}

pub(super) async fn list_top_media(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<MediaQuery>,
    user_id: web::Query<UserQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    list_tag_media(&req, &path.1, &q, &user_id, &sandbox, Edge::Top)
}

pub(super) async fn list_recent_media(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<MediaQuery>,
    user_id: web::Query<UserQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    list_tag_media(&req, &path.1, &q, &user_id, &sandbox, Edge::Recent)
}

/// `/{hashtag-id}/top_media` and `/recent_media`, for an Instagram account the token reaches.
/// Meta does not require a search of the tag first, and neither does the sandbox.
fn list_tag_media(
    req: &HttpRequest,
    tag_id: &str,
    q: &MediaQuery,
    user_id: &UserQuery,
    sandbox: &Sandbox,
    edge: Edge,
) -> HttpResponse {
    media::respond(req, |origin| {
        let user = data_user(q.access_token.as_deref())?;
        reach(user, user_id.user_id.as_deref())?;
        let name = sandbox.facebook.names.name_of(tag_id).ok_or(NO_NODE)?;
        page(tag_id, &name, edge, q, origin)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use actix_web::web;
    use chrono::TimeZone;

    use super::*;
    use crate::sandbox::facebook::hashtags::id_of;

    const ALL_FIELDS: &str = "id,caption,media_type,media_url,permalink,timestamp,like_count,\
                              comments_count,children{id,media_type,media_url}";
    const BASE: &str = "http://localhost:8080";
    const PATH: &str = "/sandbox/facebook/graph/v25.0/17843000000000000/top_media";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 17, 40, 12).unwrap()
    }

    fn get(edge: Edge, query: &str, now: DateTime<Utc>) -> Result<Value, GraphError> {
        let q = web::Query::<MediaQuery>::from_query(query).unwrap();
        let origin = Origin {
            base: BASE,
            path: PATH,
            query,
            now,
        };
        page(&id_of("coffee"), "coffee", edge, &q, &origin)
    }

    fn query(extra: &str) -> String {
        let fields: String = url::form_urlencoded::byte_serialize(ALL_FIELDS.as_bytes()).collect();
        format!("fields={fields}&user_id=17841400000000101&access_token=EAASBXL0t{extra}")
    }

    /// Follows `next` to the end; returns the pages.
    fn all_pages(edge: Edge, first: &str, now: DateTime<Utc>) -> Vec<Value> {
        let mut pages = vec![get(edge, first, now).unwrap()];
        while let Some(next) = pages.last().unwrap()["paging"]["next"].as_str() {
            let rest = next
                .strip_prefix(&format!("{BASE}{PATH}?"))
                .unwrap()
                .to_owned();
            assert!(rest.contains("user_id=17841400000000101"), "{rest}");
            pages.push(get(edge, &rest, now).unwrap());
            assert!(pages.len() <= 120, "paging does not end");
        }
        pages
    }

    fn items(pages: &[Value]) -> Vec<Value> {
        pages
            .iter()
            .flat_map(|page| page["data"].as_array().unwrap().clone())
            .collect()
    }

    #[test]
    fn top_media_page_through_120_posts_once() {
        for (limit, page_count) in [
            ("", 5),
            ("&limit=50", 3),
            ("&limit=7", 18),
            ("&limit=0", 120),
        ] {
            let pages = all_pages(Edge::Top, &query(limit), now());
            assert_eq!(pages.len(), page_count, "{limit}");
            let items = items(&pages);
            let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
            assert_eq!((items.len(), ids.len()), (120, 120), "{limit}");
            let last = pages.last().unwrap();
            assert!(last["paging"].get("next").is_none());
            assert!(
                pages[..pages.len() - 1]
                    .iter()
                    .all(|p| p["paging"]["next"].is_string())
            );
        }
        let after =
            get(Edge::Top, &query("&limit=50"), now()).unwrap()["paging"]["cursors"]["after"]
                .as_str()
                .unwrap()
                .to_owned();
        let end = STANDARD.encode(format!("{CURSOR_PREFIX}t:{}:119", id_of("coffee")));
        let past = get(Edge::Top, &query(&format!("&after={end}")), now()).unwrap();
        assert_eq!(past, json!({"data": []}));
        // A cursor of another tag or edge is refused.
        let recent = get(Edge::Recent, &query(&format!("&after={after}")), now());
        assert_eq!(recent.unwrap_err().0, 100);
    }

    #[test]
    fn limits_and_fields_follow_metas_rules() {
        let code = |query: &str| get(Edge::Top, query, now()).unwrap_err().0;
        assert_eq!(code(&query("&limit=51")), 100);
        assert_eq!(code(&query("&limit=ten")), 100);
        assert_eq!(code(&query("&after=bm9wZQ==")), 100);
        let username = get(Edge::Top, "fields=id,username", now()).unwrap_err();
        assert_eq!(
            username,
            (100, "(#100) Tried accessing nonexisting field (username)")
        );
        assert_eq!(code("fields=id,children{id,username}"), 100);
        assert_eq!(code("fields=id,username&limit=5"), 100);
        let ids_only = get(Edge::Recent, "limit=3", now()).unwrap();
        for item in ids_only["data"].as_array().unwrap() {
            assert_eq!(item.as_object().unwrap().len(), 1, "{item}");
        }
    }

    #[test]
    fn items_have_metas_hashtag_media_shapes() {
        let top = items(&all_pages(Edge::Top, &query("&limit=50"), now()));
        let mut types = HashSet::new();
        for item in &top {
            let kind = item["media_type"].as_str().unwrap();
            types.insert(kind);
            assert!(item.get("username").is_none() && item.get("thumbnail_url").is_none());
            let timestamp = item["timestamp"].as_str().unwrap();
            assert!(timestamp.ends_with("+0000"), "{timestamp}");
            assert!(DateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S%z").is_ok());
            assert!(
                item["caption"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("#coffee")
            );
            assert!(
                item["permalink"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://www.instagram.com/p/")
            );
            assert!(item["comments_count"].is_u64());
            match kind {
                "CAROUSEL_ALBUM" => {
                    assert!(item.get("media_url").is_none(), "{item}");
                    let children = item["children"]["data"].as_array().unwrap();
                    assert!(children.len() >= 2);
                    for child in children {
                        assert!(child["media_url"].is_string() && child["id"].is_string());
                    }
                }
                _ => assert!(item["media_url"].is_string(), "{item}"),
            }
        }
        assert_eq!(types.len(), 3, "{types:?}");
        assert!(
            top.iter().any(|i| i.get("like_count").is_none()),
            "hidden likes"
        );
        let likes: Vec<u64> = top
            .iter()
            .filter_map(|i| i["like_count"].as_u64())
            .collect();
        assert!(likes.first() > likes.last(), "popular first");
    }

    #[test]
    fn recent_media_are_from_the_last_24_hours_and_slide_with_time() {
        let pages = all_pages(Edge::Recent, &query("&limit=15"), now());
        assert_eq!(pages.len(), 3);
        let items = items(&pages);
        assert_eq!(items.len(), 40);
        let times: Vec<DateTime<Utc>> = items
            .iter()
            .map(|i| {
                let text = i["timestamp"].as_str().unwrap();
                DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
                    .unwrap()
                    .to_utc()
            })
            .collect();
        assert!(
            times
                .iter()
                .all(|t| *t <= now() && now() - *t < TimeDelta::hours(24))
        );
        assert!(times.windows(2).all(|pair| pair[0] > pair[1]));
        // An hour later two new posts lead and the rest keep their ids.
        let later = all_pages(
            Edge::Recent,
            &query("&limit=50"),
            now() + TimeDelta::hours(1),
        );
        let later = self::items(&later);
        assert_eq!(later[2]["id"], items[0]["id"]);
        assert_eq!(later[2]["timestamp"], items[0]["timestamp"]);
    }

    #[test]
    fn the_cdn_draws_every_picture_the_items_point_at() {
        let top = items(&all_pages(Edge::Top, &query("&limit=50"), now()));
        let recent = items(&all_pages(Edge::Recent, &query("&limit=50"), now()));
        let mut pictures = 0;
        for item in top.iter().chain(&recent) {
            let children = item["children"]["data"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for media in std::iter::once(item).chain(&children) {
                let url = url::Url::parse(media["media_url"].as_str().unwrap_or("x:/x")).ok();
                let Some(file) = url
                    .as_ref()
                    .and_then(|u| u.path().strip_prefix("/sandbox/cdn/"))
                else {
                    continue;
                };
                match media["media_type"].as_str().unwrap() {
                    "VIDEO" => assert!(still(file).is_none(), "{file}"),
                    _ => {
                        let (seed, still) = still(file).unwrap();
                        assert_eq!(seed, media["id"].as_str().unwrap(), "{file}");
                        assert!(still.width == 1080 && still.height >= 566);
                        pictures += 1;
                    }
                }
            }
        }
        assert!(pictures > 150, "{pictures}");
        for bad in [
            "ht123_t1.jpg",
            "ht17843000000000000_t120.jpg",
            "ht17843000000000000_x1.jpg",
        ] {
            assert!(still(bad).is_none(), "{bad}");
        }
    }
}
