use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::text::{Blob, BlobKind, Magic};

use crate::rules::catalog::{CODE_EVAL, PROCESS_EXEC, is};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a large base64 or hex blob in a file that also evaluates code
/// (`exec`, `eval`, `compile`, `Function`, `vm.run*`), or a blob that decodes to
/// a native executable or compiled Python in a file that also starts
/// processes. Blobs that decode to images, fonts or PDFs, and source maps, are
/// not counted.
///
/// ## Why is this bad?
/// An embedded font or icon is an ordinary blob; a compressed or marshalled
/// blob next to `exec` is a payload waiting to be run. Shipping a program as
/// base64 and dropping it to disk to start it is a dropper.
///
/// ## Example
/// ```python
/// PAYLOAD = "eJzLSM3JyVcozy/KSQEAGgQEXQ==…"  # hundreds of characters
/// exec(zlib.decompress(base64.b64decode(PAYLOAD)))
/// ```
#[derive(Debug)]
pub struct EncodedBlobExec;

/// Decoded prefixes that are packed code or programs.
fn is_packed(magic: Option<Magic>) -> bool {
    matches!(
        magic,
        Some(
            Magic::Zlib
                | Magic::Gzip
                | Magic::Bzip2
                | Magic::Xz
                | Magic::Marshal
                | Magic::Pyc
                | Magic::Elf
                | Magic::Pe
                | Magic::MachO
        )
    )
}

fn is_program(magic: Option<Magic>) -> bool {
    matches!(
        magic,
        Some(Magic::Elf | Magic::Pe | Magic::MachO | Magic::Pyc | Magic::Marshal)
    )
}

/// Blobs that are data, not code: media, documents, source maps, and
/// undecodable runs (hashes, tables of digits) that say nothing.
fn is_candidate(blob: &Blob) -> bool {
    if is_packed(blob.magic) {
        return true;
    }
    if blob.magic.is_some() || !blob.printable || blob.len < 400 {
        return false;
    }
    // A printable decoded prefix: encoded source text. Source maps and
    // embedded JSON/SVG/CSS are the usual benign ones.
    let preview = blob.preview.as_deref().unwrap_or("").trim_start();
    !(preview.starts_with('{')
        || preview.starts_with('[')
        || preview.starts_with('<')
        || preview.starts_with('@')
        || preview.starts_with("/*")
        || blob.kind == BlobKind::Hex && blob.len < 1000)
}

fn magic_name(blob: &Blob) -> String {
    match blob.magic {
        Some(m) => format!("{m:?}").to_lowercase(),
        None => "printable text".to_owned(),
    }
}

impl Rule for EncodedBlobExec {
    fn id(&self) -> &'static str {
        "OBF-ENCODED-BLOB-EXEC"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "a large encoded blob in a file that evaluates code or starts a program"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in input.sources() {
            let Some(blob) = file.text.blobs.iter().find(|b| is_candidate(b)) else {
                continue;
            };
            let eval = source.calls.iter().find(|c| {
                is(CODE_EVAL, &c.callee)
                    && !matches!(c.callee.as_str(), "setTimeout" | "setInterval")
            });
            let exec = source
                .calls
                .iter()
                .find(|c| is(CODE_EVAL, &c.callee) || is(PROCESS_EXEC, &c.callee));
            let (call, verb) = match (eval, exec) {
                (Some(c), _) => (c, "evaluates code"),
                (None, Some(c)) if is_program(blob.magic) => (c, "starts a program"),
                _ => continue,
            };
            let strong = is_packed(blob.magic);
            let severity = match (file.runs_at, strong) {
                (RunsAt::Install | RunsAt::Import, true) => Severity::Critical,
                (RunsAt::Install | RunsAt::Import, false) | (RunsAt::Runtime, true) => {
                    Severity::High
                }
                (RunsAt::Runtime, false) => Severity::Medium,
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "{}-character {} blob (decodes to {}) at line {} in a file that {verb} (`{}`)",
                    blob.len,
                    match blob.kind {
                        BlobKind::Base64 => "base64",
                        BlobKind::Hex => "hex",
                    },
                    magic_name(blob),
                    blob.line,
                    call.callee
                ),
                Some(&file.path),
                Some(call.line),
                Some(&call.snippet),
            ));
        }
    }
}
