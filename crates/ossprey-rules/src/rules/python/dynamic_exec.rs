use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;

use super::common::{
    Liveness, hidden_code, in_install_method, is_code_eval, is_local_read, is_test_path,
    python_sources,
};
use crate::rules::catalog::{DECODE, is};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds `exec`/`eval`/`compile` of code that is not a literal and not a local
/// file read, in code that runs by itself: the top level of install- and
/// import-time files (and functions that code calls), and `cmdclass` methods.
/// Decoded payloads are left to `EXEC-DECODED-PAYLOAD` and other hidden code
/// to `PY-OBFUSCATED-STRING-EXEC`.
///
/// ## Why is this bad?
/// Evaluating a string that comes from somewhere else — a variable filled from
/// the network, a computed value — at install or import time runs code nobody
/// can read in the package. Reading the package's own `version.py` with
/// `exec(open(...).read())` is the common benign use and is not reported.
///
/// ## Example
/// ```python
/// payload = fetch_payload()
/// exec(payload)
/// ```
#[derive(Debug)]
pub struct DynamicExec;

/// `exec(TEMPLATE)`, `exec(compile(ASYNC_SOURCE, …))`: a module constant, i.e.
/// code written in the package itself.
fn names_constant(arg: &Arg) -> bool {
    let is_const = |n: &str| {
        n.chars().any(|c| c.is_ascii_uppercase())
            && n.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    match arg {
        Arg::Name(n) => is_const(n),
        Arg::Call { callee, args } if callee == "compile" => {
            matches!(args.first(), Some(Arg::Name(n)) if is_const(n))
        }
        _ => false,
    }
}

impl Rule for DynamicExec {
    fn id(&self) -> &'static str {
        "PY-DYNAMIC-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "exec/eval of non-literal code at install or import time"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if file.runs_at == RunsAt::Runtime || is_test_path(&file.path) {
                continue;
            }
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                if !is_code_eval(&call.callee) {
                    continue;
                }
                let cmdclass_method = in_install_method(file, call);
                if !((call.scope.is_none() && live.runs(call)) || cmdclass_method) {
                    continue;
                }
                let Some(arg) = call.args.first() else {
                    continue;
                };
                if matches!(arg, Arg::Str(_) | Arg::Const(_))
                    || names_constant(arg)
                    || arg.nested_callees().iter().any(|c| is(DECODE, c))
                    || is_local_read(arg, &call.snippet)
                    || hidden_code(call, source).is_some()
                {
                    continue;
                }
                // `compile(src, path, "exec")` fed to `exec` is reported once, at `exec`.
                if call.callee == "compile"
                    && source.calls.iter().any(|c| {
                        c.line == call.line && c.callee != "compile" && is_code_eval(&c.callee)
                    })
                {
                    continue;
                }
                let lower = call.snippet.to_ascii_lowercase();
                let severity = if lower.contains("version") {
                    Severity::Low
                } else {
                    Severity::Medium
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!(
                        "`{}` runs non-literal code in code that runs by itself ({})",
                        call.callee,
                        if file.runs_at == RunsAt::Install {
                            "install time"
                        } else {
                            "import time"
                        }
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
