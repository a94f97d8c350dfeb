//! The upstream client for the Instagram Platform (Instagram API with Instagram Login): OAuth
//! and Graph endpoints, wire types that tolerate Meta's quirks, and error classification.

mod client;
mod error;
mod facebook;
mod login;
mod usage;
mod wire;

pub use client::{Account, Endpoints, InstagramClient, IssuedToken, MediaPage, ShortLivedToken};
pub use error::UpstreamError;
pub use facebook::{FacebookApp, HashtagOrder, LinkedPage};
pub use login::Login;
pub use usage::RateLimitUsage;
pub use wire::id_string;
pub use wire::{ChildrenBody, MediaBody, ProfileBody};
