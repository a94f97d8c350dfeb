//! The upstream client for the Instagram Platform (Instagram API with Instagram Login): OAuth
//! and Graph endpoints, wire types that tolerate Meta's quirks, and error classification.

mod client;
mod error;
mod wire;

pub use client::{Account, Endpoints, InstagramClient, IssuedToken, ShortLivedToken};
pub use error::UpstreamError;
pub use wire::id_string;
