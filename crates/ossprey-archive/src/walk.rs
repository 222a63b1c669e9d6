//! The state of one read: budgets, notes, seen names, and the visitor.
//!
//! Every format reader hands its entries to [`Walker`], which applies the
//! name rules, charges the budgets, calls the visitor and opens nested archives.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Read};

use crate::guard::StreamState;
use crate::names::{self, Clean};
use crate::sniff;
use crate::{ArchiveError, Entry, EntryKind, LimitKind, Limits, Note, NoteKind, Summary};

/// Nesting is clamped here whatever `Limits::max_depth` says, so a
/// self-replicating archive (a zip quine) can never exhaust the stack.
const HARD_MAX_DEPTH: u32 = 32;

/// Entry names (with their nesting prefixes) kept for one read: the
/// duplicate-name set, notes and the visitor's copies all grow with them, and
/// no content limit counts them. Real packages use a few MiB.
pub(crate) const MAX_NAME_BYTES: u64 = 64 << 20;

/// Where entries of one archive level go.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    /// `""` at the top, `outer/a.zip!/` inside a nested archive.
    pub prefix: String,
    /// Reported depth.
    pub depth: u32,
    /// Depth charged against `max_depth` (gem members are free, see `lib.rs`).
    pub cost: u32,
}

impl Level {
    pub fn top() -> Self {
        Self {
            prefix: String::new(),
            depth: 0,
            cost: 0,
        }
    }
}

/// What a reader found for one entry, before the walker applies the rules.
#[derive(Debug)]
pub(crate) enum RawKind {
    File,
    Dir,
    Symlink(Vec<u8>),
    Hardlink(Vec<u8>),
    Special(&'static str),
    /// Visited with empty data and a note (encrypted, unsupported method).
    Unreadable(NoteKind, String),
}

pub(crate) struct Walker<'v> {
    pub archive: String,
    pub limits: Limits,
    max_depth: u32,
    pub entries: u64,
    pub total: u64,
    pub notes: Vec<Note>,
    seen: HashSet<String>,
    symlinks: HashSet<String>,
    /// Keyed hashes of `symlinks`, so that every prefix of a path is checked
    /// in one pass over it (see `passes_through_symlink`).
    symlink_hashes: HashSet<u64>,
    hash_key: RandomState,
    name_bytes: u64,
    visit: &'v mut dyn FnMut(Entry<'_>) -> Result<(), String>,
}

impl std::fmt::Debug for Walker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walker")
            .field("archive", &self.archive)
            .field("entries", &self.entries)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl<'v> Walker<'v> {
    pub fn new(
        archive: String,
        limits: &Limits,
        visit: &'v mut dyn FnMut(Entry<'_>) -> Result<(), String>,
    ) -> Self {
        Self {
            archive,
            max_depth: limits.max_depth.min(HARD_MAX_DEPTH),
            limits: limits.clone(),
            entries: 0,
            total: 0,
            notes: Vec::new(),
            seen: HashSet::new(),
            symlinks: HashSet::new(),
            symlink_hashes: HashSet::new(),
            hash_key: RandomState::new(),
            name_bytes: 0,
            visit,
        }
    }

    pub fn finish(self) -> Summary {
        Summary {
            entries: self.entries,
            total_bytes: self.total,
            notes: self.notes,
        }
    }

    pub fn limit(&self, limit: LimitKind, detail: String) -> ArchiveError {
        ArchiveError::Limit {
            path: self.archive.clone(),
            limit,
            detail,
        }
    }

    pub fn malformed(&self, detail: String) -> ArchiveError {
        ArchiveError::Malformed {
            path: self.archive.clone(),
            detail,
        }
    }

    /// Turns an I/O error from a reader stack into the right [`ArchiveError`]:
    /// a tripped limit, a failing source file, or a malformed archive.
    pub fn io_error(&self, state: &StreamState, context: &str, err: io::Error) -> ArchiveError {
        if let Some((limit, detail)) = state.take_trip() {
            return self.limit(limit, format!("{context}: {detail}"));
        }
        if state.source_failed.get() {
            return ArchiveError::Io {
                path: self.archive.clone(),
                source: err,
            };
        }
        self.malformed(format!("{context}: {err}"))
    }

    pub fn note(&mut self, kind: NoteKind, path: String, message: String) {
        self.notes.push(Note {
            kind,
            path,
            message,
        });
    }

    /// Charges one entry against `max_entries`.
    pub fn count_entry(&mut self, level: &Level) -> Result<(), ArchiveError> {
        self.entries = self.entries.saturating_add(1);
        if self.entries > self.limits.max_entries {
            return Err(self.limit(
                LimitKind::Entries,
                format!(
                    "{}more than max_entries = {} entries",
                    in_archive(level),
                    self.limits.max_entries
                ),
            ));
        }
        Ok(())
    }

    /// Applies the name rules. `None`: the entry is skipped (a note says why).
    /// Every name is charged to [`MAX_NAME_BYTES`].
    pub fn resolve_name(
        &mut self,
        level: &Level,
        raw: &[u8],
        zip: bool,
    ) -> Result<Option<Clean>, ArchiveError> {
        let cost =
            (level.prefix.len() as u64).saturating_add(raw.len().min(names::MAX_NAME + 1) as u64);
        self.name_bytes = self.name_bytes.saturating_add(cost);
        if self.name_bytes > MAX_NAME_BYTES {
            return Err(self.limit(
                LimitKind::TotalBytes,
                format!(
                    "{}entry names take more than {MAX_NAME_BYTES} bytes",
                    in_archive(level)
                ),
            ));
        }
        Ok(match names::normalise(raw, zip) {
            Ok(clean) => {
                if clean.lossy {
                    self.note(
                        NoteKind::InvalidUtf8Name,
                        format!("{}{}", level.prefix, clean.path),
                        "name is not UTF-8; decoded lossily".to_owned(),
                    );
                }
                Some(clean)
            }
            Err(rejected) => {
                self.note(
                    rejected.kind,
                    format!("{}{}", level.prefix, names::display_raw(raw)),
                    rejected.message.to_owned(),
                );
                None
            }
        })
    }

    /// How many bytes the next entry may still have.
    fn data_cap(&self) -> u64 {
        self.limits
            .max_file_bytes
            .min(self.limits.max_total_bytes.saturating_sub(self.total))
    }

    /// Reads one entry's content into `buf`, never more than the limits allow
    /// plus one byte, charges it to the total and returns the content.
    /// `declared` only sizes the first allocation (capped), it is never trusted.
    ///
    /// `buf` is a scratch buffer reused across entries: it is kept
    /// initialised up to its length (its high-water mark), so the decoder
    /// writes straight into it with no zeroing or probing per entry; only the
    /// returned prefix is the entry.
    pub fn read_data<'b, R: Read>(
        &mut self,
        reader: &mut R,
        buf: &'b mut Vec<u8>,
        state: &StreamState,
        path: &str,
        declared: u64,
    ) -> Result<&'b [u8], ArchiveError> {
        let cap = self.data_cap();
        let got = match fill(reader, buf, cap.saturating_add(1), declared) {
            Ok(n) => n,
            Err(e) => return Err(self.io_error(state, &format!("entry `{path}`"), e)),
        };
        self.check_size(path, got as u64)?;
        self.total = self.total.saturating_add(got as u64);
        Ok(buf.get(..got).unwrap_or_default())
    }

    /// Like `read_data` for entries that are not visited: the bytes are
    /// counted and discarded.
    pub fn drain_data<R: Read>(
        &mut self,
        reader: &mut R,
        state: &StreamState,
        path: &str,
    ) -> Result<(), ArchiveError> {
        let cap = self.data_cap();
        let mut limited = reader.take(cap.saturating_add(1));
        let got = match io::copy(&mut limited, &mut io::sink()) {
            Ok(n) => n,
            Err(e) => return Err(self.io_error(state, &format!("entry `{path}`"), e)),
        };
        self.check_size(path, got)?;
        self.total = self.total.saturating_add(got);
        Ok(())
    }

    pub fn check_size(&self, path: &str, got: u64) -> Result<(), ArchiveError> {
        if got > self.limits.max_file_bytes {
            return Err(self.limit(
                LimitKind::FileBytes,
                format!(
                    "entry `{path}` is larger than max_file_bytes = {}",
                    self.limits.max_file_bytes
                ),
            ));
        }
        if self.total.saturating_add(got) > self.limits.max_total_bytes {
            return Err(self.limit(
                LimitKind::TotalBytes,
                format!(
                    "entry `{path}` takes the content past max_total_bytes = {}",
                    self.limits.max_total_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Records and visits one entry whose name passed the rules. `data` is
    /// the content for files. Opens the entry as a nested archive when it is
    /// one.
    pub fn emit(
        &mut self,
        level: &Level,
        rel: &str,
        kind: RawKind,
        data: &[u8],
        mode: Option<u32>,
        gem_member: bool,
    ) -> Result<(), ArchiveError> {
        let full = format!("{}{rel}", level.prefix);
        if let RawKind::Symlink(t) | RawKind::Hardlink(t) = &kind
            && t.len() > names::MAX_NAME
        {
            self.note(
                NoteKind::BadName,
                full,
                "link target longer than 4096 bytes; entry skipped".to_owned(),
            );
            return Ok(());
        }
        let kind = match kind {
            RawKind::Dir => return Ok(()),
            RawKind::Special(what) => {
                self.note(
                    NoteKind::SpecialFile,
                    full,
                    format!("{what}; entry skipped"),
                );
                return Ok(());
            }
            RawKind::File => EntryKind::File,
            RawKind::Unreadable(note, message) => {
                self.note(note, full.clone(), message);
                EntryKind::File
            }
            RawKind::Symlink(target) => {
                let target = self.link_target(&full, &target);
                if names::link_escapes(names::parent_depth(rel), &target) {
                    self.note(
                        NoteKind::LinkEscapes,
                        full.clone(),
                        format!("symlink target `{target}` leaves the archive root"),
                    );
                }
                EntryKind::Symlink { target }
            }
            RawKind::Hardlink(target) => {
                let target = self.link_target(&full, &target);
                if names::link_escapes(0, &target) {
                    self.note(
                        NoteKind::LinkEscapes,
                        full.clone(),
                        format!("hardlink target `{target}` leaves the archive root"),
                    );
                }
                EntryKind::Hardlink { target }
            }
        };
        if rel.is_empty() {
            self.note(
                NoteKind::BadName,
                full,
                "empty name for a non-directory entry; entry skipped".to_owned(),
            );
            return Ok(());
        }
        if !self.symlinks.is_empty() && self.passes_through_symlink(level, &full) {
            self.note(
                NoteKind::ThroughSymlink,
                full.clone(),
                "path goes through an earlier symlink entry".to_owned(),
            );
        }
        if !self.seen.insert(full.clone()) {
            self.note(
                NoteKind::DuplicateName,
                full.clone(),
                "same path as an earlier entry".to_owned(),
            );
        }
        let is_file = matches!(kind, EntryKind::File);
        if matches!(kind, EntryKind::Symlink { .. }) {
            self.symlink_hashes.insert(self.path_hash(full.as_bytes()));
            self.symlinks.insert(full.clone());
        }
        let data = if is_file { data } else { &[] };
        let entry = Entry {
            path: &full,
            kind,
            data,
            mode,
            depth: level.depth,
        };
        if let Err(message) = (self.visit)(entry) {
            return Err(ArchiveError::Visitor {
                path: self.archive.clone(),
                message,
            });
        }
        if is_file && !data.is_empty() {
            self.open_nested(level, &full, data, gem_member)?;
        }
        Ok(())
    }

    fn link_target(&mut self, full: &str, raw: &[u8]) -> String {
        if std::str::from_utf8(raw).is_err() {
            self.note(
                NoteKind::InvalidUtf8Name,
                full.to_owned(),
                "link target is not UTF-8; decoded lossily".to_owned(),
            );
        }
        String::from_utf8_lossy(raw).into_owned()
    }

    fn path_hash(&self, bytes: &[u8]) -> u64 {
        let mut h = self.hash_key.build_hasher();
        h.write(bytes);
        h.finish()
    }

    /// Whether a directory prefix of `full` (below the level's own prefix)
    /// is an earlier symlink entry. One incremental hash over the path: a
    /// path of n components costs O(len), not O(n · len).
    fn passes_through_symlink(&self, level: &Level, full: &str) -> bool {
        let bytes = full.as_bytes();
        let mut h = self.hash_key.build_hasher();
        let mut hashed = 0;
        for (i, _) in bytes.iter().enumerate().filter(|&(_, &b)| b == b'/') {
            h.write(bytes.get(hashed..i).unwrap_or_default());
            hashed = i;
            if i > level.prefix.len()
                && self.symlink_hashes.contains(&h.clone().finish())
                && full.get(..i).is_some_and(|p| self.symlinks.contains(p))
            {
                return true;
            }
        }
        false
    }

    /// Opens `data` (the content of entry `full`) when it is an archive.
    /// `gem_member` marks `data.tar.gz`/`metadata.gz`/`checksums.yaml.gz` of
    /// a gem, which do not cost depth.
    pub fn open_nested(
        &mut self,
        level: &Level,
        full: &str,
        data: &[u8],
        gem_member: bool,
    ) -> Result<(), ArchiveError> {
        let Some(sniffed) = sniff::sniff_nested(full, data) else {
            return Ok(());
        };
        let cost = if gem_member {
            level.cost
        } else {
            level.cost.saturating_add(1)
        };
        if cost > self.max_depth {
            return Err(self.limit(
                LimitKind::Depth,
                format!(
                    "nested archive `{full}` is deeper than max_depth = {}",
                    self.limits.max_depth
                ),
            ));
        }
        let inner = Level {
            prefix: format!("{full}!/"),
            depth: level.depth.saturating_add(1),
            cost,
        };
        let mut format = sniffed.guess();
        let source = io::Cursor::new(data);
        match crate::read_sniffed(self, &inner, full, source, sniffed, &mut format) {
            Err(
                ArchiveError::Malformed { detail, .. } | ArchiveError::Unsupported { detail, .. },
            ) => {
                self.note(
                    NoteKind::MalformedNested,
                    full.to_owned(),
                    format!("nested {format:?} archive not fully read: {detail}"),
                );
                Ok(())
            }
            other => other,
        }
    }
}

/// First allocation for an entry: its declared size (plus the byte that
/// proves the end), but never more than this before the bytes are there.
const FIRST_ALLOC: u64 = 1 << 20;

/// Reads `reader` into `buf` until EOF or `limit` bytes, growing `buf` (kept
/// initialised to its length) geometrically; returns the number of bytes read.
fn fill<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: u64,
    declared: u64,
) -> io::Result<usize> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let first = usize::try_from(declared.saturating_add(1).min(FIRST_ALLOC)).unwrap_or(0);
    let mut filled = 0usize;
    loop {
        if filled >= limit {
            return Ok(filled);
        }
        if filled == buf.len() {
            let grown = buf
                .len()
                .saturating_mul(2)
                .max(first)
                .max(8 << 10)
                .min(limit);
            buf.resize(grown, 0);
        }
        let end = buf.len().min(limit);
        let Some(room) = buf.get_mut(filled..end) else {
            return Ok(filled);
        };
        match reader.read(room) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled = filled.saturating_add(n.min(room.len())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn in_archive(level: &Level) -> String {
    match level.prefix.strip_suffix("!/") {
        Some(p) => format!("in `{p}`: "),
        None => String::new(),
    }
}
