//! Safe streaming reader for untrusted package archives.
//!
//! Reads `.tar.gz`/`.tgz`/`.crate`, `.tar.bz2`, `.tar`, `.zip`/`.whl`/`.egg`,
//! `.gem` and plain directories, and hands every entry to a visitor **in
//! memory**. It never extracts, never writes to disk, never follows a link, and
//! stops with an [`ArchiveError`] naming the file and the limit or defect when an
//! archive is hostile or broken. Oddities that are safe to continue past
//! (rejected paths, duplicate names, links pointing out) become [`Note`]s.
//!
//! This crate must never write to the filesystem and never panic on any input.

//! ## Nesting
//!
//! A file entry that is itself an archive (zip, gzip, gzip'd or bzip2'd tar,
//! plain tar, gem; detected by magic bytes) is visited as a file first, then
//! opened: its entries are named `outer/path.zip!/inner/path` with `depth + 1`
//! and share the entry and byte budgets. Opening one deeper than
//! [`Limits::max_depth`] is an [`ArchiveError::Limit`] of kind
//! [`LimitKind::Depth`]. A nested archive that is malformed or of an
//! unsupported kind does not stop the read: it becomes a
//! [`NoteKind::MalformedNested`] note after whatever it yielded was visited.
//!
//! ## Gems
//!
//! A `.gem` is a plain tar of `metadata.gz`, `data.tar.gz` and
//! `checksums.yaml.gz`. Those members are visited as files (depth 0) and then
//! opened like any nested archive, giving `metadata.gz!/metadata`,
//! `data.tar.gz!/lib/foo.rb` and `checksums.yaml.gz!/checksums.yaml` at depth 1;
//! but opening these three members is free: it does not count against
//! `max_depth`, so a gem's own code gets the same nesting allowance as a
//! tarball's.
//!
//! ## Single-file gzip
//!
//! [`Format::Gzip`] yields one entry named after the base name of the input
//! without `.gz` (`data` when nothing is left).

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

mod dir_reader;
mod guard;
mod names;
mod sniff;
mod tar_reader;
mod walk;
mod zip_reader;

use sniff::Sniffed;
use walk::{Level, Walker};

/// Bounds on what one archive may cost to read. The defaults are generous
/// enough for real packages and small enough to keep a worker alive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Sum of the decompressed sizes of all entries, at every nesting level.
    pub max_total_bytes: u64,
    /// Decompressed size of any one entry.
    pub max_file_bytes: u64,
    /// Number of entries (files, links, directories), at every nesting level.
    pub max_entries: u64,
    /// Largest allowed decompressed:compressed ratio, checked once more than
    /// `ratio_floor_bytes` have been decompressed from one stream.
    pub max_ratio: u64,
    pub ratio_floor_bytes: u64,
    /// How many archives deep nested archives are opened (the outer archive is depth 0).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_total_bytes: 512 << 20,
            max_file_bytes: 256 << 20,
            max_entries: 200_000,
            max_ratio: 200,
            ratio_floor_bytes: 32 << 20,
            max_depth: 4,
        }
    }
}

/// Container formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// gzip-compressed tar: `.tar.gz`, `.tgz`, `.crate`.
    TarGz,
    TarBz2,
    Tar,
    /// zip and its derivatives: `.zip`, `.whl`, `.egg`, `.jar`.
    Zip,
    /// RubyGems package: an outer tar with `metadata.gz` and `data.tar.gz`.
    Gem,
    /// A single gzip-compressed file (not a tar), e.g. `metadata.gz`.
    Gzip,
    Directory,
}

/// What kind of entry the visitor is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    /// A symbolic link: recorded with its target, never followed.
    Symlink {
        target: String,
    },
    /// A hard link to another entry name: recorded, never resolved against the host.
    Hardlink {
        target: String,
    },
}

/// One entry handed to the visitor.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Normalised path (`/`-separated, no `.`/`..`, no leading `/`). Entries of
    /// nested archives are `outer.zip!/inner/path`.
    pub path: &'a str,
    pub kind: EntryKind,
    /// The whole decompressed content (empty for links).
    pub data: &'a [u8],
    /// Unix mode bits when the archive records them.
    pub mode: Option<u32>,
    /// 0 for entries of the archive itself, 1 inside a nested archive, …
    pub depth: u32,
}

/// Something odd that was handled safely and that the caller should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    /// Entry name as stored (lossily decoded when not UTF-8).
    pub path: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteKind {
    /// `..` component: the entry was skipped.
    PathTraversal,
    /// Absolute path or drive prefix: the entry was skipped.
    AbsolutePath,
    /// NUL or other control byte in the name: the entry was skipped.
    BadName,
    /// Name is not UTF-8: recorded under a lossy name.
    InvalidUtf8Name,
    /// Same path twice; both were visited, the later one is what an extractor writes.
    DuplicateName,
    /// An entry path goes through an earlier symlink entry.
    ThroughSymlink,
    /// A symlink or hardlink target escapes the archive root.
    LinkEscapes,
    /// Device, fifo or other special entry: skipped.
    SpecialFile,
    /// Encrypted zip entry: content unreadable, recorded empty.
    Encrypted,
    /// Zip entry with a compression method this crate does not read: recorded empty.
    UnsupportedCompression,
    /// A nested archive was malformed or unsupported: what it yielded before
    /// the defect was visited, the rest of it was skipped.
    MalformedNested,
}

impl NoteKind {
    /// Stable kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PathTraversal => "path-traversal",
            Self::AbsolutePath => "absolute-path",
            Self::BadName => "bad-name",
            Self::InvalidUtf8Name => "invalid-utf8-name",
            Self::DuplicateName => "duplicate-name",
            Self::ThroughSymlink => "through-symlink",
            Self::LinkEscapes => "link-escapes",
            Self::SpecialFile => "special-file",
            Self::Encrypted => "encrypted",
            Self::UnsupportedCompression => "unsupported-compression",
            Self::MalformedNested => "malformed-nested",
        }
    }
}

/// Totals after a successful read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    pub total_bytes: u64,
    pub notes: Vec<Note>,
}

/// Which limit stopped a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    TotalBytes,
    FileBytes,
    Entries,
    Ratio,
    Depth,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: malformed archive: {detail}")]
    Malformed { path: String, detail: String },
    #[error("{path}: {detail} (limit exceeded: {limit:?})")]
    Limit {
        path: String,
        limit: LimitKind,
        detail: String,
    },
    #[error("{path}: unsupported archive format: {detail}")]
    Unsupported { path: String, detail: String },
    /// The visitor asked to stop.
    #[error("{path}: {message}")]
    Visitor { path: String, message: String },
}

impl ArchiveError {
    /// Stable machine-readable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Malformed { .. } => "archive-malformed",
            Self::Limit { .. } => "archive-limit",
            Self::Unsupported { .. } => "archive-unsupported",
            Self::Visitor { .. } => "archive-visitor",
        }
    }
}

/// Guesses the format from the file name and the first bytes (a few KiB
/// are best: a gzip head is partly inflated to tell a tarball from a single
/// file). Magic bytes decide first, the name second.
pub fn detect_format(name: &str, head: &[u8]) -> Option<Format> {
    sniff::detect_format(name, head)
}

/// Bytes of a file's start that [`detect_format`] looks at.
const HEAD_BYTES: usize = 4096;

/// Zip files up to this size are read into memory once instead of through
/// seeks on the file.
const ZIP_IN_MEMORY: u64 = 64 << 20;

/// Reads an archive file or a directory, calling `visit` for every entry.
///
/// Files are streamed; only a zip (read through seeks) of up to 64 MiB is
/// loaded whole, larger ones are read through seeks on the file. A directory is walked with `symlink_metadata`: symlinks are
/// reported as [`EntryKind::Symlink`] and never followed.
pub fn read_path(
    path: &Path,
    limits: &Limits,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<Summary, ArchiveError> {
    let name = path.display().to_string();
    let io_err = |source| ArchiveError::Io {
        path: name.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    let mut walker = Walker::new(name.clone(), limits, visit);
    if meta.is_dir() {
        dir_reader::read_dir(&mut walker, path)?;
        return Ok(walker.finish());
    }
    let mut file = File::open(path).map_err(io_err)?;
    let mut head = [0u8; HEAD_BYTES];
    let head_len = guard::read_full(&mut file, &mut head).map_err(io_err)?;
    let head = head.get(..head_len).unwrap_or_default();
    if head.is_empty() {
        return Err(ArchiveError::Malformed {
            path: name,
            detail: "empty file".to_owned(),
        });
    }
    if let Some(kind) = sniff::unsupported_kind(head) {
        return Err(ArchiveError::Unsupported {
            path: name,
            detail: format!("{kind} data is not read by this crate"),
        });
    }
    let Some(sniffed) = sniff::sniff_file(&name, head) else {
        return Err(ArchiveError::Unsupported {
            path: name,
            detail: "not a recognised archive (magic bytes or extension)".to_owned(),
        });
    };
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let top = Level::top();
    let mut format = sniffed.guess();
    if format == Format::Zip && meta.len() <= ZIP_IN_MEMORY {
        // The zip reader seeks for every entry, and a seek empties a
        // `BufReader`: a small zip is cheaper read once into memory.
        let mut bytes = Vec::new();
        file.take(ZIP_IN_MEMORY)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        let source = Cursor::new(bytes.as_slice());
        read_sniffed(&mut walker, &top, &name, source, sniffed, &mut format)?;
        return Ok(walker.finish());
    }
    let source = BufReader::with_capacity(64 << 10, file);
    read_sniffed(&mut walker, &top, &name, source, sniffed, &mut format)?;
    Ok(walker.finish())
}

/// Reads an in-memory archive of a known format. `name` is used in errors.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<Summary, ArchiveError> {
    let mut walker = Walker::new(name.to_owned(), limits, visit);
    read_level(&mut walker, &Level::top(), name, bytes, format)?;
    Ok(walker.finish())
}

/// Reads `source` as `format` into `level`.
fn read_source<S: BufRead + Seek>(
    w: &mut Walker<'_>,
    level: &Level,
    name: &str,
    source: S,
    format: Format,
) -> Result<(), ArchiveError> {
    match format {
        Format::Tar | Format::TarGz | Format::TarBz2 | Format::Gem => {
            tar_reader::read_tar_source(w, level, source, format)
        }
        Format::Gzip => tar_reader::read_gzip_source(w, level, source, name),
        Format::Zip => zip_reader::read_zip_source(w, level, source),
        Format::Directory => Err(ArchiveError::Unsupported {
            path: w.archive.clone(),
            detail: "a directory cannot be read from bytes".to_owned(),
        }),
    }
}

/// Reads `source` as `sniffed` into `level`; `format` is set to the format
/// it was read as.
pub(crate) fn read_sniffed<S: BufRead + Seek>(
    w: &mut Walker<'_>,
    level: &Level,
    name: &str,
    source: S,
    sniffed: Sniffed,
    format: &mut Format,
) -> Result<(), ArchiveError> {
    match sniffed {
        Sniffed::Known(known) => {
            *format = known;
            read_source(w, level, name, source, known)
        }
        Sniffed::Gzip { unreadable } => {
            tar_reader::read_gzip_auto(w, level, source, name, unreadable, format)
        }
    }
}

/// Reads in-memory `bytes` as `format` into `level` (top level or nested).
pub(crate) fn read_level(
    w: &mut Walker<'_>,
    level: &Level,
    name: &str,
    bytes: &[u8],
    format: Format,
) -> Result<(), ArchiveError> {
    read_source(w, level, name, Cursor::new(bytes), format)
}

/// Fuzzing entry point: feeds `data` through [`read_bytes`] as every format
/// with small limits and checks the invariants every visited entry must
/// hold. Panics only when an invariant is broken (a bug), never on bad input.
pub fn fuzz_one(data: &[u8]) {
    let limits = Limits {
        max_total_bytes: 4 << 20,
        max_file_bytes: 1 << 20,
        max_entries: 2_000,
        max_ratio: 50,
        ratio_floor_bytes: 64 << 10,
        max_depth: 3,
    };
    for format in [
        Format::TarGz,
        Format::TarBz2,
        Format::Tar,
        Format::Zip,
        Format::Gem,
        Format::Gzip,
        Format::Directory,
    ] {
        let mut visited = 0u64;
        let mut bytes = 0u64;
        let result = read_bytes("fuzz", data, format, &limits, &mut |e| {
            visited += 1;
            bytes += e.data.len() as u64;
            assert!(!e.path.is_empty(), "empty path");
            assert!(!e.path.starts_with('/'), "absolute path {:?}", e.path);
            for part in e.path.split("!/") {
                for c in part.split('/') {
                    assert!(
                        !c.is_empty() && c != "." && c != "..",
                        "bad component in {:?}",
                        e.path
                    );
                }
            }
            assert!(
                !e.path.bytes().any(|b| b < 0x20 || b == 0x7f),
                "control byte in {:?}",
                e.path
            );
            assert!(
                e.data.len() as u64 <= limits.max_file_bytes,
                "file over limit"
            );
            assert!(e.depth <= 2 * limits.max_depth + 1, "too deep");
            if !matches!(e.kind, EntryKind::File) {
                assert!(e.data.is_empty(), "link with data");
            }
            Ok(())
        });
        assert!(bytes <= limits.max_total_bytes, "total over limit");
        if let Ok(summary) = result {
            assert!(summary.entries <= limits.max_entries);
            assert!(summary.entries >= visited);
            assert!(summary.total_bytes >= bytes);
        }
    }
}
