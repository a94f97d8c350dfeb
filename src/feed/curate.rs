//! The operator's curation applied to a snapshot: hidden posts and filtered ones left out,
//! pinned ones first in the operator's order, the rest newest first.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::media::{Media, MediaType};
use super::query::{Search, SearchIndex};
use super::snapshot::Snapshot;
use crate::curation::{Curation, Filters};

/// The posts `snapshot` shows under `curation`, and how many lead as pinned. Hidden posts
/// never show; pinned ones show even if a filter would leave them out (the operator chose
/// them one by one); a pin of a post the snapshot does not hold is kept for when it does.
pub fn curate(snapshot: &Snapshot, curation: &Curation) -> (Vec<Media>, usize) {
    let shown = Shown::new(snapshot, &curation.filters);
    let pinned_ids: HashSet<&str> = curation.pinned.iter().map(String::as_str).collect();
    let visible = |m: &Media| !curation.hidden.contains(&m.id);
    let mut items: Vec<Media> = curation
        .pinned
        .iter()
        .filter_map(|id| snapshot.items.iter().find(|m| m.id == *id))
        .filter(|m| visible(m))
        .cloned()
        .collect();
    let pinned = items.len();
    items.extend(
        snapshot
            .items
            .iter()
            .enumerate()
            .filter(|(i, m)| !pinned_ids.contains(m.id.as_str()) && visible(m) && shown.passes(*i))
            .map(|(_, m)| m.clone()),
    );
    (items, pinned)
}

/// A synced post as an operator curating the feed sees it, shown or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct CuratedPost {
    #[schema(example = "17918195224117851")]
    pub id: String,
    pub media_type: MediaType,
    #[schema(required = true)]
    pub caption: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// A small still to recognize the post by: the narrowest re-hosted size once ready, else
    /// what `display_url` is.
    #[schema(required = true)]
    pub thumbnail_url: Option<String>,
    pub hidden: bool,
    /// Its place among the pins (1 = first); null when not pinned.
    #[schema(required = true, example = 1)]
    pub pinned: Option<usize>,
    /// Whether the feed shows it (not hidden, and pinned or passing the filters).
    pub shown: bool,
}

/// Every post of `snapshot` (as synced, newest first) with what `curation` does to it; `served`
/// are the posts the feed shows (with their pictures).
pub fn curated_posts(
    snapshot: &Snapshot,
    served: &[Media],
    curation: &Curation,
) -> Vec<CuratedPost> {
    let shown: std::collections::HashMap<&str, &Media> =
        served.iter().map(|m| (m.id.as_str(), m)).collect();
    snapshot
        .items
        .iter()
        .map(|m| {
            let decorated = shown.get(m.id.as_str()).copied().unwrap_or(m);
            let thumbnail_url = decorated
                .image
                .as_ref()
                .and_then(|image| image.sizes.first().map(|size| size.url.clone()))
                .or_else(|| decorated.display_url.clone());
            CuratedPost {
                id: m.id.clone(),
                media_type: m.media_type,
                caption: m.caption.clone(),
                timestamp: m.timestamp.0,
                thumbnail_url,
                hidden: curation.hidden.contains(&m.id),
                pinned: curation
                    .pinned
                    .iter()
                    .position(|p| *p == m.id)
                    .map(|i| i + 1),
                shown: shown.contains_key(m.id.as_str()),
            }
        })
        .collect()
}

/// The filters, resolved against one snapshot.
struct Shown<'a> {
    snapshot: &'a Snapshot,
    filters: &'a Filters,
    /// Built only when a filter matches words.
    index: Option<SearchIndex>,
    includes: Vec<Search>,
    excludes: Vec<Search>,
}

impl<'a> Shown<'a> {
    fn new(snapshot: &'a Snapshot, filters: &'a Filters) -> Self {
        let parse = |entries: &[String]| entries.iter().map(|e| Search::parse(e)).collect();
        let includes: Vec<Search> = parse(&filters.caption_includes);
        let excludes: Vec<Search> = parse(&filters.caption_excludes);
        let index =
            (!includes.is_empty() || !excludes.is_empty()).then(|| SearchIndex::build(snapshot));
        Self {
            snapshot,
            filters,
            index,
            includes,
            excludes,
        }
    }

    /// Whether item `i` of the snapshot passes every filter.
    fn passes(&self, i: usize) -> bool {
        let item = &self.snapshot.items[i];
        let filters = self.filters;
        if !filters.types.is_empty() && !filters.types.contains(&item.media_type) {
            return false;
        }
        if filters.hide_without_caption
            && item.caption.as_deref().is_none_or(|c| c.trim().is_empty())
        {
            return false;
        }
        let Some(index) = &self.index else {
            return true;
        };
        (self.includes.is_empty() || self.includes.iter().any(|s| index.matches(i, s)))
            && !self.excludes.iter().any(|s| index.matches(i, s))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::feed::{AccountRef, MediaType};
    use crate::instagram::MediaBody;

    fn snapshot(posts: &[(&str, &str, Option<&str>)]) -> Snapshot {
        let bodies = posts
            .iter()
            .enumerate()
            .map(|(i, (id, kind, caption))| {
                serde_json::from_value::<MediaBody>(serde_json::json!({
                    "id": id,
                    "media_type": kind,
                    "caption": caption,
                    "media_url": format!("https://cdn.example/{id}.jpg"),
                    "permalink": format!("https://www.instagram.com/p/{id}/"),
                    "timestamp": Utc.timestamp_opt(1_700_000_000 - i as i64 * 60, 0).unwrap()
                        .format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
                }))
                .unwrap()
            })
            .collect();
        let account = AccountRef {
            user_id: "1".into(),
            username: Some("acme".into()),
        };
        Snapshot::build(account, bodies, Utc::now()).0
    }

    fn ids(items: &[Media]) -> Vec<&str> {
        items.iter().map(|m| m.id.as_str()).collect()
    }

    fn posts() -> Snapshot {
        snapshot(&[
            ("1", "IMAGE", Some("Latte art at the café #coffee")),
            ("2", "VIDEO", Some("Roasting day")),
            ("3", "IMAGE", None),
            ("4", "CAROUSEL_ALBUM", Some("Giveaway! Win a mug")),
            ("5", "IMAGE", Some("Cafe opening hours")),
        ])
    }

    #[test]
    fn empty_curation_keeps_everything_in_order() {
        let (items, pinned) = curate(&posts(), &Curation::default());
        assert_eq!(ids(&items), ["1", "2", "3", "4", "5"]);
        assert_eq!(pinned, 0);
    }

    #[test]
    fn hidden_posts_leave_and_pins_lead_in_order() {
        let curation = Curation {
            hidden: ["2".to_owned(), "9".to_owned()].into(),
            pinned: vec!["5".into(), "8".into(), "3".into(), "2".into()],
            ..Curation::default()
        };
        let (items, pinned) = curate(&posts(), &curation);
        // 8 is not in the snapshot; 2 is hidden although pinned.
        assert_eq!(ids(&items), ["5", "3", "1", "4"]);
        assert_eq!(pinned, 2);
    }

    #[test]
    fn filters_match_words_tags_types_and_missing_captions() {
        let curate_with = |filters: Filters| {
            let curation = Curation {
                filters,
                ..Curation::default()
            };
            let (items, _) = curate(&posts(), &curation);
            ids(&items)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            curate_with(Filters {
                types: vec![MediaType::Image],
                ..Filters::default()
            }),
            ["1", "3", "5"]
        );
        assert_eq!(
            curate_with(Filters {
                hide_without_caption: true,
                ..Filters::default()
            }),
            ["1", "2", "4", "5"]
        );
        // Accent- and case-insensitive whole words: "cafe" matches "café" and "Cafe".
        assert_eq!(
            curate_with(Filters {
                caption_includes: vec!["CAFE".into(), "roasting".into()],
                ..Filters::default()
            }),
            ["1", "2", "5"]
        );
        assert_eq!(
            curate_with(Filters {
                caption_excludes: vec!["giveaway".into(), "#coffee".into()],
                ..Filters::default()
            }),
            ["2", "3", "5"]
        );
        // A word inside another is no match.
        assert_eq!(
            curate_with(Filters {
                caption_excludes: vec!["roast".into()],
                ..Filters::default()
            }),
            ["1", "2", "3", "4", "5"]
        );
    }

    #[test]
    fn pins_are_exempt_from_filters_not_from_hiding() {
        let curation = Curation {
            pinned: vec!["4".into()],
            filters: Filters {
                caption_excludes: vec!["giveaway".into()],
                ..Filters::default()
            },
            ..Curation::default()
        };
        let (items, pinned) = curate(&posts(), &curation);
        assert_eq!(ids(&items), ["4", "1", "2", "3", "5"]);
        assert_eq!(pinned, 1);
    }
}
