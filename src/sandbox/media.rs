//! `GET /sandbox/graph/{version}/me/media`: the token's account's posts, newest first, paged
//! with opaque cursors and shaped by `fields` exactly as the Graph API does it.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use url::form_urlencoded;

use super::fields::{Fields, put};
use super::posts::{self, Media, Post};
use super::tokens::{self, Lifetime};
use super::{cdn, graph_error, request_base};

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;
/// Cursors are base64 of this prefix and a post's index: opaque to clients, as on Instagram.
const CURSOR_PREFIX: &str = "sandbox-media:";
/// The doc's `X-App-Usage` shape with a low, constant figure, so the gateway's usage parsing
/// has something to show when it runs on the sandbox.
const APP_USAGE: (&str, &str) = (
    "x-app-usage",
    r#"{"call_count":1,"total_cputime":1,"total_time":1}"#,
);

/// A Graph error: code and message.
pub(super) type GraphError = (i64, &'static str);

#[derive(Deserialize)]
pub(super) struct MediaQuery {
    pub access_token: Option<String>,
    pub fields: Option<String>,
    /// Text, so that a non-number gets the Graph error rather than actix's own 400.
    pub limit: Option<String>,
    pub after: Option<String>,
}

/// Where the request came in, to build absolute URLs that work on any host and port.
pub(super) struct Origin<'a> {
    /// `scheme://host[:port]`
    pub base: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub now: DateTime<Utc>,
}

pub(super) async fn list(req: HttpRequest, q: web::Query<MediaQuery>) -> HttpResponse {
    respond(&req, |origin| page(&q, origin))
}

/// The page `body` builds for the request `req`, with the usage header, or the Graph error.
pub(super) fn respond(
    req: &HttpRequest,
    body: impl FnOnce(&Origin) -> Result<Value, GraphError>,
) -> HttpResponse {
    let base = request_base(req);
    let origin = Origin {
        base: &base,
        path: req.path(),
        query: req.query_string(),
        now: Utc::now(),
    };
    match body(&origin) {
        Ok(body) => HttpResponse::Ok().insert_header(APP_USAGE).json(body),
        Err((code, message)) => graph_error(code, message),
    }
}

/// The response body for one page.
fn page(q: &MediaQuery, origin: &Origin) -> Result<Value, GraphError> {
    let token = q.access_token.as_deref();
    let (user, account) = tokens::user_of(token, Lifetime::Long).ok_or((
        190,
        "Invalid OAuth access token - Cannot parse access token",
    ))?;
    page_of(posts::posts(user), account.username, q, origin)
}

/// One page of `all`, the posts of the account called `username`, newest first: the Instagram
/// Login `/me/media` and the Facebook Login `/{ig-user-id}/media` alike.
pub(super) fn page_of(
    all: &[Post],
    username: &str,
    q: &MediaQuery,
    origin: &Origin,
) -> Result<Value, GraphError> {
    let limit = parse_limit(q.limit.as_deref())?;
    let start = match q.after.as_deref() {
        None => 0,
        Some(cursor) => decode_cursor(cursor)
            .ok_or((100, "Invalid cursor"))?
            .saturating_add(1),
    };
    let fields = Fields::parse(q.fields.as_deref().unwrap_or_default());
    let end = all.len().min(start.saturating_add(limit));
    // Past the end, Graph answers an empty page without paging.
    let Some(items) = all.get(start..end).filter(|items| !items.is_empty()) else {
        return Ok(json!({"data": []}));
    };
    let data: Vec<Value> = items
        .iter()
        .map(|post| render_post(post, username, &fields, origin))
        .collect();
    let after = encode_cursor(end - 1);
    let mut paging = Map::new();
    paging.insert(
        "cursors".into(),
        json!({"before": encode_cursor(start), "after": after}),
    );
    // `next` is how clients know more follows: absent on the last page.
    if end < all.len() {
        paging.insert("next".into(), next_url(origin, limit, &after).into());
    }
    Ok(json!({"data": data, "paging": paging}))
}

/// 25 by default, clamped to 1..=100: a page of 0 would have `next` point back at itself.
fn parse_limit(raw: Option<&str>) -> Result<usize, GraphError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .map(|n| n.clamp(1, MAX_LIMIT))
            .map_err(|_| (100, "(#100) Param limit must be a number")),
    }
}

fn encode_cursor(index: usize) -> String {
    STANDARD.encode(format!("{CURSOR_PREFIX}{index}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(STANDARD.decode(cursor).ok()?).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

/// The same request with the page moved on: every other parameter (`fields`, `access_token`,
/// ...) kept, as the Graph API's `next` does.
pub(super) fn next_url(origin: &Origin, limit: usize, after: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(origin.query.as_bytes()) {
        if !matches!(key.as_ref(), "limit" | "after" | "before") {
            query.append_pair(&key, &value);
        }
    }
    query
        .append_pair("limit", &limit.to_string())
        .append_pair("after", after);
    format!("{}{}?{}", origin.base, origin.path, query.finish())
}

fn render_post(post: &Post, username: &str, fields: &Fields, origin: &Origin) -> Value {
    let mut item = render_media(&post.media, fields, origin);
    put(&mut item, fields, "caption", post.caption.map(Value::from));
    let permalink = format!("https://www.instagram.com/p/{}/", post.shortcode);
    put(&mut item, fields, "permalink", Some(permalink.into()));
    // Instagram's offset has no colon: `+0000`.
    let timestamp = post.timestamp.format("%Y-%m-%dT%H:%M:%S%z").to_string();
    put(&mut item, fields, "timestamp", Some(timestamp.into()));
    put(&mut item, fields, "username", Some(username.into()));
    // Counts as stable as the posts; one post in seven hides its likes (Instagram then omits
    // `like_count`).
    let seed = super::posts::hash64(&post.media.id);
    let likes = (!seed.is_multiple_of(7)).then(|| Value::from(12 + seed % 900));
    put(&mut item, fields, "like_count", likes);
    put(
        &mut item,
        fields,
        "comments_count",
        Some((seed / 7 % 60).into()),
    );
    let children = post.media.children();
    if !children.is_empty() {
        let inner = fields.nested("children");
        let data: Vec<Value> = children
            .iter()
            .map(|child| Value::Object(render_media(child, &inner, origin)))
            .collect();
        put(&mut item, fields, "children", Some(json!({ "data": data })));
    }
    Value::Object(item)
}

/// The fields a post shares with an album child.
fn render_media(media: &Media, fields: &Fields, origin: &Origin) -> Map<String, Value> {
    let url = |file: String| Value::from(cdn::signed_url(origin.base, &file, origin.now));
    let mut item = Map::new();
    put(&mut item, fields, "id", Some(media.id.clone().into()));
    put(
        &mut item,
        fields,
        "media_type",
        Some(media.media_type().into()),
    );
    put(&mut item, fields, "media_url", media.media_file().map(url));
    put(
        &mut item,
        fields,
        "thumbnail_url",
        media.thumbnail_file().map(url),
    );
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FIELDS: &str = "id,caption,media_type,media_url,permalink,thumbnail_url,timestamp,\
                              username,like_count,comments_count,\
                              children{id,media_type,media_url,thumbnail_url}";
    const BASE: &str = "http://localhost:8080";
    const PATH: &str = "/sandbox/graph/v25.0/me/media";
    /// Long-lived tokens of the default account and of the café (the digit after the prefix).
    const TOKEN: &str = "IGSBXL0token";
    const CAFE_TOKEN: &str = "IGSBXL1token";

    /// Runs `page` on a raw query string, as the handler would.
    fn get(query: &str) -> Result<Value, GraphError> {
        let q = web::Query::<MediaQuery>::from_query(query).unwrap();
        let origin = Origin {
            base: BASE,
            path: PATH,
            query,
            now: Utc::now(),
        };
        page(&q, &origin)
    }

    fn query(extra: &str) -> String {
        query_as(TOKEN, extra)
    }

    fn query_as(token: &str, extra: &str) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        serializer
            .append_pair("fields", ALL_FIELDS)
            .append_pair("access_token", token);
        format!("{}{extra}", serializer.finish())
    }

    /// Follows `next` from the first page to the last; returns the pages.
    fn all_pages(first: &str) -> Vec<Value> {
        let mut pages = vec![get(first).unwrap()];
        while let Some(next) = pages.last().unwrap()["paging"]["next"].as_str() {
            let rest = next
                .strip_prefix(&format!("{BASE}{PATH}?"))
                .unwrap()
                .to_owned();
            pages.push(get(&rest).unwrap());
            assert!(pages.len() < 100, "paging does not end");
        }
        pages
    }

    fn items(pages: &[Value]) -> Vec<Value> {
        pages
            .iter()
            .flat_map(|page| page["data"].as_array().unwrap().clone())
            .collect()
    }

    fn code(result: Result<Value, GraphError>) -> i64 {
        result.unwrap_err().0
    }

    #[test]
    fn pages_concatenate_to_every_post_exactly_once() {
        let expected: Vec<&str> = posts::posts(0)
            .iter()
            .map(|p| p.media.id.as_str())
            .collect();
        for (limit, page_count) in [
            ("&limit=7", 9),
            ("", 3),
            ("&limit=60", 1),
            ("&limit=1000", 1),
        ] {
            let pages = all_pages(&query(limit));
            assert_eq!(pages.len(), page_count, "limit {limit}");
            let items = items(&pages);
            let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
            assert_eq!(ids, expected, "limit {limit}");
            let last = pages.last().unwrap();
            assert!(last["paging"].get("next").is_none());
            assert!(last["paging"]["cursors"]["after"].is_string());
            for page in &pages[..pages.len() - 1] {
                assert!(page["paging"]["next"].is_string());
            }
        }
    }

    #[test]
    fn next_keeps_the_other_parameters() {
        let first = get(&query("&limit=10")).unwrap();
        let next = first["paging"]["next"].as_str().unwrap();
        let url = url::Url::parse(next).unwrap();
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let value = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("fields"), Some(ALL_FIELDS));
        assert_eq!(value("access_token"), Some(TOKEN));
        assert_eq!(value("limit"), Some("10"));
        assert_eq!(value("after"), first["paging"]["cursors"]["after"].as_str());
    }

    #[test]
    fn bad_token_limit_and_cursor_are_graph_errors() {
        assert_eq!(code(get("fields=id")), 190);
        assert_eq!(code(get("access_token=IGSBXS0short")), 190);
        assert_eq!(code(get("access_token=IGSBXLno-account")), 190);
        assert_eq!(code(get("access_token=IGSBXL9unknown-account")), 190);
        assert_eq!(code(get(&query("&limit=ten"))), 100);
        assert_eq!(code(get(&query("&limit=-1"))), 100);
        assert_eq!(code(get(&query("&after=%21%21not-base64"))), 100);
        let not_ours = STANDARD.encode("something else");
        assert_eq!(code(get(&query(&format!("&after={not_ours}")))), 100);
    }

    /// Another account's token pages through that account's posts only.
    #[test]
    fn the_token_picks_the_accounts_posts() {
        let cafe = items(&all_pages(&query_as(CAFE_TOKEN, "&limit=10")));
        let ids: Vec<&str> = cafe.iter().map(|i| i["id"].as_str().unwrap()).collect();
        let expected: Vec<&str> = posts::posts(1)
            .iter()
            .map(|p| p.media.id.as_str())
            .collect();
        assert_eq!((ids.len(), &ids), (24, &expected));
        assert!(cafe.iter().all(|i| i["username"] == "sandbox.cafe"));
        let gallery = items(&all_pages(&query("&limit=100")));
        assert!(
            gallery
                .iter()
                .all(|i| !ids.contains(&i["id"].as_str().unwrap()))
        );
    }

    #[test]
    fn a_cursor_past_the_end_gives_an_empty_page() {
        let body = get(&query(&format!("&after={}", encode_cursor(59)))).unwrap();
        assert_eq!(body, json!({"data": []}));
    }

    #[test]
    fn without_fields_only_ids_come_back() {
        let body = get(&format!("access_token={TOKEN}&limit=3")).unwrap();
        for item in body["data"].as_array().unwrap() {
            assert_eq!(item.as_object().unwrap().len(), 1, "{item}");
        }
        // `children` without braces: the children's ids only.
        let body = get(&format!("access_token={TOKEN}&fields=media_type,children")).unwrap();
        let album = &body["data"][1];
        assert_eq!(album["media_type"], "CAROUSEL_ALBUM");
        assert!(album.get("media_url").is_none());
        let child = &album["children"]["data"][0];
        assert_eq!(child.as_object().unwrap().len(), 1, "{child}");
    }

    /// Every item carries only fields Instagram sends for its type, absent rather than null.
    #[test]
    fn items_have_instagram_shapes() {
        let items = items(&all_pages(&query("&limit=100")));
        let keys = |item: &Value| -> Vec<String> {
            let mut keys: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        for item in &items {
            assert!(
                item.as_object().unwrap().values().all(|v| !v.is_null()),
                "{item}"
            );
            let id = item["id"].as_str().unwrap();
            assert!((17..=18).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()));
            let timestamp = item["timestamp"].as_str().unwrap();
            assert!(DateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S%z").is_ok());
            assert!(timestamp.ends_with("+0000"), "{timestamp}");
            assert_eq!(item["username"], "sandbox.gallery");
            let permalink = item["permalink"].as_str().unwrap();
            assert!(
                permalink.starts_with("https://www.instagram.com/p/") && permalink.ends_with('/')
            );
            let mut expected = vec![
                "id",
                "media_type",
                "permalink",
                "timestamp",
                "username",
                "comments_count",
            ];
            if item.get("caption").is_some() {
                expected.push("caption");
            }
            // Hidden likes: the field is omitted, as Instagram does.
            if item.get("like_count").is_some() {
                expected.push("like_count");
            }
            match item["media_type"].as_str().unwrap() {
                "IMAGE" => expected.push("media_url"),
                "VIDEO" => {
                    expected.push("thumbnail_url");
                    if item.get("media_url").is_some() {
                        expected.push("media_url");
                    }
                }
                "CAROUSEL_ALBUM" => {
                    expected.extend(["media_url", "children"]);
                    for child in item["children"]["data"].as_array().unwrap() {
                        let mut wanted = vec!["id", "media_type", "media_url"];
                        if child["media_type"] == "VIDEO" {
                            wanted.push("thumbnail_url");
                        }
                        wanted.sort_unstable();
                        assert_eq!(keys(child), wanted, "{child}");
                    }
                }
                other => panic!("unexpected media_type {other}"),
            }
            expected.sort_unstable();
            assert_eq!(keys(item), expected, "{item}");
        }
        let withheld = items
            .iter()
            .filter(|i| i["media_type"] == "VIDEO" && i.get("media_url").is_none());
        assert!(withheld.count() >= 1);
        assert!(items.iter().any(|i| i.get("caption").is_none()));
        assert!(items.iter().any(|i| i.get("like_count").is_none()));
    }

    #[test]
    fn urls_point_at_the_request_host_and_expire_in_the_future() {
        let body = get(&query("&limit=5")).unwrap();
        let now = Utc::now().timestamp();
        for item in body["data"].as_array().unwrap() {
            for key in ["media_url", "thumbnail_url"] {
                let Some(text) = item.get(key).and_then(Value::as_str) else {
                    continue;
                };
                assert!(
                    text.starts_with(&format!(
                        "{BASE}/sandbox/cdn/{}",
                        item["id"].as_str().unwrap()
                    )) || item["media_type"] == "CAROUSEL_ALBUM"
                );
                let url = url::Url::parse(text).unwrap();
                let oe = url.query_pairs().find(|(k, _)| k == "oe").unwrap().1;
                assert_eq!(oe.len(), 8, "{oe}");
                assert!(i64::from_str_radix(&oe, 16).unwrap() >= now, "{oe}");
                assert!(
                    url.query_pairs()
                        .any(|(k, v)| k == "oh" && v.bytes().all(|b| b.is_ascii_hexdigit()))
                );
            }
        }
    }

    /// The handler builds URLs from the incoming request's host, so any port works.
    #[actix_web::test]
    async fn the_handler_uses_the_request_host() {
        use actix_web::{App, test as actix_test};
        let app = actix_test::init_service(App::new().configure(super::super::configure)).await;
        let request = actix_test::TestRequest::get()
            .uri(&format!("{PATH}?{}", query("&limit=2")))
            .insert_header(("host", "example.test:9999"))
            .to_request();
        let body: Value = actix_test::call_and_read_body_json(&app, request).await;
        let media_url = body["data"][0]["media_url"].as_str().unwrap();
        assert!(
            media_url.starts_with("http://example.test:9999/sandbox/cdn/"),
            "{media_url}"
        );
        let next = body["paging"]["next"].as_str().unwrap();
        assert!(
            next.starts_with(&format!("http://example.test:9999{PATH}?")),
            "{next}"
        );
    }
}
