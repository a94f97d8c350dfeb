//! The webhook events of one account's feed: what changed in a sync (`feed.updated`), and
//! (through the shared sync status) when syncing starts and stops failing.

use std::collections::HashSet;

use super::snapshot::Snapshot;
use crate::accounts::Slug;
use crate::webhooks::{Event, Events};

/// The account's feed events, emitted through the service's [`Events`].
pub struct FeedEvents {
    slug: Slug,
    events: Events,
}

impl FeedEvents {
    pub fn new(slug: Slug, events: Events) -> Self {
        Self { slug, events }
    }

    pub fn slug(&self) -> &Slug {
        &self.slug
    }

    /// `feed.updated`, when `next` (just written by this replica) has another version than
    /// `previous` (what was stored before; none: every id is new).
    pub async fn feed_updated(&self, previous: Option<&Snapshot>, next: &Snapshot) {
        if let Some((added, removed)) = changes(previous, next) {
            let event = Event::feed_updated(&self.slug, &next.version, &added, &removed);
            self.events.emit(Some(&self.slug), event).await;
        }
    }
}

/// The ids `next` added and removed since `previous`; `None` when the version is the same.
fn changes(previous: Option<&Snapshot>, next: &Snapshot) -> Option<(Vec<String>, Vec<String>)> {
    if previous.is_some_and(|p| p.version == next.version) {
        return None;
    }
    let ids = |s: &Snapshot| -> HashSet<String> { s.items.iter().map(|m| m.id.clone()).collect() };
    let before = previous.map(ids).unwrap_or_default();
    let after = ids(next);
    let added = next
        .items
        .iter()
        .filter(|m| !before.contains(&m.id))
        .map(|m| m.id.clone())
        .collect();
    let removed = previous
        .map(|p| {
            p.items
                .iter()
                .filter(|m| !after.contains(&m.id))
                .map(|m| m.id.clone())
                .collect()
        })
        .unwrap_or_default();
    Some((added, removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::AccountRef;
    use crate::instagram::MediaBody;

    fn snapshot(ids: &[u64]) -> Snapshot {
        let bodies: Vec<MediaBody> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                serde_json::from_value(serde_json::json!({
                    "id": id.to_string(),
                    "media_type": "IMAGE",
                    "media_url": format!("https://cdn.example.com/{id}.jpg"),
                    "timestamp": format!("2025-12-0{}T10:00:00+0000", 9 - i),
                }))
                .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let account = AccountRef {
            user_id: "1".into(),
            username: None,
        };
        Snapshot::build(account, bodies, chrono::Utc::now()).0
    }

    #[test]
    fn the_first_snapshot_adds_every_id_and_the_same_version_changes_nothing() {
        let first = snapshot(&[3, 2, 1]);
        assert_eq!(
            changes(None, &first),
            Some((vec!["3".into(), "2".into(), "1".into()], vec![]))
        );
        assert_eq!(changes(Some(&first), &snapshot(&[3, 2, 1])), None);
        assert_eq!(
            changes(Some(&first), &snapshot(&[4, 3, 2])),
            Some((vec!["4".into()], vec!["1".into()]))
        );
    }
}
