//! The collected package: every entry measured and classified, and the
//! contents of the files that later stages read.
//!
//! Binaries are hashed and classified while the archive reader hands them over,
//! then dropped: only text-like files (source, manifests, configuration) are
//! kept in memory, each up to a size bound. Nothing here touches the disk
//! except through `ossprey_archive`, which never extracts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ossprey_archive::{ArchiveError, Entry, EntryKind, Format, Limits, Note};
use ossprey_model::{ArchiveNote, FileEntry, FileKind, Inventory, LinkInfo, LinkKind};

use crate::classify::{classify, file_name};
use crate::measure::{measure, sha256_hex};

/// Files larger than this are measured but their content is not kept (so not
/// scanned). Text files up to this size are at least text-scanned; see
/// `analysis::MAX_PARSE_BYTES` for which are parsed.
pub const DEFAULT_MAX_KEPT_BYTES: usize = 64 << 20;

/// Every entry of a package, in archive order, with the contents worth reading.
#[derive(Clone, Debug, Default)]
pub struct PackageFiles {
    entries: Vec<FileEntry>,
    /// Nesting depth of each entry (0 = the archive itself), parallel to `entries`.
    depths: Vec<u32>,
    /// Kept content of each entry, parallel to `entries`. Entries with the
    /// same content share one copy: bundles ship the same multi-megabyte file
    /// under several paths (`dist/esm`, `dist/cjs`, `dist/collection`):
    /// 17 of 75 MB of text in one large npm package.
    contents: Vec<Option<Arc<Kept>>>,
    /// Path → index of the *last* entry with that path (what an extractor would leave).
    by_path: HashMap<String, usize>,
    notes: Vec<ArchiveNote>,
    total_bytes: u64,
    root: String,
}

impl PackageFiles {
    /// Reads an archive file or directory through the safe archive reader.
    pub fn collect_path(path: &Path, limits: &Limits) -> Result<Self, ArchiveError> {
        let mut builder = PackageFilesBuilder::new();
        let summary = ossprey_archive::read_path(path, limits, &mut |entry| {
            builder.push_entry(&entry);
            Ok(())
        })?;
        builder.extend_notes(summary.notes);
        Ok(builder.finish())
    }

    /// Reads an in-memory archive of a known format; `name` is used in errors.
    pub fn collect_bytes(
        name: &str,
        bytes: &[u8],
        format: Format,
        limits: &Limits,
    ) -> Result<Self, ArchiveError> {
        let mut builder = PackageFilesBuilder::new();
        let summary = ossprey_archive::read_bytes(name, bytes, format, limits, &mut |entry| {
            builder.push_entry(&entry);
            Ok(())
        })?;
        builder.extend_notes(summary.notes);
        Ok(builder.finish())
    }

    /// A package made of plain files, for tests and callers that already hold
    /// the contents. Paths containing `!/` are treated as nested entries.
    pub fn from_memory<P, B>(files: impl IntoIterator<Item = (P, B)>) -> Self
    where
        P: AsRef<str>,
        B: AsRef<[u8]>,
    {
        let mut builder = PackageFilesBuilder::new();
        for (path, data) in files {
            let path = path.as_ref();
            builder.push_file(path, data.as_ref(), None, nesting_depth(path));
        }
        builder.finish()
    }

    /// A builder, for links, modes and notes that [`Self::from_memory`] cannot express.
    pub fn builder() -> PackageFilesBuilder {
        PackageFilesBuilder::new()
    }

    /// Every entry (files and links), in archive order. Duplicate paths appear twice.
    pub fn entries(&self) -> &[FileEntry] {
        &self.entries
    }

    /// Nesting depth of `entries()[index]`: 0 for the archive itself, 1 inside a nested archive, …
    pub fn depth(&self, index: usize) -> Option<u32> {
        self.depths.get(index).copied()
    }

    /// The entry at `path`; for a duplicated path, the later one.
    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.by_path.get(path).map(|&i| &self.entries[i])
    }

    /// The content of the file at `path`, when it was kept (text-like and not too large).
    pub fn content(&self, path: &str) -> Option<&[u8]> {
        self.kept_at(path).map(Kept::bytes)
    }

    /// The content of the file at `path` as text, invalid UTF-8 replaced by
    /// U+FFFD — what `String::from_utf8_lossy(content)` gives, without
    /// validating valid UTF-8 again: that was done once when the file was
    /// read, and every rule reading a file's text would otherwise repeat it.
    pub fn text(&self, path: &str) -> Option<Cow<'_, str>> {
        self.kept_at(path).map(Kept::text)
    }

    fn kept_at(&self, path: &str) -> Option<&Kept> {
        self.by_path
            .get(path)
            .and_then(|&i| self.contents.get(i))
            .and_then(Option::as_deref)
    }

    /// Entries whose content was kept, with that content.
    pub fn kept(&self) -> impl Iterator<Item = (&FileEntry, &[u8])> {
        self.entries
            .iter()
            .zip(&self.contents)
            .filter_map(|(e, c)| c.as_ref().map(|c| (e, c.bytes())))
    }

    /// Entries whose content was kept, with that content as text (see [`Self::text`]).
    pub fn kept_text(&self) -> impl Iterator<Item = (&FileEntry, &[u8], Cow<'_, str>)> {
        self.entries
            .iter()
            .zip(&self.contents)
            .filter_map(|(e, c)| c.as_ref().map(|c| (e, c.bytes(), c.text())))
    }

    /// [`Self::kept_text`] with each entry's index in [`Self::entries`], for
    /// callers that come back to a file later ([`Self::text_at`]) and must
    /// get the same entry even when its path is duplicated.
    pub(crate) fn kept_text_indexed(
        &self,
    ) -> impl Iterator<Item = (usize, &FileEntry, &[u8], Cow<'_, str>)> {
        self.entries
            .iter()
            .zip(&self.contents)
            .enumerate()
            .filter_map(|(i, (e, c))| c.as_ref().map(|c| (i, e, c.bytes(), c.text())))
    }

    /// The kept text of `entries()[index]`, see [`Self::text`].
    pub(crate) fn text_at(&self, index: usize) -> Option<Cow<'_, str>> {
        self.contents
            .get(index)
            .and_then(Option::as_deref)
            .map(Kept::text)
    }

    /// What the archive reader handled safely but found odd.
    pub fn notes(&self) -> &[ArchiveNote] {
        &self.notes
    }

    pub fn file_count(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Sum of the sizes of all file entries, nested ones included.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// The package root: `name-1.0/` or `package/` when every entry lies under
    /// one top-level directory, else `""`. Always empty or ending in `/`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The inventory for the report.
    pub fn inventory(&self) -> Inventory {
        Inventory {
            file_count: self.file_count(),
            total_bytes: self.total_bytes,
            files: self.entries.clone(),
            notes: self.notes.clone(),
        }
    }

    /// Digest of the whole file set, see [`tree_digest`].
    pub fn tree_digest(&self) -> String {
        tree_digest(&self.entries)
    }
}

/// Builds a [`PackageFiles`] one entry at a time.
#[derive(Debug)]
pub struct PackageFilesBuilder {
    files: PackageFiles,
    max_kept_bytes: usize,
    /// Kept contents so far by sha256, so that a content seen again is shared
    /// rather than copied (see `PackageFiles::contents`).
    kept_by_sha256: HashMap<String, Arc<Kept>>,
}

impl Default for PackageFilesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PackageFilesBuilder {
    pub fn new() -> Self {
        Self {
            files: PackageFiles::default(),
            max_kept_bytes: DEFAULT_MAX_KEPT_BYTES,
            kept_by_sha256: HashMap::new(),
        }
    }

    /// Files larger than `bytes` are measured but their content is dropped.
    #[must_use]
    pub fn max_kept_bytes(mut self, bytes: usize) -> Self {
        self.max_kept_bytes = bytes;
        self
    }

    /// Adds an entry as the archive reader hands it over.
    pub fn push_entry(&mut self, entry: &Entry<'_>) -> &mut Self {
        match &entry.kind {
            EntryKind::File => self.push_file(entry.path, entry.data, entry.mode, entry.depth),
            EntryKind::Symlink { target } => {
                self.push_link(entry.path, LinkKind::Symlink, target, entry.depth)
            }
            EntryKind::Hardlink { target } => {
                self.push_link(entry.path, LinkKind::Hardlink, target, entry.depth)
            }
        }
    }

    /// Adds a regular file.
    pub fn push_file(
        &mut self,
        path: &str,
        data: &[u8],
        mode: Option<u32>,
        depth: u32,
    ) -> &mut Self {
        let kind = classify(path, data, mode);
        if kind == FileKind::Link {
            // Zip records symlinks as files whose content is the target.
            let target = String::from_utf8_lossy(data);
            return self.push_link(path, LinkKind::Symlink, &target, depth);
        }
        let (sha256, entropy) = measure(data);
        let keep =
            data.len() <= self.max_kept_bytes && (is_text_kind(kind) || is_manifest_name(path));
        self.files.total_bytes += data.len() as u64;
        let content = keep.then(|| {
            Arc::clone(
                self.kept_by_sha256
                    .entry(sha256.clone())
                    .or_insert_with(|| Arc::new(Kept::new(data))),
            )
        });
        self.push(
            FileEntry {
                path: path.to_owned(),
                size: data.len() as u64,
                sha256,
                kind,
                entropy,
                executable: mode.is_some_and(|m| m & 0o111 != 0),
                link: None,
            },
            depth,
            content,
        );
        self
    }

    /// Adds a symbolic or hard link. Whether it escapes is decided in
    /// [`Self::finish`], once the package root is known.
    pub fn push_link(&mut self, path: &str, kind: LinkKind, target: &str, depth: u32) -> &mut Self {
        self.push(
            FileEntry {
                path: path.to_owned(),
                size: 0,
                sha256: sha256_hex(b""),
                kind: FileKind::Link,
                entropy: 0.0,
                executable: false,
                link: Some(LinkInfo {
                    kind,
                    target: target.to_owned(),
                    escapes: false,
                }),
            },
            depth,
            None,
        );
        self
    }

    /// Adds a note from the archive reader.
    pub fn push_note(&mut self, note: ArchiveNote) -> &mut Self {
        self.files.notes.push(note);
        self
    }

    fn extend_notes(&mut self, notes: Vec<Note>) {
        self.files
            .notes
            .extend(notes.into_iter().map(|n| ArchiveNote {
                kind: n.kind.as_str().to_owned(),
                path: n.path,
                message: n.message,
            }));
    }

    fn push(&mut self, entry: FileEntry, depth: u32, content: Option<Arc<Kept>>) {
        let files = &mut self.files;
        files
            .by_path
            .insert(entry.path.clone(), files.entries.len());
        files.entries.push(entry);
        files.depths.push(depth);
        files.contents.push(content);
    }

    pub fn finish(self) -> PackageFiles {
        let mut files = self.files;
        files.root = package_root(files.entries.iter().map(|e| e.path.as_str())).to_owned();
        let root = files.root.clone();
        for entry in &mut files.entries {
            if let Some(link) = &mut entry.link {
                link.escapes = link_escapes(&entry.path, link.kind, &link.target, &root);
            }
        }
        files
    }
}

/// A kept file's content, UTF-8-validated once when it is read.
#[derive(Clone, Debug)]
enum Kept {
    /// Valid UTF-8 (almost every kept file): read as text for free.
    Text(Box<str>),
    /// Anything else; decoded lossily on each read, as before.
    Bytes(Box<[u8]>),
}

impl Kept {
    fn new(data: &[u8]) -> Self {
        match std::str::from_utf8(data) {
            Ok(text) => Kept::Text(text.into()),
            Err(_) => Kept::Bytes(data.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Kept::Text(t) => t.as_bytes(),
            Kept::Bytes(b) => b,
        }
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Kept::Text(t) => Cow::Borrowed(t),
            Kept::Bytes(b) => String::from_utf8_lossy(b),
        }
    }
}

/// How many archives deep a path lies (`a.tgz!/b.zip!/c` → 2).
fn nesting_depth(path: &str) -> u32 {
    u32::try_from(path.matches("!/").count()).unwrap_or(u32::MAX)
}

/// Kinds whose content later stages read.
fn is_text_kind(kind: FileKind) -> bool {
    use FileKind as K;
    kind.is_source()
        || matches!(
            kind,
            K::Json | K::Toml | K::Yaml | K::Xml | K::Html | K::Css | K::Markdown | K::Text
        )
}

/// Files the manifest reader needs even when they do not look like text.
fn is_manifest_name(path: &str) -> bool {
    let name = file_name(path);
    matches!(
        name,
        "package.json"
            | "PKG-INFO"
            | "METADATA"
            | "setup.py"
            | "setup.cfg"
            | "pyproject.toml"
            | "Cargo.toml"
            | "metadata"
            | "binding.gyp"
    ) || name.ends_with(".pth")
}

/// The directory every path lies under (`"pkg-1.0/"`, `"package/"`), or `""`.
///
/// This descends through nested single directories, because re-packed
/// archives wrap the registry's own layout once more (`name-1.0/package/…` in
/// public malware datasets). It stops at the first level that holds a file or
/// more than one directory (desktop archiver litter such as `.DS_Store` aside), at a nested archive (`x.tgz!/`), and before a
/// Python metadata directory (`*.dist-info/`, `*.data/`, `*.egg-info/`,
/// `EGG-INFO/`): a wheel holding only its metadata is still rooted at `""`.
pub fn package_root<'a>(paths: impl IntoIterator<Item = &'a str>) -> &'a str {
    let paths: Vec<&'a str> = paths.into_iter().filter(|p| !is_os_junk(p)).collect();
    let Some(&first) = paths.first() else {
        return "";
    };
    let mut root_len = 0;
    // The next component of the first path, which every path must share.
    while let Some(slash) = first[root_len..].find('/') {
        let dir = &first[root_len..root_len + slash];
        let next = root_len + slash + 1;
        // Every path already shares `first[..root_len]`: compare only the new
        // component, or a deep tree of many files costs depth × length per path.
        let component = &first.as_bytes()[root_len..next];
        let shared = paths
            .iter()
            .all(|p| p.len() > next && &p.as_bytes()[root_len..next] == component);
        let metadata_dir = dir.ends_with('!')
            || dir.ends_with(".dist-info")
            || dir.ends_with(".data")
            || dir.ends_with(".egg-info")
            || dir == "EGG-INFO";
        if !shared || metadata_dir {
            break;
        }
        root_len = next;
    }
    &first[..root_len]
}

/// Files that desktop archivers add beside a package's own (`.DS_Store`,
/// `__MACOSX/`, AppleDouble `._name`, `Thumbs.db`): not part of its layout.
fn is_os_junk(path: &str) -> bool {
    let name = file_name(path);
    name == ".DS_Store"
        || name == "Thumbs.db"
        || name.starts_with("._")
        || path.starts_with("__MACOSX/")
}

/// Whether a link resolves outside the package.
///
/// A symlink target is relative to the link's directory, a hard link target to
/// the archive root. Entries of nested archives are judged inside their own
/// archive (`x.tgz!/a/l -> ../../y` climbs out of `x.tgz`). Absolute targets
/// always escape; so does a `..` that climbs above the package root.
pub fn link_escapes(path: &str, kind: LinkKind, target: &str, package_root: &str) -> bool {
    if target.starts_with('/') || target.starts_with('\\') || has_drive_prefix(target) {
        return true;
    }
    let (archive_path, root) = match path.rfind("!/") {
        Some(i) => (&path[i + 2..], ""),
        None => (path, package_root.trim_end_matches('/')),
    };
    let mut stack: Vec<&str> = Vec::new();
    if kind == LinkKind::Symlink
        && let Some((dir, _)) = archive_path.rsplit_once('/')
    {
        stack.extend(dir.split('/').filter(|c| !c.is_empty()));
    }
    for component in target.split(['/', '\\']) {
        match component {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return true;
                }
            }
            c => stack.push(c),
        }
    }
    // Resolved inside the archive; it must also stay under the package root.
    !root.is_empty() && stack.first() != Some(&root)
}

fn has_drive_prefix(target: &str) -> bool {
    let b = target.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// A sha256 over the sorted `(path, kind, sha256)` of every entry: the
/// artifact hash of a directory target, independent of traversal order.
///
/// Each entry is one line `path \t kind \t sha256`, with ` \t -> target` added
/// for links so that re-pointing a link changes the digest.
pub fn tree_digest(entries: &[FileEntry]) -> String {
    let mut sorted: Vec<&FileEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        a.path
            .as_bytes()
            .cmp(b.path.as_bytes())
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.sha256.cmp(&b.sha256))
    });
    let mut text = String::with_capacity(sorted.len() * 100);
    for e in sorted {
        text.push_str(&e.path);
        text.push('\t');
        text.push_str(kind_name(e.kind));
        text.push('\t');
        text.push_str(&e.sha256);
        if let Some(link) = &e.link {
            text.push_str("\t-> ");
            text.push_str(&link.target);
        }
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// The kebab-case name `FileKind` serialises to.
pub fn kind_name(kind: FileKind) -> &'static str {
    use FileKind as K;
    match kind {
        K::Python => "python",
        K::PythonBytecode => "python-bytecode",
        K::Javascript => "javascript",
        K::Typescript => "typescript",
        K::Shell => "shell",
        K::Powershell => "powershell",
        K::Batch => "batch",
        K::Ruby => "ruby",
        K::Rust => "rust",
        K::C => "c",
        K::Cpp => "cpp",
        K::Go => "go",
        K::Java => "java",
        K::Json => "json",
        K::Toml => "toml",
        K::Yaml => "yaml",
        K::Xml => "xml",
        K::Html => "html",
        K::Css => "css",
        K::Markdown => "markdown",
        K::Text => "text",
        K::Elf => "elf",
        K::Pe => "pe",
        K::Macho => "macho",
        K::Wasm => "wasm",
        K::JavaClass => "java-class",
        K::Archive => "archive",
        K::Image => "image",
        K::Font => "font",
        K::Binary => "binary",
        K::Empty => "empty",
        K::Link => "link",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_root_of_a_deep_tree_compares_each_component_once() {
        // 3,000 files under 3,000 nested directories: comparing whole prefixes at
        // every level was ~10^11 byte comparisons, i.e. a hang.
        let deep = "d/".repeat(3_000);
        let paths: Vec<String> = (0..3_000).map(|i| format!("{deep}f{i}")).collect();
        assert_eq!(package_root(paths.iter().map(String::as_str)), deep);
        let mut paths = paths;
        paths.push(format!("{}e/x", "d/".repeat(1_500)));
        assert_eq!(
            package_root(paths.iter().map(String::as_str)),
            "d/".repeat(1_500)
        );
    }

    #[test]
    fn package_root_is_the_single_top_directory() {
        assert_eq!(
            package_root(["package/package.json", "package/lib/x.js"]),
            "package/"
        );
        assert_eq!(package_root(["foo-1.0/PKG-INFO"]), "foo-1.0/");
        assert_eq!(package_root(["a/x", "b/y"]), "");
        assert_eq!(package_root(["a/x", "README"]), "");
        assert_eq!(package_root(["foo/x.py", "foo-1.0.dist-info/METADATA"]), "");
        assert_eq!(
            package_root(["foo-1.0.dist-info/METADATA", "foo-1.0.dist-info/WHEEL"]),
            ""
        );
        assert_eq!(
            package_root(["metadata.gz!/metadata", "data.tar.gz!/lib/x.rb"]),
            ""
        );
        assert_eq!(package_root(std::iter::empty()), "");
        // Not fooled by a shared name prefix.
        assert_eq!(package_root(["pkg/a", "pkg2/b"]), "");
        assert_eq!(package_root(["pkg/a", "pkg"]), "");
        // Re-packed npm tarballs: `name-1.0/package/…`.
        assert_eq!(
            package_root(["x-1.0/package/package.json", "x-1.0/package/a/b.js"]),
            "x-1.0/package/"
        );
        assert_eq!(
            package_root(["x-1.0/package/package.json", "x-1.0/README"]),
            "x-1.0/"
        );
        assert_eq!(package_root(["x-1.0/x.tgz!/package/a"]), "x-1.0/");
        // Desktop archiver litter does not hide the layout.
        assert_eq!(
            package_root([
                "x/.DS_Store",
                "x/package/.DS_Store",
                "x/package/package.json",
                "__MACOSX/x/._a",
                "._x"
            ]),
            "x/package/"
        );
    }

    #[test]
    fn symlink_escape_is_relative_to_the_link_directory() {
        let sym = |path, target, root| link_escapes(path, LinkKind::Symlink, target, root);
        assert!(!sym("package/lib/l", "../index.js", "package/"));
        assert!(!sym("package/lib/l", "./x/../y", "package/"));
        assert!(sym("package/lib/l", "../../outside", "package/"));
        assert!(sym("package/l", "..", "package/"));
        assert!(sym("package/l", "/etc/passwd", "package/"));
        assert!(sym("package/l", "C:\\Windows", "package/"));
        assert!(sym("a/b/l", "../../../x", ""));
        assert!(!sym("a/b/l", "../../x", ""));
        assert!(!sym("l", "x", ""));
        // Climbing out and back into the root lands inside it.
        assert!(!sym("package/l", "../package/x", "package/"));
        // Entries of nested archives are judged inside their own archive.
        assert!(!sym("data.tar.gz!/lib/l", "../x", ""));
        assert!(sym("data.tar.gz!/lib/l", "../../x", ""));
    }

    #[test]
    fn hardlink_target_is_relative_to_the_archive_root() {
        let hard = |path, target, root| link_escapes(path, LinkKind::Hardlink, target, root);
        assert!(!hard("package/deep/dir/l", "package/x", "package/"));
        assert!(hard("package/l", "../x", "package/"));
        assert!(hard("package/l", "other/x", "package/"));
    }

    #[test]
    fn builder_records_links_modes_depths_and_notes() {
        let mut b = PackageFiles::builder();
        b.push_file("package/bin/run", b"#!/bin/sh\necho hi\n", Some(0o755), 0)
            .push_file("package/x.tgz!/inner.js", b"1", Some(0o644), 1)
            .push_link("package/evil", LinkKind::Symlink, "../../../etc/passwd", 0)
            .push_link("package/ok", LinkKind::Symlink, "bin/run", 0)
            .push_note(ArchiveNote {
                kind: "duplicate-name".into(),
                path: "p".into(),
                message: "m".into(),
            });
        let files = b.finish();
        assert_eq!(files.root(), "package/");
        let e = files.entries();
        assert_eq!(e.len(), 4);
        assert!(e[0].executable);
        assert_eq!(e[0].kind, FileKind::Shell);
        assert!(!e[1].executable);
        assert_eq!(files.depth(1), Some(1));
        assert_eq!(e[2].kind, FileKind::Link);
        assert!(e[2].link.as_ref().unwrap().escapes);
        assert!(!e[3].link.as_ref().unwrap().escapes);
        assert_eq!(e[2].sha256, sha256_hex(b""));
        assert_eq!(files.notes().len(), 1);
        assert_eq!(files.file_count(), 4);
        assert_eq!(files.total_bytes(), 19);
        let inv = files.inventory();
        assert_eq!(
            (
                inv.file_count,
                inv.total_bytes,
                inv.files.len(),
                inv.notes.len()
            ),
            (4, 19, 4, 1)
        );
    }

    #[test]
    fn zip_style_symlink_mode_becomes_a_link() {
        let mut b = PackageFiles::builder();
        b.push_file("pkg/l", b"/etc/shadow", Some(0o120_777), 0);
        let files = b.finish();
        let link = files.entries()[0].link.as_ref().unwrap();
        assert_eq!(
            (link.kind, link.target.as_str(), link.escapes),
            (LinkKind::Symlink, "/etc/shadow", true)
        );
    }

    #[test]
    fn identical_contents_are_kept_once_and_read_back_under_each_path() {
        let bundle = "var a = 1;\n".repeat(1000);
        let invalid = b"caf\xe9 = 1\n";
        let files = PackageFiles::from_memory([
            ("p/dist/esm/x.js", bundle.as_bytes()),
            ("p/dist/cjs/x.js", b"other".as_slice()),
            ("p/dist/collection/x.js", bundle.as_bytes()),
            ("p/a.py", invalid.as_slice()),
            ("p/b.py", invalid.as_slice()),
        ]);
        let esm = files.content("p/dist/esm/x.js").unwrap();
        let collection = files.content("p/dist/collection/x.js").unwrap();
        assert_eq!(esm, bundle.as_bytes());
        // One copy in memory, not two.
        assert!(std::ptr::eq(esm.as_ptr(), collection.as_ptr()));
        assert_eq!(files.content("p/dist/cjs/x.js"), Some(b"other".as_slice()));
        assert_eq!(files.text("p/b.py").as_deref(), Some("caf\u{fffd} = 1\n"));
        assert!(std::ptr::eq(
            files.content("p/a.py").unwrap().as_ptr(),
            files.content("p/b.py").unwrap().as_ptr()
        ));
    }

    #[test]
    fn text_contents_are_kept_and_binaries_dropped() {
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
        let files = PackageFiles::from_memory([
            ("p/index.js", b"module.exports = 1\n".as_slice()),
            ("p/native.node", elf.as_slice()),
            ("p/big.js", &[b'a'; 64]),
        ]);
        assert_eq!(
            files.content("p/index.js"),
            Some(b"module.exports = 1\n".as_slice())
        );
        assert_eq!(files.content("p/native.node"), None);
        assert_eq!(files.get("p/native.node").unwrap().kind, FileKind::Elf);
        assert_eq!(files.get("p/native.node").unwrap().sha256, sha256_hex(elf));
        assert_eq!(files.content("missing"), None);
        assert_eq!(files.kept().count(), 2);

        let mut b = PackageFiles::builder().max_kept_bytes(10);
        b.push_file("p/big.js", &[b'a'; 64], None, 0);
        let files = b.finish();
        assert_eq!(files.content("p/big.js"), None);
        assert_eq!(files.get("p/big.js").unwrap().size, 64);
    }

    #[test]
    fn manifest_named_files_are_kept_even_when_they_look_binary() {
        let files =
            PackageFiles::from_memory([("package/package.json", b"MZ\0\0garbage".as_slice())]);
        assert!(files.content("package/package.json").is_some());
    }

    #[test]
    fn duplicate_paths_resolve_to_the_later_entry() {
        let files = PackageFiles::from_memory([("p/a.js", "first"), ("p/a.js", "second")]);
        assert_eq!(files.entries().len(), 2);
        assert_eq!(files.content("p/a.js"), Some(b"second".as_slice()));
    }

    #[test]
    fn nested_paths_get_their_depth() {
        let files =
            PackageFiles::from_memory([("a", "x"), ("b.tgz!/c", "x"), ("b.tgz!/d.zip!/e", "x")]);
        assert_eq!(
            (
                files.depth(0),
                files.depth(1),
                files.depth(2),
                files.depth(3)
            ),
            (Some(0), Some(1), Some(2), None)
        );
    }

    #[test]
    fn tree_digest_ignores_order_but_not_content_kind_or_link_target() {
        let a = PackageFiles::from_memory([("x/a.py", "1"), ("x/b.py", "2")]);
        let b = PackageFiles::from_memory([("x/b.py", "2"), ("x/a.py", "1")]);
        let c = PackageFiles::from_memory([("x/b.py", "2"), ("x/a.py", "3")]);
        assert_eq!(a.tree_digest(), b.tree_digest());
        assert_ne!(a.tree_digest(), c.tree_digest());
        assert_eq!(a.tree_digest().len(), 64);
        let link = |target: &str| {
            let mut b = PackageFiles::builder();
            b.push_link("x/l", LinkKind::Symlink, target, 0);
            b.finish().tree_digest()
        };
        assert_ne!(link("a"), link("b"));
        assert_eq!(tree_digest(&[]), sha256_hex(b""));
    }

    #[test]
    fn kind_names_match_the_serialised_form() {
        use FileKind as K;
        let all = [
            K::Python,
            K::PythonBytecode,
            K::Javascript,
            K::Typescript,
            K::Shell,
            K::Powershell,
            K::Batch,
            K::Ruby,
            K::Rust,
            K::C,
            K::Cpp,
            K::Go,
            K::Java,
            K::Json,
            K::Toml,
            K::Yaml,
            K::Xml,
            K::Html,
            K::Css,
            K::Markdown,
            K::Text,
            K::Elf,
            K::Pe,
            K::Macho,
            K::Wasm,
            K::JavaClass,
            K::Archive,
            K::Image,
            K::Font,
            K::Binary,
            K::Empty,
            K::Link,
        ];
        for kind in all {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                kind_name(kind),
                "{kind:?}"
            );
        }
    }
}
