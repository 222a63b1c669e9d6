//! RubyGems: the gemspec YAML in `metadata.gz` and native extensions.
//!
//! The gemspec is Ruby-tagged YAML (`--- !ruby/object:Gem::Specification`)
//! written by RubyGems itself, in a regular shape. A careful line reader of its
//! top-level keys is enough here and keeps a YAML library (and its tag and
//! alias handling, a classic attack surface) out of the dependency tree.

use ossprey_model::{Dependency, HookTrigger, InstallHook, ManifestFacts};

use super::read_text;
use crate::PackageFiles;
use crate::classify::file_name;

const METADATA: &str = "metadata.gz!/metadata";
const DATA_PREFIX: &str = "data.tar.gz!/";

pub(super) fn extract(files: &PackageFiles, facts: &mut ManifestFacts) {
    let mut extensions = Vec::new();
    match read_text(files, METADATA, &mut facts.problems) {
        Some(text) => {
            facts.manifest_path = Some(METADATA.to_owned());
            let spec = parse_gemspec(&text);
            if spec.name.is_none() {
                facts
                    .problems
                    .push(format!("{METADATA}: no `name:` in the gemspec"));
            }
            facts.name = spec.name;
            facts.version = spec.version;
            facts.description = spec.summary.or(spec.description);
            facts.homepage = spec.homepage;
            facts.repository = spec.repository;
            facts.author = Some(spec.authors.join(", ")).filter(|a| !a.trim().is_empty());
            facts.dependencies = spec.dependencies;
            extensions = spec.extensions;
        }
        None if files.get(METADATA).is_none() => {
            facts.problems.push(format!("{METADATA}: missing"))
        }
        None => {}
    }
    for ext in extensions {
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::GemExtension,
            path: format!("{DATA_PREFIX}{}", ext.trim_start_matches("./")),
            command: None,
            detail: Some("listed in gemspec extensions".to_owned()),
        });
    }
    // An extconf.rb the gemspec does not list still runs if a later version or
    // a Rakefile points at it, and is where native-extension payloads live.
    for entry in files.entries() {
        if file_name(&entry.path) == "extconf.rb"
            && entry.link.is_none()
            && !facts.install_hooks.iter().any(|h| h.path == entry.path)
        {
            facts.install_hooks.push(InstallHook {
                trigger: HookTrigger::GemExtension,
                path: entry.path.clone(),
                command: None,
                detail: Some("extconf.rb".to_owned()),
            });
        }
    }
}

#[derive(Debug, Default, PartialEq)]
struct Gemspec {
    name: Option<String>,
    version: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    homepage: Option<String>,
    /// `metadata: source_code_uri`.
    repository: Option<String>,
    authors: Vec<String>,
    extensions: Vec<String>,
    dependencies: Vec<Dependency>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn parse_gemspec(text: &str) -> Gemspec {
    let lines: Vec<&str> = text.lines().collect();
    let mut spec = Gemspec::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with([' ', '-', '#']) || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = split_key(line) else {
            continue;
        };
        // The key's block: indented lines, and `- ` items at column 0 (YAML
        // lets a top-level key's list start at the key's own indentation).
        let start = i;
        while i < lines.len()
            && (lines[i].starts_with(' ')
                || lines[i].trim().is_empty()
                || lines[i].starts_with("- ")
                || lines[i] == "-")
        {
            i += 1;
        }
        let block = &lines[start..i];
        match key {
            "name" => spec.name = scalar(value),
            "version" => {
                spec.version = if value.is_empty() || value.starts_with('!') {
                    block
                        .iter()
                        .find_map(|l| l.trim().strip_prefix("version:").and_then(scalar))
                } else {
                    scalar(value)
                };
            }
            "summary" => spec.summary = text_value(value, block),
            "description" => spec.description = text_value(value, block),
            "extensions" => spec.extensions = list_items(value, block),
            "homepage" => spec.homepage = scalar(value),
            "authors" => spec.authors = list_items(value, block),
            "metadata" => {
                spec.repository = block
                    .iter()
                    .find_map(|l| l.trim().strip_prefix("source_code_uri:").and_then(scalar));
            }
            "dependencies" => spec.dependencies = dependencies(block),
            _ => {}
        }
    }
    spec
}

/// `key: value` with a plain key; the colon must end the line or be followed by a space.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let key = &line[..colon];
    let rest = &line[colon + 1..];
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    (rest.is_empty() || rest.starts_with(' ')).then(|| (key, rest.trim()))
}

/// A YAML scalar on one line: quoted or plain; `None` when empty or null.
fn scalar(value: &str) -> Option<String> {
    let value = value.trim();
    let out = if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        unescape_double_quoted(inner)
    } else {
        // A plain scalar ends at ` #` (a comment).
        let plain = value.split(" #").next().unwrap_or("").trim();
        if plain == "~" || plain == "null" {
            return None;
        }
        plain.to_owned()
    };
    (!out.is_empty()).then_some(out)
}

fn unescape_double_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A text value that may continue over the key's block: block scalars (`|`,
/// `>`, with chomping indicators) and folded plain or quoted scalars.
fn text_value(value: &str, block: &[&str]) -> Option<String> {
    let continuation: Vec<&str> = block
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if value.starts_with('|') || value.starts_with('>') {
        let sep = if value.starts_with('|') { "\n" } else { " " };
        let text = continuation.join(sep);
        return (!text.is_empty()).then_some(text);
    }
    if continuation.is_empty() {
        return scalar(value);
    }
    let mut joined = value.to_owned();
    for part in continuation {
        joined.push(' ');
        joined.push_str(part);
    }
    scalar(&joined)
}

/// `key: [a, b]` flow lists and `- a` block lists.
fn list_items(value: &str, block: &[&str]) -> Vec<String> {
    if let Some(flow) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        return flow.split(',').filter_map(scalar).collect();
    }
    block
        .iter()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("- ")
                .or_else(|| l.trim_start().strip_prefix('-'))
        })
        .filter_map(scalar)
        .collect()
}

/// `- !ruby/object:Gem::Dependency` items with `name`, `type` and a `requirement`.
fn dependencies(block: &[&str]) -> Vec<Dependency> {
    let Some(list_indent) = block
        .iter()
        .find(|l| l.trim_start().starts_with('-'))
        .map(|l| indent(l))
    else {
        return Vec::new();
    };
    let mut items: Vec<Vec<&str>> = Vec::new();
    for &line in block {
        if indent(line) == list_indent && line.trim_start().starts_with('-') {
            items.push(Vec::new());
        }
        if let Some(item) = items.last_mut() {
            item.push(line);
        }
    }
    items
        .iter()
        .filter_map(|item| dependency(item, list_indent + 2))
        .collect()
}

fn dependency(item: &[&str], field_indent: usize) -> Option<Dependency> {
    let mut name = None;
    let mut kind = "runtime";
    let mut constraints: Vec<String> = Vec::new();
    let mut op: Option<String> = None;
    let mut in_requirement = false;
    for &line in &item[1..] {
        let trimmed = line.trim();
        if indent(line) == field_indent {
            in_requirement = false;
            match split_key(trimmed) {
                Some(("name", v)) => name = scalar(v),
                Some(("type", v)) => {
                    kind = if v.trim() == ":development" {
                        "dev"
                    } else {
                        "runtime"
                    };
                }
                Some(("requirement", _)) => in_requirement = true,
                _ => {}
            }
            continue;
        }
        if !in_requirement {
            continue;
        }
        if let Some(o) = trimmed.strip_prefix("- - ") {
            op = scalar(o);
        } else if let Some(v) = trimmed.strip_prefix("version:").and_then(scalar) {
            let op = op.take().unwrap_or_else(|| "=".to_owned());
            constraints.push(format!("{op} {v}"));
        }
    }
    let requirement = (!constraints.is_empty()).then(|| constraints.join(", "));
    Some(Dependency {
        name: name?,
        requirement,
        kind: kind.to_owned(),
        url: None,
    })
}

#[cfg(test)]
mod tests {
    use ossprey_model::Ecosystem;

    use super::*;
    use crate::manifest::extract;

    pub(crate) const GEMSPEC: &str = r#"--- !ruby/object:Gem::Specification
name: evil-gem
version: !ruby/object:Gem::Version
  version: 1.2.3
platform: ruby
authors:
- Someone
bindir: bin
date: 2024-01-01 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: rake
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0'
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0'
- !ruby/object:Gem::Dependency
  name: rspec
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - "~>"
      - !ruby/object:Gem::Version
        version: '3.0'
  type: :development
  prerelease: false
description: |-
  A longer
  description.
email:
executables: []
extensions:
- ext/evil/extconf.rb
extra_rdoc_files: []
files:
- lib/evil.rb
- ext/evil/extconf.rb
homepage: https://example.invalid
licenses:
- MIT
metadata: {}
post_install_message:
rdoc_options: []
require_paths:
- lib
rubygems_version: 3.4.10
summary: 'It''s evil'
test_files: []
"#;

    fn gem(files: &[(&str, &str)]) -> ManifestFacts {
        extract(
            &PackageFiles::from_memory(files.iter().copied()),
            Ecosystem::Rubygems,
        )
    }

    #[test]
    fn gemspec_identity_dependencies_and_extensions() {
        let facts = gem(&[
            ("metadata.gz!/metadata", GEMSPEC),
            ("data.tar.gz!/lib/evil.rb", "puts 1"),
            ("data.tar.gz!/ext/evil/extconf.rb", "require 'mkmf'"),
        ]);
        assert_eq!(facts.name.as_deref(), Some("evil-gem"));
        assert_eq!(facts.version.as_deref(), Some("1.2.3"));
        assert_eq!(facts.description.as_deref(), Some("It's evil"));
        assert_eq!(facts.homepage.as_deref(), Some("https://example.invalid"));
        assert_eq!(facts.author.as_deref(), Some("Someone"));
        assert_eq!(facts.repository, None);
        assert_eq!(
            facts.manifest_path.as_deref(),
            Some("metadata.gz!/metadata")
        );
        assert_eq!(
            facts.dependencies,
            [
                Dependency {
                    name: "rake".into(),
                    requirement: Some(">= 0".into()),
                    kind: "runtime".into(),
                    url: None
                },
                Dependency {
                    name: "rspec".into(),
                    requirement: Some("~> 3.0".into()),
                    kind: "dev".into(),
                    url: None
                },
            ]
        );
        // Listed once even though it is both in `extensions:` and named extconf.rb.
        assert_eq!(facts.install_hooks.len(), 1);
        assert_eq!(facts.install_hooks[0].trigger, HookTrigger::GemExtension);
        assert_eq!(
            facts.install_hooks[0].path,
            "data.tar.gz!/ext/evil/extconf.rb"
        );
        assert!(facts.problems.is_empty(), "{:?}", facts.problems);
    }

    #[test]
    fn unlisted_extconf_rb_is_an_extension_and_pure_ruby_gem_has_none() {
        let spec = GEMSPEC.replace("extensions:\n- ext/evil/extconf.rb\n", "extensions: []\n");
        let facts = gem(&[
            ("metadata.gz!/metadata", &spec),
            ("data.tar.gz!/lib/evil.rb", ""),
        ]);
        assert!(facts.install_hooks.is_empty());
        let facts = gem(&[
            ("metadata.gz!/metadata", &spec),
            ("data.tar.gz!/ext/x/extconf.rb", ""),
        ]);
        assert_eq!(facts.install_hooks.len(), 1);
        assert_eq!(facts.install_hooks[0].detail.as_deref(), Some("extconf.rb"));
    }

    #[test]
    fn plain_version_and_flow_list() {
        let spec = parse_gemspec(
            "---\nname: \"x\"\nversion: 0.1.0\nextensions: [ext/a/extconf.rb, 'Rakefile']\nsummary:\n  folded\n  text\n",
        );
        assert_eq!(spec.name.as_deref(), Some("x"));
        assert_eq!(spec.version.as_deref(), Some("0.1.0"));
        assert_eq!(spec.extensions, ["ext/a/extconf.rb", "Rakefile"]);
        assert_eq!(spec.summary.as_deref(), Some("folded text"));
    }

    #[test]
    fn garbage_metadata_is_a_problem() {
        let facts = gem(&[
            ("metadata.gz!/metadata", "\u{0}\u{1} not yaml at all"),
            ("data.tar.gz!/x", ""),
        ]);
        assert_eq!(facts.name, None);
        assert_eq!(facts.problems.len(), 1, "{:?}", facts.problems);
        let facts = gem(&[("data.tar.gz!/x", "")]);
        assert_eq!(facts.problems, ["metadata.gz!/metadata: missing"]);
    }
}
