use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::Arg;

use super::common::{Liveness, is_code_eval, python_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds `eval`/`exec`/`compile` of a string literal written almost entirely
/// as escape sequences (`eval("\145\166\x61\154")`, `exec("\x69\x6d…")`).
///
/// ## Why is this bad?
/// An escape sequence for every character says nothing a plain literal could
/// not, except that a reader (or a scanner) should not see it. Obfuscators
/// spell `eval`, `compile` and `__import__('base64')` this way to bootstrap
/// a payload; honest code that evaluates a string writes it legibly.
/// Weighed by when the code runs: critical at the top level of an
/// install- or import-time file.
///
/// ## Example
/// ```python
/// _e = eval("\145\166\x61\154")
/// _e(_e("\x63\157\x6d\160\x69\154\x65")("…", "", "exec"))
/// ```
#[derive(Debug)]
pub struct EscapedCodeEval;

/// Fewest escape sequences, and the smallest share of the literal's
/// characters they must make up, for a literal to count as escape-encoded.
const MIN_ESCAPES: usize = 3;
const MIN_ESCAPED_PERCENT: usize = 80;

/// Counts `(escape sequences, characters)` in the first string literal of a
/// call's source text, or `None` when there is none or it is raw. Linear in
/// the snippet, which is bounded.
fn escape_share(snippet: &str) -> Option<(usize, usize)> {
    let open = snippet.find('(')?;
    let rest = snippet.get(open + 1..)?.trim_start();
    let prefix_len = rest
        .chars()
        .take_while(|c| matches!(c, 'b' | 'B' | 'u' | 'U' | 'f' | 'F' | 'r' | 'R'))
        .count();
    let prefix = rest.get(..prefix_len)?;
    if prefix.contains(['r', 'R']) {
        return None;
    }
    let rest = rest.get(prefix_len..)?;
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut chars = rest.chars().skip(1).peekable();
    let (mut escapes, mut total) = (0usize, 0usize);
    while let Some(c) = chars.next() {
        if c == quote {
            return Some((escapes, total));
        }
        total += 1;
        if c != '\\' {
            continue;
        }
        let Some(kind) = chars.next() else { break };
        match kind {
            'x' => {
                escapes += 1;
                for _ in 0..2 {
                    chars.next_if(char::is_ascii_hexdigit);
                }
            }
            'u' | 'U' | 'N' => {
                escapes += 1;
                while chars
                    .next_if(|c| c.is_ascii_alphanumeric() || matches!(c, '{' | '}'))
                    .is_some()
                {}
            }
            '0'..='7' => {
                escapes += 1;
                for _ in 0..2 {
                    chars.next_if(|c| ('0'..='7').contains(c));
                }
            }
            // `\n`, `\t`, `\\`, `\'`: ordinary escapes, one plain character.
            _ => {}
        }
    }
    None
}

impl Rule for EscapedCodeEval {
    fn id(&self) -> &'static str {
        "PY-ESCAPED-CODE-EVAL"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "eval/exec of a string literal spelled in escape sequences"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                if !is_code_eval(&call.callee) || !matches!(call.args.first(), Some(Arg::Str(_))) {
                    continue;
                }
                let Some((escapes, total)) = escape_share(&call.snippet) else {
                    continue;
                };
                if escapes < MIN_ESCAPES || escapes * 100 < total * MIN_ESCAPED_PERCENT {
                    continue;
                }
                out.push(finding(
                    self.id(),
                    weigh(Severity::High, file.runs_at, live.runs(call)),
                    self.category(),
                    format!(
                        "`{}` evaluates a literal written as {escapes} escape sequences",
                        call.callee
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

    #[test]
    fn measures_escapes_of_the_first_literal() {
        assert_eq!(escape_share(r#"eval("\145\166\x61\154")"#), Some((4, 4)));
        assert_eq!(escape_share(r#"exec("print('a\n')")"#), Some((0, 11)));
        assert_eq!(escape_share(r#"eval(r"\x41\x42\x43")"#), None);
        assert_eq!(escape_share(r#"eval(b'\u0041\N{DASH}')"#), Some((2, 2)));
        assert_eq!(escape_share("eval(name)"), None);
        // Unterminated (the snippet was cut): not judged.
        assert_eq!(escape_share(r#"eval("\x41\x42"#), None);
    }
}
