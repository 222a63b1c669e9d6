//! Code written so that a reader cannot see what it does: packers, encoded
//! payloads run in place, escape-dense source, and Unicode tricks.

pub mod bidi_control;
pub mod encoded_blob_exec;
pub mod escape_heavy;
pub mod homoglyph_identifier;
pub mod py_packer;

use ossprey_model::Severity;
use ossprey_static::analysis::RunsAt;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &py_packer::PyPacker,
    &encoded_blob_exec::EncodedBlobExec,
    &escape_heavy::EscapeHeavyCode,
    &bidi_control::BidiControl,
    &homoglyph_identifier::HomoglyphIdentifier,
];

/// One step up for files that run by themselves (install or import time);
/// `base` for code that only runs when called. File-level evidence has no call
/// scope, so [`crate::weigh`]'s two-step raise would overstate it.
pub(crate) fn raise_unprompted(base: Severity, runs_at: RunsAt) -> Severity {
    if runs_at == RunsAt::Runtime {
        return base;
    }
    match base {
        Severity::Info => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// Whether a file kind holds code a reader would review (not prose or data).
pub(crate) fn is_code(kind: ossprey_model::FileKind) -> bool {
    kind.is_source()
}

/// Test and example trees: shipped, but not what installing or importing runs.
pub(crate) fn is_test_path(path: &str) -> bool {
    path.split(['/', '!']).any(|part| {
        matches!(
            part,
            "test" | "tests" | "testing" | "__tests__" | "spec" | "examples"
        )
    })
}

/// When a file's code runs, with one npm refinement: the `main` file that an
/// install hook runs as `node .` runs at install time.
pub(crate) fn runs_at(
    input: &crate::Input<'_>,
    file: &ossprey_static::analysis::FileAnalysis,
) -> RunsAt {
    use ossprey_model::HookTrigger::{NpmInstall, NpmPostinstall, NpmPreinstall};
    use ossprey_static::facts::shell::{self, RunTarget};
    if file.runs_at != RunsAt::Import {
        return file.runs_at;
    }
    let hook_runs_main = input.manifest.install_hooks.iter().any(|h| {
        matches!(h.trigger, NpmPreinstall | NpmInstall | NpmPostinstall)
            && h.command.as_deref().is_some_and(|c| {
                shell::parse(c).runs.iter().any(
                    |r| matches!(&r.target, RunTarget::File(t) if matches!(t.as_str(), "." | "./")),
                )
            })
    });
    if hook_runs_main {
        RunsAt::Install
    } else {
        RunsAt::Import
    }
}
