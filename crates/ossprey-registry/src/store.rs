//! The content-addressed archive store and the cache of pinned-version resolutions.
//!
//! Layout under the cache directory:
//! `archives/sha256/<2 hex>/<64 hex>` for archive bytes, `archives/tmp/` for downloads
//! in progress, `refs/<ecosystem>/<name>/<version>.json` for resolutions.
//!
//! An archive only ever appears at its final path by an atomic rename after its
//! sha256 was computed and the registry's digest verified: this module must never
//! write into a final path directly, and must never hand out a cached file without
//! hashing it again (the cache directory is not trusted to be untouched).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ossprey_model::Ecosystem;
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

use crate::RegistryError;
use crate::digest::{Algo, Hashed, StreamHasher};

const CHUNK: usize = 64 * 1024;

/// Archives addressed by their sha256: `<cache>/archives/sha256/<2 hex>/<64 hex>`.
#[derive(Clone, Debug)]
pub struct ArchiveStore {
    root: PathBuf,
}

impl ArchiveStore {
    /// A store under `cache_dir/archives`. Nothing is created until something is stored.
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            root: cache_dir.join("archives"),
        }
    }

    /// Where the archive with this sha256 lives (whether or not it is there).
    /// `None` when `sha256` is not 64 hex digits.
    pub fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let sha = sha256.to_ascii_lowercase();
        Some(self.root.join("sha256").join(&sha[..2]).join(&sha))
    }

    /// The path of the stored archive with this sha256, after hashing it again.
    /// A stored file whose bytes no longer match its name is deleted and `None` returned.
    pub fn get_verified(&self, sha256: &str) -> Result<Option<PathBuf>, RegistryError> {
        let Some(path) = self.path_for(sha256) else {
            return Ok(None);
        };
        // Never follow what was planted at a content address: a symlink to
        // `/dev/zero` or a FIFO would make the re-hash below run or block forever.
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => {}
            Ok(_) => {
                return match fs::remove_file(&path) {
                    Ok(()) => Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(RegistryError::io(path, e)),
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io(path, e)),
        }
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        let hashed = hash_reader(file, Algo::Sha256).map_err(|e| RegistryError::io(&path, e))?;
        if hashed.sha256.eq_ignore_ascii_case(sha256) {
            return Ok(Some(path));
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RegistryError::io(path, e)),
        }
    }

    /// Stores the bytes of `reader` (at most `max_bytes`), returning their sha256,
    /// size and stored path. For local archives that should share the store.
    pub fn insert_reader(
        &self,
        mut reader: impl Read,
        max_bytes: u64,
    ) -> Result<(String, u64, PathBuf), RegistryError> {
        let mut staged = self.stage(Algo::Sha256)?;
        let mut buf = vec![0; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RegistryError::io(staged.path(), e)),
            };
            if staged.len() + n as u64 > max_bytes {
                return Err(RegistryError::TooLarge {
                    url: "local input".into(),
                    limit: max_bytes,
                });
            }
            staged.write(&buf[..n])?;
        }
        let (file, hashed) = staged.finish();
        let path = self.commit(file, &hashed.sha256)?;
        Ok((hashed.sha256, hashed.len, path))
    }

    /// A temp file beside the store's final directories (same filesystem, so the
    /// final rename is atomic). Dropping it unused deletes it.
    pub(crate) fn stage(&self, algo: Algo) -> Result<Staged, RegistryError> {
        let tmp = self.root.join("tmp");
        fs::create_dir_all(&tmp).map_err(|e| RegistryError::io(&tmp, e))?;
        let file = tempfile::Builder::new()
            .prefix("download-")
            .tempfile_in(&tmp)
            .map_err(|e| RegistryError::io(&tmp, e))?;
        Ok(Staged {
            file,
            hasher: StreamHasher::new(algo),
        })
    }

    /// Moves a verified staged file to its content address.
    pub(crate) fn commit(
        &self,
        file: NamedTempFile,
        sha256: &str,
    ) -> Result<PathBuf, RegistryError> {
        let Some(dest) = self.path_for(sha256) else {
            return Err(RegistryError::io(
                file.path(),
                io::Error::other("not a sha256 digest"),
            ));
        };
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))?;
        }
        file.as_file()
            .sync_all()
            .map_err(|e| RegistryError::io(file.path(), e))?;
        // Another thread may have stored the same bytes meanwhile; renaming over an
        // identical file is harmless.
        file.persist(&dest)
            .map_err(|e| RegistryError::io(&dest, e.error))?;
        Ok(dest)
    }
}

/// A download in progress: a temp file plus the hashes of what was written so far.
pub(crate) struct Staged {
    file: NamedTempFile,
    hasher: StreamHasher,
}

impl Staged {
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), RegistryError> {
        self.hasher.update(data);
        self.file
            .write_all(data)
            .map_err(|e| RegistryError::io(self.file.path(), e))
    }

    pub(crate) fn len(&self) -> u64 {
        self.hasher.len()
    }

    fn path(&self) -> &Path {
        self.file.path()
    }

    pub(crate) fn finish(self) -> (NamedTempFile, Hashed) {
        (self.file, self.hasher.finish())
    }
}

fn hash_reader(mut reader: impl Read, algo: Algo) -> io::Result<Hashed> {
    let mut hasher = StreamHasher::new(algo);
    let mut buf = vec![0; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hasher.finish()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A remembered resolution of a pinned version, so fetching it again needs no network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefRecord {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) url: String,
    pub(crate) filename: String,
    pub(crate) sha256: String,
    pub(crate) size: u64,
    pub(crate) verified_digest: String,
    #[serde(default)]
    pub(crate) yanked: bool,
}

/// A resolution record is a few hundred bytes; anything far larger is not one.
const MAX_REF_BYTES: u64 = 1 << 20;

/// `<cache>/refs/<eco>/<name>/<version>.json`.
#[derive(Clone, Debug)]
pub(crate) struct RefCache {
    root: PathBuf,
}

impl RefCache {
    pub(crate) fn new(cache_dir: &Path) -> Self {
        Self {
            root: cache_dir.join("refs"),
        }
    }

    /// `None` when the name or version cannot safely be a path component.
    fn path(&self, eco: Ecosystem, name_key: &str, version: &str) -> Option<PathBuf> {
        let name = name_key.replace('/', "%2f");
        let safe = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.len() <= 214
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-+!@%~".contains(&b))
        };
        (safe(&name) && safe(version)).then(|| {
            self.root
                .join(eco.as_str())
                .join(name)
                .join(format!("{version}.json"))
        })
    }

    /// A missing, unreadable or malformed record is a cache miss, never an error:
    /// the registry can always be asked again.
    pub(crate) fn load(&self, eco: Ecosystem, name_key: &str, version: &str) -> Option<RefRecord> {
        let path = self.path(eco, name_key, version)?;
        // Only a small regular file: a planted symlink to `/dev/zero` or a FIFO
        // must not hang or exhaust memory.
        let meta = fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() || meta.len() > MAX_REF_BYTES {
            return None;
        }
        let mut bytes = Vec::new();
        File::open(path)
            .ok()?
            .take(MAX_REF_BYTES)
            .read_to_end(&mut bytes)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(crate) fn save(
        &self,
        eco: Ecosystem,
        name_key: &str,
        version: &str,
        record: &RefRecord,
    ) -> Result<(), RegistryError> {
        let Some(path) = self.path(eco, name_key, version) else {
            return Ok(());
        };
        let Some(dir) = path.parent() else {
            return Ok(());
        };
        fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))?;
        let json =
            serde_json::to_vec_pretty(record).map_err(|e| RegistryError::io(&path, e.into()))?;
        let mut tmp = NamedTempFile::new_in(dir).map_err(|e| RegistryError::io(dir, e))?;
        tmp.write_all(&json)
            .map_err(|e| RegistryError::io(tmp.path(), e))?;
        tmp.persist(&path)
            .map_err(|e| RegistryError::io(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_then_get_verified_and_corruption_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ArchiveStore::new(dir.path());
        let (sha, size, path) = store
            .insert_reader(&b"archive bytes"[..], 1024)
            .expect("insert");
        assert_eq!(size, 13);
        assert!(path.ends_with(format!("archives/sha256/{}/{sha}", &sha[..2])));
        assert_eq!(store.get_verified(&sha).expect("get"), Some(path.clone()));
        fs::write(&path, b"tampered").expect("write");
        assert_eq!(store.get_verified(&sha).expect("get"), None);
        assert!(!path.exists(), "corrupted file is removed");
        assert!(store.insert_reader(&b"0123456789"[..], 5).is_err());
        assert_eq!(
            fs::read_dir(dir.path().join("archives/tmp"))
                .expect("tmp")
                .count(),
            0
        );
    }

    #[test]
    #[cfg(unix)]
    fn planted_symlinks_in_the_cache_are_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ArchiveStore::new(dir.path());
        let sha = "ab".repeat(32);
        let path = store.path_for(&sha).expect("path");
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        // Following this link would hash an endless stream.
        std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
        assert_eq!(store.get_verified(&sha).expect("get"), None);
        assert!(fs::symlink_metadata(&path).is_err(), "the link is removed");

        let refs = RefCache::new(dir.path());
        let record = refs.path(Ecosystem::Pypi, "x", "1.0").expect("ref path");
        fs::create_dir_all(record.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink("/dev/zero", &record).expect("symlink");
        assert_eq!(refs.load(Ecosystem::Pypi, "x", "1.0"), None);
    }

    #[test]
    fn path_for_rejects_non_digests() {
        let store = ArchiveStore::new(Path::new("/c"));
        assert!(store.path_for("../../etc/passwd").is_none());
        assert!(store.path_for(&"g".repeat(64)).is_none());
        assert!(store.path_for(&"a".repeat(64)).is_some());
    }

    #[test]
    fn ref_paths_refuse_traversal() {
        let refs = RefCache::new(Path::new("/c"));
        assert!(refs.path(Ecosystem::Npm, "@scope/name", "1.0.0").is_some());
        assert!(refs.path(Ecosystem::Pypi, "..", "1.0").is_none());
        assert!(refs.path(Ecosystem::Pypi, "x", "../1").is_none());
    }
}
