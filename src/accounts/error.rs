//! Errors of account management. Mapped to HTTP in `crate::error`, nowhere else.

use super::slug::InvalidSlug;
use crate::auth::AuthError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no account `{0}`")]
    NotFound(String),
    #[error(transparent)]
    InvalidSlug(#[from] InvalidSlug),
    #[error("the account `{0}` already exists")]
    Exists(String),
    #[error("`accounts.max` ({0}) accounts exist already; delete one first")]
    Full(usize),
    #[error(
        "the Instagram account {who} is already connected as `{slug}`; delete or re-connect that account first"
    )]
    AlreadyConnected { who: String, slug: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
