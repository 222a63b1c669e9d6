//! JS-REWRITES-MODULE-CODE: JavaScript overwrites its own source or another installed module's.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::Arg;

use super::common::{context, js_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds JavaScript that writes to a module's source file: its own (`__filename`) or
/// another installed package's, found with `require.resolve(…)`
/// (`fs.writeFileSync(require.resolve('dep'), …)`, also through a local bound to it).
/// High, raised when the write runs by itself at install or import time, lowered in code
/// that only runs when called.
///
/// ## Why is this bad?
/// Installed code is not data: a module that rewrites itself erases the evidence of what
/// it just did (a one-shot payload that deletes itself from the file after running), and
/// one that rewrites a dependency's source patches its behaviour on the victim's machine
/// — sabotage or a backdoor that no lockfile or registry page shows.
///
/// ## Example
/// ```javascript
/// const fs = require("fs");
/// const dep = require.resolve("some-dep");
/// fs.writeFileSync(dep, fs.readFileSync(dep, "utf8").replace(/check\(\);/, ""));
/// fs.writeFileSync(__filename, "module.exports = {};");
/// ```
#[derive(Debug)]
pub struct RewritesModuleCode;

const FILE_WRITES: &[&str] = &[
    "fs.writeFile",
    "fs.writeFileSync",
    "fs.appendFile",
    "fs.appendFileSync",
    "fs.createWriteStream",
    "fs.promises.writeFile",
    "fs.promises.appendFile",
];

/// Which module file a write's path denotes, if any.
fn module_file(path: &Arg) -> Option<&'static str> {
    match path {
        Arg::Name(n) if n == "__filename" => Some("its own source file"),
        Arg::Call { callee, .. } if callee == "require.resolve" => {
            Some("another installed module's source file")
        }
        _ => None,
    }
}

impl Rule for RewritesModuleCode {
    fn id(&self) -> &'static str {
        "JS-REWRITES-MODULE-CODE"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "JavaScript overwrites its own source or another installed module's"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let runs_at = context(input, file);
            for call in facts
                .calls
                .iter()
                .filter(|c| FILE_WRITES.contains(&c.callee.as_str()))
            {
                let Some(what) = call.args.first().and_then(module_file) else {
                    continue;
                };
                let severity = weigh(Severity::High, runs_at, call.scope.is_none());
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` overwrites {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
