//! The state of one read: budgets, notes, seen names, and the visitor.
//!
//! Every format reader hands its entries to [`Walker`], which applies the
//! name rules, charges the budgets, calls the visitor and opens nested archives.

use std::collections::HashSet;
use std::io::{self, Read};

use crate::guard::StreamState;
use crate::names::{self, Clean};
use crate::sniff;
use crate::{ArchiveError, Entry, EntryKind, LimitKind, Limits, Note, NoteKind, Summary};

/// Nesting is clamped here whatever `Limits::max_depth` says, so a
/// self-replicating archive (a zip quine) can never exhaust the stack.
const HARD_MAX_DEPTH: u32 = 32;

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
    pub fn resolve_name(&mut self, level: &Level, raw: &[u8], zip: bool) -> Option<Clean> {
        match names::normalise(raw, zip) {
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
        }
    }

    /// How many bytes the next entry may still have.
    fn data_cap(&self) -> u64 {
        self.limits
            .max_file_bytes
            .min(self.limits.max_total_bytes.saturating_sub(self.total))
    }

    /// Reads one entry's content into `buf`, never more than the limits allow
    /// plus one byte, and charges it to the total. `declared` only sizes the
    /// first allocation (capped), it is never trusted.
    pub fn read_data<R: Read>(
        &mut self,
        reader: &mut R,
        buf: &mut Vec<u8>,
        state: &StreamState,
        path: &str,
        declared: u64,
    ) -> Result<(), ArchiveError> {
        buf.clear();
        let cap = self.data_cap();
        let hint = declared.min(cap).min(1 << 20);
        buf.reserve(usize::try_from(hint).unwrap_or(0));
        let mut limited = reader.take(cap.saturating_add(1));
        if let Err(e) = limited.read_to_end(buf) {
            return Err(self.io_error(state, &format!("entry `{path}`"), e));
        }
        let got = buf.len() as u64;
        self.check_size(path, got)?;
        self.total = self.total.saturating_add(got);
        Ok(())
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

    fn passes_through_symlink(&self, level: &Level, full: &str) -> bool {
        full.char_indices()
            .filter(|&(i, c)| c == '/' && i > level.prefix.len())
            .any(|(i, _)| full.get(..i).is_some_and(|p| self.symlinks.contains(p)))
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
        let Some(format) = sniff::nested_format(full, data) else {
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
        match crate::read_level(self, &inner, full, data, format) {
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

fn in_archive(level: &Level) -> String {
    match level.prefix.strip_suffix("!/") {
        Some(p) => format!("in `{p}`: "),
        None => String::new(),
    }
}
