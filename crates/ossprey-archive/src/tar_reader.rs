//! tar, tar.gz, tar.bz2, gem and single-file gzip, streamed through the guards.

use std::io::{self, BufRead, Read};
use std::rc::Rc;

use tar::EntryType;

use crate::guard::{RatioRule, SourceReader, StreamGuard, StreamState};
use crate::names::{base_name, display_raw};
use crate::sniff;
use crate::walk::{Level, RawKind, Walker};
use crate::{ArchiveError, Format, LimitKind};

/// Decompressed bytes the tar parser may read on its own between two entries
/// (headers, GNU long names, pax records). Real archives need a few KiB.
pub(crate) const META_WINDOW: u64 = 1 << 20;

const GEM_MEMBERS: [&str; 3] = ["metadata.gz", "data.tar.gz", "checksums.yaml.gz"];

/// Decompressed bytes buffered between a decoder and the tar parser. The tar
/// parser reads headers and padding 512 bytes (or less) at a time, and a
/// decoder call per such read costs far more than the read; a read at least
/// this large bypasses the buffer, so file contents are decoded straight into
/// the entry's buffer (at most one buffer's worth per entry is copied).
const DECODED_BUFFER: usize = 32 << 10;

fn decoded<R: Read>(decoder: R) -> io::BufReader<R> {
    io::BufReader::with_capacity(DECODED_BUFFER, decoder)
}

fn ratio_rule(w: &Walker<'_>) -> Option<RatioRule> {
    Some(RatioRule {
        max_ratio: w.limits.max_ratio,
        floor: w.limits.ratio_floor_bytes,
        source_base: 0,
    })
}

/// Reads a tar-based `format` (Tar, TarGz, TarBz2, Gem) from `source`.
///
/// The decoders are the `bufread` ones: they inflate straight out of the
/// source's buffer (a file's `BufReader`, or the bytes of a nested archive),
/// with no second buffer or copy of the compressed input. Their output goes
/// through [`decoded`].
pub(crate) fn read_tar_source<S: BufRead>(
    w: &mut Walker<'_>,
    level: &Level,
    source: S,
    format: Format,
) -> Result<(), ArchiveError> {
    let state = StreamState::new();
    let src = SourceReader::new(source, Rc::clone(&state));
    match format {
        Format::TarGz => {
            let guard = StreamGuard::new(
                decoded(flate2::bufread::MultiGzDecoder::new(src)),
                Rc::clone(&state),
                ratio_rule(w),
            );
            read_tar(w, level, guard, &state, false)
        }
        Format::TarBz2 => {
            let guard = StreamGuard::new(
                decoded(bzip2::bufread::MultiBzDecoder::new(src)),
                Rc::clone(&state),
                ratio_rule(w),
            );
            read_tar(w, level, guard, &state, false)
        }
        Format::Gem => {
            let guard = StreamGuard::new(src, Rc::clone(&state), None);
            read_tar(w, level, guard, &state, true)
        }
        _ => {
            let guard = StreamGuard::new(src, Rc::clone(&state), None);
            read_tar(w, level, guard, &state, false)
        }
    }
}

fn classify(etype: EntryType, link: Option<Vec<u8>>) -> RawKind {
    match etype {
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => RawKind::File,
        EntryType::Directory
        | EntryType::XGlobalHeader
        | EntryType::XHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => RawKind::Dir,
        EntryType::Link => RawKind::Hardlink(link.unwrap_or_default()),
        EntryType::Symlink => RawKind::Symlink(link.unwrap_or_default()),
        EntryType::Char => RawKind::Special("character device"),
        EntryType::Block => RawKind::Special("block device"),
        EntryType::Fifo => RawKind::Special("fifo"),
        // GNU volume labels and dump directories carry no file content.
        _ if matches!(etype.as_byte(), b'V' | b'D' | b'M' | b'N') => RawKind::Dir,
        // POSIX: unknown types are read as regular files.
        _ => RawKind::File,
    }
}

fn read_tar<R: Read>(
    w: &mut Walker<'_>,
    level: &Level,
    stream: StreamGuard<R>,
    state: &StreamState,
    gem: bool,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(stream);
    // "Seekable" only so that the parser skips padding through
    // `StreamGuard::seek` (a forward read) instead of zeroing 32 KiB per entry.
    let mut entries = archive
        .entries_with_seek()
        .map_err(|e| w.io_error(state, "tar", e))?;
    let mut buf = Vec::new();
    let mut last = String::new();
    loop {
        state
            .window_end
            .set(state.produced.get().saturating_add(META_WINDOW));
        let next = entries.next();
        state.window_end.set(u64::MAX);
        let mut entry = match next {
            None => break,
            Some(Ok(entry)) => entry,
            Some(Err(e)) => {
                let at = if last.is_empty() {
                    format!("{}first tar header", level.prefix)
                } else {
                    format!("tar header after `{last}`")
                };
                return Err(w.io_error(state, &at, e));
            }
        };
        w.count_entry(level)?;
        let etype = entry.header().entry_type();
        let mode = entry.header().mode().ok();
        let declared = entry.size();
        let raw_name = entry.path_bytes().into_owned();
        let kind = classify(etype, entry.link_name_bytes().map(|l| l.into_owned()));
        let clean = w.resolve_name(level, &raw_name, false)?;
        let full = match &clean {
            Some(c) => format!("{}{}", level.prefix, c.path),
            None => format!("{}{}", level.prefix, display_raw(&raw_name)),
        };
        match (clean, kind) {
            (Some(clean), RawKind::File) => {
                let data = w.read_data(&mut entry, &mut buf, state, &full, declared)?;
                if (data.len() as u64) < declared && etype != EntryType::GNUSparse {
                    return Err(w.malformed(format!(
                        "entry `{full}` is truncated: {} of {declared} bytes",
                        data.len()
                    )));
                }
                let gem_member = gem && GEM_MEMBERS.contains(&clean.path.as_str());
                w.emit(level, &clean.path, RawKind::File, data, mode, gem_member)?;
            }
            (Some(clean), kind) => {
                w.drain_data(&mut entry, state, &full)?;
                w.emit(level, &clean.path, kind, &[], mode, false)?;
            }
            (None, _) => w.drain_data(&mut entry, state, &full)?,
        }
        last = full;
    }
    // Read to the end of the compressed stream so a truncated or corrupt
    // trailer is reported, but no further than the metadata window.
    let mut rest = archive.into_inner();
    state
        .window_end
        .set(state.produced.get().saturating_add(META_WINDOW));
    if let Err(e) = io::copy(&mut rest, &mut io::sink()) {
        match state.take_trip() {
            Some((LimitKind::TotalBytes, _)) => {}
            Some(trip) => {
                *state.trip.borrow_mut() = Some(trip);
                return Err(w.io_error(state, "end of tar stream", e));
            }
            None => return Err(w.io_error(state, "end of tar stream", e)),
        }
    }
    Ok(())
}

/// Entry name for a single-file gzip: the base name without `.gz`.
fn gunzipped_name(name: &str) -> String {
    let base = base_name(name);
    let lower = base.to_ascii_lowercase();
    let stem = if lower.ends_with(".gz") {
        base.get(..base.len().saturating_sub(3)).unwrap_or(base)
    } else {
        base
    };
    if stem.is_empty() {
        "data".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Reads a single-file gzip (all members concatenated) as one entry.
pub(crate) fn read_gzip_source<S: BufRead>(
    w: &mut Walker<'_>,
    level: &Level,
    source: S,
    name: &str,
) -> Result<(), ArchiveError> {
    let state = StreamState::new();
    let guard = gzip_guard(w, source, &state);
    read_gzip_stream(w, level, guard, &state, name)
}

fn gzip_guard<S: BufRead>(
    w: &Walker<'_>,
    source: S,
    state: &Rc<StreamState>,
) -> StreamGuard<io::BufReader<flate2::bufread::MultiGzDecoder<SourceReader<S>>>> {
    let src = SourceReader::new(source, Rc::clone(state));
    StreamGuard::new(
        decoded(flate2::bufread::MultiGzDecoder::new(src)),
        Rc::clone(state),
        ratio_rule(w),
    )
}

fn read_gzip_stream<R: Read>(
    w: &mut Walker<'_>,
    level: &Level,
    mut guard: StreamGuard<R>,
    state: &StreamState,
    name: &str,
) -> Result<(), ArchiveError> {
    w.count_entry(level)?;
    let entry_name = gunzipped_name(name);
    let Some(clean) = w.resolve_name(level, entry_name.as_bytes(), false)? else {
        return Ok(());
    };
    let full = format!("{}{}", level.prefix, clean.path);
    let mut buf = Vec::new();
    let data = w.read_data(&mut guard, &mut buf, state, &full, 0)?;
    w.emit(level, &clean.path, RawKind::File, data, None, false)
}

/// Reads a gzip stream as a tarball or as a single file, as its first
/// decompressed block says (see [`crate::sniff::Sniffed::Gzip`]), with one
/// decoder. `decided` is set to the format it was read as.
pub(crate) fn read_gzip_auto<S: BufRead>(
    w: &mut Walker<'_>,
    level: &Level,
    source: S,
    name: &str,
    unreadable: Format,
    decided: &mut Format,
) -> Result<(), ArchiveError> {
    let state = StreamState::new();
    let mut guard = gzip_guard(w, source, &state);
    *decided = unreadable;
    let format = match guard.peek(512) {
        Ok(block) => sniff::gzip_content(block),
        Err(e) => {
            let at = match unreadable {
                Format::Gzip => format!("{}gzip stream", level.prefix),
                _ => format!("{}first tar header", level.prefix),
            };
            return Err(w.io_error(&state, &at, e));
        }
    };
    *decided = format;
    if format == Format::TarGz {
        read_tar(w, level, guard, &state, false)
    } else {
        read_gzip_stream(w, level, guard, &state, name)
    }
}

#[cfg(test)]
mod tests {
    use super::gunzipped_name;

    #[test]
    fn single_gzip_names() {
        assert_eq!(gunzipped_name("metadata.gz"), "metadata");
        assert_eq!(gunzipped_name("a/b.js.GZ"), "b.js");
        assert_eq!(gunzipped_name("x.gem!/metadata.gz"), "metadata");
        assert_eq!(gunzipped_name(".gz"), "data");
        assert_eq!(gunzipped_name("blob"), "blob");
    }
}
