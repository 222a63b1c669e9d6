//! NPM-TYPOSQUAT-HOOK: a package named like a popular one runs code at install time.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{context, install_commands, is_js_exec, is_js_network, js_sources};
use crate::{Input, Rule, finding};
use ossprey_static::metadata::Technique;

/// Popularity rank below which an imitated name is worth a strong signal.
const TOP_TARGETS: usize = 500;

/// ## What it does
/// Fires when the package's name is a specific near-miss of one of the ~500 most popular
/// package names (the typosquat check of the metadata facts; not an affix, not one
/// edit to a name shorter than six characters) and the package has an npm install script
/// (`preinstall`, `install`, `postinstall`). High; critical when install-time
/// JavaScript of the package also starts programs or talks to the network.
///
/// ## Why is this bad?
/// A typosquat exists to be installed by mistake, and the install script is what runs
/// on the victim's machine the moment that happens — so the combination is the attack's
/// whole delivery path. A popular package is never its own typosquat, and genuine
/// packages with look-alike names rarely need an install script.
///
/// ## Example
/// ```json
/// { "name": "lodahs", "scripts": { "postinstall": "node setup.js" } }
/// ```
#[derive(Debug)]
pub struct TyposquatHook;

impl Rule for TyposquatHook {
    fn id(&self) -> &'static str {
        "NPM-TYPOSQUAT-HOOK"
    }
    fn category(&self) -> Category {
        Category::TYPOSQUATTING
    }
    fn summary(&self) -> &'static str {
        "a typosquatting name with an install script"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let (Some(squat), Some(name)) = (&input.metadata.typosquat, &input.metadata.name) else {
            return;
        };
        // Only the near-misses META-TYPOSQUAT weighs as medium: a specific technique
        // against one of the most popular names. Affixes and one edit to a short name
        // produce ordinary names too often.
        let specific = match squat.technique {
            Technique::Affix => false,
            Technique::EditDistance => name.chars().count() >= 6,
            _ => true,
        };
        if !specific || squat.target_rank >= TOP_TARGETS {
            return;
        }
        let scripts = install_commands(input);
        let Some(hook) = scripts.iter().find(|s| s.name != "script") else {
            return;
        };
        let capable = js_sources(input).find_map(|(file, facts)| {
            (context(input, file) == RunsAt::Install)
                .then(|| {
                    facts
                        .calls
                        .iter()
                        .find(|c| is_js_exec(&c.callee) || is_js_network(&c.callee))
                })
                .flatten()
        });
        let (severity, extra) = match capable {
            Some(call) => (
                Severity::Critical,
                format!("; install-time code calls `{}`", call.callee),
            ),
            None => (Severity::High, String::new()),
        };
        out.push(finding(
            self.id(),
            severity,
            self.category(),
            format!(
                "name imitates `{}` and the package runs a `{}` script{extra}",
                squat.target, hook.name
            ),
            Some(hook.path),
            hook.line,
            Some(&hook.command),
        ));
    }
}
