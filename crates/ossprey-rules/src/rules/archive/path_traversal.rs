use ossprey_model::{Category, Finding, Severity};

use crate::{Input, Rule, finding};

/// ## What it does
/// Reports archive entries whose names climb out of the extraction directory
/// (`../../.bashrc`) or are absolute (`/etc/cron.d/x`), as the archive reader
/// noted them. ossprey never writes them anywhere.
///
/// ## Why is this bad?
/// No packaging tool produces such names. An unpacker that honours them writes
/// files outside the package — over a user's shell profile, a cron entry, or a
/// library — which is a classic "zip slip" attack on whatever extracts it.
/// In an archive nested inside the package (test data for an unpacker, say)
/// nothing installs it, so it is low.
///
/// ## Example
/// ```text
/// evil-1.0/../../../home/user/.bashrc
/// ```
#[derive(Debug)]
pub struct PathTraversal;

impl Rule for PathTraversal {
    fn id(&self) -> &'static str {
        "ARCHIVE-PATH-TRAVERSAL"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "archive entries with `..` or absolute paths"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for note in input.files.notes() {
            if !matches!(note.kind.as_str(), "path-traversal" | "absolute-path") {
                continue;
            }
            // Inside a nested archive (`tests/x.tar!/../y`) nothing installs it:
            // package managers do not unpack archives a package ships.
            let nested = note.path.contains("!/");
            out.push(finding(
                self.id(),
                if nested {
                    Severity::Low
                } else {
                    Severity::High
                },
                self.category(),
                format!(
                    "archive entry `{}`: {} ({})",
                    note.path, note.message, note.kind
                ),
                Some(&note.path),
                None,
                Some(&note.path),
            ));
        }
    }
}
