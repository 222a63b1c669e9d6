//! What a package's name, version and declared metadata say about it.

pub mod absurd_version;
pub mod empty;
pub mod internal_name;
pub mod name_mismatch;
pub mod typosquat;
pub mod url_dependency;

use ossprey_model::{HookTrigger, ManifestFacts};

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &typosquat::Typosquat,
    &absurd_version::AbsurdVersion,
    &internal_name::InternalName,
    &empty::EmptyMetadata,
    &url_dependency::UrlDependency,
    &name_mismatch::NameMismatch,
];

/// Install hooks that run package code (a named build backend is not counted:
/// that is a build tool, not the package's own code).
pub(crate) fn runs_code_at_install(manifest: &ManifestFacts) -> bool {
    manifest
        .install_hooks
        .iter()
        .any(|h| h.trigger != HookTrigger::PythonBuildBackend)
}

/// The manifest file and the line of `needle` in it, for evidence.
pub(crate) fn manifest_line(
    input: &crate::Input<'_>,
    needle: &str,
) -> (Option<String>, Option<u32>) {
    let path = input.manifest.manifest_path.clone();
    let line = path.as_deref().and_then(|p| input.line_of(p, needle));
    (path, line)
}
