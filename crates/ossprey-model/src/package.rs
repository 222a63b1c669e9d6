use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A package registry ossprey knows how to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Pypi,
    Npm,
    Crates,
    Rubygems,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 4] = [Self::Pypi, Self::Npm, Self::Crates, Self::Rubygems];

    /// The spelling used in target specs and JSON (`pypi`, `npm`, `crates`, `rubygems`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pypi => "pypi",
            Self::Npm => "npm",
            Self::Crates => "crates",
            Self::Rubygems => "rubygems",
        }
    }

    /// The ecosystem name used by OSV (`PyPI`, `npm`, `crates.io`, `RubyGems`).
    pub fn osv_name(self) -> &'static str {
        match self {
            Self::Pypi => "PyPI",
            Self::Npm => "npm",
            Self::Crates => "crates.io",
            Self::Rubygems => "RubyGems",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        Some(match prefix.to_ascii_lowercase().as_str() {
            "pypi" | "pip" | "python" => Self::Pypi,
            "npm" | "node" => Self::Npm,
            "crates" | "crate" | "cargo" | "crates.io" => Self::Crates,
            "rubygems" | "gem" | "gems" => Self::Rubygems,
            _ => return None,
        })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        Self::from_prefix(s).ok_or_else(|| SpecError::UnknownEcosystem(s.to_owned()))
    }
}

/// A package version as reported: which registry, which name, which version.
///
/// `version` is `None` only when a local archive does not declare one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: Option<String>,
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ecosystem, self.name)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

/// A registry package request as typed by a user: `pypi:requests@2.32.3`,
/// `npm:@scope/name`, `crates:serde@1.0.210`, `rubygems:rails`. No version means
/// the latest one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackageSpec {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: Option<String>,
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ecosystem, self.name)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown ecosystem `{0}` (expected pypi, npm, crates or rubygems)")]
    UnknownEcosystem(String),
    #[error("`{spec}`: package name is empty")]
    EmptyName { spec: String },
    #[error("`{spec}`: version after `@` is empty")]
    EmptyVersion { spec: String },
    #[error("`{spec}`: `{name}` is not a valid {ecosystem} package name ({why})")]
    InvalidName {
        spec: String,
        name: String,
        ecosystem: Ecosystem,
        why: &'static str,
    },
    #[error("`{spec}`: `{version}` is not a valid version ({why})")]
    InvalidVersion {
        spec: String,
        version: String,
        why: &'static str,
    },
}

impl FromStr for PackageSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let (prefix, rest) = spec
            .split_once(':')
            .ok_or_else(|| SpecError::UnknownEcosystem(spec.to_owned()))?;
        let ecosystem = Ecosystem::from_prefix(prefix)
            .ok_or_else(|| SpecError::UnknownEcosystem(prefix.to_owned()))?;
        // A scoped npm name starts with `@`, so the version separator is the
        // last `@` that is not at position 0.
        let (name, version) = match rest.rfind('@') {
            Some(at) if at > 0 => (&rest[..at], Some(&rest[at + 1..])),
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err(SpecError::EmptyName {
                spec: spec.to_owned(),
            });
        }
        if let Err(why) = validate_name(ecosystem, name) {
            return Err(SpecError::InvalidName {
                spec: spec.to_owned(),
                name: name.to_owned(),
                ecosystem,
                why,
            });
        }
        let version = match version {
            None => None,
            Some("") => {
                return Err(SpecError::EmptyVersion {
                    spec: spec.to_owned(),
                });
            }
            Some(v) => {
                validate_version(v).map_err(|why| SpecError::InvalidVersion {
                    spec: spec.to_owned(),
                    version: v.to_owned(),
                    why,
                })?;
                Some(v.to_owned())
            }
        };
        Ok(Self {
            ecosystem,
            name: name.to_owned(),
            version,
        })
    }
}

/// Names end up in registry URLs and cache paths, so anything outside each
/// registry's own name grammar is refused before any request is made.
fn validate_name(ecosystem: Ecosystem, name: &str) -> Result<(), &'static str> {
    if name.len() > 214 {
        return Err("longer than 214 characters");
    }
    let plain = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
            && s != "."
            && s != ".."
    };
    match ecosystem {
        Ecosystem::Pypi => {
            if !plain(name, &['.', '_', '-']) {
                return Err("only ASCII letters, digits, `.`, `_` and `-` are allowed");
            }
            if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
                || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
            {
                return Err("must start and end with a letter or digit");
            }
        }
        Ecosystem::Npm => {
            let bare = match name.strip_prefix('@') {
                Some(scoped) => {
                    let (scope, pkg) = scoped
                        .split_once('/')
                        .ok_or("a scoped name is `@scope/name`")?;
                    if !plain(scope, &['.', '_', '-', '~']) {
                        return Err("invalid characters in the scope");
                    }
                    pkg
                }
                None => name,
            };
            if !plain(bare, &['.', '_', '-', '~']) {
                return Err("only URL-safe characters are allowed");
            }
            if bare.starts_with(['.', '_']) {
                return Err("cannot start with `.` or `_`");
            }
        }
        Ecosystem::Crates => {
            if name.len() > 64 {
                return Err("longer than 64 characters");
            }
            if !plain(name, &['_', '-']) || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(
                    "must start with a letter and contain only letters, digits, `_` and `-`",
                );
            }
        }
        Ecosystem::Rubygems => {
            if !plain(name, &['.', '_', '-']) {
                return Err("only ASCII letters, digits, `.`, `_` and `-` are allowed");
            }
        }
    }
    Ok(())
}

fn validate_version(version: &str) -> Result<(), &'static str> {
    if version.len() > 128 {
        return Err("longer than 128 characters");
    }
    if version == "." || version == ".." {
        return Err("not a version");
    }
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_' | '!'))
    {
        return Err("only ASCII letters, digits and `.-+_!` are allowed");
    }
    Ok(())
}

/// What a user asked ossprey to look at: a registry package or a local path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Registry(PackageSpec),
    Path(PathBuf),
}

impl Target {
    /// Reads a command-line argument. An argument is a registry spec when it
    /// starts with a known ecosystem prefix and is not an existing path;
    /// everything else is a path.
    pub fn parse(arg: &str) -> Result<Self, SpecError> {
        if let Some((prefix, _)) = arg.split_once(':')
            && Ecosystem::from_prefix(prefix).is_some()
            && !std::path::Path::new(arg).exists()
        {
            return arg.parse().map(Target::Registry);
        }
        Ok(Target::Path(PathBuf::from(arg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> PackageSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_every_ecosystem_with_and_without_version() {
        assert_eq!(
            spec("pypi:requests@2.32.3"),
            PackageSpec {
                ecosystem: Ecosystem::Pypi,
                name: "requests".into(),
                version: Some("2.32.3".into())
            }
        );
        assert_eq!(spec("npm:left-pad").version, None);
        assert_eq!(spec("crates:serde@1.0.210").ecosystem, Ecosystem::Crates);
        assert_eq!(spec("rubygems:rails@7.1.0").ecosystem, Ecosystem::Rubygems);
    }

    #[test]
    fn scoped_npm_names_keep_their_at_sign() {
        let s = spec("npm:@types/node@20.1.0");
        assert_eq!(s.name, "@types/node");
        assert_eq!(s.version.as_deref(), Some("20.1.0"));
        let s = spec("npm:@babel/core");
        assert_eq!(s.name, "@babel/core");
        assert_eq!(s.version, None);
    }

    #[test]
    fn rejects_names_that_could_escape_a_url_or_path() {
        for bad in [
            "pypi:../etc",
            "npm:a/../../b",
            "crates:foo/bar",
            "pypi:a b",
            "rubygems:..",
            "npm:@x",
            "npm:",
        ] {
            assert!(
                bad.parse::<PackageSpec>().is_err(),
                "{bad} should be rejected"
            );
        }
        assert!("pypi:x@1.0/../../".parse::<PackageSpec>().is_err());
        assert!(matches!(
            "pypi:x@".parse::<PackageSpec>(),
            Err(SpecError::EmptyVersion { .. })
        ));
        assert!(matches!(
            "maven:x@1".parse::<PackageSpec>(),
            Err(SpecError::UnknownEcosystem(_))
        ));
    }

    #[test]
    fn target_is_a_path_unless_it_has_an_ecosystem_prefix() {
        assert!(matches!(
            Target::parse("pypi:six").unwrap(),
            Target::Registry(_)
        ));
        assert!(matches!(
            Target::parse("./dist/six-1.0.tar.gz").unwrap(),
            Target::Path(_)
        ));
        assert!(matches!(Target::parse("foo:bar").unwrap(), Target::Path(_)));
    }
}
