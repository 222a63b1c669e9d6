use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{Liveness, in_install_method, is_test_path, python_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds strings spelled as lists of character codes
/// (`''.join([chr(x) for x in [47, 101, 116, 99]])`, `''.join(map(chr, [...]))`)
/// in code that runs at install or import time, decodes them, and reports what
/// they hide. A hidden path or URL there is critical at install time.
///
/// ## Why is this bad?
/// Writing `"/etc/passwd"` or `"~/.profile"` as numbers serves only to keep a
/// reader and a text scanner from seeing it. Build scripts and package
/// initialisers write their paths and URLs plainly; malware hides the
/// persistence target or the server it reports to.
///
/// ## Example
/// ```python
/// p = ''.join([chr(x) for x in [46, 112, 114, 111, 102, 105, 108, 101]])
/// open(home + p, "a").write(payload)
/// ```
#[derive(Debug)]
pub struct CharcodeString;

/// Fewest codes that make a hidden word rather than a separator.
const MIN_CODES: usize = 4;

/// The text hidden in a character-code list of a `join` snippet, if any.
fn decode_codes(snippet: &str) -> Option<String> {
    if !snippet.contains("chr") {
        return None;
    }
    // The list follows `in [` (comprehension) or `chr, [` (map).
    let start = snippet
        .find(" in [")
        .map(|i| i + 5)
        .or_else(|| snippet.find("chr, [").map(|i| i + 6))?;
    let rest = snippet.get(start..)?;
    let end = rest.find(']').unwrap_or(rest.len());
    let mut out = String::new();
    for word in rest.get(..end)?.split(',') {
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let n: u32 = word.parse().ok()?;
        out.push(char::from_u32(n)?);
    }
    (out.chars().count() >= MIN_CODES && !out.chars().any(char::is_control)).then_some(out)
}

/// Whether decoded text names a location: a path, a home-relative file or a URL.
fn names_location(text: &str) -> bool {
    text.starts_with('/')
        || text.starts_with('~')
        || text.starts_with('.')
        || text.contains(":\\")
        || text.contains("://")
}

impl Rule for CharcodeString {
    fn id(&self) -> &'static str {
        "PY-CHARCODE-STRING"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "strings hidden as character-code lists in install- or import-time code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in python_sources(input) {
            if file.runs_at == RunsAt::Runtime || is_test_path(&file.path) {
                continue;
            }
            let live = Liveness::of(file, source, input, &Default::default());
            for call in &source.calls {
                if !call.callee.ends_with("join") {
                    continue;
                }
                let cmdclass_method = in_install_method(file, call);
                if !(live.runs(call) || cmdclass_method) {
                    continue;
                }
                let Some(text) = decode_codes(&call.snippet) else {
                    continue;
                };
                let severity = match (names_location(&text), file.runs_at) {
                    (true, RunsAt::Install) => Severity::Critical,
                    (true, _) | (false, RunsAt::Install) => Severity::High,
                    (false, _) => Severity::Medium,
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("character codes hide the string {text:?}"),
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
    fn decodes_code_lists() {
        assert_eq!(
            decode_codes("''.join([chr(x) for x in [47, 101, 116, 99]])").as_deref(),
            Some("/etc")
        );
        assert_eq!(
            decode_codes("''.join(map(chr, [104, 111, 109, 101]))").as_deref(),
            Some("home")
        );
        assert_eq!(decode_codes("', '.join(names)"), None);
        assert_eq!(decode_codes("''.join([chr(x) for x in [1, 2]])"), None);
    }
}
