use serde::{Deserialize, Serialize};

use crate::{
    Artifact, DynamicResult, FileEntry, Finding, ManifestFacts, PackageRef, SuppressedFinding,
    Verdict,
};

/// Version of the report JSON shape. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything ossprey learned about one target.
///
/// Field names follow the CLI contract in `SPEC.md`: `target`, `package`,
/// `sha256`, `verdict`, `score`, `findings`, `duration_ms`, `error`.
/// `verdict` and `score` are `null` until detection has run, and always `null`
/// for a target that could not be analysed (which has `error` instead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// The target exactly as the user gave it.
    pub target: String,
    pub package: Option<PackageRef>,
    /// sha256 of the analysed artifact (same as `artifact.sha256`).
    pub sha256: Option<String>,
    pub verdict: Option<Verdict>,
    pub score: Option<f64>,
    pub findings: Vec<Finding>,
    /// Findings the user's allowlist (`ossprey.toml`) silenced, with its reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<SuppressedFinding>,
    pub artifact: Option<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// What the package did in the sandbox (`ossprey analyze` only; absent for `scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<DynamicResult>,
    pub duration_ms: u64,
    pub error: Option<ReportError>,
}

impl Report {
    /// An empty report for `target`, to be filled in by the pipeline.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            target: target.into(),
            package: None,
            sha256: None,
            verdict: None,
            score: None,
            findings: Vec::new(),
            suppressed: Vec::new(),
            artifact: None,
            manifest: None,
            inventory: None,
            dynamic: None,
            duration_ms: 0,
            error: None,
        }
    }

    /// Marks the report as failed: keeps what was learned so far, drops any verdict.
    pub fn fail(&mut self, error: ReportError) {
        self.verdict = None;
        self.score = None;
        self.error = Some(error);
    }
}

/// Why a target could not be analysed. `code` is stable and machine-readable
/// (`no-such-package`, `hash-mismatch`, `archive-limit`, …); `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportError {
    pub code: String,
    pub message: String,
}

impl ReportError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every file of the package, with totals and what was odd about the archive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub file_count: u64,
    pub total_bytes: u64,
    pub files: Vec<FileEntry>,
    /// Safe-handling notes from the archive reader (rejected paths, duplicate
    /// names, links that point outside, …). Each is itself a signal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<ArchiveNote>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveNote {
    /// Stable kebab-case kind, e.g. `path-traversal`, `duplicate-name`.
    pub kind: String,
    /// The entry's name as stored (lossily decoded when not UTF-8).
    pub path: String,
    pub message: String,
}
