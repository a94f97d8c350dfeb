//! Facebook Login credentials: one-time authorization codes remembered with their Facebook
//! user, and user access tokens that carry that user, so no token table is needed. The `EAA`
//! prefix is Facebook's; `SBX` keeps them apart from the Instagram side's `IGSBX…` tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::tokens::Lifetime;
use super::users::{self, FacebookUser};

const CODE_TTL: Duration = Duration::from_secs(3600);

fn prefix(lifetime: Lifetime) -> &'static str {
    match lifetime {
        Lifetime::Short => "EAASBXS",
        Lifetime::Long => "EAASBXL",
    }
}

/// `<prefix><user index, one digit><random>`: the user is readable back from the token alone.
pub(super) fn issue(lifetime: Lifetime, user: usize) -> String {
    debug_assert!(user < 10, "one digit per user");
    let random = crate::random::token_urlsafe(32);
    format!("{}{user}{random}", prefix(lifetime))
}

/// The Facebook user a token of this lifetime was issued for; `None` for anything else
/// (Graph error 190).
pub(super) fn user_of(
    token: Option<&str>,
    lifetime: Lifetime,
) -> Option<(usize, &'static FacebookUser)> {
    let rest = token?.strip_prefix(prefix(lifetime))?;
    let index = usize::try_from(rest.chars().next()?.to_digit(10)?).ok()?;
    Some((index, users::get(index)?))
}

/// Why a code was refused: Facebook tells a used code from a made-up one.
#[derive(Debug, PartialEq)]
pub(super) enum CodeError {
    Invalid,
    Used,
}

struct Issued {
    at: Instant,
    user: usize,
    used: bool,
}

/// Issued codes (one use, one hour) with their user; a used one is kept until it expires, to
/// answer "has been used" rather than "invalid".
#[derive(Default)]
pub(super) struct Codes(Mutex<HashMap<String, Issued>>);

impl Codes {
    pub fn issue(&self, user: usize) -> String {
        let code = format!("AQB{}", crate::random::token_urlsafe(32));
        let at = Instant::now();
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, issued| at.duration_since(issued.at) < CODE_TTL);
        let issued = Issued {
            at,
            user,
            used: false,
        };
        codes.insert(code.clone(), issued);
        code
    }

    /// The code's user, once.
    pub fn redeem(&self, code: &str) -> Result<usize, CodeError> {
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let issued = codes
            .get_mut(code)
            .filter(|issued| issued.at.elapsed() < CODE_TTL)
            .ok_or(CodeError::Invalid)?;
        if std::mem::replace(&mut issued.used, true) {
            return Err(CodeError::Used);
        }
        Ok(issued.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_user_and_lifetime() {
        for user in 0..users::all().len() {
            let short = issue(Lifetime::Short, user);
            let long = issue(Lifetime::Long, user);
            let name = |token: &str, lifetime| user_of(Some(token), lifetime).map(|(_, u)| u.name);
            assert_eq!(name(&short, Lifetime::Short), Some(users::all()[user].name));
            assert_eq!(name(&long, Lifetime::Long), Some(users::all()[user].name));
            assert_eq!(name(&short, Lifetime::Long), None);
            assert_eq!(name(&long, Lifetime::Short), None);
        }
        let instagram = super::super::super::tokens::issue(Lifetime::Long, 0);
        for bad in [instagram.as_str(), "", "EAASBXL", "EAASBXL9abc", "EAAB1xyz"] {
            assert!(user_of(Some(bad), Lifetime::Long).is_none(), "{bad}");
        }
    }

    #[test]
    fn codes_work_once_and_say_so() {
        let codes = Codes::default();
        let (agency, manager) = (codes.issue(1), codes.issue(0));
        assert_eq!(codes.redeem(&agency), Ok(1));
        assert_eq!(codes.redeem(&agency), Err(CodeError::Used));
        assert_eq!(codes.redeem(&manager), Ok(0));
        assert_eq!(codes.redeem("AQBforged"), Err(CodeError::Invalid));
    }
}
