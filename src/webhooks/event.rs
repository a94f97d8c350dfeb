//! What is sent: the event types, and the envelope `{type, timestamp, data}` (JSON, under
//! 20 KB as the specification recommends: payloads are thin, receivers fetch what they need).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::accounts::Slug;

/// The largest envelope sent.
pub const MAX_PAYLOAD_BYTES: usize = 20 * 1024;

/// The kinds of events an endpoint subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// An account's snapshot changed: `{account, version, added, removed}` (media ids).
    #[serde(rename = "feed.updated")]
    FeedUpdated,
    /// An account got a token: `{account, username}`.
    #[serde(rename = "account.connected")]
    AccountConnected,
    /// An account's token was deleted (by an operator, or Meta's deauthorize): `{account}`.
    #[serde(rename = "account.disconnected")]
    AccountDisconnected,
    /// The token is invalid or expired; an operator must connect the account again.
    #[serde(rename = "account.reauth_required")]
    AccountReauthRequired,
    /// The token expires within 7 days.
    #[serde(rename = "account.token_expiring")]
    AccountTokenExpiring,
    /// Syncs have been failing for longer than the configured time.
    #[serde(rename = "sync.failing")]
    SyncFailing,
    /// A sync succeeded after `sync.failing`.
    #[serde(rename = "sync.recovered")]
    SyncRecovered,
    /// Sent by `POST /admin/webhooks/{id}/test`, whatever the endpoint subscribes to.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::FeedUpdated,
        EventType::AccountConnected,
        EventType::AccountDisconnected,
        EventType::AccountReauthRequired,
        EventType::AccountTokenExpiring,
        EventType::SyncFailing,
        EventType::SyncRecovered,
        EventType::WebhookTest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::FeedUpdated => "feed.updated",
            EventType::AccountConnected => "account.connected",
            EventType::AccountDisconnected => "account.disconnected",
            EventType::AccountReauthRequired => "account.reauth_required",
            EventType::AccountTokenExpiring => "account.token_expiring",
            EventType::SyncFailing => "sync.failing",
            EventType::SyncRecovered => "sync.recovered",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// An event to send: its type and its `data`.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    pub data: Value,
}

/// The id lists of `feed.updated` are left out (with `truncated: true`) beyond this many ids
/// together, which keeps the envelope well under [`MAX_PAYLOAD_BYTES`].
const MAX_FEED_IDS: usize = 500;

impl Event {
    pub fn account_connected(account: &Slug, username: Option<&str>) -> Self {
        Self {
            kind: EventType::AccountConnected,
            data: json!({"account": account.as_str(), "username": username}),
        }
    }

    pub fn account_disconnected(account: &Slug, reason: DisconnectReason) -> Self {
        Self {
            kind: EventType::AccountDisconnected,
            data: json!({"account": account.as_str(), "reason": reason}),
        }
    }

    /// `feed.updated`: ids only. When there are too many to send, both lists are empty and
    /// `truncated` is true: the receiver reads the feed instead.
    pub fn feed_updated(
        account: &Slug,
        version: &str,
        added: &[String],
        removed: &[String],
    ) -> Self {
        let truncated = added.len() + removed.len() > MAX_FEED_IDS;
        let (added, removed) = if truncated {
            (&[][..], &[][..])
        } else {
            (added, removed)
        };
        Self {
            kind: EventType::FeedUpdated,
            data: json!({
                "account": account.as_str(),
                "version": version,
                "added": added,
                "removed": removed,
                "truncated": truncated,
            }),
        }
    }

    /// `account.reauth_required`, `account.token_expiring`, `sync.failing`,
    /// `sync.recovered`: `{account}` and what the caller adds (at most a few fields).
    pub fn about_account(
        kind: EventType,
        account: &Slug,
        mut extra: serde_json::Map<String, Value>,
    ) -> Self {
        extra.insert("account".to_owned(), Value::from(account.as_str()));
        Self {
            kind,
            data: Value::Object(extra),
        }
    }

    pub fn test(endpoint_id: &str) -> Self {
        Self {
            kind: EventType::WebhookTest,
            data: json!({"webhook": endpoint_id}),
        }
    }

    /// The body sent: `{type, timestamp, data}`. `None` when it is over the size limit.
    pub fn envelope(&self, at: DateTime<Utc>) -> Option<Vec<u8>> {
        let body = serde_json::to_vec(&json!({
            "type": self.kind.name(),
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": self.data,
        }))
        .ok()?;
        (body.len() <= MAX_PAYLOAD_BYTES).then_some(body)
    }
}

/// Why an account was disconnected.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectReason {
    /// An operator deleted it (`DELETE /admin/accounts/{slug}`).
    Deleted,
    /// Meta's deauthorize or data-deletion callback.
    Deauthorized,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug() -> Slug {
        Slug::parse("shop").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.name()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(Value::from(kind.name()))
            );
        }
        assert_eq!(EventType::parse("feed.deleted"), None);
    }

    #[test]
    fn envelopes_are_thin_and_bounded() {
        let at = DateTime::from_timestamp(1_764_547_200, 0).unwrap_or_default();
        let body = Event::account_connected(&slug(), Some("shop.lyon"))
            .envelope(at)
            .unwrap_or_default();
        let value: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(value["type"], "account.connected");
        assert_eq!(value["timestamp"], "2025-12-01T00:00:00.000Z");
        assert_eq!(value["data"]["account"], "shop");

        let many: Vec<String> = (0..600).map(|i| format!("1790000000000{i:05}")).collect();
        let event = Event::feed_updated(&slug(), "v1", &many, &[]);
        assert_eq!(event.data["truncated"], true);
        assert!(event.envelope(at).is_some());

        let huge = Event::about_account(
            EventType::SyncFailing,
            &slug(),
            serde_json::Map::from_iter([(
                "error".to_owned(),
                Value::from("x".repeat(MAX_PAYLOAD_BYTES)),
            )]),
        );
        assert!(huge.envelope(at).is_none());
    }
}
