use ossprey_model::{Category, Finding, Severity};

use super::manifest_line;
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports a package name containing a word companies use for private
/// packages: `internal`, `private`, `corp`, `intranet`, `confidential`, …
///
/// ## Why is this bad?
/// Dependency-confusion packages borrow the names of a company's internal
/// packages. The word alone is weak (some public packages use it), so this is
/// low and counts only together with other signals.
///
/// ## Example
/// ```json
/// { "name": "@acme/internal-auth" }
/// ```
#[derive(Debug)]
pub struct InternalName;

impl Rule for InternalName {
    fn id(&self) -> &'static str {
        "META-INTERNAL-NAME"
    }
    fn category(&self) -> Category {
        Category::DEPENDENCY_CONFUSION
    }
    fn summary(&self) -> &'static str {
        "a package name that reads like a company-internal package"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let (Some(word), Some(name)) =
            (&input.metadata.internal_looking_name, &input.metadata.name)
        else {
            return;
        };
        let (path, line) = manifest_line(input, name);
        out.push(finding(
            self.id(),
            Severity::Low,
            self.category(),
            format!(
                "`{name}` contains `{}`, typical of internal package names",
                word.word
            ),
            path.as_deref(),
            line,
            Some(name),
        ));
    }
}
