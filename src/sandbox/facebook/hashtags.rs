//! Hashtags: their static ids, what `ig_hashtag_search` accepts, the names behind the ids the
//! sandbox has issued, and Meta's budget of 30 unique hashtags per Instagram account per
//! rolling 7 days.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::posts::hash64;
use super::super::{Sandbox, graph_error, graph_error_with_subcode};
use super::{NO_NODE, data_user, reach, respond};

/// Meta's budget: unique hashtags per Instagram account, per rolling window.
pub(super) const MAX_TAGS: usize = 30;
pub(super) const WINDOW: TimeDelta = TimeDelta::days(7);

/// Tags Meta refuses with its generic error (sensitive or offensive ones).
const SENSITIVE: &[&str] = &["nsfw", "blocked", "forbidden"];
/// Tags that exist, known without a search, so their ids keep working after a restart (the
/// demo's and the sandbox captions' usual ones).
const KNOWN: &[&str] = &[
    "coffee",
    "travel",
    "sunset",
    "café",
    "food",
    "art",
    "nature",
    "photography",
    "beach",
    "winter",
    "summer",
    "latte",
    "espresso",
    "bakery",
    "ceramics",
    "handmade",
];

/// What a search for a tag finds.
#[derive(Debug, PartialEq)]
pub(super) enum Lookup {
    /// The tag exists: its id and lower-cased name.
    Found { id: String, name: String },
    /// A valid tag no post carries: `{"data":[]}`.
    Absent,
    /// Sensitive: Meta's generic error (code 100, subcode 2207006).
    Sensitive,
    /// Empty, or with an emoji or other non-word character: code 100.
    Invalid,
}

/// `q` of `ig_hashtag_search`, without `#`.
pub(super) fn look_up(q: &str) -> Lookup {
    let name = q.trim().to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    if name.is_empty() || name.chars().count() > 100 || !name.chars().all(word) {
        return Lookup::Invalid;
    }
    if SENSITIVE.contains(&name.as_str()) {
        return Lookup::Sensitive;
    }
    if name == "nothinghere" || name.starts_with("zzz") {
        return Lookup::Absent;
    }
    Lookup::Found {
        id: id_of(&name),
        name,
    }
}

/// A 17-digit id `17843…`, like Meta's (`#bluebottle` is 17843857450040591), the same for a
/// tag everywhere and always; never `178414…`, the Instagram accounts' prefix.
pub(super) fn id_of(name: &str) -> String {
    let hashed = hash64(&format!("sandbox/hashtag/{name}")) % 1_000_000_000_000;
    (17_843_000_000_000_000 + hashed).to_string()
}

/// The names of the tags the sandbox has issued ids for (and the [`KNOWN`] ones): the
/// `/{hashtag-id}` node and the tag media's captions need them.
#[derive(Default)]
pub(super) struct Names(Mutex<HashMap<String, String>>);

impl Names {
    pub fn remember(&self, id: &str, name: &str) {
        let mut names = self.0.lock().unwrap_or_else(|p| p.into_inner());
        names.insert(id.to_owned(), name.to_owned());
    }

    pub fn name_of(&self, id: &str) -> Option<String> {
        if let Some(known) = KNOWN.iter().find(|name| id_of(name) == id) {
            return Some((*known).to_owned());
        }
        let names = self.0.lock().unwrap_or_else(|p| p.into_inner());
        names.get(id).cloned()
    }
}

/// Over Meta's budget: the search is refused (code 24).
#[derive(Debug, PartialEq)]
pub(super) struct Exhausted;

/// The tags an account counted: each id with when it was first searched, oldest first.
type Searched = Vec<(String, DateTime<Utc>)>;

/// The tags each Instagram account searched, with when each was first searched in its window.
/// In memory: a restart gives every account its full budget back.
#[derive(Default)]
pub(super) struct Budget(Mutex<HashMap<String, Searched>>);

impl Budget {
    /// Counts a search of `tag_id` by `ig_user` at `now`. A tag already counted is free and
    /// keeps its first time (a repeat does not reset its 7 days); a new one needs room among
    /// the last 7 days' tags.
    pub fn spend(&self, ig_user: &str, tag_id: &str, now: DateTime<Utc>) -> Result<(), Exhausted> {
        let mut budget = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let searched = budget.entry(ig_user.to_owned()).or_default();
        searched.retain(|(_, first)| now - *first < WINDOW);
        if searched.iter().any(|(id, _)| id == tag_id) {
            return Ok(());
        }
        if searched.len() >= MAX_TAGS {
            return Err(Exhausted);
        }
        searched.push((tag_id.to_owned(), now));
        Ok(())
    }

    /// The ids of the tags `ig_user` searched in the 7 days before `now`, newest first.
    pub fn recent(&self, ig_user: &str, now: DateTime<Utc>) -> Vec<String> {
        let budget = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let searched = budget.get(ig_user).map_or(&[][..], Vec::as_slice);
        searched
            .iter()
            .rev()
            .filter(|(_, first)| now - *first < WINDOW)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    access_token: Option<String>,
    user_id: Option<String>,
    q: Option<String>,
}

/// `ig_hashtag_search`: the tag's id, counted against the account's budget.
pub(super) async fn search_hashtag(
    q: web::Query<SearchQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    let account = match data_user(q.access_token.as_deref())
        .and_then(|user| reach(user, q.user_id.as_deref()))
    {
        Ok(account) => account,
        Err((code, message)) => return graph_error(code, message),
    };
    match look_up(q.q.as_deref().unwrap_or_default()) {
        Lookup::Invalid => graph_error(100, "Invalid parameter"),
        Lookup::Sensitive => graph_error_with_subcode(100, 2_207_006, "Invalid parameter"),
        Lookup::Absent => HttpResponse::Ok().json(json!({"data": []})),
        Lookup::Found { id, name } => {
            let facebook = &sandbox.facebook;
            if facebook
                .budget
                .spend(account.user_id, &id, Utc::now())
                .is_err()
            {
                return graph_error_with_subcode(
                    24,
                    2_207_034,
                    "(#24) The user has reached the limit of 30 unique hashtags queried in a \
                     rolling 7 day period",
                );
            }
            facebook.names.remember(&id, &name);
            HttpResponse::Ok().json(json!({"data": [{"id": id}]}))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SearchedQuery {
    access_token: Option<String>,
    limit: Option<String>,
}

/// `/{ig-user-id}/recently_searched_hashtags`: the tags counted in the last 7 days, newest
/// first; `limit` 25 by default, 30 at most.
pub(super) async fn list_searched_hashtags(
    path: web::Path<(String, String)>,
    q: web::Query<SearchedQuery>,
    sandbox: web::Data<Sandbox>,
) -> HttpResponse {
    let searched = || {
        let user = data_user(q.access_token.as_deref())?;
        let account = user.reaches(&path.1).ok_or(NO_NODE)?;
        let limit = match q.limit.as_deref() {
            None => 25,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .map_err(|_| (100, "(#100) Param limit must be a number"))?
                .clamp(1, MAX_TAGS),
        };
        let recent = sandbox.facebook.budget.recent(account.user_id, Utc::now());
        let data: Vec<Value> = recent
            .into_iter()
            .take(limit)
            .map(|id| json!({ "id": id }))
            .collect();
        Ok(json!({ "data": data }))
    };
    respond(searched())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn found(q: &str) -> String {
        match look_up(q) {
            Lookup::Found { id, .. } => id,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn ids_are_static_per_lower_cased_tag() {
        let coffee = found("coffee");
        assert_eq!(coffee, found("Coffee"));
        assert_eq!(coffee, id_of("coffee"));
        assert_ne!(coffee, found("travel"));
        // Pinned: a change here breaks every id a gateway has stored.
        assert_eq!(coffee, "17843990527214693");
        for q in ["coffee", "café", "日本", "über_alles", "10years"] {
            let id = found(q);
            assert_eq!(id.len(), 17, "{q}");
            assert!(id.starts_with("17843") && id.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn search_refuses_what_meta_refuses() {
        for q in [
            "",
            "  ",
            "#coffee",
            "☕",
            "coffee☕",
            "two words",
            "a-b",
            "cafe!",
        ] {
            assert_eq!(look_up(q), Lookup::Invalid, "{q:?}");
        }
        for q in ["nsfw", "Blocked", "forbidden"] {
            assert_eq!(look_up(q), Lookup::Sensitive, "{q}");
        }
        for q in ["nothinghere", "zzz", "ZZZtop", "zzzsleepy"] {
            assert_eq!(look_up(q), Lookup::Absent, "{q}");
        }
    }

    #[test]
    fn names_are_known_for_issued_and_demo_tags() {
        let names = Names::default();
        assert_eq!(names.name_of(&id_of("sunset")).as_deref(), Some("sunset"));
        let rare = id_of("rarebird");
        assert_eq!(names.name_of(&rare), None);
        names.remember(&rare, "rarebird");
        assert_eq!(names.name_of(&rare).as_deref(), Some("rarebird"));
    }

    #[test]
    fn thirty_unique_tags_per_rolling_seven_days() {
        let budget = Budget::default();
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        let tag = |n: usize| id_of(&format!("tag{n}"));
        for n in 0..MAX_TAGS {
            let at = start + TimeDelta::hours(n as i64);
            assert_eq!(budget.spend("ig", &tag(n), at), Ok(()), "{n}");
        }
        let later = start + TimeDelta::days(6);
        assert_eq!(budget.spend("ig", &tag(30), later), Err(Exhausted));
        assert_eq!(
            budget.spend("ig", &tag(3), later),
            Ok(()),
            "a repeat is free"
        );
        assert_eq!(
            budget.spend("other", &tag(30), later),
            Ok(()),
            "per account"
        );
        assert_eq!(budget.recent("ig", later).len(), MAX_TAGS);
        assert_eq!(budget.recent("ig", later)[0], tag(29), "newest first");
        // 7 days after the first search, the first tag leaves the window (the repeat of tag 3
        // did not restart its 7 days either).
        let week = start + WINDOW;
        assert_eq!(budget.spend("ig", &tag(30), week), Ok(()));
        assert_eq!(budget.spend("ig", &tag(31), week), Err(Exhausted));
        let tag_3_gone = start + WINDOW + TimeDelta::hours(3);
        assert!(!budget.recent("ig", tag_3_gone).contains(&tag(3)));
        assert_eq!(budget.spend("ig", &tag(31), tag_3_gone), Ok(()));
        assert_eq!(
            budget.recent("ig", tag_3_gone).len(),
            28,
            "tags 0 to 3 left"
        );
    }
}
