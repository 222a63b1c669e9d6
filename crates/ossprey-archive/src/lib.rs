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

// API sketch, implementation in progress.

use std::path::Path;

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
    Symlink { target: String },
    /// A hard link to another entry name: recorded, never resolved against the host.
    Hardlink { target: String },
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
    Io { path: String, source: std::io::Error },
    #[error("{path}: malformed archive: {detail}")]
    Malformed { path: String, detail: String },
    #[error("{path}: {detail} (limit exceeded: {limit:?})")]
    Limit { path: String, limit: LimitKind, detail: String },
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

/// Guesses the format from the file name and the first bytes.
pub fn detect_format(name: &str, head: &[u8]) -> Option<Format> {
    let _ = (name, head);
    unimplemented!("in progress")
}

/// Reads an archive file or a directory, calling `visit` for every entry.
pub fn read_path(
    path: &Path,
    limits: &Limits,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<Summary, ArchiveError> {
    let _ = (path, limits, visit);
    unimplemented!("in progress")
}

/// Reads an in-memory archive of a known format. `name` is used in errors.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    format: Format,
    limits: &Limits,
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), String>,
) -> Result<Summary, ArchiveError> {
    let _ = (name, bytes, format, limits, visit);
    unimplemented!("in progress")
}
