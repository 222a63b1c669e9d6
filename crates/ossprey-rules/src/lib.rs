//! Detection: rules over static and metadata facts and over the sandbox's events
//! (behaviour rules), fusion of both, and the scoring model that turns their
//! findings into a 0–10 score and a verdict.
//!
//! Each rule lives in its own file under `rules/<category>/`, carries a doc
//! comment in the *What it does / Why is this bad? / Example* template, a stable
//! id, and two fixtures under `fixtures/<ID>/` — one with the malicious shape,
//! one benign look-alike — that `tests/fixtures.rs` runs and snapshots.
//!
//! Behaviour rules (`rules::behaviour`, ids `DYN-…`) judge what the package did in the
//! sandbox; [`fusion::fuse`] runs them and combines their findings with the static
//! ones into one evaluation.
//!
//! Rules read facts; they never read the filesystem, the network, or run code.

pub mod fusion;
mod input;
pub mod rules;
mod scoring;
mod suppress;

pub use fusion::{Fused, FusionInput, fuse};
pub use input::{Input, finding, runs_unprompted, weigh};
pub use rules::behaviour::{BehaviourInput, BehaviourRule};
pub use scoring::{
    Evaluation, SCORE_MALICIOUS, SCORE_PROOF_RULES, SCORE_SUSPICIOUS, evaluate_findings,
};
pub use suppress::{SuppressionError, Suppressions};

use ossprey_model::{Category, Ecosystem, Finding, ManifestFacts, PackageRef, SuppressedFinding};
use ossprey_static::PackageFiles;
use ossprey_static::analysis::StaticFacts;
use ossprey_static::metadata::MetadataFacts;

/// A detection rule.
pub trait Rule: Send + Sync {
    /// Stable id, e.g. `PY-EXEC-DECODED`. Never reused for a different behaviour.
    fn id(&self) -> &'static str;
    /// The category its findings usually carry.
    fn category(&self) -> Category;
    /// One line saying what it detects (for `ossprey rules` and docs).
    fn summary(&self) -> &'static str;
    /// Appends this rule's findings about `input` to `out`.
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>);
}

/// Everything static analysis produced for one package.
#[derive(Debug)]
pub struct Analysis {
    pub manifest: ManifestFacts,
    pub facts: StaticFacts,
    pub metadata: MetadataFacts,
    /// Findings that stand, their score and the verdict.
    pub evaluation: Evaluation,
    /// Findings the user's allowlist silenced; not in the score.
    pub suppressed: Vec<SuppressedFinding>,
}

/// How to run the static pipeline on one package.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// The registry identity, when the target came from a registry.
    pub package: Option<&'a PackageRef>,
    /// The known or detected ecosystem.
    pub ecosystem: Option<Ecosystem>,
    /// The user's allowlist.
    pub suppressions: Option<&'a Suppressions>,
    /// sha256 of the analysed archive, for `sha256` allowlist entries.
    pub artifact_sha256: Option<&'a str>,
}

/// Runs the whole static pipeline on collected package files: manifest facts,
/// per-file facts, metadata facts, every rule, suppressions, scoring.
pub fn analyze(files: &PackageFiles, opts: Options<'_>) -> Analysis {
    let manifest = ossprey_static::manifest::extract(files, opts.ecosystem);
    let facts = ossprey_static::analysis::analyze(files, &manifest);
    let metadata = ossprey_static::metadata::metadata_facts(opts.package, &manifest);
    let input = Input {
        package: opts.package,
        files,
        manifest: &manifest,
        facts: &facts,
        metadata: &metadata,
    };
    let findings = run_rules(&input);
    // The package identity for allowlist matching: the registry's, else the manifest's.
    let declared = match (opts.ecosystem, &manifest.name) {
        (Some(ecosystem), Some(name)) => Some(PackageRef {
            ecosystem,
            name: name.clone(),
            version: manifest.version.clone(),
        }),
        _ => None,
    };
    let (findings, suppressed) = match opts.suppressions {
        Some(s) => s.apply(
            findings,
            opts.package.or(declared.as_ref()),
            files.root(),
            opts.artifact_sha256,
            &|path| files.get(path).map(|e| e.sha256.clone()),
        ),
        None => (findings, Vec::new()),
    };
    let evaluation = evaluate_findings(findings);
    Analysis {
        manifest,
        facts,
        metadata,
        evaluation,
        suppressed,
    }
}

/// Runs every rule over `input`.
pub fn run_rules(input: &Input<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in rules::all() {
        let before = findings.len();
        rule.check(input, &mut findings);
        cap_per_rule(&mut findings, before);
    }
    findings
}

/// Most findings one rule may report per package: the rest add nothing a
/// reader needs, and a hostile package could otherwise bloat every report.
pub const MAX_FINDINGS_PER_RULE: usize = 10;

fn cap_per_rule(findings: &mut Vec<Finding>, from: usize) {
    if findings.len() - from > MAX_FINDINGS_PER_RULE {
        // Keep the most severe ones, in their original order among equals.
        let mut tail: Vec<Finding> = findings.drain(from..).collect();
        tail.sort_by_key(|f| std::cmp::Reverse(f.severity));
        tail.truncate(MAX_FINDINGS_PER_RULE);
        findings.extend(tail);
    }
}
