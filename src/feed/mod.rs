//! The feed: the account's media synced into one snapshot, served as ready-made response
//! bytes from an in-process cache, paged and searched without touching Redis or Instagram.

mod media;
mod meta;
mod profile;
mod query;
mod render;
mod service;
mod snapshot;
mod store;
mod sync;
mod syncer;
mod tasks;
mod text;

pub use media::{Child, Media, MediaType};
pub use meta::FeedStatus;
pub use profile::{AccountProfile, Profile};
pub use query::{Cursor, MediaPageSchema, PageRequest, Paging, QueryError, Search};
pub use render::{Rendered, Variant, accepts_gzip, etag_listed};
pub use service::{Feed, FeedError, FeedQuery, Freshness, ResponseCache, Served};
pub use snapshot::{AccountRef, Snapshot};
pub use store::META_KEY;
pub use sync::SyncError;
