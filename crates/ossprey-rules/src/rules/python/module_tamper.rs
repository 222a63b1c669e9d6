use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::{Arg, Call};

use super::common::{is_test_path, python_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds code that opens another module's source file for writing or
/// appending: `open(inspect.getsourcefile(socket), "ab+")`,
/// `open(requests.__file__, "a")`.
///
/// ## Why is this bad?
/// Appending to an installed module (often the standard library) plants code
/// that runs in every later program importing it, long after the package is
/// gone. Packages read their own files through `__file__`; they never write
/// into other modules.
///
/// ## Example
/// ```python
/// import inspect, socket
/// open(inspect.getsourcefile(socket), "a").write(open("payload.py").read())
/// ```
#[derive(Debug)]
pub struct ModuleTamper;

/// Standard-library modules whose source malware appends to, because every
/// Python program imports them.
const STDLIB_TARGETS: &[&str] = &[
    "os",
    "socket",
    "ssl",
    "subprocess",
    "site",
    "sys",
    "json",
    "base64",
    "random",
    "re",
    "logging",
    "threading",
    "urllib",
    "http",
    "email",
    "hashlib",
    "typing",
    "collections",
];

/// Whether the path argument names another module's file.
fn module_file(arg: &Arg) -> bool {
    match arg {
        Arg::Call { callee, .. } => matches!(
            callee.as_str(),
            "inspect.getsourcefile" | "inspect.getfile" | "inspect.getabsfile"
        ),
        // `socket.__file__`: a standard-library module. A package's own
        // modules are left out — code generators rewrite those legitimately.
        Arg::Name(n) => n
            .strip_suffix(".__file__")
            .is_some_and(|m| STDLIB_TARGETS.contains(&m)),
        _ => false,
    }
}

/// Whether the mode argument writes or appends.
fn writes(call: &Call) -> bool {
    let mode = call.args.get(1).or_else(|| {
        call.kwargs
            .iter()
            .find(|(k, _)| k == "mode")
            .map(|(_, a)| a)
    });
    matches!(mode, Some(Arg::Str(m)) if m.contains(['a', 'w', '+']))
}

impl Rule for ModuleTamper {
    fn id(&self) -> &'static str {
        "PY-MODULE-TAMPER"
    }
    fn category(&self) -> Category {
        Category::PERSISTENCE
    }
    fn summary(&self) -> &'static str {
        "writes into another installed module's source file"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if is_test_path(&file.path) {
                continue;
            }
            for call in &source.calls {
                if !matches!(call.callee.as_str(), "open" | "io.open" | "codecs.open") {
                    continue;
                }
                let Some(path) = call.args.first() else {
                    continue;
                };
                if !module_file(path) || !writes(call) {
                    continue;
                }
                out.push(finding(
                    self.id(),
                    weigh(Severity::High, file.runs_at, call.scope.is_none()),
                    self.category(),
                    "opens another module's source file for writing",
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
