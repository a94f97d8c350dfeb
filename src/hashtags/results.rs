//! One hashtag's fetched posts for one account and order: what the store shares between
//! replicas, and the pages rendered from it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assets::{Images, PictureSource};
use crate::feed::{Media, MediaType, PageBody, Paging, Rendered};
use crate::instagram::HashtagOrder;

/// What Meta said about the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Found {
        hashtag_id: String,
    },
    /// `ig_hashtag_search` found no such hashtag.
    NotFound,
    /// Meta's generic error for sensitive, offensive or malformed tags.
    Refused,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagResults {
    pub tag: String,
    pub order: HashtagOrder,
    pub outcome: Outcome,
    pub fetched_at: DateTime<Utc>,
    /// In Meta's order (popularity for `top`; roughly newest first for `recent`).
    pub items: Vec<Media>,
}

/// A page of [`TagResults`]: `offset` posts in (after the `type` filter), `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSpec {
    pub offset: usize,
    pub limit: usize,
    pub media_type: Option<MediaType>,
}

/// Why a cursor was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`cursor` is not one this service issued for a public hashtag search")]
pub struct BadCursor;

const CURSOR_PREFIX: &str = "h.";

/// `paging.next_cursor` of a public search: where the next page starts.
pub fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

pub fn decode_cursor(raw: &str, max_items: usize) -> Result<usize, BadCursor> {
    if raw.is_empty() || raw.len() > 64 {
        return Err(BadCursor);
    }
    let text = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(BadCursor)?;
    let digits = text.strip_prefix(CURSOR_PREFIX).ok_or(BadCursor)?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadCursor);
    }
    digits
        .parse::<usize>()
        .ok()
        .filter(|o| *o > 0 && *o <= max_items)
        .ok_or(BadCursor)
}

impl TagResults {
    /// The pictures of these posts to re-host.
    pub fn picture_sources(&self) -> impl Iterator<Item = PictureSource> + '_ {
        self.items.iter().flat_map(Media::picture_sources)
    }

    /// The page `spec` as a ready body (`username` is always null: Meta does not return it),
    /// with the re-hosted pictures of `images`.
    pub fn render(&self, spec: &PageSpec, images: &Images) -> Rendered {
        let matching: Vec<&Media> = self
            .items
            .iter()
            .filter(|m| spec.media_type.is_none_or(|t| m.media_type == t))
            .collect();
        let start = spec.offset.min(matching.len());
        let end = (start + spec.limit).min(matching.len());
        let next_cursor = (end < matching.len()).then(|| encode_cursor(end));
        let page: Vec<Media> = matching[start..end]
            .iter()
            .map(|m| {
                let mut m = (*m).clone();
                m.apply_images(images);
                m
            })
            .collect();
        Rendered::json(&PageBody {
            data: page.iter().collect(),
            paging: Paging { next_cursor },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(50), 100), Ok(50));
        for bad in [
            "",
            "h.1",
            &URL_SAFE_NO_PAD.encode("h.0"),
            &URL_SAFE_NO_PAD.encode("h.101"),
            &URL_SAFE_NO_PAD.encode("x.5"),
            &URL_SAFE_NO_PAD.encode("h.-1"),
            &URL_SAFE_NO_PAD.encode("h.99999999999"),
        ] {
            assert_eq!(decode_cursor(bad, 100), Err(BadCursor), "{bad}");
        }
    }
}
