//! Plain directories, walked without following symlinks.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use std::rc::Rc;

use crate::guard::{SourceReader, StreamState};
use crate::walk::{Level, RawKind, Walker};
use crate::{ArchiveError, LimitKind};

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

/// The file opened is the one that was inspected (not swapped for a symlink
/// or another file in between).
#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, b: &fs::Metadata) -> bool {
    b.is_file()
}

/// Opens `path` for reading without following a symlink in its last
/// component (a file swapped for a symlink after `symlink_metadata` fails with
/// `ELOOP` instead of opening the target) and without blocking when it was
/// swapped for a fifo. The caller still checks that the opened file is the
/// inspected one.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Opens a directory; below the root (`no_follow`) a symlink is refused.
#[cfg(unix)]
fn open_dir(path: &Path, no_follow: bool) -> std::io::Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_DIRECTORY | libc::O_CLOEXEC;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map(Some)
}

#[cfg(not(unix))]
fn open_dir(_: &Path, _: bool) -> std::io::Result<Option<File>> {
    Ok(None)
}

/// A path that names the open directory itself (`/proc/self/fd/N` on Linux),
/// so lookups under it are relative to that directory, like `openat`.
#[cfg(target_os = "linux")]
fn handle_path(dir: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    fs::metadata(&path).ok()?;
    Some(path)
}

#[cfg(not(target_os = "linux"))]
fn handle_path(_: &File) -> Option<PathBuf> {
    None
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn mode_of(m: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(m.permissions().mode())
}

#[cfg(not(unix))]
fn mode_of(_: &fs::Metadata) -> Option<u32> {
    None
}

fn io(w: &Walker<'_>, path: &Path, source: std::io::Error) -> ArchiveError {
    ArchiveError::Io {
        path: format!("{}: {}", w.archive, path.display()),
        source,
    }
}

pub(crate) fn read_dir(w: &mut Walker<'_>, root: &Path) -> Result<(), ArchiveError> {
    let level = Level::top();
    let state = StreamState::new();
    let mut buf = Vec::new();
    // (path, raw relative name, what `symlink_metadata` said it was); an
    // explicit stack so a deep tree cannot overflow ours.
    let mut stack: Vec<(PathBuf, Vec<u8>, Option<fs::Metadata>)> =
        vec![(root.to_path_buf(), Vec::new(), None)];
    while let Some((dir, rel, inspected)) = stack.pop() {
        // Open the directory itself (not following a symlink swapped in
        // below the root) and check it is the one inspected; its entries are
        // then looked up through the open handle where the OS allows it, so
        // a parent swapped for a symlink cannot redirect them.
        let handle = open_dir(&dir, inspected.is_some()).map_err(|e| io(w, &dir, e))?;
        if let (Some(handle), Some(inspected)) = (&handle, &inspected) {
            let opened = handle.metadata().map_err(|e| io(w, &dir, e))?;
            if !opened.is_dir() || !same_file(inspected, &opened) {
                return Err(io(
                    w,
                    &dir,
                    std::io::Error::other("directory changed while being read"),
                ));
            }
        }
        let base = handle
            .as_ref()
            .and_then(handle_path)
            .unwrap_or_else(|| dir.clone());
        let mut children = Vec::new();
        for item in fs::read_dir(&base).map_err(|e| io(w, &dir, e))? {
            let item = item.map_err(|e| io(w, &dir, e))?;
            // Bound the listing by the entry budget before holding it all.
            let listed = w.entries.saturating_add(children.len() as u64);
            if listed >= w.limits.max_entries {
                return Err(w.limit(
                    LimitKind::Entries,
                    format!(
                        "directory `{}` holds more than max_entries = {} entries",
                        dir.display(),
                        w.limits.max_entries
                    ),
                ));
            }
            children.push(item.file_name());
        }
        children.sort();
        let mut subdirs = Vec::new();
        for name in children {
            let path = dir.join(&name);
            let at = base.join(&name);
            let mut raw = rel.clone();
            if !raw.is_empty() {
                raw.push(b'/');
            }
            raw.extend_from_slice(&name_bytes(&name));
            w.count_entry(&level)?;
            let meta = fs::symlink_metadata(&at).map_err(|e| io(w, &path, e))?;
            let Some(clean) = w.resolve_name(&level, &raw, false)? else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                subdirs.push((path, raw, Some(meta)));
            } else if ft.is_symlink() {
                let target = fs::read_link(&at).map_err(|e| io(w, &path, e))?;
                let target = name_bytes(target.as_os_str());
                w.emit(
                    &level,
                    &clean.path,
                    RawKind::Symlink(target),
                    &[],
                    mode_of(&meta),
                    false,
                )?;
            } else if ft.is_file() {
                let file = open_no_follow(&at).map_err(|e| io(w, &path, e))?;
                let opened = file.metadata().map_err(|e| io(w, &path, e))?;
                if !opened.is_file() || !same_file(&meta, &opened) {
                    return Err(io(
                        w,
                        &path,
                        std::io::Error::other("file changed while being read"),
                    ));
                }
                let full = clean.path.clone();
                let mut reader = SourceReader::new(BufReader::new(file), Rc::clone(&state));
                let data = w.read_data(&mut reader, &mut buf, &state, &full, meta.len())?;
                w.emit(
                    &level,
                    &clean.path,
                    RawKind::File,
                    data,
                    mode_of(&meta),
                    false,
                )?;
            } else {
                w.emit(
                    &level,
                    &clean.path,
                    RawKind::Special("special file"),
                    &[],
                    mode_of(&meta),
                    false,
                )?;
            }
        }
        // Reverse so the stack pops subdirectories in sorted order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn file_swapped_for_a_symlink_is_not_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("passwd");
        std::os::unix::fs::symlink("/etc/passwd", &link).expect("symlink");
        let err = open_no_follow(&link).expect_err("followed a symlink");
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    }

    #[test]
    fn directory_swapped_for_a_symlink_is_not_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("etc");
        std::os::unix::fs::symlink("/etc", &link).expect("symlink");
        assert!(open_dir(&link, true).is_err());
        // The root itself may be a symlink the caller chose.
        assert!(matches!(open_dir(&link, false), Ok(Some(_))));
    }

    #[test]
    fn fifo_swapped_in_for_a_file_does_not_block_the_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        // Without O_NONBLOCK this open waits for a writer forever.
        let file = open_no_follow(&fifo).expect("open fifo");
        assert!(!file.metadata().expect("metadata").is_file());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn entries_are_looked_up_through_the_open_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("a.js"), b"1").expect("write");
        let handle = open_dir(dir.path(), true).expect("open").expect("handle");
        let base = handle_path(&handle).expect("/proc/self/fd");
        // Moving the directory away does not change what the handle names.
        let moved = dir.path().with_extension("moved");
        fs::rename(dir.path(), &moved).expect("rename");
        let meta = fs::symlink_metadata(base.join("a.js"));
        fs::rename(&moved, dir.path()).expect("rename back");
        assert!(meta.is_ok_and(|m| m.is_file()));
    }
}
