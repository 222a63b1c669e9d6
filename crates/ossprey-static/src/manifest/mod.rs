//! What a package declares about itself: identity, dependencies and install hooks.
//!
//! Manifests are attacker-written. Every reader here recovers: a manifest that
//! does not parse becomes an entry in [`ManifestFacts::problems`] (itself a
//! signal) and every fact that can still be read is kept. Nothing here fails
//! and nothing here runs package code.

mod crates;
mod gem;
mod npm;
mod pypi;

use std::borrow::Cow;

use ossprey_model::{Ecosystem, FileKind, ManifestFacts};

use crate::{PackageFiles, detect_ecosystem};

/// Reads the manifest facts of a package of the given ecosystem (an
/// [`Ecosystem`] or an `Option<Ecosystem>`); empty facts for `None`.
pub fn extract(files: &PackageFiles, ecosystem: impl Into<Option<Ecosystem>>) -> ManifestFacts {
    let Some(ecosystem) = ecosystem.into() else {
        return ManifestFacts::default();
    };
    let mut facts = ManifestFacts {
        ecosystem: Some(ecosystem),
        ..ManifestFacts::default()
    };
    match ecosystem {
        Ecosystem::Npm => npm::extract(files, &mut facts),
        Ecosystem::Pypi => pypi::extract(files, &mut facts),
        Ecosystem::Crates => crates::extract(files, &mut facts),
        Ecosystem::Rubygems => gem::extract(files, &mut facts),
    }
    facts
}

/// Detects the ecosystem (see [`detect_ecosystem`]) and reads its manifest
/// facts; empty facts when the ecosystem is not recognised.
pub fn detect_and_extract(files: &PackageFiles, name_hint: Option<&str>) -> ManifestFacts {
    extract(files, detect_ecosystem(files, name_hint))
}

/// The text of a manifest file, or `None` when there is no such file. A file
/// that exists but cannot be read as text is recorded in `problems`.
fn read_text<'a>(
    files: &'a PackageFiles,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<Cow<'a, str>> {
    let entry = files.get(path)?;
    if entry.kind == FileKind::Link {
        let target = entry.link.as_ref().map_or("", |l| l.target.as_str());
        problems.push(format!("{path}: is a link to `{target}`, not read"));
        return None;
    }
    let Some(data) = files.content(path) else {
        problems.push(format!(
            "{path}: not read ({} bytes, {:?})",
            entry.size, entry.kind
        ));
        return None;
    };
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let text = String::from_utf8_lossy(data);
    if matches!(text, Cow::Owned(_)) {
        problems.push(format!("{path}: not valid UTF-8"));
    }
    Some(text)
}

/// Collapses whitespace and bounds the length of text quoted in a hook detail.
fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > max_chars {
            let cut: String = out.chars().take(max_chars).collect();
            return cut + "…";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognised_package_gives_empty_facts() {
        let files = PackageFiles::from_memory([("README", "hello")]);
        assert_eq!(detect_and_extract(&files, None), ManifestFacts::default());
        assert_eq!(extract(&files, None), ManifestFacts::default());
        assert_eq!(
            extract(&files, Some(Ecosystem::Npm)).ecosystem,
            Some(Ecosystem::Npm)
        );
    }

    #[test]
    fn excerpt_collapses_and_bounds() {
        assert_eq!(
            excerpt("{ 'install':\n    Post }", 100),
            "{ 'install': Post }"
        );
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
