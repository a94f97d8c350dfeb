//! What the store keeps about each account, shared by every replica.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::instagram::Login;

/// The hash of accounts: field = slug, value = [`AccountRecord`] as JSON. Kept without TTL:
/// accounts live until an operator deletes them.
pub const ACCOUNTS_KEY: &str = "accounts";
/// Bumped on every change to [`ACCOUNTS_KEY`]; the version poll reads it with every account's
/// feed meta, in one round trip, and reloads the hash only when it moved.
pub const ACCOUNTS_VERSION_KEY: &str = "accounts:version";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// A name for operators (the slug when absent).
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    /// How it connects; fixed at creation (records of earlier versions: Instagram Login).
    #[serde(default)]
    pub login: Login,
}
