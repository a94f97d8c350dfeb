//! Re-hosted pictures: every picture a frontend shows, copied from Instagram's CDN into
//! responsive WebP sizes served by the gateway.

mod key;
mod process;
mod storage;

pub use key::AssetKey;
pub use process::{Copy, Encoding, ProcessError, Processed, SourceLimits, process};
pub use storage::{AssetStorage, StorageError};
