//! `Slug`: an account's name in URLs and keys, chosen by the operator.

use std::fmt;

/// `^[a-z0-9][a-z0-9-]{0,31}$`: safe in a URL path and in a store key as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a valid account slug: 1 to 32 characters, lowercase letters, digits and `-`, not starting with `-`"
)]
pub struct InvalidSlug(pub String);

pub const MAX_SLUG_CHARS: usize = 32;

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, InvalidSlug> {
        let bytes = raw.as_bytes();
        let valid = (1..=MAX_SLUG_CHARS).contains(&bytes.len())
            && bytes[0] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            // Echoed in problem details: bounded, and only printable characters.
            let shown: String = raw
                .chars()
                .take(MAX_SLUG_CHARS + 8)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            Err(InvalidSlug(shown))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where this account's keys live in the store: `acct:<slug>:`.
    pub fn scope(&self) -> String {
        format!("acct:{}:", self.0)
    }
}

// Lookups by `&str` (the path segment) without building a `Slug`; `Ord` agrees with `str`'s.
impl std::borrow::Borrow<str> for Slug {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_pattern() {
        for ok in ["default", "a", "shop-2", "0", &"x".repeat(32)] {
            assert_eq!(Slug::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "-a",
            "A",
            "a_b",
            "a b",
            "é",
            "a/b",
            "a:b",
            &"x".repeat(33),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Slug::parse("shop").unwrap().scope(), "acct:shop:");
    }
}
