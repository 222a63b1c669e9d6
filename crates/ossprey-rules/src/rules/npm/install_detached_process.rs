//! JS-INSTALL-DETACHED-PROCESS: install-time JavaScript starts a process that outlives the install.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;

use super::common::{context, is_js_exec, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds `child_process.spawn`/`exec`/`execFile`/`fork` calls with `detached: true` in
/// files that run at install time: a program started so that it keeps running, in its
/// own process group, after `npm install` has finished. High wherever it sits in such a
/// file; critical when it is also hidden (`stdio: "ignore"`, `windowsHide: true`, or
/// `.unref()` so the installer does not wait for it).
///
/// ## Why is this bad?
/// A build step runs, finishes, and reports its exit status to npm. A detached child
/// (usually with `stdio: 'ignore'` and `.unref()`) is the opposite: a background process
/// nobody waits for or sees — how droppers launch the executable, miner or backdoor
/// they ship or download, out of sight of the installing user and of npm's logs.
///
/// ## Example
/// ```javascript
/// // index.js, run by "postinstall": "node ."
/// const { spawn } = require("child_process");
/// spawn("./payload.exe", { detached: true, stdio: "ignore" }).unref();
/// ```
#[derive(Debug)]
pub struct InstallDetachedProcess;

impl Rule for InstallDetachedProcess {
    fn id(&self) -> &'static str {
        "JS-INSTALL-DETACHED-PROCESS"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "install-time JavaScript starts a detached background process"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            if context(input, file) != RunsAt::Install {
                continue;
            }
            for call in facts.calls.iter().filter(|c| is_js_exec(&c.callee)) {
                let detached = call
                    .kwargs
                    .iter()
                    .any(|(k, v)| k == "detached" && matches!(v, Arg::Const(c) if c == "true"));
                if !detached {
                    continue;
                }
                // Discarding the child's output, or letting the installer exit without
                // waiting for it, is what keeps the payload out of the install log.
                let hidden = call.kwargs.iter().any(|(k, v)| {
                    k == "stdio" && matches!(v, Arg::Str(s) if s == "ignore")
                        || k == "windowsHide" && matches!(v, Arg::Const(c) if c == "true")
                }) || facts.calls.iter().any(|c| c.callee.ends_with(".unref"));
                let severity = if hidden {
                    Severity::Critical
                } else {
                    Severity::High
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!(
                        "install-time `{}` starts a detached process that outlives the install",
                        call.callee
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
