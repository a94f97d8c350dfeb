//! A hashtag as Meta's hashtag search takes it, in one canonical form.

use std::fmt;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization as _;

use crate::feed::is_word_char;

/// At most this many characters (Instagram's own limit on a tag).
const MAX_CHARS: usize = 100;

/// A hashtag without its `#`: NFC, lowercase, one word of letters, marks, digits and `_`.
///
/// One canonical form so that `#Café` typed two ways, or `#SUMMER` and `summer`, are one tag
/// and take one slot of the budget, as they do at Meta.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Hashtag(Box<str>);

/// Why a query is not a hashtag. The messages are for the frontend developer who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHashtag {
    #[error("empty: give one hashtag, such as `summer` or `#summer`")]
    Empty,
    #[error("too long (at most 100 characters)")]
    TooLong,
    #[error("a hashtag is one word of letters, digits and `_`: `{query}` has a space")]
    Space { query: String },
    #[error("emoji are not supported in hashtag search (Meta refuses them)")]
    Emoji,
    #[error("one `#` at most, in front: `{query}` has another")]
    ExtraHash { query: String },
    #[error("a hashtag is one word of letters, digits and `_`: `{query}` has `{found}`")]
    Character { query: String, found: char },
    #[error("`#{tag}` is only digits and `_`, which Instagram does not make a hashtag")]
    OnlyDigits { tag: String },
}

impl Hashtag {
    /// Parses what a visitor typed: surrounding whitespace and one leading `#` are dropped.
    pub fn parse(q: &str) -> Result<Self, InvalidHashtag> {
        let query = q.trim();
        let body = query.strip_prefix('#').unwrap_or(query);
        // As the feed writes a caption's tags, so a searched tag and a post's are one string.
        let tag: String = body.to_lowercase().nfc().collect();
        if tag.is_empty() {
            return Err(InvalidHashtag::Empty);
        }
        if let Some(found) = tag.chars().find(|&c| !allowed(c)) {
            let query = query.to_owned();
            return Err(if found.is_whitespace() {
                InvalidHashtag::Space { query }
            } else if is_emoji(found) {
                InvalidHashtag::Emoji
            } else if found == '#' {
                InvalidHashtag::ExtraHash { query }
            } else {
                InvalidHashtag::Character { query, found }
            });
        }
        if tag.chars().count() > MAX_CHARS {
            return Err(InvalidHashtag::TooLong);
        }
        if tag.chars().all(|c| c == '_' || c.is_numeric()) {
            return Err(InvalidHashtag::OnlyDigits { tag });
        }
        Ok(Self(tag.into_boxed_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The feed's hashtag characters (letters, marks, digits, `_`), less the emoji parts that are
/// marks (U+FE0F, the keycap U+20E3): Meta's search refuses them.
fn allowed(c: char) -> bool {
    is_word_char(c) && !is_emoji(c)
}

/// The emoji blocks and the characters that build emoji sequences (joiner, variation selector,
/// keycap, tags). Only decides which message a refused character gets, and refuses the
/// sequence characters that would otherwise pass as marks.
fn is_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{1F000}'..='\u{1FAFF}'
            | '\u{2600}'..='\u{27BF}'
            | '\u{2B00}'..='\u{2BFF}'
            | '\u{200D}'
            | '\u{20E3}'
            | '\u{FE0E}'..='\u{FE0F}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(q: &str) -> String {
        match Hashtag::parse(q) {
            Ok(tag) => tag.to_string(),
            Err(e) => panic!("{q:?} refused: {e}"),
        }
    }

    fn refused(q: &str) -> InvalidHashtag {
        match Hashtag::parse(q) {
            Ok(tag) => panic!("{q:?} accepted as {tag}"),
            Err(e) => e,
        }
    }

    #[test]
    fn one_form_per_tag() {
        let nfd = "#Cafe\u{301}";
        let nfc = "#Caf\u{e9}";
        assert_ne!(nfd, nfc);
        assert_eq!(tag(nfd), "caf\u{e9}");
        assert_eq!(tag(nfc), "caf\u{e9}");
        assert_eq!(Hashtag::parse(nfd), Hashtag::parse(nfc));
        assert_eq!(tag("#SUMMER"), "summer");
        assert_eq!(tag("summer"), "summer");
        assert_eq!(tag("  #tea  "), "tea");
        assert_eq!(tag("\t#Tea\n"), "tea");
        // Lowercasing `İ` gives `i` + U+0307, which stays so after NFC: the form is stable.
        let turkish = tag("#İstanbul");
        assert_eq!(tag(&turkish), turkish);
    }

    #[test]
    fn letters_marks_digits_and_underscores_of_any_script() {
        assert_eq!(tag("#日本"), "日本");
        assert_eq!(tag("#ÜnÏcödé"), "ünïcödé");
        assert_eq!(tag("#a_b1"), "a_b1");
        assert_eq!(tag("#2024summer"), "2024summer");
        // Devanagari: vowel signs and the virama are marks.
        assert_eq!(tag("#नमस्ते"), "नमस्ते");
        assert_eq!(tag("#привет"), "привет");
        assert_eq!(tag("#مرحبا"), "مرحبا");
    }

    #[test]
    fn empty_and_extra_hashes_are_refused() {
        assert_eq!(refused(""), InvalidHashtag::Empty);
        assert_eq!(refused("#"), InvalidHashtag::Empty);
        assert_eq!(refused("   "), InvalidHashtag::Empty);
        assert!(matches!(refused("##x"), InvalidHashtag::ExtraHash { .. }));
        assert!(matches!(refused("#a#b"), InvalidHashtag::ExtraHash { .. }));
    }

    #[test]
    fn one_word_without_punctuation_or_emoji() {
        let space = refused("#summer sale");
        assert_eq!(
            space.to_string(),
            "a hashtag is one word of letters, digits and `_`: `#summer sale` has a space"
        );
        assert!(matches!(refused("#tea time"), InvalidHashtag::Space { .. }));
        assert_eq!(refused("#🍕"), InvalidHashtag::Emoji);
        assert_eq!(refused("#pizza🍕"), InvalidHashtag::Emoji);
        assert_eq!(refused("#❤️"), InvalidHashtag::Emoji);
        // Keycap `1️⃣`: a digit, a variation selector and an enclosing mark.
        assert_eq!(refused("#a1\u{FE0F}\u{20E3}"), InvalidHashtag::Emoji);
        assert_eq!(
            refused("#rock-n-roll"),
            InvalidHashtag::Character {
                query: "#rock-n-roll".to_owned(),
                found: '-'
            }
        );
        assert!(matches!(refused("#tea."), InvalidHashtag::Character { .. }));
        assert!(matches!(
            refused("#don't"),
            InvalidHashtag::Character { .. }
        ));
    }

    #[test]
    fn only_digits_and_underscores_are_refused() {
        assert_eq!(
            refused("#123").to_string(),
            "`#123` is only digits and `_`, which Instagram does not make a hashtag"
        );
        assert!(matches!(refused("#_1"), InvalidHashtag::OnlyDigits { .. }));
        assert!(matches!(refused("_"), InvalidHashtag::OnlyDigits { .. }));
    }

    #[test]
    fn at_most_100_characters() {
        let longest = "é".repeat(100);
        assert_eq!(tag(&format!("#{longest}")), longest);
        // Counted in characters after NFC: 100 decomposed `é` are 200 code points before it.
        assert_eq!(tag(&"e\u{301}".repeat(100)), longest);
        assert_eq!(refused(&"a".repeat(101)), InvalidHashtag::TooLong);
        assert_eq!(
            refused(&"a".repeat(101)).to_string(),
            "too long (at most 100 characters)"
        );
    }

    #[test]
    fn shown_and_serialized_without_the_hash() {
        let summer = Hashtag::parse("#Summer").unwrap();
        assert_eq!(summer.as_str(), "summer");
        assert_eq!(summer.to_string(), "summer");
        assert_eq!(serde_json::to_string(&summer).unwrap(), r#""summer""#);
    }
}
