//! Caption text: hashtags as frontends get them, and the words search matches against.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Letters, digits, marks and `_`: what a hashtag (and a search word) is made of.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || c == '_'
}

/// The caption's hashtags: lowercase, composed (NFC), without `#`, deduplicated, in order of
/// first use. `#a#b` is two tags; a tag ends at any character that is not a letter, digit, mark
/// or `_`.
pub fn hashtags(caption: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut rest = caption;
    while let Some(at) = rest.find('#') {
        rest = &rest[at + 1..];
        let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        let tag: String = rest[..end].to_lowercase().nfc().collect();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
        rest = &rest[end..];
    }
    tags
}

/// Full case folding, close enough to Unicode's: `ß` and `SS` both become `ss`, `ς` and `Σ` `σ`.
fn case_fold(text: impl Iterator<Item = char>) -> impl Iterator<Item = char> {
    text.flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
}

/// What hashtags are compared by: case-folded and composed (NFC), accents kept. The same for
/// `#Café`, `#CAFÉ` and a decomposed `#cafe\u{301}`; not for `#cafe`.
pub fn tag_key(tag: &str) -> String {
    case_fold(tag.nfd()).nfc().collect()
}

/// Case- and accent-folded: decomposed, case-folded, combining marks dropped ("Café" → "cafe").
/// Composed and decomposed input fold alike.
pub fn fold(text: &str) -> String {
    case_fold(text.nfd())
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The folded whole words of `text`; hashtag words are words too (`#sunset` → `sunset`).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_follow_the_rules() {
        assert_eq!(
            hashtags("golden hour #Sunset#beach. #sunset"),
            vec!["sunset", "beach"]
        );
        assert_eq!(
            hashtags("#café au lait #Über #日本 #tag🌅 #under_score"),
            vec!["café", "über", "日本", "tag", "under_score"]
        );
        assert_eq!(hashtags("# alone, #. and ## and a#b"), vec!["b"]);
        assert_eq!(hashtags("no tags here"), Vec::<String>::new());
        // A combining accent (decomposed é) belongs to the tag, which is composed.
        assert_eq!(hashtags("#cafe\u{301}!"), vec!["caf\u{e9}"]);
        assert_eq!(hashtags("#caf\u{e9} #cafe\u{301}"), vec!["caf\u{e9}"]);
    }

    #[test]
    fn tag_keys_ignore_case_and_normalization_but_not_accents() {
        let key = tag_key("caf\u{e9}");
        for same in ["cafe\u{301}", "CAF\u{c9}", "CAFE\u{301}"] {
            assert_eq!(tag_key(same), key, "{same:?}");
        }
        assert_ne!(tag_key("cafe"), key);
        assert_eq!(tag_key("STRASSE"), tag_key("stra\u{df}e"));
        assert_eq!(
            tag_key("\u{3a3}\u{3bf}\u{3c2}"),
            tag_key("\u{3c3}\u{3bf}\u{3c3}")
        );
    }

    #[test]
    fn words_fold_case_and_accents() {
        assert_eq!(
            words("Café, CRÈME brûlée! #Sunset_2"),
            vec!["cafe", "creme", "brulee", "sunset_2"]
        );
        assert_eq!(fold("Über"), "uber");
        assert_eq!(fold("U\u{308}ber"), "uber");
        assert_eq!(words("Stra\u{df}e"), words("STRASSE"));
    }
}
