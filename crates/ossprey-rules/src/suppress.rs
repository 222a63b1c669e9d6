//! Suppressions: an allowlist in `ossprey.toml`, each entry with a mandatory reason.
//!
//! ```toml
//! [[allow]]
//! rule = "NET-WEBHOOK"               # optional: a rule id
//! package = "npm:my-internal-tool"   # optional: ecosystem:name (any version)
//! path = "tests/**"                  # optional: glob over the finding's file, relative to the package root
//! sha256 = "…"                       # optional: the archive's or the file's sha256
//! reason = "our own Slack notifier"  # required
//! ```
//!
//! An entry matches a finding when every field it sets matches; an entry that
//! sets none of `rule`, `package`, `path`, `sha256` is refused (it would silence
//! everything). Suppressed findings are reported with their reason and do not
//! count toward the score — they are never silently dropped.
//!
//! Only the user supplies this file (`--config`, `$OSSPREY_CONFIG`, or
//! `./ossprey.toml`); a package can never suppress its own findings by shipping
//! one, because nothing inside a scanned package is ever read as configuration.

use ossprey_model::{Ecosystem, Finding, PackageRef, SuppressedFinding as Suppressed};
use serde::Deserialize;

/// The `[[allow]]` entries of an `ossprey.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppressions {
    #[serde(default)]
    allow: Vec<Allow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allow {
    rule: Option<String>,
    package: Option<String>,
    path: Option<String>,
    sha256: Option<String>,
    reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("[[allow]] entry {index}: `reason` must say why (it is empty)")]
    EmptyReason { index: usize },
    #[error(
        "[[allow]] entry {index} ({reason:?}) sets none of rule, package, path, sha256: it would silence everything"
    )]
    MatchesEverything { index: usize, reason: String },
    #[error("[[allow]] entry {index}: package `{package}` is not `ecosystem:name`")]
    BadPackage { index: usize, package: String },
}

impl Suppressions {
    /// Parses and validates the text of an `ossprey.toml`.
    pub fn parse(text: &str) -> Result<Self, SuppressionError> {
        let parsed: Suppressions = toml::from_str(text)?;
        for (index, a) in parsed.allow.iter().enumerate() {
            let index = index + 1;
            if a.reason.trim().is_empty() {
                return Err(SuppressionError::EmptyReason { index });
            }
            if a.rule.is_none() && a.package.is_none() && a.path.is_none() && a.sha256.is_none() {
                return Err(SuppressionError::MatchesEverything {
                    index,
                    reason: a.reason.clone(),
                });
            }
            if let Some(p) = &a.package
                && parse_package(p).is_none()
            {
                return Err(SuppressionError::BadPackage {
                    index,
                    package: p.clone(),
                });
            }
        }
        Ok(parsed)
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
    }

    /// Splits `findings` into those that stand and those an entry suppresses.
    ///
    /// `root` is the package root prefix (`requests-2.32.3/`), stripped from a
    /// finding's file before `path` globs are matched; `artifact_sha256` is the
    /// analysed archive's hash; `file_sha256` gives a file's hash by its path.
    pub fn apply(
        &self,
        findings: Vec<Finding>,
        package: Option<&PackageRef>,
        root: &str,
        artifact_sha256: Option<&str>,
        file_sha256: &dyn Fn(&str) -> Option<String>,
    ) -> (Vec<Finding>, Vec<Suppressed>) {
        if self.allow.is_empty() {
            return (findings, Vec::new());
        }
        let mut kept = Vec::new();
        let mut suppressed = Vec::new();
        for f in findings {
            match self
                .allow
                .iter()
                .find(|a| a.matches(&f, package, root, artifact_sha256, file_sha256))
            {
                Some(a) => suppressed.push(Suppressed {
                    finding: f,
                    reason: a.reason.clone(),
                }),
                None => kept.push(f),
            }
        }
        (kept, suppressed)
    }
}

impl Allow {
    fn matches(
        &self,
        f: &Finding,
        package: Option<&PackageRef>,
        root: &str,
        artifact_sha256: Option<&str>,
        file_sha256: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        if let Some(rule) = &self.rule
            && !rule.eq_ignore_ascii_case(&f.rule)
        {
            return false;
        }
        if let Some(want) = &self.package {
            let Some((eco, name)) = parse_package(want) else {
                return false;
            };
            let Some(p) = package else { return false };
            if p.ecosystem != eco || normalize_name(eco, &p.name) != normalize_name(eco, name) {
                return false;
            }
        }
        if let Some(glob) = &self.path {
            let Some(file) = &f.evidence.file else {
                return false;
            };
            let rel = file.strip_prefix(root).unwrap_or(file);
            if !glob_match(glob, rel) {
                return false;
            }
        }
        if let Some(want) = &self.sha256 {
            let want = want.to_ascii_lowercase();
            let artifact = artifact_sha256.is_some_and(|s| s == want);
            let file = f
                .evidence
                .file
                .as_deref()
                .and_then(file_sha256)
                .is_some_and(|s| s == want);
            if !artifact && !file {
                return false;
            }
        }
        true
    }
}

fn parse_package(spec: &str) -> Option<(Ecosystem, &str)> {
    let (eco, name) = spec.split_once(':')?;
    let eco: Ecosystem = eco.parse().ok()?;
    (!name.is_empty() && !name.contains('@') || name.starts_with('@') && !name[1..].contains('@'))
        .then_some((eco, name))
}

fn normalize_name(eco: Ecosystem, name: &str) -> String {
    match eco {
        // PEP 503: case-insensitive, runs of `-_.` are equal.
        Ecosystem::Pypi => {
            let mut out = String::new();
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !out.ends_with('-') {
                        out.push('-');
                    }
                } else {
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        }
        Ecosystem::Crates => name.to_ascii_lowercase().replace('_', "-"),
        Ecosystem::Npm | Ecosystem::Rubygems => name.to_owned(),
    }
}

/// `*` matches within one path component, `**` across components, `?` one character.
fn glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[u8], p: &[u8], budget: &mut u32) -> bool {
        // Patterns come from the user's config, but keep matching bounded anyway.
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match g.split_first() {
            None => p.is_empty(),
            Some((b'*', rest)) if rest.first() == Some(&b'*') => {
                let rest = rest.get(1..).unwrap_or_default();
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=p.len()).any(|i| go(rest, p.get(i..).unwrap_or_default(), budget))
            }
            Some((b'*', rest)) => {
                let limit = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
                (0..=limit).any(|i| go(rest, p.get(i..).unwrap_or_default(), budget))
            }
            Some((b'?', rest)) => {
                p.first().is_some_and(|&c| c != b'/') && go(rest, &p[1..], budget)
            }
            Some((c, rest)) => p.first() == Some(c) && go(rest, &p[1..], budget),
        }
    }
    go(glob.as_bytes(), path.as_bytes(), &mut 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ossprey_model::{Category, Evidence, Severity};

    fn f(rule: &str, file: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::High,
            category: Category::NETWORK,
            message: "m".into(),
            evidence: Evidence {
                file: Some(file.into()),
                line: Some(1),
                snippet: None,
                event: None,
            },
            notes: Vec::new(),
        }
    }

    fn pkg(eco: Ecosystem, name: &str) -> PackageRef {
        PackageRef {
            ecosystem: eco,
            name: name.into(),
            version: Some("1.0".into()),
        }
    }

    #[test]
    fn entries_need_a_reason_and_a_matcher() {
        assert!(matches!(
            Suppressions::parse("[[allow]]\nrule = \"X\"\nreason = \" \""),
            Err(SuppressionError::EmptyReason { index: 1 })
        ));
        assert!(
            Suppressions::parse("[[allow]]\nrule = \"X\"").is_err(),
            "reason is mandatory"
        );
        assert!(matches!(
            Suppressions::parse("[[allow]]\nreason = \"all\""),
            Err(SuppressionError::MatchesEverything { .. })
        ));
        assert!(
            Suppressions::parse("[[allow]]\nrules = \"X\"\nreason = \"typo\"").is_err(),
            "unknown keys refused"
        );
        assert!(matches!(
            Suppressions::parse("[[allow]]\npackage = \"foo\"\nreason = \"r\""),
            Err(SuppressionError::BadPackage { .. })
        ));
    }

    #[test]
    fn every_set_field_must_match() {
        let s = Suppressions::parse(
            "[[allow]]\nrule = \"NET-WEBHOOK\"\npackage = \"pypi:My_Tool\"\npath = \"tests/**\"\nreason = \"our notifier\"\n",
        )
        .unwrap();
        let p = pkg(Ecosystem::Pypi, "my-tool");
        let none = |_: &str| None;
        let (kept, sup) = s.apply(
            vec![
                f("NET-WEBHOOK", "my-tool-1.0/tests/a/b.py"),
                f("NET-WEBHOOK", "my-tool-1.0/src/a.py"),
                f("OTHER", "my-tool-1.0/tests/a.py"),
            ],
            Some(&p),
            "my-tool-1.0/",
            None,
            &none,
        );
        assert_eq!(sup.len(), 1);
        assert_eq!(sup[0].reason, "our notifier");
        assert_eq!(
            sup[0].finding.evidence.file.as_deref(),
            Some("my-tool-1.0/tests/a/b.py")
        );
        assert_eq!(kept.len(), 2);
        // Another package with the same finding is not suppressed.
        let other = pkg(Ecosystem::Pypi, "evil");
        let (kept, sup) = s.apply(
            vec![f("NET-WEBHOOK", "evil-1.0/tests/a.py")],
            Some(&other),
            "evil-1.0/",
            None,
            &none,
        );
        assert_eq!((kept.len(), sup.len()), (1, 0));
    }

    #[test]
    fn sha256_matches_the_artifact_or_the_file() {
        let s = Suppressions::parse("[[allow]]\nsha256 = \"ABC\"\nreason = \"vetted\"\n").unwrap();
        let by_file = |p: &str| (p == "x/vendored.js").then(|| "abc".to_owned());
        let (kept, sup) = s.apply(
            vec![f("R", "x/vendored.js"), f("R", "x/other.js")],
            None,
            "x/",
            None,
            &by_file,
        );
        assert_eq!((kept.len(), sup.len()), (1, 1));
        let (kept, sup) = s.apply(vec![f("R", "x/other.js")], None, "x/", Some("abc"), &|_| {
            None
        });
        assert_eq!((kept.len(), sup.len()), (0, 1));
    }

    #[test]
    fn globs() {
        assert!(glob_match("tests/**", "tests/a/b.py"));
        assert!(glob_match("**/*.min.js", "dist/x/app.min.js"));
        assert!(glob_match("**/*.min.js", "app.min.js"));
        assert!(!glob_match("*.js", "dist/app.js"));
        assert!(glob_match("src/?.py", "src/a.py"));
        assert!(!glob_match("src/?.py", "src/ab.py"));
    }
}
