//! zip and its derivatives, each entry decompressed through its own guard.

use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use zip::ZipArchive;
use zip::result::ZipError;

use crate::guard::{RatioRule, SourceReader, StreamGuard, StreamState};
use crate::walk::{Level, RawKind, Walker};
use crate::{ArchiveError, LimitKind, NoteKind};

const S_IFMT: u32 = 0o170_000;

fn zip_error(w: &Walker<'_>, state: &StreamState, context: &str, err: ZipError) -> ArchiveError {
    match err {
        ZipError::Io(e) => w.io_error(state, context, e),
        other => w.malformed(format!("{context}: {other}")),
    }
}

fn special(mode: Option<u32>) -> Option<&'static str> {
    match mode? & S_IFMT {
        0o010_000 => Some("fifo"),
        0o020_000 => Some("character device"),
        0o060_000 => Some("block device"),
        0o140_000 => Some("socket"),
        _ => None,
    }
}

/// Smallest central directory header: signature and fixed fields.
const CENTRAL_HEADER_MIN: u64 = 46;

/// Every entry the zip reader can parse starts with this signature, so their
/// count in the file bounds the entries; `Some(count)` once it passes `room`.
/// Files too small to hold more than `room` headers are not scanned.
fn central_headers_over<S: Read + Seek>(source: &mut S, room: u64) -> io::Result<Option<u64>> {
    let len = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(0))?;
    if len / CENTRAL_HEADER_MIN <= room {
        return Ok(None);
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut carry = 0usize;
    let mut found = 0u64;
    let result = loop {
        let Some(space) = buf.get_mut(carry..) else {
            break Ok(None);
        };
        let n = match source.read(space) {
            Ok(0) => break Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        let end = carry.saturating_add(n).min(buf.len());
        let window = buf.get(..end).unwrap_or_default();
        found =
            found.saturating_add(window.windows(4).filter(|w| *w == b"PK\x01\x02").count() as u64);
        if found > room {
            break Ok(Some(found));
        }
        // Keep the last three bytes: a signature may straddle two reads.
        carry = end.min(3);
        buf.copy_within(end.saturating_sub(carry)..end, 0);
    };
    source.seek(SeekFrom::Start(0))?;
    result
}

pub(crate) fn read_zip_source<S: Read + Seek>(
    w: &mut Walker<'_>,
    level: &Level,
    source: S,
) -> Result<(), ArchiveError> {
    let state = StreamState::new();
    let mut source = SourceReader::new(source, Rc::clone(&state));
    // The zip reader parses the whole central directory (a few hundred bytes
    // of memory per entry) before anything can be counted; refuse first when
    // the archive could hold more entries than the budget has left.
    let room = w.limits.max_entries.saturating_sub(w.entries);
    match central_headers_over(&mut source, room) {
        Ok(Some(found)) => {
            return Err(w.limit(
                LimitKind::Entries,
                format!(
                    "{}central directory holds at least {found} entries, more than max_entries = {}",
                    level.prefix, w.limits.max_entries
                ),
            ));
        }
        Ok(None) => {}
        Err(e) => return Err(w.io_error(&state, &format!("{}zip", level.prefix), e)),
    }
    let mut zip = ZipArchive::new(source)
        .map_err(|e| zip_error(w, &state, &format!("{}central directory", level.prefix), e))?;
    let count = zip.len() as u64;
    if w.entries.saturating_add(count) > w.limits.max_entries {
        return Err(w.limit(
            LimitKind::Entries,
            format!(
                "{}central directory lists {count} entries, more than max_entries = {}",
                level.prefix, w.limits.max_entries
            ),
        ));
    }
    if zip.has_duplicate_names() {
        w.note(
            NoteKind::DuplicateName,
            level.prefix.trim_end_matches("!/").to_owned(),
            "central directory repeats a name; only one entry per name is readable".to_owned(),
        );
    }
    let mut buf = Vec::new();
    for index in 0..zip.len() {
        w.count_entry(level)?;
        let (raw_name, encrypted, is_dir, is_symlink, mode, size) = {
            let f = zip
                .by_index_raw(index)
                .map_err(|e| zip_error(w, &state, &format!("{}entry #{index}", level.prefix), e))?;
            (
                f.name_raw().to_vec(),
                f.encrypted(),
                f.is_dir(),
                f.is_symlink(),
                f.unix_mode(),
                f.size(),
            )
        };
        let Some(clean) = w.resolve_name(level, &raw_name, true)? else {
            continue;
        };
        let full = format!("{}{}", level.prefix, clean.path);
        if is_dir {
            w.emit(level, &clean.path, RawKind::Dir, &[], mode, false)?;
            continue;
        }
        if let Some(what) = special(mode) {
            w.emit(level, &clean.path, RawKind::Special(what), &[], mode, false)?;
            continue;
        }
        if encrypted {
            let kind = RawKind::Unreadable(
                NoteKind::Encrypted,
                "encrypted entry; content not read".to_owned(),
            );
            w.emit(level, &clean.path, kind, &[], mode, false)?;
            continue;
        }
        let file = match zip.by_index(index) {
            Ok(file) => file,
            Err(
                e @ (ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_)),
            ) => {
                let kind = RawKind::Unreadable(
                    NoteKind::UnsupportedCompression,
                    format!("{e}; content not read"),
                );
                w.emit(level, &clean.path, kind, &[], mode, false)?;
                continue;
            }
            Err(e) => return Err(zip_error(w, &state, &format!("entry `{full}`"), e)),
        };
        let rule = RatioRule {
            max_ratio: w.limits.max_ratio,
            floor: w.limits.ratio_floor_bytes,
            source_base: state.source_bytes.get(),
        };
        let mut guard = StreamGuard::new(file, Rc::clone(&state), Some(rule));
        let data = w.read_data(&mut guard, &mut buf, &state, &full, size)?;
        drop(guard);
        if is_symlink {
            let target = RawKind::Symlink(data.to_vec());
            w.emit(level, &clean.path, target, &[], mode, false)?;
        } else {
            w.emit(level, &clean.path, RawKind::File, data, mode, false)?;
        }
    }
    Ok(())
}
