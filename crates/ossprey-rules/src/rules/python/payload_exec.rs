use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::Arg;

use super::common::{hidden_code, is_code_eval, is_strong_decoder, is_test_path, python_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a complete hidden-payload runner anywhere in a package's Python code,
/// also inside functions nothing calls at import: `exec`/`eval` of a marshalled
/// code object (`exec(marshal.loads(…))`), of a long literal run through a
/// decoder (`exec(zlib.decompress(base64.b64decode("…200+ chars…")))`), or, at
/// module level, of code hidden by reversal, substitution or decryption.
///
/// ## Why is this bad?
/// The rules that weigh *when* code runs lower a function that only runs when
/// called. But a function that unpacks a large encoded blob and executes it is
/// a whole malicious capability on its own: a library has no honest reason to
/// ship its own code as an encoded string and run it, so where it sits does not
/// make it less of a payload.
///
/// ## Example
/// ```python
/// import marshal, base64
/// def helper():
///     exec(marshal.loads(base64.b32decode(b"MMAAAAAA…")))
/// ```
#[derive(Debug)]
pub struct PayloadExec;

/// Shortest encoded literal that counts as a payload rather than a snippet.
const MIN_PAYLOAD_CHARS: usize = 200;

/// The longest string literal in `arg` or any call nested in it (bounded by
/// the facts' own nesting depth).
fn longest_literal(arg: &Arg) -> usize {
    let mut best = 0;
    let mut stack = vec![arg];
    while let Some(a) = stack.pop() {
        match a {
            Arg::Str(s) => best = best.max(s.chars().count()),
            Arg::Call { args, .. } | Arg::List(args) => stack.extend(args.iter()),
            _ => {}
        }
    }
    best
}

impl Rule for PayloadExec {
    fn id(&self) -> &'static str {
        "PY-PAYLOAD-EXEC"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "exec of a marshalled or decoded embedded payload, wherever it sits"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if is_test_path(&file.path) {
                continue;
            }
            for call in &source.calls {
                if !is_code_eval(&call.callee) {
                    continue;
                }
                let Some(arg) = call.args.first() else {
                    continue;
                };
                let nested = arg.nested_callees();
                let why = if nested.contains(&"marshal.loads") {
                    Some("a marshalled code object".to_owned())
                } else if nested.iter().any(|c| is_strong_decoder(c))
                    && longest_literal(arg) >= MIN_PAYLOAD_CHARS
                {
                    Some(format!(
                        "a {}-character literal decoded in place",
                        longest_literal(arg)
                    ))
                } else if call.scope.is_none() {
                    hidden_code(call, source)
                } else {
                    None
                };
                let Some(why) = why else { continue };
                out.push(finding(
                    self.id(),
                    Severity::Critical,
                    self.category(),
                    format!("`{}` runs {why}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
