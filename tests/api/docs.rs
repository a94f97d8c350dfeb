//! The documentation cannot drift from the code: every configuration key is documented (and
//! nothing else), the module map names every source file (and no other), and relative links
//! lead somewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// `section.key` of every setting in `config/default.toml`, the optional ones included: those
/// are commented out with an example value (`# public_url = "https://…"`).
fn default_toml_keys() -> BTreeSet<String> {
    let text = read("config/default.toml");
    let table: toml::Table = text.parse().expect("config/default.toml is valid TOML");
    let mut keys = BTreeSet::new();
    for (section, entries) in &table {
        let toml::Value::Table(entries) = entries else {
            panic!("config/default.toml: `{section}` is not in a [section]");
        };
        leaf_keys(section, entries, &mut keys);
    }
    let mut section = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_owned());
        } else if let (Some(section), Some(comment)) = (&section, line.strip_prefix('#')) {
            // Prose does not parse as TOML; `key = value` (with a trailing comment) does.
            if let Ok(entry) = comment.trim().parse::<toml::Table>()
                && let Some((key, value)) = entry.iter().next()
                && entry.len() == 1
                && !value.is_table()
            {
                keys.insert(format!("{section}.{key}"));
            }
        }
    }
    keys
}

/// `prefix.key` of every non-table value, nested tables (`[assets.s3]`) flattened.
fn leaf_keys(prefix: &str, table: &toml::Table, keys: &mut BTreeSet<String>) {
    for (key, value) in table {
        match value {
            toml::Value::Table(nested) => leaf_keys(&format!("{prefix}.{key}"), nested, keys),
            _ => {
                keys.insert(format!("{prefix}.{key}"));
            }
        }
    }
}

/// The first cell of each table row in `docs/configuration.md`, when it is a backticked
/// `section.key`, with the whole row.
fn documented_keys() -> Vec<(String, String)> {
    read("docs/configuration.md")
        .lines()
        .filter_map(|line| {
            let cell = line.trim().strip_prefix("| `")?.split_once('`')?.0;
            let (section, key) = cell.split_once('.')?;
            let word = |s: &str| {
                !s.is_empty()
                    && s.split('.').all(|part| {
                        !part.is_empty()
                            && part
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            };
            (word(section) && word(key)).then(|| (cell.to_owned(), line.to_owned()))
        })
        .collect()
}

#[test]
fn every_configuration_key_is_documented_and_nothing_else() {
    let keys = default_toml_keys();
    assert!(
        keys.contains("server.port") && keys.contains("metrics.listen"),
        "the key reader missed keys: {keys:?}"
    );
    let documented = documented_keys();
    let names: BTreeSet<&String> = documented.iter().map(|(key, _)| key).collect();

    let mut problems = Vec::new();
    for key in keys.iter().filter(|key| !names.contains(key)) {
        problems.push(format!(
            "`{key}` (config/default.toml) is missing from docs/configuration.md's tables"
        ));
    }
    let mut seen = BTreeSet::new();
    for (key, row) in &documented {
        if !keys.contains(key) {
            problems.push(format!(
                "docs/configuration.md documents `{key}`, which config/default.toml does not have"
            ));
        }
        if !seen.insert(key) {
            problems.push(format!("docs/configuration.md documents `{key}` twice"));
        }
        let variable = format!("`IGW__{}`", key.replace('.', "__").to_uppercase());
        if !row.contains(&variable) {
            problems.push(format!(
                "docs/configuration.md: the row of `{key}` does not name its variable {variable}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `src/…` path mentioned in `text`, without trailing punctuation.
fn source_paths(text: &str) -> BTreeSet<String> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "_-./".contains(c);
    let mut paths = BTreeSet::new();
    for (at, _) in text.match_indices("src/") {
        if text[..at].chars().next_back().is_some_and(path_char) {
            continue; // part of a longer path, such as `k8s/src/`
        }
        let rest = &text[at..];
        let end = rest.find(|c| !path_char(c)).unwrap_or(rest.len());
        paths.insert(rest[..end].trim_end_matches('.').to_owned());
    }
    paths
}

fn rust_files_under(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files_under(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root()).unwrap();
            found.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_module_map_names_every_source_file_and_no_other() {
    let mentioned = source_paths(&read("docs/architecture.md"));
    let mut files = BTreeSet::new();
    rust_files_under(&root().join("src"), &mut files);
    assert!(files.contains("src/api/observe.rs"), "{files:?}");

    let mut problems: Vec<String> = files
        .iter()
        .filter(|file| !mentioned.contains(*file))
        .map(|file| format!("docs/architecture.md's module map does not mention {file}"))
        .collect();
    for doc in markdown_files() {
        for path in source_paths(&read(&doc)) {
            if !root().join(&path).exists() {
                problems.push(format!("{doc} mentions {path}, which does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// README.md and every `docs/*.md`.
fn markdown_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The targets of the inline links `[text](target)` outside fenced code blocks.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (at, _) in line.match_indices("](") {
            let rest = &line[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].trim().to_owned());
            }
        }
    }
    targets
}

/// GitHub's anchors of a Markdown file's headings: lowercase, punctuation dropped, spaces as
/// `-`, and `-1`, `-2`… on repeats.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let Some(heading) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if fenced || !line.starts_with('#') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut candidate = slug.clone();
        let mut n = 0;
        while !anchors.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
    }
    anchors
}

#[test]
fn relative_links_lead_to_files_and_headings_that_exist() {
    let mut broken = Vec::new();
    for doc in markdown_files() {
        let dir = Path::new(&doc).parent().unwrap_or(Path::new(""));
        for target in link_targets(&read(&doc)) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let path: PathBuf = if file.is_empty() {
                PathBuf::from(&doc)
            } else {
                normalize(&dir.join(file))
            };
            if !root().join(&path).exists() {
                broken.push(format!(
                    "{doc}: ({target}): {} does not exist",
                    path.display()
                ));
                continue;
            }
            if let Some(anchor) = anchor
                && path.extension().is_some_and(|e| e == "md")
                && !anchors(&read(&path.to_string_lossy())).contains(anchor)
            {
                broken.push(format!(
                    "{doc}: ({target}): {} has no heading #{anchor}",
                    path.display()
                ));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `docs/../config/x` as `config/x`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<_> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}
