//! Errors of curation. Mapped to HTTP in `crate::error`, nowhere else.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CurationError {
    /// Bad input: the message says which and why.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} posts are hidden already, the most an account may hide; unhide some first")]
    HiddenFull(usize),
    #[error("another change to this account's curation is under way; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}
