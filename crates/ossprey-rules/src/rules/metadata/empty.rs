use ossprey_model::{Category, Finding, Severity};

use super::runs_code_at_install;
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports a package whose manifest says nothing about it: no meaningful
/// description (missing, blank, its own name, or a template placeholder) and
/// no homepage or repository and no author.
///
/// ## Why is this bad?
/// Throw-away malicious packages are published in bulk with whatever the
/// scaffolding left; real projects say what they are and where they come
/// from. Weak alone: low when the package runs code at install time, info
/// otherwise.
///
/// ## Example
/// ```text
/// Metadata-Version: 2.1
/// Name: pkg-12345
/// Version: 0.0.1
/// ```
#[derive(Debug)]
pub struct EmptyMetadata;

impl Rule for EmptyMetadata {
    fn id(&self) -> &'static str {
        "META-EMPTY"
    }
    fn category(&self) -> Category {
        Category::METADATA
    }
    fn summary(&self) -> &'static str {
        "no description, homepage, repository or author"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        if !input.metadata.empty_metadata {
            return;
        }
        let severity = if runs_code_at_install(input.manifest) {
            Severity::Low
        } else {
            Severity::Info
        };
        let path = input.manifest.manifest_path.as_deref();
        out.push(finding(
            self.id(),
            severity,
            self.category(),
            "the manifest declares no description, homepage, repository or author",
            path,
            path.map(|_| 1),
            input.manifest.description.as_deref(),
        ));
    }
}
