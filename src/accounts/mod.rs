//! Accounts: each connected Instagram account is a slug with its own token service and feed
//! (keys under `acct:<slug>:`), built by the registry from what the store lists, so operators
//! add and delete accounts at run time on any replica.

mod connect;
mod error;
mod migrate;
mod pictures;
mod record;
mod registry;
mod slug;

pub use connect::{Completion, Connected, ConnectionParts, Connections};
pub use error::AccountError;
pub use migrate::migrate_single_account;
pub use pictures::PictureHub;
pub use record::AccountRecord;
pub use registry::{Account, AccountParts, Accounts, spawn_account_tasks};
pub use slug::{InvalidSlug, Slug};
