//! Graph API `fields` lists (`id,caption,children{id,media_url}`), as the sandbox's endpoints
//! read them.

use serde_json::{Map, Value};

/// A Graph `fields` list such as `id,caption,children{id,media_url}`: each name with its
/// nested list (empty without braces). Unknown names are ignored rather than rejected, so a
/// client asking for a field the sandbox lacks (`like_count`, ...) still gets an answer.
#[derive(Default)]
pub(super) struct Fields<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Fields<'a> {
    pub fn parse(spec: &'a str) -> Self {
        let mut fields = Vec::new();
        let (mut depth, mut start) = (0usize, 0);
        for (i, c) in spec.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    fields.push(Self::one(&spec[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        fields.push(Self::one(&spec[start..]));
        fields.retain(|(name, _)| !name.is_empty());
        Self(fields)
    }

    /// `children{id,media_url}` → (`children`, `id,media_url`).
    fn one(part: &'a str) -> (&'a str, &'a str) {
        match part.trim().split_once('{') {
            Some((name, rest)) => (name.trim(), rest.strip_suffix('}').unwrap_or(rest)),
            None => (part.trim(), ""),
        }
    }

    /// The Graph API returns `id` whether asked or not; without `fields`, only `id`.
    pub fn wants(&self, name: &str) -> bool {
        name == "id" || self.0.iter().any(|(field, _)| *field == name)
    }

    pub fn nested(&self, name: &str) -> Fields<'a> {
        self.0
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, inner)| Fields::parse(inner))
            .unwrap_or_default()
    }
}

/// Sets `key` if it was asked for and the object has it: absent fields are absent keys, never
/// `null`, as on Instagram.
pub(super) fn put(item: &mut Map<String, Value>, fields: &Fields, key: &str, value: Option<Value>) {
    if let Some(value) = value
        && fields.wants(key)
    {
        item.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_nested_lists() {
        let fields = Fields::parse(" id , children{id,media_url} ,username\n");
        assert!(fields.wants("username"));
        assert!(fields.wants("children") && !fields.wants("caption"));
        let inner = fields.nested("children");
        assert!(inner.wants("media_url") && !inner.wants("thumbnail_url"));
        assert!(!fields.nested("username").wants("media_url"));
    }
}
