use ossprey_model::{Category, FileKind, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::text::MarkerKind;

use crate::{Input, Rule, finding};

/// ## What it does
/// Finds Python files carrying the signature of a packer or obfuscator:
/// PyArmor's runtime (`__pyarmor__`, `pyarmor_runtime`, `from pytransform
/// import`), a serialised code object run in place (`exec(marshal.loads(…))`),
/// the lambda-chain obfuscators (`_ = lambda __ : …`, PyObfuscate), or builtins
/// looked up by names computed from other objects' text
/// (`getattr(__builtins__, oct.__str__()[-3] + …)`), which obfuscators emit to
/// spell `chr` and `exec` without writing them.
///
/// ## Why is this bad?
/// A packed module cannot be reviewed: whatever it does is decided by bytes no
/// reader can see. Commercial packages sometimes ship PyArmor-protected code, so
/// packed code that only runs when called is medium; packed code that runs by
/// itself when the package is installed or imported is high.
///
/// ## Example
/// ```python
/// import marshal, zlib, base64
/// exec(marshal.loads(zlib.decompress(base64.b64decode("eJyN…"))))
/// ```
#[derive(Debug)]
pub struct PyPacker;

fn describe(kind: MarkerKind) -> Option<&'static str> {
    match kind {
        MarkerKind::Pyarmor => Some("PyArmor runtime"),
        MarkerKind::MarshalExec => Some("`exec` of a marshalled code object"),
        MarkerKind::PythonObfuscator => Some("Python obfuscator signature"),
        _ => None,
    }
}

impl Rule for PyPacker {
    fn id(&self) -> &'static str {
        "OBF-PY-PACKER"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "Python code packed by PyArmor, marshal-exec or a lambda-chain obfuscator"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for file in &input.facts.files {
            if file.kind != FileKind::Python {
                continue;
            }
            let marker = file
                .text
                .obfuscation
                .markers
                .iter()
                .find_map(|m| describe(m.kind).map(|w| (m.line, w)))
                .or_else(|| builtins_by_arithmetic(input, &file.path));
            let Some((line, what)) = marker else {
                continue;
            };
            let severity = if file.runs_at == RunsAt::Runtime {
                Severity::Medium
            } else {
                Severity::High
            };
            let when = match file.runs_at {
                RunsAt::Install => " that runs at install time",
                RunsAt::Import => " that runs on import",
                RunsAt::Runtime => "",
            };
            let snippet = line_text(input, &file.path, line);
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!("{what} in a Python file{when}"),
                Some(&file.path),
                Some(line),
                snippet.as_deref(),
            ));
        }
    }
}

/// The text of 1-based `line` of `path`, for evidence.
pub(crate) fn line_text(input: &Input<'_>, path: &str, line: u32) -> Option<String> {
    let content = input.files.content(path)?;
    let idx = usize::try_from(line.checked_sub(1)?).ok()?;
    let raw = content.split(|&b| b == b'\n').nth(idx)?;
    let raw = &raw[..raw.len().min(800)];
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// Builtins fetched by computed names, repeatedly: `getattr(__builtins__, x)`
/// where the name is sliced out of some object's `__str__()`. Returns the first
/// line and a description.
fn builtins_by_arithmetic(input: &Input<'_>, path: &str) -> Option<(u32, &'static str)> {
    const MIN: usize = 3;
    use memchr::memmem;
    // Runs on every Python file: byte searches that stop at the first match
    // (almost no file has one) rather than decoding the file and counting
    // every occurrence. The needles are ASCII, so invalid UTF-8 changes nothing.
    let content = input.files.content(path)?;
    let at = memmem::find(content, b"getattr(__builtins__")?;
    let lookups = memmem::find_iter(content, b"getattr(__builtins__")
        .take(MIN)
        .count();
    let sliced = memmem::find_iter(content, b".__str__()[").take(MIN).count();
    if lookups < MIN || sliced < MIN {
        return None;
    }
    Some((
        crate::input::line_at(content, at),
        "builtins looked up by computed names",
    ))
}
