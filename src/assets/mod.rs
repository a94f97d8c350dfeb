//! Re-hosted pictures: every picture a frontend shows, copied from Instagram's CDN into
//! responsive WebP sizes served by the gateway.

mod hot;
mod key;
mod process;
mod storage;

pub use hot::HotAssets;
pub use key::AssetKey;
pub use process::{Copy, Encoding, ProcessError, Processed, SourceLimits, process};
pub use storage::{AssetStorage, StorageError};
