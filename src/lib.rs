//! instagram-gateway: a business's Instagram media as fast, cached JSON, with the token
//! lifecycle handled server-side. docs/architecture.md has the module map.

pub mod accounts;
pub mod api;
pub mod assets;
pub mod auth;
pub mod config;
pub mod curation;
pub mod error;
pub mod feed;
pub mod hashtags;
pub mod instagram;
pub mod metrics;
mod random;
pub mod sandbox;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod webhooks;
