//! Public hashtag search for accounts connected through Facebook Login: what a hashtag is, how
//! many an Instagram account may still query, and the cached searches themselves.
//!
//! Meta allows each Instagram account 30 unique hashtags per rolling 7 days: a tag counts once,
//! for 7 days from its first query, and querying it again is free. [`Budget`] keeps that count
//! in the store, shared by every replica, so a tag over the budget is refused without calling
//! Meta. [`Hashtag`] is the one form of a tag that the budget counts. [`PublicSearch`] answers
//! searches like the feed answers reads: from memory, fetched once, refreshed in the background.

mod budget;
mod error;
mod ids;
mod results;
mod search;
mod tag;

pub use self::budget::{
    Admitted, Budget, BudgetError, BudgetSettings, BudgetUsage, CountedTag, Spender, WINDOW,
};
pub use self::error::HashtagError;
pub use self::results::{PageSpec, decode_cursor, encode_cursor};
pub use self::search::{PublicSearch, PublicSearchSettings, Warmed};
pub use self::tag::{Hashtag, InvalidHashtag};
