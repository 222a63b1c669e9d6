//! `--keep-artifacts DIR`: what a package sent and wrote, kept on the host for a human.
//!
//! After a package's phases, `DIR/<name>-<version>/` receives:
//!
//! - `network.json`: each phase's sinkhole log (DNS queries, connections, datagrams);
//! - `connections/<phase>-<n>-<address>-<port>.bin`: the raw first bytes of each
//!   connection, exactly as the package sent them;
//! - `files/<sandbox path>/…`: copies of the regular files in the package's writable
//!   directories (home, `/work`, `/tmp`), within a total byte budget;
//! - `files.json`: every entry found there, copied or not, with why not.
//!
//! # The package controls the source tree
//!
//! Everything under the writable directories was made by the package, so the copy
//! treats it as hostile. Symlinks are recorded (with their target) and never followed;
//! files are opened with `O_NOFOLLOW | O_NONBLOCK` and must be regular files by `fstat`
//! of the opened descriptor; every path's canonical form must stay inside its
//! directory; hard-linked files (link count above 1) are not copied, as a hard link is
//! the other way to name a file outside; FIFOs, sockets and devices are recorded only.
//! No sandboxed process is alive when this runs (each phase's pid namespace died with
//! its init), so nothing can swap a path between the check and the open. The
//! destination is a new directory and every file is created with `O_EXCL`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ossprey_model::DynamicResult;
use serde::Serialize;

/// Bytes of package files copied per package, at most.
pub const DEFAULT_FILES_BUDGET: u64 = 64 << 20;

/// Entries recorded in `files.json`, at most (a package can create millions).
const MAX_ENTRIES: usize = 10_000;

/// One entry of a writable directory, as recorded in `files.json`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FileRecord {
    /// Path inside the sandbox.
    pub path: String,
    /// `file`, `dir`, `symlink`, `fifo`, `socket`, `device`.
    pub kind: &'static str,
    /// Size in bytes (of the file; of the link text for a symlink).
    pub size: u64,
    /// The symlink's target, as written (never followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Where the copy is, relative to the package's artifact directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_to: Option<String>,
    /// Why a file was not copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Write the artifacts of one package into a new directory under `root`; returns it.
/// `writable` maps sandbox paths to the host directories that stood for them.
pub(crate) fn keep(
    root: &Path,
    package_dir_name: &str,
    result: &DynamicResult,
    writable: &BTreeMap<String, PathBuf>,
    files_budget: u64,
) -> io::Result<PathBuf> {
    fs::create_dir_all(root)?;
    let dir = new_dir(root, package_dir_name)?;

    let mut networks = BTreeMap::new();
    let conn_dir = dir.join("connections");
    fs::create_dir(&conn_dir)?;
    for (phase, report) in [
        ("install", &result.install),
        ("import", &result.import),
        ("execute", &result.execute),
    ] {
        let Some(report) = report else { continue };
        networks.insert(phase, &report.network);
        for (i, c) in report.network.connections.iter().enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&c.bytes_prefix_base64)
                .unwrap_or_default();
            let name = format!("{phase}-{i}-{}-{}.bin", safe_name(&c.address), c.port);
            create_new(&conn_dir.join(name))?.write_all(&bytes)?;
        }
    }
    let json = serde_json::to_vec_pretty(&networks).map_err(io::Error::other)?;
    create_new(&dir.join("network.json"))?.write_all(&json)?;

    let mut copier = Copier {
        dest: dir.join("files"),
        base: dir.clone(),
        budget: files_budget,
        records: Vec::new(),
    };
    fs::create_dir(&copier.dest)?;
    for (sandbox_path, host) in writable {
        let rel = sandbox_path.trim_start_matches('/');
        let dest = copier.dest.join(rel);
        fs::create_dir_all(&dest)?;
        let inside = fs::canonicalize(host)?;
        copier.walk(&inside, &inside, sandbox_path, &dest)?;
    }
    let json = serde_json::to_vec_pretty(&copier.records).map_err(io::Error::other)?;
    create_new(&dir.join("files.json"))?.write_all(&json)?;
    Ok(dir)
}

/// `root/name`, or `root/name.N` when taken: never write into an existing directory.
fn new_dir(root: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..1000 {
        let candidate = match n {
            0 => root.join(name),
            n => root.join(format!("{name}.{n}")),
        };
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many artifact directories named {name}",
        root.display()
    )))
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// A file-name-safe form of `s` (a package name, an address).
pub(crate) fn safe_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

struct Copier {
    /// `<artifact dir>/files`.
    dest: PathBuf,
    /// The artifact directory (for relative paths in records).
    base: PathBuf,
    /// Bytes still allowed.
    budget: u64,
    records: Vec<FileRecord>,
}

impl Copier {
    /// Record and copy the entries of `dir` (a real directory inside `inside`).
    fn walk(
        &mut self,
        inside: &Path,
        dir: &Path,
        sandbox_dir: &str,
        dest: &Path,
    ) -> io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if self.records.len() >= MAX_ENTRIES {
                return Ok(());
            }
            let name = entry.file_name();
            let host = dir.join(&name);
            let sandbox = format!(
                "{}/{}",
                sandbox_dir.trim_end_matches('/'),
                name.to_string_lossy()
            );
            // lstat: never follows the last component.
            let Ok(meta) = fs::symlink_metadata(&host) else {
                continue;
            };
            let ft = meta.file_type();
            let mut record = FileRecord {
                path: sandbox.clone(),
                kind: "file",
                size: meta.len(),
                target: None,
                copied_to: None,
                skipped: None,
            };
            if ft.is_symlink() {
                record.kind = "symlink";
                record.target = fs::read_link(&host)
                    .ok()
                    .map(|t| t.to_string_lossy().into_owned());
                self.records.push(record);
            } else if ft.is_dir() {
                record.kind = "dir";
                self.records.push(record);
                let sub = dest.join(&name);
                fs::create_dir(&sub)?;
                self.walk(inside, &host, &sandbox, &sub)?;
            } else if ft.is_file() {
                let to = dest.join(&name);
                match self.copy_file(inside, &host, &to, &meta) {
                    Ok(()) => {
                        record.copied_to = to
                            .strip_prefix(&self.base)
                            .ok()
                            .map(|p| p.display().to_string());
                    }
                    Err(why) => record.skipped = Some(why),
                }
                self.records.push(record);
            } else {
                record.kind = if ft.is_fifo() {
                    "fifo"
                } else if ft.is_socket() {
                    "socket"
                } else {
                    "device"
                };
                record.skipped = Some("not a regular file".into());
                self.records.push(record);
            }
        }
        Ok(())
    }

    /// Copy one regular file, or say why not.
    fn copy_file(
        &mut self,
        inside: &Path,
        host: &Path,
        to: &Path,
        meta: &fs::Metadata,
    ) -> Result<(), String> {
        if meta.nlink() > 1 {
            return Err("hard-linked file (may name a file outside the directory)".into());
        }
        if meta.len() > self.budget {
            return Err("artifact size budget exhausted".into());
        }
        let canonical = fs::canonicalize(host).map_err(|e| e.to_string())?;
        if !canonical.starts_with(inside) {
            return Err(format!(
                "resolves outside its directory: {}",
                canonical.display()
            ));
        }
        let mut src = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(host)
            .map_err(|e| format!("open: {e}"))?;
        let opened = src.metadata().map_err(|e| e.to_string())?;
        if !opened.is_file() || opened.ino() != meta.ino() || opened.dev() != meta.dev() {
            return Err("changed while being copied".into());
        }
        let mut out = create_new(to).map_err(|e| format!("create: {e}"))?;
        // Read at most what the budget allows, even if the file grew.
        let copied = io::copy(&mut (&mut src).take(self.budget), &mut out)
            .map_err(|e| format!("copy: {e}"))?;
        self.budget -= copied;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_recorded_not_followed_and_files_are_copied_within_budget() {
        let host_secret = tempfile::NamedTempFile::new().unwrap();
        fs::write(host_secret.path(), "HOST-SECRET").unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let work = scratch.path().join("work");
        fs::create_dir_all(work.join("sub")).unwrap();
        fs::write(work.join("sub/dropped.txt"), "payload").unwrap();
        fs::write(work.join("big.bin"), vec![7u8; 100]).unwrap();
        std::os::unix::fs::symlink(host_secret.path(), work.join("steal")).unwrap();
        std::os::unix::fs::symlink("/", work.join("rootlink")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let writable = BTreeMap::from([("/work".to_owned(), work.clone())]);
        let dir = keep(
            out.path(),
            "pkg-1.0",
            &DynamicResult::default(),
            &writable,
            10,
        )
        .unwrap();
        assert_eq!(dir, out.path().join("pkg-1.0"));
        let files: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("files.json")).unwrap()).unwrap();
        let by_path = |p: &str| {
            files
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["path"] == p)
                .cloned()
                .unwrap_or_else(|| panic!("{p} not recorded: {files}"))
        };
        assert_eq!(by_path("/work/steal")["kind"], "symlink");
        assert_eq!(
            by_path("/work/steal")["target"],
            host_secret.path().display().to_string()
        );
        assert_eq!(
            by_path("/work/sub/dropped.txt")["copied_to"],
            "files/work/sub/dropped.txt"
        );
        assert_eq!(
            fs::read_to_string(dir.join("files/work/sub/dropped.txt")).unwrap(),
            "payload"
        );
        // 100 bytes exceed the 10-byte budget left after "payload".
        assert_eq!(
            by_path("/work/big.bin")["skipped"],
            "artifact size budget exhausted"
        );
        assert!(!dir.join("files/work/big.bin").exists());
        // Nothing anywhere in the artifacts holds the host file's content or is a link.
        for entry in walk(&dir) {
            let meta = fs::symlink_metadata(&entry).unwrap();
            assert!(!meta.file_type().is_symlink(), "{}", entry.display());
            if meta.is_file() {
                let text = fs::read(&entry).unwrap();
                assert!(
                    !String::from_utf8_lossy(&text).contains("HOST-SECRET"),
                    "{} holds the host file",
                    entry.display()
                );
            }
        }
        // A second run never writes into the first one's directory.
        let again = keep(
            out.path(),
            "pkg-1.0",
            &DynamicResult::default(),
            &writable,
            10,
        )
        .unwrap();
        assert_eq!(again, out.path().join("pkg-1.0.1"));
    }

    #[test]
    fn hard_links_are_not_copied() {
        let scratch = tempfile::tempdir().unwrap();
        let work = scratch.path().join("work");
        fs::create_dir(&work).unwrap();
        let outside = scratch.path().join("outside");
        fs::write(&outside, "OUTSIDE").unwrap();
        fs::hard_link(&outside, work.join("hl")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let writable = BTreeMap::from([("/work".to_owned(), work)]);
        let dir = keep(
            out.path(),
            "p",
            &DynamicResult::default(),
            &writable,
            1 << 20,
        )
        .unwrap();
        assert!(!dir.join("files/work/hl").exists());
        let files = fs::read_to_string(dir.join("files.json")).unwrap();
        assert!(files.contains("hard-linked"), "{files}");
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("@scope/pkg-1.0"), "_scope_pkg-1.0");
        assert_eq!(safe_name("../x"), "_.._x");
        assert_eq!(safe_name("::1"), "__1");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
        out
    }
}
