use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell;

use super::common::{
    Liveness, command_or_decoded, in_method, is_process_exec, program_name, python_sources,
};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Parses the command strings Python code hands to `os.system`, `os.popen`,
/// `subprocess.*` (including base64 literals decoded in place) as shell, and
/// finds the shapes of droppers and backdoors: a download piped into an
/// interpreter, `powershell -EncodedCommand`/`-enc` or `IEX`/`DownloadString`,
/// `certutil -urlcache`, `mshta http…`, `bitsadmin /transfer`, and reverse
/// shells (`/dev/tcp/`, `nc -e`).
///
/// ## Why is this bad?
/// None of these has an ordinary use inside a Python package: each fetches
/// and runs code the package does not contain, hides the command it runs, or
/// hands a remote party a shell.
///
/// ## Example
/// ```python
/// subprocess.Popen("powershell -WindowStyle Hidden -EncodedCommand SQBFAFgA…", shell=True)
/// ```
#[derive(Debug)]
pub struct ShellCommandDownload;

/// Why a command line is a dropper or backdoor, if it is one.
pub(crate) fn dropper_shape(text: &str) -> Option<String> {
    let facts = shell::parse(text);
    if facts.reverse_shell {
        return Some("opens a reverse shell".into());
    }
    if facts.pipes_into_interpreter {
        return Some("pipes a download into an interpreter".into());
    }
    if !facts.downloads.is_empty() && (facts.chmod_exec || !facts.runs.is_empty()) {
        return Some("downloads a file and runs it".into());
    }
    for c in &facts.commands {
        let Some(first) = c.argv.first() else {
            continue;
        };
        let name = program_name(first);
        let args: Vec<String> = c.argv[1..].iter().map(|a| a.to_ascii_lowercase()).collect();
        let has = |needle: &str| args.iter().any(|a| a.contains(needle));
        match name.as_str() {
            "powershell" | "pwsh" => {
                let encoded = args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-e" | "-en" | "-enc" | "-encodedcommand" | "-ec"
                    )
                });
                if encoded {
                    return Some("runs an encoded PowerShell command".into());
                }
                if has("downloadstring")
                    || has("downloadfile")
                    || has("invoke-webrequest")
                    || has("iwr ")
                    || has("iex")
                    || has("invoke-expression")
                    || has("frombase64string")
                {
                    return Some("PowerShell downloads or evaluates code".into());
                }
            }
            "certutil" if has("-urlcache") || has("/urlcache") || has("-decode") => {
                return Some("uses certutil to fetch or decode a file".into());
            }
            "mshta" if has("http") || has("javascript:") || has("vbscript:") => {
                return Some("runs a remote or inline HTA with mshta".into());
            }
            "bitsadmin" if has("/transfer") || has("/addfile") => {
                return Some("downloads with bitsadmin".into());
            }
            "regsvr32" if has("http") || has("scrobj") => {
                return Some("regsvr32 runs a remote scriptlet".into());
            }
            _ => {}
        }
    }
    None
}

impl Rule for ShellCommandDownload {
    fn id(&self) -> &'static str {
        "PY-SHELL-COMMAND-DOWNLOAD"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "Python runs a shell command that downloads and executes, encoded PowerShell, or a reverse shell"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                if !is_process_exec(&call.callee) {
                    continue;
                }
                let Some(text) = command_or_decoded(call) else {
                    continue;
                };
                let Some(why) = dropper_shape(&text) else {
                    continue;
                };
                let in_method = in_method(call.scope.as_deref());
                let top = live.runs(call) || in_method;
                let severity = weigh(Severity::High, file.runs_at, top);
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` {why}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
