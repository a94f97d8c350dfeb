//! The curation of one account, and the rules its settings must follow.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::CurationError;
use crate::feed::{MediaType, Search, is_media_id};

/// Pinned posts, at most.
pub const MAX_PINS: usize = 12;
/// Entries of `caption_includes`, and of `caption_excludes`, at most.
pub const MAX_FILTER_WORDS: usize = 100;
/// Hidden posts per account, at most (the whole setting is one value in the store).
pub const MAX_HIDDEN: usize = 1000;
/// Characters of one filter entry, at most.
const MAX_WORD_CHARS: usize = 100;

/// As stored (one JSON value per account). Fields added later must default, so that an older
/// replica and a newer one read each other's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curation {
    /// New (random) with every change; what the version poll compares. Random rather than a
    /// counter, so a setting deleted and written again never repeats one a replica has seen.
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub hidden: BTreeSet<String>,
    #[serde(default)]
    pub pinned: Vec<String>,
    #[serde(default)]
    pub filters: Filters,
}

/// Which posts an account shows at all. Empty lists and `false` filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Filters {
    /// Only posts of these types; empty: every type.
    pub types: Vec<MediaType>,
    /// Only posts whose caption matches at least one entry; empty: no such condition. An
    /// entry matches as `/search` does: every word whole, case- and accent-insensitive;
    /// `#tag` entries match hashtags. Entries without a word or tag (blank, only punctuation
    /// or emoji) are dropped. At most 100.
    #[schema(value_type = Vec<FilterEntry>, max_items = 100, example = json!(["coffee", "#latteart"]))]
    pub caption_includes: Vec<String>,
    /// No post whose caption matches any entry (matched like `caption_includes`). At most 100.
    #[schema(value_type = Vec<FilterEntry>, max_items = 100, example = json!(["giveaway"]))]
    pub caption_excludes: Vec<String>,
    /// No post without a caption.
    pub hide_without_caption: bool,
}

/// One filter entry: words and `#tags`, up to 100 characters.
#[derive(ToSchema)]
#[schema(max_length = 100, example = "coffee")]
pub struct FilterEntry(#[expect(dead_code, reason = "documented only")] String);

impl Curation {
    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty() && self.pinned.is_empty() && self.filters == Filters::default()
    }
}

impl Filters {
    /// Checks the entries; drops those with nothing to match and duplicates (of types and of
    /// entries), keeping the order.
    pub fn validated(mut self) -> Result<Self, CurationError> {
        for (name, list) in [
            ("caption_includes", &mut self.caption_includes),
            ("caption_excludes", &mut self.caption_excludes),
        ] {
            if list.len() > MAX_FILTER_WORDS {
                return Err(CurationError::Invalid(format!(
                    "{} entries in `{name}`; at most {MAX_FILTER_WORDS}",
                    list.len()
                )));
            }
            if list.iter().any(|e| e.chars().count() > MAX_WORD_CHARS) {
                return Err(CurationError::Invalid(format!(
                    "an entry of `{name}` is longer than {MAX_WORD_CHARS} characters"
                )));
            }
            list.retain(|entry| !Search::parse(entry).is_empty());
            dedup(list);
        }
        dedup(&mut self.types);
        Ok(self)
    }
}

fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        let new = !seen.contains(item);
        if new {
            seen.push(item.clone());
        }
        new
    });
}

/// A media id as the feed accepts them ([`is_media_id`]), or a problem naming the rule.
pub fn check_media_id(id: &str) -> Result<(), CurationError> {
    if is_media_id(id) {
        Ok(())
    } else {
        Err(CurationError::Invalid(
            "a media id is 1 to 32 digits (the `id` of a post in /images)".to_owned(),
        ))
    }
}

/// Checks a list of pins: ids, at most [`MAX_PINS`], none twice.
pub fn check_pins(ids: &[String]) -> Result<(), CurationError> {
    if ids.len() > MAX_PINS {
        return Err(CurationError::Invalid(format!(
            "{} posts to pin; at most {MAX_PINS}",
            ids.len()
        )));
    }
    for (i, id) in ids.iter().enumerate() {
        check_media_id(id)?;
        if ids[..i].contains(id) {
            return Err(CurationError::Invalid(format!("{id} is pinned twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_are_digits() {
        assert!(check_media_id("17918195224117851").is_ok());
        for bad in ["", "abc", "12a", "../1", &"1".repeat(33)] {
            assert!(check_media_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pins_are_bounded_and_unique() {
        let ids = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert!(check_pins(&ids(MAX_PINS)).is_ok());
        assert!(check_pins(&ids(MAX_PINS + 1)).is_err());
        assert!(check_pins(&["1".to_owned(), "1".to_owned()]).is_err());
    }

    #[test]
    fn filters_bound_entries_and_drop_empty_ones() {
        let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>();
        let many = Filters {
            caption_excludes: words(MAX_FILTER_WORDS + 1),
            ..Filters::default()
        };
        assert!(many.validated().is_err());
        let full = Filters {
            caption_includes: words(MAX_FILTER_WORDS),
            caption_excludes: words(MAX_FILTER_WORDS),
            ..Filters::default()
        };
        assert!(full.validated().is_ok());
        let long = Filters {
            caption_includes: vec!["a".repeat(MAX_WORD_CHARS + 1)],
            ..Filters::default()
        };
        assert!(long.validated().is_err());
        let blanks = Filters {
            caption_excludes: ["", "  ", "#", "🙂", "ok"].map(str::to_owned).to_vec(),
            ..Filters::default()
        }
        .validated()
        .unwrap();
        assert_eq!(blanks.caption_excludes, ["ok"]);
    }

    #[test]
    fn filters_drop_duplicates_in_order() {
        let filters = Filters {
            types: vec![MediaType::Video, MediaType::Image, MediaType::Video],
            caption_includes: vec!["b".into(), "a".into(), "b".into()],
            ..Filters::default()
        }
        .validated()
        .unwrap();
        assert_eq!(filters.types, [MediaType::Video, MediaType::Image]);
        assert_eq!(filters.caption_includes, ["b", "a"]);
    }
}
