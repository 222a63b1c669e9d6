use ossprey_model::{Category, Finding, LinkKind, Severity};

use crate::{Input, Rule, finding};

/// ## What it does
/// Reports symbolic and hard links in the package whose target lies outside
/// it: an absolute path, or enough `..` to climb past the package root.
///
/// ## Why is this bad?
/// A link to `/home/user/.ssh/id_rsa` or `../../../etc/passwd` makes tools that
/// follow it read or overwrite files that are not the package's — to leak a
/// secret into a build artefact, or to plant a file where a later extraction
/// writes through the link.
///
/// ## Example
/// ```text
/// pkg/config -> /home/user/.aws/credentials
/// ```
#[derive(Debug)]
pub struct LinkEscape;

impl Rule for LinkEscape {
    fn id(&self) -> &'static str {
        "ARCHIVE-LINK-ESCAPE"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "symbolic or hard links pointing outside the package"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for entry in input.files.entries() {
            let Some(link) = entry.link.as_ref().filter(|l| l.escapes) else {
                continue;
            };
            let kind = match link.kind {
                LinkKind::Symlink => "symbolic link",
                LinkKind::Hardlink => "hard link",
            };
            out.push(finding(
                self.id(),
                Severity::Medium,
                self.category(),
                format!(
                    "{kind} `{}` points outside the package, to `{}`",
                    entry.path, link.target
                ),
                Some(&entry.path),
                None,
                Some(&format!("{} -> {}", entry.path, link.target)),
            ));
        }
    }
}
