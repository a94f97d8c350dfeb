//! The sandbox's credentials: authorization codes remembered with the account they were issued
//! for, and access tokens that carry that account, so each later call answers for it. Tokens
//! still look opaque, as Instagram's do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::users::{self, User};

const CODE_TTL: Duration = Duration::from_secs(3600);

/// What a token can be used for: the code exchange gives a short-lived one, which is only good
/// for the long-lived exchange; `/me`, `/me/media` and the refresh take a long-lived one.
#[derive(Clone, Copy)]
pub(super) enum Lifetime {
    Short,
    Long,
}

impl Lifetime {
    fn prefix(self) -> &'static str {
        match self {
            Lifetime::Short => "IGSBXS",
            Lifetime::Long => "IGSBXL",
        }
    }

    fn random_len(self) -> usize {
        match self {
            Lifetime::Short => 24,
            Lifetime::Long => 32,
        }
    }
}

/// `<prefix><account index, one digit><random>`: the account is readable back from the token
/// alone, so the sandbox keeps no token table.
pub(super) fn issue(lifetime: Lifetime, user: usize) -> String {
    debug_assert!(user < 10, "one digit per account");
    let random = crate::random::token_urlsafe(lifetime.random_len());
    format!("{}{user}{random}", lifetime.prefix())
}

/// The account a token of this lifetime was issued for, with its index in [`users::all`];
/// `None` for anything else (Instagram's error 190).
pub(super) fn user_of(token: Option<&str>, lifetime: Lifetime) -> Option<(usize, &'static User)> {
    let rest = token?.strip_prefix(lifetime.prefix())?;
    let index = usize::try_from(rest.chars().next()?.to_digit(10)?).ok()?;
    Some((index, users::get(index)?))
}

/// Issued authorization codes (one use, one hour), with the account each was issued for.
#[derive(Default)]
pub(super) struct Codes(Mutex<HashMap<String, (Instant, usize)>>);

impl Codes {
    pub fn issue(&self, user: usize) -> String {
        let code = format!("AQD{}", crate::random::token_urlsafe(24));
        let now = Instant::now();
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, (issued, _)| now.duration_since(*issued) < CODE_TTL);
        codes.insert(code.clone(), (now, user));
        code
    }

    /// The code's account, once: a second redemption finds nothing.
    pub fn redeem(&self, code: &str) -> Option<usize> {
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes
            .remove(code)
            .filter(|(issued, _)| issued.elapsed() < CODE_TTL)
            .map(|(_, user)| user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_account_and_lifetime() {
        for user in 0..3 {
            let short = issue(Lifetime::Short, user);
            let long = issue(Lifetime::Long, user);
            let index = |token: &str, lifetime| user_of(Some(token), lifetime).map(|(i, _)| i);
            assert_eq!(index(&short, Lifetime::Short), Some(user));
            assert_eq!(index(&long, Lifetime::Long), Some(user));
            assert_eq!(index(&short, Lifetime::Long), None);
            assert_eq!(index(&long, Lifetime::Short), None);
            assert_ne!(long, issue(Lifetime::Long, user), "random");
        }
        for bad in [
            "",
            "IGSBXL",
            "IGSBXLtoken",
            "IGSBXL9abc",
            "igsbxl1abc",
            "EAAB1xyz",
        ] {
            assert!(user_of(Some(bad), Lifetime::Long).is_none(), "{bad}");
        }
        assert!(user_of(None, Lifetime::Long).is_none());
    }

    #[test]
    fn codes_remember_their_account_and_work_once() {
        let codes = Codes::default();
        let (cafe, gallery) = (codes.issue(1), codes.issue(0));
        assert_eq!(codes.redeem(&cafe), Some(1));
        assert_eq!(codes.redeem(&cafe), None);
        assert_eq!(codes.redeem(&gallery), Some(0));
        assert_eq!(codes.redeem("AQDforged"), None);
    }
}
