use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::Arg;

use super::common::{Liveness, hidden_code, is_code_eval, python_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds `exec`/`eval`/`compile` of code hidden in ways the decode-chain rule
/// (`EXEC-DECODED-PAYLOAD`) does not see: strings reversed with `[::-1]`,
/// Fernet/AES `decrypt`, byte lists turned into code, a local lambda that
/// decodes (`_ = lambda s: zlib.decompress(base64.b64decode(s[::-1])); exec(_(b"…"))`),
/// or a variable decoded a few lines earlier (`code = base64.b64decode(x); exec(code)`).
/// Also finds builtins looked up by a computed name
/// (`getattr(__builtins__, oct.__str__()[-3] + …)`), which hides `chr`, `exec`
/// or `open` from every reader.
///
/// ## Why is this bad?
/// Code that is encrypted, reversed or decoded just before it runs is hidden
/// from reviewers on purpose; packages have no honest reason to do it. At
/// install or import time it is close to proof of a payload.
///
/// ## Example
/// ```python
/// from cryptography.fernet import Fernet
/// exec(Fernet(b"k…").decrypt(b"gAAAA…"))
/// ```
#[derive(Debug)]
pub struct ObfuscatedStringExec;

impl Rule for ObfuscatedStringExec {
    fn id(&self) -> &'static str {
        "PY-OBFUSCATED-STRING-EXEC"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "exec/eval of reversed, decrypted or locally decoded code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            let live = Liveness::of(file, source, input, &Default::default());
            let mut hidden_builtin = 0usize;
            for call in &source.calls {
                if call.callee == "getattr"
                    && matches!(
                        call.args.first(),
                        Some(Arg::Name(n)) if n == "__builtins__" || n == "builtins"
                    )
                    && matches!(call.args.get(1), Some(Arg::Other | Arg::Call { .. }))
                {
                    hidden_builtin += 1;
                    if hidden_builtin > 1 {
                        continue;
                    }
                    out.push(finding(
                        self.id(),
                        weigh(Severity::Medium, file.runs_at, live.runs(call)),
                        self.category(),
                        "a builtin is looked up by a computed name",
                        Some(&file.path),
                        Some(call.line),
                        Some(&call.snippet),
                    ));
                }
            }
            for call in &source.calls {
                if !is_code_eval(&call.callee) {
                    continue;
                }
                let Some(how) = hidden_code(call, source) else {
                    continue;
                };
                let severity = weigh(Severity::High, file.runs_at, live.runs(call));
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` runs code hidden by {how}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
