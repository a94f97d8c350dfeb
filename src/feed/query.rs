//! Paging and search over a snapshot, with cursors that encode a position, not an offset:
//! a page boundary does not move when new posts arrive.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::media::{Media, MediaType};
use super::snapshot::{Snapshot, order_key};
use super::text;

/// Why a query was refused (a 400 for the client).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("`cursor` is not a cursor from a previous page")]
    BadCursor,
}

/// A position in what a feed shows: just after a pinned post, or just after the unpinned post
/// with this timestamp and id in the newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    After { timestamp: i64, id: String },
    Pinned { id: String },
}

impl Cursor {
    fn after(m: &Media, pinned: bool) -> Self {
        if pinned {
            Cursor::Pinned { id: m.id.clone() }
        } else {
            Cursor::After {
                timestamp: m.timestamp.0.timestamp(),
                id: m.id.clone(),
            }
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(match self {
            Cursor::After { timestamp, id } => format!("{timestamp}.{id}"),
            Cursor::Pinned { id } => format!("p.{id}"),
        })
    }

    pub fn decode(raw: &str) -> Result<Self, QueryError> {
        if raw.is_empty() || raw.len() > 64 {
            return Err(QueryError::BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| QueryError::BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| QueryError::BadCursor)?;
        let (head, id) = text.split_once('.').ok_or(QueryError::BadCursor)?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(id) {
            return Err(QueryError::BadCursor);
        }
        let id = id.to_owned();
        if head == "p" {
            return Ok(Cursor::Pinned { id });
        }
        if !digits(head.strip_prefix('-').unwrap_or(head)) {
            return Err(QueryError::BadCursor);
        }
        Ok(Cursor::After {
            timestamp: head.parse().map_err(|_| QueryError::BadCursor)?,
            id,
        })
    }
}

/// What to match in `/search`: `#tag` tokens must be among the post's hashtags (exact,
/// case-insensitive); every other word must occur as a whole word of the caption (case- and
/// accent-insensitive). `#sunset beach` needs both. A query with neither (only punctuation
/// or emoji) matches nothing. Composed and decomposed forms of the same text match alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    tags: Vec<String>,
    words: Vec<String>,
}

impl Search {
    pub fn parse(q: &str) -> Self {
        let mut tags: Vec<String> = Vec::new();
        let mut words: Vec<String> = Vec::new();
        for token in q.split_whitespace() {
            let found = if token.starts_with('#') {
                let keys = text::hashtags(token)
                    .iter()
                    .map(|t| text::tag_key(t))
                    .collect();
                (keys, &mut tags)
            } else {
                (text::words(token), &mut words)
            };
            let (items, into) = found;
            for item in items {
                if !into.contains(&item) {
                    into.push(item);
                }
            }
        }
        Self { tags, words }
    }

    /// Nothing to match (only punctuation or emoji): matches no post.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.words.is_empty()
    }

    /// Heap bytes held (for the response cache's weigher).
    pub fn heap_bytes(&self) -> usize {
        self.tags
            .iter()
            .chain(&self.words)
            .map(String::capacity)
            .sum::<usize>()
            + (self.tags.capacity() + self.words.capacity()) * std::mem::size_of::<String>()
    }
}

/// Per-item search data, computed once per snapshot: each item's hashtags and caption words as
/// ids into one table of the snapshot's distinct terms. A few bytes a word rather than a string
/// in a hash set per item, so that a hundred accounts' indexes stay small.
pub struct SearchIndex {
    /// Every distinct term (a [`text::tag_key`] or a caption word) → its id.
    terms: HashMap<Box<str>, u32>,
    /// Per item, sorted: its hashtags' ids (keys recomputed, as a stored snapshot may predate
    /// their normalization).
    tags: Vec<Box<[u32]>>,
    /// Per item, sorted: its caption words' ids.
    words: Vec<Box<[u32]>>,
}

impl SearchIndex {
    pub fn build(snapshot: &Snapshot) -> Self {
        let mut terms: HashMap<Box<str>, u32> = HashMap::new();
        let mut ids = |list: Vec<String>| -> Box<[u32]> {
            let mut ids: Vec<u32> = list
                .into_iter()
                .map(|term| {
                    let next = u32::try_from(terms.len()).unwrap_or(u32::MAX);
                    *terms.entry(term.into_boxed_str()).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.into_boxed_slice()
        };
        let mut tags = Vec::with_capacity(snapshot.items.len());
        let mut words = Vec::with_capacity(snapshot.items.len());
        for m in &snapshot.items {
            tags.push(ids(m.hashtags.iter().map(|t| text::tag_key(t)).collect()));
            words.push(ids(m
                .caption
                .as_deref()
                .map(text::words)
                .unwrap_or_default()));
        }
        terms.shrink_to_fit();
        Self { terms, tags, words }
    }

    /// Whether item `index` of the snapshot matches; the index holds all that is compared.
    pub(super) fn matches(&self, index: usize, search: &Search) -> bool {
        if search.tags.is_empty() && search.words.is_empty() {
            return false;
        }
        let holds = |lists: &[Box<[u32]>], term: &String| {
            self.terms.get(term.as_str()).is_some_and(|id| {
                lists
                    .get(index)
                    .is_some_and(|list| list.binary_search(id).is_ok())
            })
        };
        search.tags.iter().all(|t| holds(&self.tags, t))
            && search.words.iter().all(|w| holds(&self.words, w))
    }
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub media_type: Option<MediaType>,
}

/// A read of the feed.
#[derive(Debug, Clone)]
pub enum FeedQuery {
    Images(PageRequest),
    Search(Search, PageRequest),
    One(String),
    /// `GET /accounts/{slug}`.
    Profile,
}

impl FeedQuery {
    /// The page size of a read of the first page, unfiltered: what every gallery asks first.
    pub fn first_page_limit(&self) -> Option<usize> {
        match self {
            Self::Images(PageRequest {
                limit,
                cursor: None,
                media_type: None,
            }) => Some(*limit),
            _ => None,
        }
    }
}

#[derive(Serialize)]
pub struct PageBody<'a> {
    pub data: Vec<&'a Media>,
    pub paging: Paging,
}

/// The documented shape of a page (what [`PageBody`] serializes to).
#[derive(utoipa::ToSchema)]
#[schema(
    as = MediaPage,
    description = "A page of posts, newest first; `paging.next_cursor` is where the next one starts."
)]
pub struct MediaPageSchema {
    pub data: Vec<Media>,
    pub paging: Paging,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Paging {
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Where a page that starts after `cursor` starts, in `items` of which the first `pinned`
/// are pinned and the rest newest first: just after the cursor's pinned post (the first
/// unpinned one when that post is no longer pinned), or at the first unpinned post older
/// than the cursor's position. Any cursor, forged or not, resolves to one of
/// `items.len() + 1` positions, which is what the response cache is keyed by.
pub fn start_of(items: &[Media], pinned: usize, cursor: Option<&Cursor>) -> usize {
    let (pins, rest) = items.split_at(pinned.min(items.len()));
    match cursor {
        None => 0,
        Some(Cursor::Pinned { id }) => pins
            .iter()
            .position(|m| m.id == *id)
            .map_or(pins.len(), |i| i + 1),
        // Sorted by `order_key`, newest (greatest) first.
        Some(Cursor::After { timestamp, id }) => {
            let key = (*timestamp, id.len(), id.as_str());
            pins.len() + rest.partition_point(|m| order_key(m) >= key)
        }
    }
}

/// One page of the items matching `search` (all items when `None`) from the position
/// `start` (see [`start_of`]); the first `pinned` items are pinned.
pub fn page_at<'a>(
    snapshot: &'a Snapshot,
    index: &SearchIndex,
    pinned: usize,
    start: usize,
    limit: usize,
    media_type: Option<MediaType>,
    search: Option<&Search>,
) -> PageBody<'a> {
    let mut data = Vec::with_capacity(limit);
    let mut last = 0;
    let mut more = false;
    let candidates = snapshot.items.iter().enumerate().skip(start);
    for (i, item) in candidates {
        if media_type.is_some_and(|t| t != item.media_type) {
            continue;
        }
        if search.is_some_and(|s| !index.matches(i, s)) {
            continue;
        }
        if data.len() == limit {
            more = true;
            break;
        }
        data.push(item);
        last = i;
    }
    let next_cursor = more
        .then(|| {
            data.last()
                .map(|m| Cursor::after(m, last < pinned).encode())
        })
        .flatten();
    PageBody {
        data,
        paging: Paging { next_cursor },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    fn page<'a>(
        snapshot: &'a Snapshot,
        index: &SearchIndex,
        request: &PageRequest,
        search: Option<&Search>,
    ) -> PageBody<'a> {
        let start = start_of(&snapshot.items, 0, request.cursor.as_ref());
        page_at(
            snapshot,
            index,
            0,
            start,
            request.limit,
            request.media_type,
            search,
        )
    }
    use crate::feed::snapshot::AccountRef;
    use crate::instagram::MediaBody;

    fn snapshot(ids_and_captions: &[(&str, i64, &str)]) -> Snapshot {
        let base = Utc::now();
        let bodies: Vec<MediaBody> = ids_and_captions
            .iter()
            .map(|(id, hours_ago, caption)| {
                serde_json::from_value(serde_json::json!({
                    "id": id, "media_type": if id.ends_with('0') { "VIDEO" } else { "IMAGE" },
                    "caption": caption,
                    "timestamp": (base - Duration::hours(*hours_ago)).format("%Y-%m-%dT%H:%M:%S%z").to_string()
                }))
                .unwrap()
            })
            .collect();
        Snapshot::build(
            AccountRef {
                user_id: "1".into(),
                username: None,
            },
            bodies,
            Utc::now(),
        )
        .0
    }

    fn ids(body: &PageBody<'_>) -> Vec<String> {
        body.data.iter().map(|m| m.id.clone()).collect()
    }

    fn req(limit: usize, cursor: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            cursor: cursor.map(|c| Cursor::decode(c).unwrap()),
            media_type: None,
        }
    }

    #[test]
    fn only_an_unfiltered_first_page_read_is_a_first_page() {
        let request = |cursor: Option<Cursor>, media_type| PageRequest {
            limit: 12,
            cursor,
            media_type,
        };
        assert_eq!(
            FeedQuery::Images(request(None, None)).first_page_limit(),
            Some(12)
        );
        let cursor = Cursor::Pinned { id: "1".into() };
        assert_eq!(
            FeedQuery::Images(request(Some(cursor), None)).first_page_limit(),
            None
        );
        let video = Some(MediaType::Video);
        assert_eq!(
            FeedQuery::Images(request(None, video)).first_page_limit(),
            None
        );
        assert_eq!(FeedQuery::One("1".into()).first_page_limit(), None);
    }

    #[test]
    fn cursors_are_positions_that_survive_new_posts() {
        let old = snapshot(&[("11", 1, ""), ("12", 2, ""), ("13", 3, ""), ("14", 4, "")]);
        let index = SearchIndex::build(&old);
        let first = page(&old, &index, &req(2, None), None);
        assert_eq!(ids(&first), vec!["11", "12"]);
        let cursor = first.paging.next_cursor.clone().unwrap();
        // A new post arrives before the client asks for page two.
        let newer = snapshot(&[
            ("15", 0, ""),
            ("11", 1, ""),
            ("12", 2, ""),
            ("13", 3, ""),
            ("14", 4, ""),
        ]);
        let second = page(
            &newer,
            &SearchIndex::build(&newer),
            &req(2, Some(&cursor)),
            None,
        );
        assert_eq!(ids(&second), vec!["13", "14"]);
        assert_eq!(second.paging.next_cursor, None);
    }

    #[test]
    fn filters_and_search_page_too() {
        let snap = snapshot(&[
            ("21", 1, "Café au lait #Morning"),
            ("20", 2, "morning run #sunset#beach."),
            ("23", 3, "cafe #café"),
            ("24", 4, ""),
        ]);
        let index = SearchIndex::build(&snap);
        let videos = PageRequest {
            limit: 10,
            cursor: None,
            media_type: Some(MediaType::Video),
        };
        assert_eq!(ids(&page(&snap, &index, &videos, None)), vec!["20"]);
        let s = Search::parse("CAFE");
        assert_eq!(
            ids(&page(&snap, &index, &req(10, None), Some(&s))),
            vec!["21", "23"]
        );
        let s = Search::parse("#café");
        assert_eq!(
            ids(&page(&snap, &index, &req(10, None), Some(&s))),
            vec!["23"]
        );
        let s = Search::parse("#Sunset");
        assert_eq!(
            ids(&page(&snap, &index, &req(10, None), Some(&s))),
            vec!["20"]
        );
        let s = Search::parse("morning sunset");
        assert_eq!(
            ids(&page(&snap, &index, &req(10, None), Some(&s))),
            vec!["20"]
        );
        let s = Search::parse("#sunset morning");
        assert_eq!(
            ids(&page(&snap, &index, &req(10, None), Some(&s))),
            vec!["20"]
        );
        let s = Search::parse("#sunset cafe");
        assert!(
            page(&snap, &index, &req(10, None), Some(&s))
                .data
                .is_empty()
        );
        let s = Search::parse("morn");
        assert!(
            page(&snap, &index, &req(10, None), Some(&s))
                .data
                .is_empty()
        );
        let one = page(&snap, &index, &req(1, None), Some(&Search::parse("cafe")));
        let rest = req(1, one.paging.next_cursor.as_deref());
        assert_eq!(
            ids(&page(&snap, &index, &rest, Some(&Search::parse("cafe")))),
            vec!["23"]
        );
    }

    #[test]
    fn composed_and_decomposed_text_match_alike() {
        let snap = snapshot(&[
            ("41", 1, "un #caf\u{e9} au lait"),
            ("42", 2, "un #cafe\u{301} noir"),
            ("43", 3, "#cafe sans accent"),
        ]);
        let index = SearchIndex::build(&snap);
        let found = |q: &str| {
            ids(&page(
                &snap,
                &index,
                &req(10, None),
                Some(&Search::parse(q)),
            ))
        };
        for q in ["#caf\u{e9}", "#cafe\u{301}", "#CAFE\u{301}", "#CAF\u{c9}"] {
            assert_eq!(found(q), vec!["41", "42"], "{q:?}");
        }
        assert_eq!(found("#cafe"), vec!["43"]);
        assert_eq!(found("cafe\u{301} noir"), vec!["42"]);
        assert_eq!(found("caf\u{e9} lait"), vec!["41"]);
        assert_eq!(
            Search::parse("#cafe\u{301}"),
            Search::parse("#caf\u{e9}"),
            "one cache entry"
        );
    }

    #[test]
    fn bad_cursors_and_empty_searches_are_refused() {
        for bad in [
            "",
            "!!",
            "bm90LWEtY3Vyc29y",
            &"A".repeat(80),
            &URL_SAFE_NO_PAD.encode("1.2/3"),
        ] {
            assert_eq!(Cursor::decode(bad), Err(QueryError::BadCursor), "{bad}");
        }
        let snap = snapshot(&[("31", 1, "anything !!! at all")]);
        let index = SearchIndex::build(&snap);
        for q in ["  !!! ", "#", "\u{8d}", "🌅"] {
            let nothing = Search::parse(q);
            assert!(
                page(&snap, &index, &req(10, None), Some(&nothing))
                    .data
                    .is_empty(),
                "{q:?}"
            );
        }
        for c in [
            Cursor::After {
                timestamp: 1_700_000_000,
                id: "179".into(),
            },
            Cursor::Pinned { id: "179".into() },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
        for bad in ["p.", "p.x1", "q.1", "P.1"] {
            assert_eq!(
                Cursor::decode(&URL_SAFE_NO_PAD.encode(bad)),
                Err(QueryError::BadCursor),
                "{bad}"
            );
        }
    }

    #[test]
    fn pinned_posts_lead_and_page_with_their_own_cursors() {
        let mut snap = snapshot(&[("11", 1, ""), ("12", 2, ""), ("13", 3, ""), ("14", 4, "")]);
        // 13 is pinned: it leads, the rest stay newest first.
        let pin = snap.items.remove(2);
        snap.items.insert(0, pin);
        let index = SearchIndex::build(&snap);
        let page = |limit: usize, cursor: Option<&str>| {
            let request = req(limit, cursor);
            let start = start_of(&snap.items, 1, request.cursor.as_ref());
            let body = page_at(&snap, &index, 1, start, limit, None, None);
            (ids(&body), body.paging.next_cursor)
        };
        let (first, after_pin) = page(1, None);
        assert_eq!(first, ["13"]);
        let after_pin = after_pin.unwrap();
        assert_eq!(
            Cursor::decode(&after_pin),
            Ok(Cursor::Pinned { id: "13".into() })
        );
        let (second, next) = page(2, Some(&after_pin));
        assert_eq!(second, ["11", "12"]);
        let (third, last) = page(2, Some(&next.unwrap()));
        assert_eq!(third, ["14"]);
        assert_eq!(last, None);
        // A cursor after a post no longer pinned goes on with the unpinned posts.
        let unpinned = Cursor::Pinned { id: "12".into() }.encode();
        assert_eq!(page(1, Some(&unpinned)).0, ["11"]);
    }
}
