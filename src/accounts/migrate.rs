//! The upgrade from the single-account version: its token and snapshot become the default
//! account's at start-up, without calling Instagram.
//!
//! The old keys are copied, not moved: replicas of the old version still running during a
//! rolling update keep reading them. Each copy is atomic and never overwrites (Redis `COPY`
//! without `REPLACE`), so replicas starting at once cannot clobber each other or a newer
//! value; a marker makes it run once, so an account deleted later is not brought back from
//! the old keys (which deleting the default account also removes).

use super::slug::Slug;
use crate::store::{Store, StoreError};

const MARKER_KEY: &str = "migrations:accounts-v1";
/// Old key → the key under the default account's scope (same name).
const MOVED: [&str; 3] = ["token", "feed:snapshot", "feed:meta"];

/// True when something was copied.
pub async fn migrate_single_account(store: &Store, default: &Slug) -> Result<bool, StoreError> {
    if store.get(MARKER_KEY).await?.is_some() {
        return Ok(false);
    }
    let mut copied = false;
    for key in MOVED {
        let to = format!("{}{key}", default.scope());
        copied |= store.copy_if_absent(key, &to).await?;
    }
    store.set(MARKER_KEY, b"1", None).await?;
    if copied {
        tracing::info!(
            account = %default,
            "upgraded from the single-account version: the stored token and snapshot are now the default account's"
        );
    }
    Ok(copied)
}
