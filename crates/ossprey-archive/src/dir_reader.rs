//! Plain directories, walked without following symlinks.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use std::rc::Rc;

use crate::ArchiveError;
use crate::guard::{SourceReader, StreamState};
use crate::walk::{Level, RawKind, Walker};

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
    // (absolute path, raw relative name); an explicit stack so a deep tree
    // cannot overflow ours.
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut children = Vec::new();
        for item in fs::read_dir(&dir).map_err(|e| io(w, &dir, e))? {
            let item = item.map_err(|e| io(w, &dir, e))?;
            children.push(item.file_name());
        }
        children.sort();
        let mut subdirs = Vec::new();
        for name in children {
            let path = dir.join(&name);
            let mut raw = rel.clone();
            if !raw.is_empty() {
                raw.push(b'/');
            }
            raw.extend_from_slice(&name_bytes(&name));
            w.count_entry(&level)?;
            let meta = fs::symlink_metadata(&path).map_err(|e| io(w, &path, e))?;
            let Some(clean) = w.resolve_name(&level, &raw, false) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                subdirs.push((path, raw));
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(|e| io(w, &path, e))?;
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
                let file = File::open(&path).map_err(|e| io(w, &path, e))?;
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
                w.read_data(&mut reader, &mut buf, &state, &full, meta.len())?;
                w.emit(
                    &level,
                    &clean.path,
                    RawKind::File,
                    &buf,
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
