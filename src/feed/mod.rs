//! The feed: the account's media synced into one snapshot, served as ready-made response
//! bytes from an in-process cache, paged and searched without touching Redis or Instagram.
//!
//! One-way parts: the [`Feed`] facade puts together the coordinator (when to sync, in-flight
//! sync, backoff, shared status), which uses the syncer (token and media source in, snapshot
//! out) and the snapshot store (keys, meta, fenced writes), and installs into the view (what
//! is served: the snapshot in memory and the response cache).

mod cache;
mod coordinator;
mod curate;
mod error;
mod events;
mod loaded;
mod media;
mod meta;
mod profile;
mod query;
mod render;
mod service;
mod snapshot;
mod store;
mod syncer;
mod text;
mod view;

pub use cache::ResponseCache;
pub use curate::CuratedPost;
pub use error::{FeedError, SyncError};
pub use events::FeedEvents;
pub use media::{Child, Media, MediaType, is_media_id};
pub use meta::{FeedStatus, Freshness};
pub use profile::{AccountProfile, Profile};
pub use query::{
    Cursor, FeedQuery, MediaPageSchema, PageBody, PageRequest, Paging, QueryError, Search,
};
pub use render::{Rendered, Variant, accepts_gzip, etag_listed};
pub use service::{Feed, Served};
pub use snapshot::{AccountRef, Snapshot};
pub use store::META_KEY;
pub(crate) use text::is_word_char;
