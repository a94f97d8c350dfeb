//! Public hashtag search: what a hashtag is, and how many an Instagram account may still query.
//!
//! Meta allows each Instagram account 30 unique hashtags per rolling 7 days: a tag counts once,
//! for 7 days from its first query, and querying it again is free. [`Hashtag`] is the one form
//! of a tag that is counted.

mod tag;

pub use self::tag::{Hashtag, InvalidHashtag};
