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

/// Method names that decode only with the right argument: `'\n'.join(lines)`
/// and `data.decode('utf-8')` are everyday code; `''.join(chr(c) for c in …)`
/// and `s.decode('rot13')` are not.
const CONDITIONAL: &[&str] = &["?.join", "?.decode", "?.reverse"];
const CODECS: &[&str] = &[
    "base64", "base_64", "hex", "rot13", "rot_13", "zlib", "zip", "bz2", "uu", "uu_codec",
];
const CHAR_CODES: &[&str] = &["chr", "String.fromCharCode", "?.fromCharCode", "unichr"];

/// Decoder callees inside `arg`, outermost first.
fn collect_decoders<'a>(arg: &'a Arg, out: &mut Vec<&'a str>) {
    match arg {
        Arg::Call { callee, args } => {
            let counts = match callee.as_str() {
                // A join of character codes, or of a literal list of string pieces.
                "?.join" => args.iter().any(|a| {
                    a.nested_callees().iter().any(|c| CHAR_CODES.contains(c))
                        || matches!(a, Arg::List(items) if items.len() >= 2 && items.iter().all(|i| matches!(i, Arg::Str(_) | Arg::Const(_))))
                }),
                // `.decode()` of bytes with the default codec, or with a decoding codec;
                // an explicit text encoding (`.decode("utf-8")`) is ordinary I/O.
                "?.decode" => {
                    args.is_empty()
                        || args.iter().any(|a| {
                            a.as_str().is_some_and(|s| CODECS.contains(&s.to_ascii_lowercase().as_str()))
                        })
                }
                "?.reverse" => false,
                c => is(DECODE, c) && !CONDITIONAL.contains(&c),
            };
            if counts {
                out.push(callee);
            }
            for a in args {
                collect_decoders(a, out);
            }
        }
        Arg::List(items) => items.iter().for_each(|a| collect_decoders(a, out)),
        _ => {}
    }
}

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
            let mut decoders = Vec::new();
            if let Some(arg) = call.args.first() {
                collect_decoders(arg, &mut decoders);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(callee: &str, args: Vec<Arg>) -> Arg {
        Arg::Call {
            callee: callee.into(),
            args,
        }
    }

    #[test]
    fn join_and_decode_count_only_with_decoding_arguments() {
        let decoders = |arg: Arg| {
            let mut out = Vec::new();
            collect_decoders(&arg, &mut out);
            out.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        // '\n'.join(lines): ordinary code generation (babel's plural compiler).
        assert!(decoders(call("?.join", vec![Arg::Name("result".into())])).is_empty());
        // raw.decode("utf-8"): ordinary text I/O.
        assert!(decoders(call("?.decode", vec![Arg::Str("utf-8".into())])).is_empty());

        let pieces = Arg::List(vec![Arg::Str("imp".into()), Arg::Str("ort os".into())]);
        assert_eq!(decoders(call("?.join", vec![pieces])), ["?.join"]);
        let codes = Arg::List(vec![call("chr", vec![Arg::Name("c".into())])]);
        assert_eq!(decoders(call("?.join", vec![codes])), ["?.join", "chr"]);
        assert_eq!(
            decoders(call("?.decode", vec![Arg::Str("rot13".into())])),
            ["?.decode"]
        );
        assert_eq!(decoders(call("?.decode", vec![])), ["?.decode"]);
    }
}
