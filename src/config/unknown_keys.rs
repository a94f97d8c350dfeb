//! Keys that match no setting: a typo such as `IGW__REDIS__URLL` must not start the service on
//! its defaults without a word.

use std::collections::BTreeSet;
use std::fmt;

use config::{Source as _, Value, ValueKind};

use super::raw::RawSettings;
use super::{ConfigError, env_name};

/// A key from a file or an `IGW__*` variable that no setting reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Dotted, as in the files: `redis.urll`.
    pub key: String,
    /// Where it came from: a file path or "the environment".
    pub origin: String,
    /// The known key it most resembles.
    pub closest: String,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = if self.origin == "the environment" {
            env_name(&self.key)
        } else {
            self.origin.clone()
        };
        write!(
            f,
            "`{}` (from {origin}) matches no setting; did you mean `{}` ({})?",
            self.key,
            self.closest,
            env_name(&self.closest)
        )
    }
}

pub(super) fn describe(keys: &[UnknownKey]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Keys present in `config` that `raw` (what was read from it) has no field for.
pub(super) fn find(
    config: &config::Config,
    raw: &RawSettings,
) -> Result<Vec<UnknownKey>, ConfigError> {
    let known = known_keys(raw);
    let mut present = Vec::new();
    leaves("", &config.collect()?, &mut present);
    Ok(present
        .into_iter()
        .filter(|(key, _)| !known.contains(key))
        .map(|(key, origin)| UnknownKey {
            closest: closest(&key, &known),
            key,
            origin,
        })
        .collect())
}

/// Every key a setting reads: the leaves of the raw settings, serialized.
fn known_keys(raw: &RawSettings) -> BTreeSet<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (name, value) in fields {
                    walk(&join(prefix, name), value, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut keys = BTreeSet::new();
    if let Ok(value) = serde_json::to_value(raw) {
        walk("", &value, &mut keys);
    }
    keys
}

fn leaves(prefix: &str, table: &config::Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (name, value) in table {
        let key = join(prefix, name);
        match &value.kind {
            // An empty section header sets nothing. (A table where a known key sits would have
            // failed deserialization already.)
            ValueKind::Table(inner) => leaves(&key, inner, out),
            _ => out.push((key, value.origin().unwrap_or("the environment").to_owned())),
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn closest(key: &str, known: &BTreeSet<String>) -> String {
    known
        .iter()
        .min_by_key(|candidate| edit_distance(key, candidate))
        .cloned()
        .unwrap_or_default()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::super::{Environment, Settings};
    use super::*;

    fn dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
    }

    fn unknown(environment: Environment, vars: &[(&str, &str)]) -> Result<Vec<UnknownKey>, String> {
        let vars: HashMap<_, _> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_layers(&dir(), environment, Some(vars))
            .map(|loaded| loaded.unknown_keys)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_mistyped_variable_is_named_with_the_closest_key() {
        let found = unknown(Environment::Local, &[("IGW__REDIS__URLL", "redis://x")]).unwrap();
        assert_eq!(
            found,
            vec![UnknownKey {
                key: "redis.urll".into(),
                origin: "the environment".into(),
                closest: "redis.url".into(),
            }]
        );
        assert_eq!(
            found[0].to_string(),
            "`redis.urll` (from IGW__REDIS__URLL) matches no setting; did you mean `redis.url` (IGW__REDIS__URL)?"
        );
        let found = unknown(Environment::Local, &[("IGW__SERVR__PORT", "1")]).unwrap();
        assert_eq!(found[0].closest, "server.port");
    }

    #[test]
    fn every_documented_default_and_optional_key_is_known() {
        // The shipped files hold no unknown key, and optional keys (unset by default) are known.
        let found = unknown(
            Environment::Local,
            &[
                ("IGW__SERVER__PUBLIC_URL", "https://gw.example.com"),
                ("IGW__METRICS__LISTEN", "127.0.0.1:9090"),
                ("IGW__INSTAGRAM__CLIENT_ID", "1"),
            ],
        )
        .unwrap();
        assert_eq!(found, vec![]);
    }

    #[test]
    fn unknown_keys_are_fatal_in_production_only() {
        let err = unknown(
            Environment::Production,
            &[
                ("IGW__FEED__PAGESIZE", "10"),
                ("IGW__REDIS__URL", "redis://x"),
            ],
        )
        .unwrap_err();
        assert!(
            err.contains("`feed.pagesize`") && err.contains("`feed.page_size`"),
            "{err}"
        );
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("redis.urll", "redis.url"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
