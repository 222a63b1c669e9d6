use ossprey_model::{Category, Finding, Severity};

use super::{manifest_line, runs_code_at_install};
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports a version whose major number is 90 or more and is not a calendar
/// version (`99.0.0`, `100.1.0`; not `2024.1.0` or `20240105`).
///
/// ## Why is this bad?
/// Dependency confusion: an attacker publishes a company's internal package
/// name on the public registry with a version higher than any private release,
/// so that installers prefer it. Such packages almost always run code at
/// install time to report home, which makes the pair high.
///
/// ## Example
/// ```json
/// { "name": "acme-billing-client", "version": "99.9.9",
///   "scripts": { "preinstall": "node index.js" } }
/// ```
#[derive(Debug)]
pub struct AbsurdVersion;

impl Rule for AbsurdVersion {
    fn id(&self) -> &'static str {
        "META-ABSURD-VERSION"
    }
    fn category(&self) -> Category {
        Category::DEPENDENCY_CONFUSION
    }
    fn summary(&self) -> &'static str {
        "a version number chosen to outrank private releases (major ≥ 90)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let Some(v) = &input.metadata.absurd_version else {
            return;
        };
        // Popular packages with big majors (tracking a browser's version, say)
        // are established, not confusion attempts.
        let (severity, why) = if input.metadata.popular {
            (Severity::Low, "")
        } else if runs_code_at_install(input.manifest) {
            (Severity::High, " and the package runs code at install time")
        } else {
            (Severity::Medium, "")
        };
        let (path, line) = manifest_line(input, &v.version);
        out.push(finding(
            self.id(),
            severity,
            self.category(),
            format!("version `{}` has major {}{why}", v.version, v.major),
            path.as_deref(),
            line,
            Some(&v.version),
        ));
    }
}
