//! JS-INSTALL-DYNAMIC-EVAL: install-time JavaScript that evaluates code it computes.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{context, evaluates_computed_code, js_sources};
use crate::rules::catalog::{DECRYPT, is};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds `eval`, `Function`, and `vm` calls whose code is not a literal in files that
/// run at install time (the files npm install hooks run and the local modules they
/// require): code read from a data file, decrypted, downloaded or otherwise computed
/// while `npm install` runs. Critical at the top level of such a file, high inside a
/// function or callback of it. Outside install time it is reported only when the same
/// file also decrypts data (`crypto.createDecipheriv`, …) — decrypt-then-evaluate —
/// high at the top level of an entry point, lower in code that runs only when called.
/// A literal (`Function('return this')`) is never reported.
///
/// ## Why is this bad?
/// An install script builds and tests the package; it has no reason to evaluate code it
/// cannot show. Droppers keep their payload out of sight — encrypted in a JSON file,
/// hex in a string, fetched from a server — and evaluate it on install, so that neither
/// a reader nor a text search sees what runs.
///
/// ## Example
/// ```javascript
/// // install.js, run by "preinstall": "node install.js"
/// const fs = require("fs");
/// fs.readFile("data.json", (e, d) => eval(decrypt(JSON.parse(d).code)));
/// ```
#[derive(Debug)]
pub struct InstallDynamicEval;

impl Rule for InstallDynamicEval {
    fn id(&self) -> &'static str {
        "JS-INSTALL-DYNAMIC-EVAL"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "install-time JavaScript evaluates code it computes, or any code evaluates what it decrypts"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let runs_at = context(input, file);
            let decrypts = facts.calls.iter().any(|c| is(DECRYPT, &c.callee));
            if runs_at != RunsAt::Install && !decrypts {
                continue;
            }
            for call in &facts.calls {
                if !evaluates_computed_code(call) {
                    continue;
                }
                let top_level = call.scope.is_none();
                let when = match runs_at {
                    RunsAt::Install => "install-time",
                    RunsAt::Import => "import-time",
                    RunsAt::Runtime => "runtime",
                };
                let what = if decrypts {
                    "code computed at run time, in a file that decrypts data"
                } else {
                    "code computed at run time"
                };
                out.push(finding(
                    self.id(),
                    weigh(Severity::Medium, runs_at, top_level),
                    self.category(),
                    format!("{when} `{}` evaluates {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
