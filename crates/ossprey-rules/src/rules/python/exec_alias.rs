use ossprey_model::{Category, Finding, Severity};

use super::common::python_sources;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds `exec` or `eval` handed out under new names in a tuple assignment
/// of three or more values (`_a, _b, _c = exec, str, ord`,
/// `self._d, self._x = lambda s: …, eval, …`).
///
/// ## Why is this bad?
/// Python obfuscators rename the builtins they need in one swoop so that the
/// rest of the file calls `Statistics(code)` instead of `exec(code)` and no
/// reader or scanner sees where code is run. Honest code calls `exec` by its
/// name; a compatibility alias binds one name, not a tuple of builtins. The
/// shape is the obfuscator's, wherever the file sits in the package, so it is
/// critical on its own.
///
/// ## Example
/// ```python
/// _run, _s, _t = exec, str, tuple
/// _run(_s(payload))
/// ```
#[derive(Debug)]
pub struct ExecAlias;

/// Fewest values in the tuple assignment.
const MIN_VALUES: usize = 3;

/// Splits `text` at commas outside brackets and string literals. Linear.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut escaped, mut start) = (0i32, None::<char>, false, 0usize);
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The byte offset of a statement's assignment `=` (not `==`, `<=`, `+=`, a
/// keyword argument or anything in brackets or strings), if any.
fn assignment_at(statement: &str) -> Option<usize> {
    let bytes = statement.as_bytes();
    let (mut depth, mut quote) = (0i32, None::<u8>);
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'=' if depth == 0 => {
                let prev = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
                let next = bytes.get(i + 1).copied();
                let compound = prev.is_some_and(|p| b"=!<>+-*/%&|^@:".contains(&p));
                if !compound && next != Some(b'=') {
                    return Some(i);
                }
                return None;
            }
            _ => {}
        }
    }
    None
}

/// Whether one statement binds `exec`/`eval` to a new name in a tuple assignment.
fn aliases_exec(statement: &str) -> Option<&'static str> {
    let at = assignment_at(statement)?;
    let (targets, values) = (statement.get(..at)?, statement.get(at + 1..)?);
    if split_top_level(targets).len() < 2 {
        return None;
    }
    let values = split_top_level(values);
    if values.len() < MIN_VALUES {
        return None;
    }
    values.iter().map(|v| v.trim()).find_map(|v| match v {
        "exec" => Some("exec"),
        "eval" => Some("eval"),
        _ => None,
    })
}

impl Rule for ExecAlias {
    fn id(&self) -> &'static str {
        "PY-EXEC-ALIAS"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "exec/eval renamed in a tuple assignment of builtins, as obfuscators do"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, _) in python_sources(input) {
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            for (idx, line) in text.lines().enumerate() {
                // Cheap filter first: most lines never mention either name.
                if !(line.contains("exec") || line.contains("eval")) {
                    continue;
                }
                let hit = line
                    .split(';')
                    .find_map(|statement| aliases_exec(statement.trim()));
                let Some(name) = hit else { continue };
                out.push(finding(
                    self.id(),
                    Severity::Critical,
                    self.category(),
                    format!("`{name}` is renamed in a tuple assignment of builtins"),
                    Some(&file.path),
                    u32::try_from(idx + 1).ok(),
                    Some(line.trim()),
                ));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exec_renamed_among_builtins() {
        assert_eq!(
            aliases_exec("_a, _b, _c, _d = exec, str, tuple, map"),
            Some("exec")
        );
        assert_eq!(
            aliases_exec("self._d,self._e,self._b=lambda s:''.join(s),eval,'abc'"),
            Some("eval")
        );
    }

    #[test]
    fn ignores_ordinary_assignments() {
        // A compatibility alias of one name.
        assert_eq!(aliases_exec("exec_ = exec"), None);
        assert_eq!(aliases_exec("a, b = exec, eval"), None);
        // Calls, comparisons and keyword arguments are not bindings.
        assert_eq!(aliases_exec("x, y, z = f(exec, eval, 1)"), None);
        assert_eq!(aliases_exec("a == exec, eval, x"), None);
        assert_eq!(aliases_exec("parser.add_argument('-x', type=eval)"), None);
        assert_eq!(aliases_exec("mode, kind, n = 'exec', 'eval', 3"), None);
    }
}
