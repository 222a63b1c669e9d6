use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::Arg;

use crate::rules::catalog::{CODE_EVAL, DECODE, is};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds code evaluated straight out of a decoder: `exec`/`eval`/`compile`/
/// `Function`/`vm.run*` whose argument is (or contains) a call that decodes or
/// decompresses data — base64, hex, zlib, marshal, `chr` joins, `Buffer.from`,
/// `atob`, `String.fromCharCode`.
///
/// ## Why is this bad?
/// Legitimate code has no reason to hide the code it runs. Wrapping a payload in
/// an encoding and evaluating it at run time is the commonest way malicious
/// packages keep their real behaviour out of sight of reviewers and scanners.
/// In code that runs by itself at install or import time it is close to proof.
///
/// ## Example
/// ```python
/// import base64
/// exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk="))
/// ```
/// ```javascript
/// eval(Buffer.from(payload, "base64").toString());
/// ```
#[derive(Debug)]
pub struct DecodedEval;

impl Rule for DecodedEval {
    fn id(&self) -> &'static str {
        "EXEC-DECODED-PAYLOAD"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "code evaluated from decoded or decompressed data"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, call) in input.calls() {
            if !is(CODE_EVAL, &call.callee) {
                continue;
            }
            // `setTimeout(fn, ms)` is ordinary; only a decoded *string* argument counts.
            let decoders: Vec<&str> = call
                .args
                .first()
                .into_iter()
                .flat_map(Arg::nested_callees)
                .filter(|c| is(DECODE, c))
                .collect();
            if decoders.is_empty() {
                continue;
            }
            let severity = weigh(Severity::High, file.runs_at, call.scope.is_none());
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` runs code decoded by `{}`",
                    call.callee,
                    decoders.join("` → `")
                ),
                Some(&file.path),
                Some(call.line),
                Some(&call.snippet),
            ));
        }
    }
}
