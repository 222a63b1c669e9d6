//! The data ossprey passes between its pipeline stages.
//!
//! Every later stage fills in part of a [`Report`]: acquisition gives the
//! [`PackageRef`] and [`Artifact`], archive reading and inventory give the
//! [`FileEntry`] list and [`ManifestFacts`], detection gives [`Finding`]s and a
//! [`Verdict`]. The JSON shape of these types is ossprey's public contract (see
//! the CLI contract in `SPEC.md`); changing a field name is a breaking change and
//! bumps [`SCHEMA_VERSION`].
//!
//! This crate holds plain data and validation only: it must never do I/O.

mod artifact;
pub mod dynamic;
mod file;
mod finding;
mod manifest;
mod package;
mod report;

pub use artifact::{Artifact, ArtifactSource};
pub use dynamic::DynamicResult;
pub use file::{FileEntry, FileKind, LinkInfo, LinkKind};
pub use finding::{Category, Evidence, Finding, Severity, SuppressedFinding, Verdict};
pub use manifest::{Dependency, HookTrigger, InstallHook, ManifestFacts};
pub use package::{Ecosystem, PackageRef, PackageSpec, SpecError, Target};
pub use report::{ArchiveNote, Inventory, Report, ReportError, SCHEMA_VERSION};
