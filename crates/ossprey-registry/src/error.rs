//! The one error type of this crate, with a stable code per variant.
//!
//! Codes are part of ossprey's output contract (they end up in JSON reports), so a
//! variant's code must never change once released.

use std::io;
use std::path::PathBuf;

use ossprey_model::Ecosystem;

/// Why a package could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry does not know this package name.
    #[error("{ecosystem}:{name}: no such package on the registry")]
    NoSuchPackage { ecosystem: Ecosystem, name: String },

    /// The package exists but not in the requested version.
    #[error("{ecosystem}:{name}: no such version `{version}`{}", latest_hint(latest.as_deref()))]
    NoSuchVersion {
        ecosystem: Ecosystem,
        name: String,
        version: String,
        latest: Option<String>,
    },

    /// The registry could not be reached (after retries), or offline mode forbade asking it.
    #[error("registry unreachable: {url}: {detail}")]
    Unreachable { url: String, detail: String },

    /// The downloaded bytes do not match the digest the registry published.
    #[error(
        "hash mismatch for {url}: registry published {expected}, downloaded bytes are {actual}"
    )]
    HashMismatch {
        url: String,
        expected: String,
        actual: String,
    },

    /// The registry answered, but not with something this crate can use.
    #[error("bad registry response from {url}: {detail}")]
    BadResponse { url: String, detail: String },

    /// The release exists but has no file this crate knows how to download.
    #[error("{ecosystem}:{name}@{version}: no downloadable artifact ({detail})")]
    NoArtifact {
        ecosystem: Ecosystem,
        name: String,
        version: String,
        detail: String,
    },

    /// A response body was larger than the configured limit.
    #[error("{url}: response is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },

    /// Reading or writing the cache failed.
    #[error("cache I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn latest_hint(latest: Option<&str>) -> String {
    match latest {
        Some(v) => format!(" (latest is {v})"),
        None => String::new(),
    }
}

impl RegistryError {
    /// A stable kebab-case code for this kind of error, for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchPackage { .. } => "no-such-package",
            Self::NoSuchVersion { .. } => "no-such-version",
            Self::Unreachable { .. } => "registry-unreachable",
            Self::HashMismatch { .. } => "hash-mismatch",
            Self::BadResponse { .. } => "bad-registry-response",
            Self::NoArtifact { .. } => "no-artifact",
            Self::TooLarge { .. } => "download-too-large",
            Self::Io { .. } => "io",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad(url: &str, detail: impl Into<String>) -> Self {
        Self::BadResponse {
            url: url.to_owned(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_kebab_case() {
        let e = RegistryError::NoSuchVersion {
            ecosystem: Ecosystem::Npm,
            name: "left-pad".into(),
            version: "9.9.9".into(),
            latest: Some("1.3.0".into()),
        };
        assert_eq!(e.code(), "no-such-version");
        assert_eq!(
            e.to_string(),
            "npm:left-pad: no such version `9.9.9` (latest is 1.3.0)"
        );
        let e = RegistryError::Unreachable {
            url: "u".into(),
            detail: "d".into(),
        };
        assert_eq!(e.code(), "registry-unreachable");
    }
}
