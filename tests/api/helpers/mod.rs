//! `TestEnv::spawn()` and friends: every test gets its own port, Redis key prefix and fake Instagram.
//!
//! - [`app`]: the harness: [`TestEnv`] (what one test's instances share) spawns [`TestApp`]s with
//!   typed request helpers;
//! - [`instagram`]: Instagram faked with wiremock and its documented bodies;
//! - [`facebook`]: the Facebook Login variant (login, Pages, own media, hashtag search), on the
//!   same wiremock server;
//! - [`logs`]: the service's log output, captured for assertions;
//! - [`s3`]: a real S3-compatible server (moto) and a bucket per test, for the asset store;
//! - [`webhooks`]: webhook receivers, `/admin/webhooks` calls, signatures checked by the
//!   `standardwebhooks` package.

mod app;
mod facebook;
mod instagram;
mod logs;
mod s3;
mod webhooks;

pub use app::*;
pub use facebook::*;
pub use instagram::*;
pub use logs::*;
pub use s3::*;
pub use webhooks::*;
