//! The normalized snapshot of the account's media, its content version and URL expiry.

use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::media::Media;
use super::profile::Profile;
use crate::instagram::MediaBody;

/// Whose media this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub user_id: String,
    pub username: Option<String>,
}

/// Everything reads are served from. Stored as JSON in the store; held in memory as `Arc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// A hash of the content: an unchanged feed keeps its version (and its ETags).
    pub version: String,
    pub synced_at: DateTime<Utc>,
    pub account: AccountRef,
    /// Newest first (timestamp, then id, descending).
    pub items: Vec<Media>,
    /// The earliest expiry (`oe`) among the signed media URLs (the profile picture's too).
    pub urls_expire_at: Option<DateTime<Utc>>,
    /// Outside `version`: it changes with every follower.
    #[serde(default)]
    pub profile: Option<Profile>,
}

impl Snapshot {
    /// Normalizes Instagram's objects: drops what frontends cannot use, de-duplicates by id,
    /// sorts newest first. Returns the snapshot and how many objects were skipped.
    pub fn build(
        account: AccountRef,
        bodies: Vec<MediaBody>,
        synced_at: DateTime<Utc>,
    ) -> (Self, usize) {
        let total = bodies.len();
        let mut items: Vec<Media> = bodies.into_iter().filter_map(Media::from_body).collect();
        let skipped = total - items.len();
        items.sort_by(|a, b| order_key(b).cmp(&order_key(a)));
        // Paging can repeat an item when posts arrive mid-sync: keep the first (newest) copy.
        let mut seen = std::collections::HashSet::new();
        items.retain(|m| seen.insert(m.id.clone()));
        let urls_expire_at = items
            .iter()
            .flat_map(Media::urls)
            .filter_map(url_expiry)
            .min();
        let version = content_version(&account, &items);
        (
            Self {
                version,
                synced_at,
                account,
                items,
                urls_expire_at,
                profile: None,
            },
            skipped,
        )
    }

    /// The snapshot with the account's profile; its picture's URL expires like the others.
    pub fn with_profile(mut self, profile: Option<Profile>) -> Self {
        let expiry = profile
            .as_ref()
            .and_then(|p| p.profile_picture_url.as_deref())
            .and_then(url_expiry);
        self.urls_expire_at = match (self.urls_expire_at, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.profile = profile;
        self
    }

    /// Every picture to re-host: the posts' and the profile's.
    pub fn picture_sources(&self) -> impl Iterator<Item = crate::assets::PictureSource> + '_ {
        self.items.iter().flat_map(Media::picture_sources).chain(
            self.profile
                .as_ref()
                .and_then(|p| p.picture_source(&self.account.user_id)),
        )
    }
}

/// Sort/cursor key: timestamp, then the id compared as a number (length first, then digits).
pub fn order_key(m: &Media) -> (i64, usize, &str) {
    (m.timestamp.0.timestamp(), m.id.len(), m.id.as_str())
}

fn content_version(account: &AccountRef, items: &[Media]) -> String {
    let mut hasher = Sha256::new();
    // Serializing plain data cannot fail; the version only needs to change with the content.
    hasher.update(serde_json::to_vec(account).unwrap_or_default());
    hasher.update(serde_json::to_vec(items).unwrap_or_default());
    hasher.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `oe` parameter of Instagram's signed CDN URLs: a hex Unix time.
pub fn url_expiry(url: &str) -> Option<DateTime<Utc>> {
    let parsed = Url::parse(url).ok()?;
    let (_, oe) = parsed.query_pairs().find(|(k, _)| k == "oe")?;
    let secs = i64::from_str_radix(&oe, 16).ok()?;
    Utc.timestamp_opt(secs, 0).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: &str, ts: &str, url: &str) -> MediaBody {
        serde_json::from_value(serde_json::json!({
            "id": id, "media_type": "IMAGE", "media_url": url, "timestamp": ts
        }))
        .unwrap()
    }

    fn account() -> AccountRef {
        AccountRef {
            user_id: "1".into(),
            username: None,
        }
    }

    #[test]
    fn sorts_dedups_and_finds_the_earliest_expiry() {
        let bodies = vec![
            body(
                "5",
                "2024-01-01T00:00:00+0000",
                "https://c/5.jpg?oe=6A000000",
            ),
            body(
                "10",
                "2024-01-02T00:00:00+0000",
                "https://c/10.jpg?oe=69000000",
            ),
            body("9", "2024-01-02T00:00:00+0000", "https://c/9.jpg"),
            body(
                "5",
                "2024-01-01T00:00:00+0000",
                "https://c/5.jpg?oe=6A000000",
            ),
        ];
        let (snap, skipped) = Snapshot::build(account(), bodies, Utc::now());
        assert_eq!(skipped, 0);
        let ids: Vec<&str> = snap.items.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["10", "9", "5"]);
        assert_eq!(snap.urls_expire_at.unwrap().timestamp(), 0x6900_0000);
    }

    #[test]
    fn a_snapshot_stored_before_re_hosting_still_loads() {
        // As the previous release wrote it: no `image` on items or children.
        let stored = r#"{"version":"c48610772deb24288078630d","synced_at":"2026-11-30T10:00:00Z",
            "account":{"user_id":"1","username":"acme"},"urls_expire_at":null,
            "items":[{"id":"3","media_type":"CAROUSEL_ALBUM","caption":null,"hashtags":[],
              "permalink":null,"timestamp":"2026-11-29T10:00:00Z","username":"acme",
              "media_url":"https://c/3.jpg","thumbnail_url":null,"display_url":"https://c/31.jpg",
              "children":[{"id":"31","media_type":"IMAGE","media_url":"https://c/31.jpg",
                "thumbnail_url":null,"display_url":"https://c/31.jpg"}]}]}"#;
        let snapshot: Snapshot = serde_json::from_str(stored).expect("loads");
        assert_eq!(
            snapshot.version, "c48610772deb24288078630d",
            "kept, not recomputed"
        );
        assert_eq!(snapshot.items[0].image, None);
        assert_eq!(snapshot.items[0].children[0].image, None);
    }

    #[test]
    fn the_version_depends_on_content_only() {
        let bodies = || vec![body("1", "2024-01-01T00:00:00+0000", "https://c/1.jpg")];
        let (a, _) = Snapshot::build(account(), bodies(), Utc::now());
        let (b, _) = Snapshot::build(account(), bodies(), Utc::now() + chrono::Duration::hours(1));
        assert_eq!(a.version, b.version);
        let (c, _) = Snapshot::build(
            account(),
            vec![body("2", "2024-01-01T00:00:00+0000", "https://c/1.jpg")],
            Utc::now(),
        );
        assert_ne!(a.version, c.version);
    }
}
