use ossprey_model::{Category, Finding, Severity};
use ossprey_static::metadata::Technique;

use super::manifest_line;
use crate::{Input, Rule, finding};

/// Targets this popular (0-based rank) make a near-miss worth more.
const TOP_TARGETS: usize = 500;

/// ## What it does
/// Reports a package name that imitates a popular package of its ecosystem:
/// one edit or an adjacent swap away (`reqeusts`), separator or affix confusion
/// (`python-requests`, `requests-py`), look-alike characters, duplicated
/// characters, or npm scope confusion. Popular packages are never reported.
///
/// ## Why is this bad?
/// Typosquats catch people who mistype a name or trust a plausible one. A
/// near-miss alone is weak — 1–2% of ordinary names are near some popular name
/// — so this is low, medium when the imitated package is among the ~500 most
/// popular and the technique is specific (not an affix, not one edit to a
/// name shorter than six characters); the score rises when the package also runs code at install time.
///
/// ## Example
/// ```text
/// Name: reqeusts        # adjacent swap of `requests`
/// ```
#[derive(Debug)]
pub struct Typosquat;

impl Rule for Typosquat {
    fn id(&self) -> &'static str {
        "META-TYPOSQUAT"
    }
    fn category(&self) -> Category {
        Category::TYPOSQUATTING
    }
    fn summary(&self) -> &'static str {
        "the package name imitates a popular package"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let (Some(m), Some(name)) = (&input.metadata.typosquat, &input.metadata.name) else {
            return;
        };
        // Affixes (`color-name-api`) and one edit to a short name (`odiff`)
        // produce ordinary names too often to weigh more than low.
        let specific = match m.technique {
            Technique::Affix => false,
            Technique::EditDistance => name.chars().count() >= 6,
            _ => true,
        };
        let severity = if specific && m.target_rank < TOP_TARGETS {
            Severity::Medium
        } else {
            Severity::Low
        };
        let (path, line) = manifest_line(input, name);
        out.push(finding(
            self.id(),
            severity,
            self.category(),
            format!(
                "`{name}` imitates popular package `{}` (#{} on the list) by {}",
                m.target,
                m.target_rank + 1,
                m.technique.as_str()
            ),
            path.as_deref(),
            line,
            Some(name),
        ));
    }
}
