//! Re-hosted pictures: every picture a frontend shows, copied from Instagram's CDN into
//! responsive WebP sizes served by the gateway.

mod failure;
mod fetch;
mod hot;
mod key;
mod picture;
mod pipeline;
mod process;
mod storage;

pub use failure::{FailureKind, FailureRecord};
pub use hot::HotAssets;
pub use key::AssetKey;
pub use picture::{Image, ImageSize, Images, PictureRecord, PictureSource, StoredCopy, Wanted};
pub use pipeline::{AssetStatus, Assets, Pipeline};
pub use process::{Copy, Encoding, ProcessError, Processed, SourceLimits, process};
pub use storage::{AssetStorage, StorageError};
