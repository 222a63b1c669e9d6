use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{context, is_js_exec, is_js_network, js_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds `child_process`/`execa`/`shelljs` calls and network requests at the top
/// level of the package's entry point (npm `main`, and the local modules it requires)
/// — code that runs as soon as anyone `require`s the package, before any of its
/// functions is called.
///
/// ## Why is this bad?
/// A library's entry point defines functions and exports; it does not run programs or
/// phone home on load. Malware puts its payload there so that merely importing the
/// package (including by a test runner or a bundler's dependency scan) triggers it.
///
/// ## Example
/// ```javascript
/// // index.js, the package's main
/// require("child_process").exec("id > /tmp/x");
/// module.exports = {};
/// ```
#[derive(Debug)]
pub struct ImportTimeExec;

impl Rule for ImportTimeExec {
    fn id(&self) -> &'static str {
        "JS-IMPORT-TIME-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "entry point runs programs or contacts the network when required"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            if context(input, file) != RunsAt::Import {
                continue;
            }
            for call in facts.calls.iter().filter(|c| c.scope.is_none()) {
                let what = if is_js_exec(&call.callee) {
                    "runs a program"
                } else if is_js_network(&call.callee) {
                    "contacts the network"
                } else {
                    continue;
                };
                out.push(finding(
                    self.id(),
                    weigh(Severity::Medium, RunsAt::Import, true),
                    self.category(),
                    format!("top level of the entry point {what} with `{}`", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
