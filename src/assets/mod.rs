//! Re-hosted pictures: every picture a frontend shows, copied from Instagram's CDN into
//! responsive WebP sizes served by the gateway (issue #9). So far the processing step:
//! storage, serving and the pipeline that runs it after each sync come next.

mod process;

pub use process::{Copy, Encoding, ProcessError, Processed, SourceLimits, process};
