//! The vendored popular-name lists (see `data/README.md` for where each comes
//! from) and the per-ecosystem name normalisation used to compare names.
//!
//! Lists are embedded in the binary and parsed on first use, once per process:
//! the CLI scans thousands of packages a minute and must not re-read them.

use std::collections::HashMap;
use std::sync::LazyLock;

use ossprey_model::Ecosystem;

static PYPI_TEXT: &str = include_str!("../../data/pypi-popular.txt");
static NPM_TEXT: &str = include_str!("../../data/npm-popular.txt");
static CRATES_TEXT: &str = include_str!("../../data/crates-popular.txt");
static RUBYGEMS_TEXT: &str = include_str!("../../data/rubygems-popular.txt");

static PYPI: LazyLock<PopularList> =
    LazyLock::new(|| PopularList::parse(Ecosystem::Pypi, PYPI_TEXT));
static NPM: LazyLock<PopularList> = LazyLock::new(|| PopularList::parse(Ecosystem::Npm, NPM_TEXT));
static CRATES: LazyLock<PopularList> =
    LazyLock::new(|| PopularList::parse(Ecosystem::Crates, CRATES_TEXT));
static RUBYGEMS: LazyLock<PopularList> =
    LazyLock::new(|| PopularList::parse(Ecosystem::Rubygems, RUBYGEMS_TEXT));

/// One ecosystem's popular package names, most popular first, normalised with
/// [`normalize_name`].
#[derive(Debug)]
pub struct PopularList {
    ecosystem: Ecosystem,
    names: Vec<String>,
    rank: HashMap<String, usize>,
}

impl PopularList {
    fn parse(ecosystem: Ecosystem, text: &str) -> Self {
        // One name a line: size both up front rather than rehash as they grow.
        let lines = text.lines().count();
        let mut names = Vec::with_capacity(lines);
        let mut rank = HashMap::with_capacity(lines);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = normalize_name(ecosystem, line);
            // Keep the first (most popular) spelling when two normalise alike.
            if !rank.contains_key(&name) {
                rank.insert(name.clone(), names.len());
                names.push(name);
            }
        }
        Self {
            ecosystem,
            names,
            rank,
        }
    }

    /// The ecosystem this list is for.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// Normalised names, most popular first (rank 0 is the most popular).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The 0-based popularity rank of `name` (normalised first), if listed.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.rank
            .get(&normalize_name(self.ecosystem, name))
            .copied()
    }

    /// Whether `name` (normalised first) is on the list.
    pub fn contains(&self, name: &str) -> bool {
        self.rank(name).is_some()
    }
}

/// The popular-name list of an ecosystem.
pub fn popular(ecosystem: Ecosystem) -> &'static PopularList {
    match ecosystem {
        Ecosystem::Pypi => &PYPI,
        Ecosystem::Npm => &NPM,
        Ecosystem::Crates => &CRATES,
        Ecosystem::Rubygems => &RUBYGEMS,
    }
}

/// The form under which a registry treats two names as the same package.
///
/// - PyPI: PEP 503 (lowercase, every run of `-`, `_`, `.` becomes one `-`).
/// - npm: lowercase (new names must be lowercase; a few old ones are not).
/// - crates.io: lowercase, `_` and `-` are the same name.
/// - RubyGems: lowercase (the registry refuses names differing only in case).
pub fn normalize_name(ecosystem: Ecosystem, name: &str) -> String {
    let name = name.trim();
    match ecosystem {
        Ecosystem::Pypi => {
            let mut out = String::with_capacity(name.len());
            let mut in_sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_sep {
                        out.push('-');
                    }
                    in_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_sep = false;
                }
            }
            out
        }
        Ecosystem::Crates => name.to_lowercase().replace('_', "-"),
        Ecosystem::Npm | Ecosystem::Rubygems => name.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_large_and_ranked() {
        assert_eq!(popular(Ecosystem::Pypi).names().len(), 5000);
        assert_eq!(popular(Ecosystem::Npm).names().len(), 5000);
        assert!(popular(Ecosystem::Crates).names().len() >= 300);
        assert!(popular(Ecosystem::Rubygems).names().len() >= 300);
        assert_eq!(popular(Ecosystem::Pypi).rank("boto3"), Some(0));
        assert_eq!(popular(Ecosystem::Npm).rank("semver"), Some(0));
        assert!(popular(Ecosystem::Crates).contains("serde_json"));
        assert!(popular(Ecosystem::Crates).contains("serde-json"));
        assert!(popular(Ecosystem::Rubygems).contains("rails"));
    }

    #[test]
    fn pypi_names_compare_under_pep503() {
        assert_eq!(
            normalize_name(Ecosystem::Pypi, "Python_Dateutil"),
            "python-dateutil"
        );
        assert_eq!(
            normalize_name(Ecosystem::Pypi, "zope.__interface"),
            "zope-interface"
        );
        assert!(popular(Ecosystem::Pypi).contains("PyYAML"));
        assert!(popular(Ecosystem::Pypi).contains("typing_extensions"));
    }

    #[test]
    fn npm_lookups_ignore_case() {
        assert!(popular(Ecosystem::Npm).contains("JSONStream"));
        assert!(popular(Ecosystem::Npm).contains("jsonstream"));
        assert!(popular(Ecosystem::Npm).contains("@babel/core"));
    }
}
