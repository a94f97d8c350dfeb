//! Curation: what an operator hides, pins and filters out of an account's feed. Stored per
//! account and shared by the replicas; the feed applies it when it makes a snapshot ready to
//! serve, never per request.

mod error;
mod model;
mod store;

pub use error::CurationError;
pub use model::{
    Curation, FilterEntry, Filters, MAX_FILTER_WORDS, MAX_HIDDEN, MAX_PINS, check_media_id,
    check_pins,
};
pub use store::{CurationStore, REVISION_KEY};
