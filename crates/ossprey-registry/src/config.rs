//! Where the registries are, how patiently to talk to them, and where to cache.
//!
//! This module only computes settings; it must never touch the network or the disk.

use std::path::PathBuf;
use std::time::Duration;

/// Settings for [`Registries`](crate::Registries).
///
/// Start from [`RegistryConfig::default_for_user`] and change fields; the struct is
/// `#[non_exhaustive]` so that new settings are not breaking changes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryConfig {
    /// Base of PyPI (JSON API at `{pypi_url}/pypi/…`, Simple API at `{pypi_url}/simple/…`).
    pub pypi_url: String,
    /// Base of the npm registry (packuments at `{npm_url}/{name}`).
    pub npm_url: String,
    /// Base of a sparse crates index (`{crates_index_url}/config.json`).
    pub crates_index_url: String,
    /// Base of RubyGems (`{rubygems_url}/api/v1/…`, `{rubygems_url}/gems/…`).
    pub rubygems_url: String,
    /// Budget for one whole request attempt, body included.
    pub timeout: Duration,
    /// Budget for establishing one connection.
    pub connect_timeout: Duration,
    /// Extra attempts after the first on connection errors, timeouts, 429 and 5xx.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further retry.
    pub backoff: Duration,
    /// Largest archive that will be downloaded, counted while streaming.
    pub max_download_bytes: u64,
    /// Largest metadata document (packument, project JSON, index file) that will be read.
    pub max_metadata_bytes: u64,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Root of the cache; archives live under `{cache_dir}/archives`, resolutions under `{cache_dir}/refs`.
    pub cache_dir: PathBuf,
    /// Never contact a registry: only pinned versions already in the cache can be fetched.
    pub offline: bool,
}

impl RegistryConfig {
    /// The public registries, a cache in the user's cache directory
    /// (`$OSSPREY_CACHE_DIR`, else `dirs::cache_dir()/ossprey`), and patient network settings.
    pub fn default_for_user() -> Self {
        Self {
            pypi_url: "https://pypi.org".into(),
            npm_url: "https://registry.npmjs.org".into(),
            crates_index_url: "https://index.crates.io".into(),
            rubygems_url: "https://rubygems.org".into(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(15),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_download_bytes: 512 * 1024 * 1024,
            max_metadata_bytes: 256 * 1024 * 1024,
            user_agent: concat!(
                "ossprey/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/ossprey/ossprey)"
            )
            .into(),
            cache_dir: default_cache_dir(),
            offline: false,
        }
    }

    /// Applies `OSSPREY_PYPI_URL`, `OSSPREY_NPM_URL`, `OSSPREY_CRATES_INDEX_URL`,
    /// `OSSPREY_RUBYGEMS_URL` and `OSSPREY_CACHE_DIR` when they are set and not empty.
    pub fn with_env_overrides(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(v) = var("OSSPREY_PYPI_URL") {
            self.pypi_url = v;
        }
        if let Some(v) = var("OSSPREY_NPM_URL") {
            self.npm_url = v;
        }
        if let Some(v) = var("OSSPREY_CRATES_INDEX_URL") {
            self.crates_index_url = v;
        }
        if let Some(v) = var("OSSPREY_RUBYGEMS_URL") {
            self.rubygems_url = v;
        }
        if let Some(v) = std::env::var_os("OSSPREY_CACHE_DIR").filter(|v| !v.is_empty()) {
            self.cache_dir = PathBuf::from(v);
        }
        self
    }
}

fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OSSPREY_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    // Without a home directory (some CI and container users) fall back to a
    // per-user temp location: a directory shared between users would let one
    // plant cache records for another.
    dirs::cache_dir().map_or_else(
        || std::env::temp_dir().join(format!("ossprey-{}", current_uid())),
        |dir| dir.join("ossprey"),
    )
}

/// This process's user id: `/proc/self` is owned by it, and reading it needs no `unsafe`.
fn current_uid() -> String {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or_else(|_| "unknown".to_owned(), |m| m.uid().to_string())
}
