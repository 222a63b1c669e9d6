//! Static facts about a package, read without running any of it.
//!
//! At this stage: the **inventory** ([`PackageFiles`]: every file's path, size,
//! sha256, kind and entropy, and the contents of the text-like files) and the
//! **manifest facts** ([`manifest::extract`]: identity, dependencies, and the
//! install hooks through which package managers run a package's code).
//! JavaScript and Python parsers come next and read from [`PackageFiles`].
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
