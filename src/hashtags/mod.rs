//! Public hashtag search: what a hashtag is, and how many an Instagram account may still query.
//!
//! Meta allows each Instagram account 30 unique hashtags per rolling 7 days: a tag counts once,
//! for 7 days from its first query, and querying it again is free. [`Budget`] keeps that count
//! in the store, shared by every replica, so a tag over the budget is refused without calling
//! Meta. [`Hashtag`] is the one form of a tag that the budget counts.

mod budget;
mod tag;

pub use self::budget::{
    Admitted, Budget, BudgetError, BudgetSettings, BudgetUsage, CountedTag, Spender, WINDOW,
};
pub use self::tag::{Hashtag, InvalidHashtag};
