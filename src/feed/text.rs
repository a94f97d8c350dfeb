//! Caption text: hashtags as frontends get them, and the words search matches against.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Letters, digits, marks and `_`: what a hashtag (and a search word) is made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || c == '_'
}

/// The caption's hashtags: lowercase, without `#`, deduplicated, in order of first use.
/// `#a#b` is two tags; a tag ends at any character that is not a letter, digit, mark or `_`.
pub fn hashtags(caption: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut rest = caption;
    while let Some(at) = rest.find('#') {
        rest = &rest[at + 1..];
        let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        let tag = rest[..end].to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
        rest = &rest[end..];
    }
    tags
}

/// Case- and accent-folded: lowercase, decomposed, combining marks dropped ("Café" → "cafe").
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
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
        // A combining accent (decomposed é) belongs to the tag.
        assert_eq!(hashtags("#cafe\u{301}!"), vec!["cafe\u{301}"]);
    }

    #[test]
    fn words_fold_case_and_accents() {
        assert_eq!(
            words("Café, CRÈME brûlée! #Sunset_2"),
            vec!["cafe", "creme", "brulee", "sunset_2"]
        );
        assert_eq!(fold("Über"), "uber");
    }
}
