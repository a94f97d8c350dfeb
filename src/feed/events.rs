//! The webhook events of one account's feed: what changed in a sync (`feed.updated`), and
//! (through the shared sync status) when syncing starts and stops failing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::snapshot::Snapshot;
use crate::accounts::Slug;
use crate::webhooks::{Event, EventType, Events};

/// How long a failure episode's events are remembered across replicas (longer than the
/// longest `webhooks.sync_failing_after_secs`).
const EPISODE_MEMORY: Duration = Duration::from_secs(31 * 86_400);
/// The error text `sync.failing` carries, at most.
const MAX_ERROR_CHARS: usize = 200;

/// The account's feed events, emitted through the service's [`Events`].
pub struct FeedEvents {
    slug: Slug,
    events: Events,
    /// `webhooks.sync_failing_after_secs`.
    failing_after: Duration,
}

impl FeedEvents {
    pub fn new(slug: Slug, events: Events, failing_after: Duration) -> Self {
        Self {
            slug,
            events,
            failing_after,
        }
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

    /// Whether a failure episode that started at `since` is long enough at `now` for
    /// `sync.failing`.
    pub fn failing_for_long(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since)
            .to_std()
            .is_ok_and(|d| d >= self.failing_after)
    }

    /// `sync.failing`, once per episode (the first failure at `since`) across replicas.
    pub async fn sync_failing(&self, since: DateTime<Utc>, error: &str) {
        let mut extra = episode(since);
        extra.insert(
            "error".to_owned(),
            Value::from(error.chars().take(MAX_ERROR_CHARS).collect::<String>()),
        );
        self.once("sync-failing", since, EventType::SyncFailing, extra)
            .await;
    }

    /// `sync.recovered`: the first success after `sync.failing` for the episode at `since`.
    pub async fn sync_recovered(&self, since: DateTime<Utc>) {
        self.once(
            "sync-recovered",
            since,
            EventType::SyncRecovered,
            episode(since),
        )
        .await;
    }

    async fn once(
        &self,
        what: &str,
        since: DateTime<Utc>,
        kind: EventType,
        extra: serde_json::Map<String, Value>,
    ) {
        let key = format!("{what}:{}:{}", self.slug, since.timestamp_millis());
        let event = Event::about_account(kind, &self.slug, extra);
        self.events
            .emit_once(&key, EPISODE_MEMORY, Some(&self.slug), event)
            .await;
    }
}

fn episode(since: DateTime<Utc>) -> serde_json::Map<String, Value> {
    serde_json::Map::from_iter([(
        "failing_since".to_owned(),
        Value::from(since.to_rfc3339_opts(SecondsFormat::Millis, true)),
    )])
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
