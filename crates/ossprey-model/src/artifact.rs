use serde::{Deserialize, Serialize};

/// The exact bytes that were analysed, identified by their sha256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Lowercase hex sha256 of the archive. For a directory target, the digest of
    /// its file tree (see `ossprey_static::tree_digest`).
    pub sha256: String,
    /// Size in bytes of the archive (for a directory: the sum of its files).
    pub size: u64,
    pub source: ArtifactSource,
}

/// Where an artifact came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ArtifactSource {
    /// Downloaded from a registry; the registry's published digest was verified.
    Registry {
        url: String,
        filename: String,
        /// The digest the registry published and which matched, e.g. `sha256:…`, `sha512:…`.
        verified_digest: String,
    },
    /// A local archive file.
    File { path: String },
    /// A local directory.
    Directory { path: String },
}
