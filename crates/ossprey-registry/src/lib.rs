//! Turns a [`PackageSpec`] into the exact, verified bytes of one package version.
//!
//! ```no_run
//! use ossprey_registry::{RegistryConfig, Registries};
//!
//! let registries = Registries::new(RegistryConfig::default_for_user().with_env_overrides())?;
//! let fetched = registries.fetch(&"pypi:requests@2.32.3".parse()?)?;
//! println!("{} is {} ({} bytes) at {}", fetched.package, fetched.artifact.sha256,
//!          fetched.artifact.size, fetched.path.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The public API is [`RegistryConfig`] (where and how), [`Registries`] (one HTTP
//! agent plus the cache, shareable across threads), [`Fetched`] (what came back),
//! [`ArchiveStore`] (the content-addressed cache) and [`RegistryError`] (with a
//! stable [`code`](RegistryError::code)).
//!
//! How each registry is read:
//! - **PyPI**: project JSON API `{pypi}/pypi/{name}/json`; when it is missing, the
//!   PEP 691 Simple API. The sdist is preferred, then a pure-Python wheel, then any
//!   wheel, then an egg. The published sha256 is verified.
//! - **npm**: the abbreviated packument; the strongest supported `dist.integrity`
//!   algorithm is verified, else `dist.shasum`.
//! - **crates.io**: a sparse index (`config.json` `dl` template, index lines'
//!   `cksum`). A yanked pinned version is fetched and flagged in [`Fetched::yanked`].
//! - **RubyGems**: `/api/v1/versions/{name}.json` and `/gems/{file}.gem`, sha256 verified.
//!
//! No version means "latest" and always asks the registry. A pinned version once
//! fetched is remembered under `<cache>/refs/`, so fetching it again needs no
//! network; the cached archive is hashed again before it is handed out.
//!
//! This crate must never hand out bytes whose digest it did not verify against
//! the registry's published one, never leave an unverified file at a final cache
//! path, and never panic on what a registry sends.

mod config;
mod crates;
mod digest;
mod error;
mod http;
mod npm;
mod pep440;
mod pypi;
mod rubygems;
mod store;

use std::path::PathBuf;

use ossprey_model::{Artifact, ArtifactSource, Ecosystem, PackageRef, PackageSpec};

pub use config::RegistryConfig;
pub use error::RegistryError;
pub use store::ArchiveStore;

use digest::{Algo, ExpectedDigest};
use http::Http;
use store::{RefCache, RefRecord};

/// Clients for every supported registry, sharing one HTTP agent and one cache.
/// `Send + Sync`: one instance can serve many worker threads.
#[derive(Debug)]
pub struct Registries {
    http: Http,
    store: ArchiveStore,
    refs: RefCache,
    pypi_url: String,
    npm_url: String,
    rubygems_url: String,
    crates: crates::SparseIndex,
    offline: bool,
}

/// A package version fetched into the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fetched {
    /// The package as the registry names it, with the resolved version.
    pub package: PackageRef,
    /// The archive's sha256 and size, and where it came from.
    pub artifact: Artifact,
    /// The archive file in the cache (content-addressed, do not modify it).
    pub path: PathBuf,
    /// The file name the registry gives the archive, e.g. `requests-2.32.3.tar.gz`.
    pub filename: String,
    /// True when no download was needed.
    pub from_cache: bool,
    /// True when the registry marks this version (or file) as yanked.
    pub yanked: bool,
}

/// A registry's answer to "which file is this version": internal to the clients.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) url: String,
    pub(crate) filename: String,
    pub(crate) expected: ExpectedDigest,
    pub(crate) yanked: bool,
}

impl Registries {
    /// Builds the HTTP agent (system root certificates, timeouts, retries) and opens
    /// the cache at `cfg.cache_dir`, creating it if needed.
    pub fn new(cfg: RegistryConfig) -> Result<Self, RegistryError> {
        prepare_cache_dir(&cfg.cache_dir)?;
        Ok(Self {
            http: Http::new(&cfg),
            store: ArchiveStore::new(&cfg.cache_dir),
            refs: RefCache::new(&cfg.cache_dir),
            crates: crates::SparseIndex::new(&cfg.crates_index_url),
            pypi_url: cfg.pypi_url,
            npm_url: cfg.npm_url,
            rubygems_url: cfg.rubygems_url,
            offline: cfg.offline,
        })
    }

    /// The archive store this instance downloads into.
    pub fn store(&self) -> &ArchiveStore {
        &self.store
    }

    /// Resolves `spec` (no version = latest) and returns the verified archive,
    /// downloading it unless a verified copy is already cached.
    pub fn fetch(&self, spec: &PackageSpec) -> Result<Fetched, RegistryError> {
        check_spec(spec)?;
        let key = name_key(spec);
        if let Some(version) = &spec.version
            && let Some(record) = self.refs.load(spec.ecosystem, &key, version)
        {
            if let Some(path) = self.store.get_verified(&record.sha256)? {
                return Ok(fetched(spec.ecosystem, record, path, true));
            }
            // The archive went missing or was corrupted: fetch the remembered file again.
            if !self.offline
                && let Some(expected) = ExpectedDigest::from_labelled(&record.verified_digest)
            {
                let resolved = Resolved {
                    name: record.name,
                    version: record.version,
                    url: record.url,
                    filename: record.filename,
                    expected,
                    yanked: record.yanked,
                };
                return self.download(spec, &key, resolved);
            }
        }
        let resolved = match spec.ecosystem {
            Ecosystem::Pypi => pypi::resolve(&self.http, &self.pypi_url, spec)?,
            Ecosystem::Npm => npm::resolve(&self.http, &self.npm_url, spec)?,
            Ecosystem::Crates => self.crates.resolve(&self.http, spec)?,
            Ecosystem::Rubygems => rubygems::resolve(&self.http, &self.rubygems_url, spec)?,
        };
        if let Some(hit) = self.cached_copy(spec, &key, &resolved)? {
            return Ok(hit);
        }
        self.download(spec, &key, resolved)
    }

    /// A verified archive already in the store for what the registry just named:
    /// found by the published sha256, or through the remembered resolution of this
    /// version when the registry publishes another algorithm (npm).
    fn cached_copy(
        &self,
        spec: &PackageSpec,
        key: &str,
        resolved: &Resolved,
    ) -> Result<Option<Fetched>, RegistryError> {
        let mut candidates: Vec<(String, String)> = Vec::new();
        if resolved.expected.algo == Algo::Sha256 {
            candidates.extend(
                resolved
                    .expected
                    .values
                    .iter()
                    .map(|v| (hex::encode(v), format!("sha256:{}", hex::encode(v)))),
            );
        }
        if let Some(record) = self.refs.load(spec.ecosystem, key, &resolved.version)
            && ExpectedDigest::from_labelled(&record.verified_digest).is_some_and(|d| {
                d.algo == resolved.expected.algo
                    && d.values
                        .iter()
                        .any(|v| resolved.expected.values.contains(v))
            })
        {
            candidates.push((record.sha256, record.verified_digest));
        }
        for (sha256, verified_digest) in candidates {
            if let Some(path) = self.store.get_verified(&sha256)? {
                let size = std::fs::metadata(&path)
                    .map_err(|e| RegistryError::io(&path, e))?
                    .len();
                let record = record_of(resolved, sha256, size, verified_digest);
                self.remember(spec, key, &record)?;
                return Ok(Some(fetched(spec.ecosystem, record, path, true)));
            }
        }
        Ok(None)
    }

    fn download(
        &self,
        spec: &PackageSpec,
        key: &str,
        resolved: Resolved,
    ) -> Result<Fetched, RegistryError> {
        let (file, hashed) = self
            .http
            .download(&resolved.url, &self.store, &resolved.expected)?;
        let verified = digest::verify(&resolved.expected, &hashed).map_err(|actual| {
            RegistryError::HashMismatch {
                url: resolved.url.clone(),
                expected: resolved.expected.label(),
                actual,
            }
        })?;
        let path = self.store.commit(file, &hashed.sha256)?;
        let record = record_of(&resolved, hashed.sha256, hashed.len, verified);
        self.remember(spec, key, &record)?;
        Ok(fetched(spec.ecosystem, record, path, false))
    }

    /// Remembers the resolution under the requested and the resolved version.
    fn remember(
        &self,
        spec: &PackageSpec,
        key: &str,
        record: &RefRecord,
    ) -> Result<(), RegistryError> {
        self.refs
            .save(spec.ecosystem, key, &record.version, record)?;
        match &spec.version {
            Some(v) if *v != record.version => self.refs.save(spec.ecosystem, key, v, record),
            _ => Ok(()),
        }
    }
}

fn record_of(resolved: &Resolved, sha256: String, size: u64, verified_digest: String) -> RefRecord {
    RefRecord {
        name: resolved.name.clone(),
        version: resolved.version.clone(),
        url: resolved.url.clone(),
        filename: resolved.filename.clone(),
        sha256,
        size,
        verified_digest,
        yanked: resolved.yanked,
    }
}

fn fetched(ecosystem: Ecosystem, record: RefRecord, path: PathBuf, from_cache: bool) -> Fetched {
    Fetched {
        package: PackageRef {
            ecosystem,
            name: record.name,
            version: Some(record.version),
        },
        artifact: Artifact {
            sha256: record.sha256,
            size: record.size,
            source: ArtifactSource::Registry {
                url: record.url,
                filename: record.filename.clone(),
                verified_digest: record.verified_digest,
            },
        },
        path,
        filename: record.filename,
        from_cache,
        yanked: record.yanked,
    }
}

/// `PackageSpec` has public fields, so a spec built by hand skipped the name and
/// version checks that keep URLs and cache paths safe: run them again.
fn check_spec(spec: &PackageSpec) -> Result<(), RegistryError> {
    let reparsed = format!("{}:{}", spec.ecosystem, spec.name).parse::<PackageSpec>();
    if !reparsed.is_ok_and(|p| p.name == spec.name && p.version.is_none()) {
        return Err(RegistryError::NoSuchPackage {
            ecosystem: spec.ecosystem,
            name: spec.name.clone(),
        });
    }
    if let Some(v) = &spec.version {
        let reparsed = format!("{}:{}@{v}", spec.ecosystem, spec.name).parse::<PackageSpec>();
        if !reparsed.is_ok_and(|p| p.version.as_deref() == Some(v.as_str())) {
            return Err(RegistryError::NoSuchVersion {
                ecosystem: spec.ecosystem,
                name: spec.name.clone(),
                version: v.clone(),
                latest: None,
            });
        }
    }
    Ok(())
}

/// The registry's own notion of "the same name", used as the refs directory.
fn name_key(spec: &PackageSpec) -> String {
    match spec.ecosystem {
        Ecosystem::Pypi => pypi::normalize(&spec.name),
        Ecosystem::Crates => spec.name.to_ascii_lowercase(),
        Ecosystem::Npm | Ecosystem::Rubygems => spec.name.clone(),
    }
}

/// Resolves a possibly relative link (`href`) found in the document at `base`.
pub(crate) fn join_url(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(net) = href.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let (host, path) = rest.split_at(host_end);
    let mut segments: Vec<&str> = if href.starts_with('/') {
        Vec::new()
    } else {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in href.split('/').filter(|s| !s.is_empty() && *s != ".") {
        if seg == ".." {
            segments.pop();
        } else {
            segments.push(seg);
        }
    }
    let trailing = if href.ends_with('/') { "/" } else { "" };
    format!("{scheme}://{host}/{}{trailing}", segments.join("/"))
}

/// Creates the cache directory private to this user (0700) and refuses one
/// owned by somebody else: whoever controls the cache decides which bytes a
/// pinned version resolves to.
fn prepare_cache_dir(dir: &std::path::Path) -> Result<(), RegistryError> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| RegistryError::io(dir, e))?;
    let meta = std::fs::metadata(dir).map_err(|e| RegistryError::io(dir, e))?;
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if let Some(me) = me
        && meta.uid() != me
    {
        return Err(RegistryError::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "cache directory is owned by uid {}, not by this user (uid {me}); \
                     set --cache-dir or OSSPREY_CACHE_DIR to a directory of your own",
                    meta.uid()
                ),
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_links_like_a_browser() {
        let page = "https://mirror.example/simple/six/";
        assert_eq!(
            join_url(page, "../../files/six-1.0.tar.gz"),
            "https://mirror.example/files/six-1.0.tar.gz"
        );
        assert_eq!(
            join_url(page, "/f/six.whl"),
            "https://mirror.example/f/six.whl"
        );
        assert_eq!(
            join_url(page, "six.whl"),
            "https://mirror.example/simple/six/six.whl"
        );
        assert_eq!(join_url(page, "//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(join_url(page, "http://other/x"), "http://other/x");
    }

    #[test]
    fn hand_built_specs_are_checked_again() {
        let bad = PackageSpec {
            ecosystem: Ecosystem::Pypi,
            name: "../x".into(),
            version: None,
        };
        assert_eq!(
            check_spec(&bad).map_err(|e| e.code()),
            Err("no-such-package")
        );
        let bad = PackageSpec {
            ecosystem: Ecosystem::Pypi,
            name: "x".into(),
            version: Some("1/../..".into()),
        };
        assert_eq!(
            check_spec(&bad).map_err(|e| e.code()),
            Err("no-such-version")
        );
    }

    #[test]
    fn registries_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Registries>();
    }
}
