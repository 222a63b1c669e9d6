//! Static facts about a package, read without running any of it.
//!
//! At this stage: the **inventory** ([`PackageFiles`]: every file's path, size,
//! sha256, kind and entropy, and the contents of the text-like files) and the
//! **manifest facts** ([`manifest::extract`]: identity, dependencies, and the
//! install hooks through which package managers run a package's code).
//! On those: per-file facts ([`facts`]: parsers for JavaScript/TypeScript and
//! Python, a parser-free text scan, a shell tokenizer), [`analysis`] (which
//! file runs when), and [`metadata`] (typosquatting, dependency confusion).
//!
//! **Cost budget.** Every text file is text-scanned. Packages with at most
//! [`tier::PARSE_ALL_BYTES`] of Python/JavaScript/TypeScript are parsed whole;
//! above that, [`tier`] parses small files, install- and import-time files
//! and files whose text shows a signal, and leaves large runtime-only files
//! without any to the text scan. Single files above
//! [`analysis::MAX_PARSE_BYTES`] are never parsed. Facts of bulky files are
//! cut to what rules read (`analysis::keep_notable`). Together these keep a
//! scan within the speed and memory targets (median ≤ 10 ms, ≤ 200 MB on any
//! one package) on the large packages that decide them.
//!
//! Everything here reads attacker-controlled bytes: it must never panic, never
//! execute or import package code, never write to disk, and never fail on a
//! malformed manifest (that is a fact to report, not an error).

pub mod analysis;
mod classify;
mod ecosystem;
pub mod facts;
mod files;
pub mod manifest;
mod measure;
pub mod metadata;
pub mod tier;

pub use classify::classify;
pub use ecosystem::detect_ecosystem;
pub use files::{
    DEFAULT_MAX_KEPT_BYTES, PackageFiles, PackageFilesBuilder, kind_name, link_escapes,
    package_root, tree_digest,
};
pub use measure::{entropy, sha256_hex};
// The archive types callers need to use this crate's API.
pub use ossprey_archive::{ArchiveError, Format, Limits};
