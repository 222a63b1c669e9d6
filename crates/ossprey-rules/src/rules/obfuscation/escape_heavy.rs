use ossprey_model::{Category, Finding, Severity};

use super::{is_code, is_test_path, raise_unprompted};
use crate::{Input, Rule, finding};

/// Share of a file (per thousand bytes) taken by `\x..`/`\u....` escapes above
/// which the file is written in escapes rather than in code.
const ESCAPE_PERMILLE: u32 = 250;
/// Runs of escape-written strings that make a file escape-heavy even when
/// plain code surrounds them.
const HEAVY_SPANS: u32 = 40;
/// With that many spans, the escapes must still be a tenth of the file.
const SPAN_PERMILLE: u32 = 100;
/// javascript-obfuscator identifiers (`_0x3f2a`) that mark the tool's output.
const HEX_IDENTIFIERS: u32 = 50;
/// Escapes of printable ASCII (`\x63` for `c`) needed before a file counts.
const MIN_PRINTABLE_ESCAPES: usize = 60;
/// …and the share of the file they must take, per thousand bytes.
const PRINTABLE_PERMILLE: usize = 150;

/// ## What it does
/// Finds source files written mostly in escape sequences (`\x63\x75\x72\x6c`,
/// `\u0065\u0076\u0061\u006c`), and javascript-obfuscator output (hundreds of
/// `_0x…` identifiers, its string-array rotation idioms). A plain minified
/// bundle is neither: it is long lines of ordinary identifiers and strings.
///
/// ## Why is this bad?
/// Nobody writes code as escapes by hand and no build tool emits it; it exists to
/// keep strings such as URLs, commands and module names away from readers and
/// scanners.
///
/// ## Example
/// ```javascript
/// const _0x1a2b = ['\x63\x68\x69\x6c\x64\x5f\x70\x72\x6f\x63\x65\x73\x73'];
/// require(_0x1a2b[0])['\x65\x78\x65\x63']('\x63\x75\x72\x6c …');
/// ```
#[derive(Debug)]
pub struct EscapeHeavyCode;

impl Rule for EscapeHeavyCode {
    fn id(&self) -> &'static str {
        "OBF-ESCAPE-HEAVY-CODE"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "source written in escape sequences, or javascript-obfuscator output"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for file in &input.facts.files {
            if !is_code(file.kind) {
                continue;
            }
            let obf = &file.text.obfuscation;
            let candidate = obf.escape_permille >= ESCAPE_PERMILLE
                || (obf.escape_heavy_spans >= HEAVY_SPANS && obf.escape_permille >= SPAN_PERMILLE);
            // Data tables (protobuf descriptors, Unicode ranges, codec maps) escape
            // bytes that have no printable form; obfuscators escape plain ASCII.
            let printable = if candidate {
                input
                    .files
                    .content(&file.path)
                    .map_or(0, printable_ascii_escapes)
            } else {
                0
            };
            let escapes = candidate && printable >= MIN_PRINTABLE_ESCAPES && {
                let size = input
                    .files
                    .content(&file.path)
                    .map_or(1, <[u8]>::len)
                    .max(1);
                // Each such escape takes four bytes or more.
                printable.saturating_mul(4_000) / size >= PRINTABLE_PERMILLE
            };
            let js_obfuscator = obf.hex_identifiers >= HEX_IDENTIFIERS
                && obf.markers.iter().any(|m| {
                    use ossprey_static::facts::text::MarkerKind::*;
                    matches!(m.kind, JsObfuscatorLoop | JsObfuscatorRotate)
                });
            if !escapes && !js_obfuscator {
                continue;
            }
            let line = obf
                .markers
                .first()
                .map(|m| m.line)
                .filter(|_| js_obfuscator)
                .or_else(|| first_escape_line(input, &file.path))
                .unwrap_or(1);
            let message = if js_obfuscator {
                format!(
                    "javascript-obfuscator output: {} `_0x…` identifiers and its string-array rotation",
                    obf.hex_identifiers
                )
            } else {
                format!(
                    "{}‰ of the file is escape sequences ({} escapes, {} escape-written strings{})",
                    obf.escape_permille,
                    obf.escapes,
                    obf.escape_heavy_spans,
                    if obf.minified { ", minified" } else { "" }
                )
            };
            let snippet = super::py_packer::line_text(input, &file.path, line);
            out.push(finding(
                self.id(),
                if is_test_path(&file.path) {
                    Severity::Low
                } else {
                    raise_unprompted(Severity::Medium, super::runs_at(input, file))
                },
                self.category(),
                message,
                Some(&file.path),
                Some(line),
                snippet.as_deref(),
            ));
        }
    }
}

/// The first line holding an escape sequence, for evidence.
fn first_escape_line(input: &Input<'_>, path: &str) -> Option<u32> {
    let content = input.files.content(path)?;
    let at = content
        .windows(2)
        .position(|w| w[0] == b'\\' && matches!(w[1], b'x' | b'u'))?;
    u32::try_from(content[..at].iter().filter(|&&b| b == b'\n').count() + 1).ok()
}

/// `\xHH`, `\uHHHH` and `\u{HH}` escapes that stand for printable ASCII
/// (space to `~`): what obfuscators write for ordinary text.
fn printable_ascii_escapes(content: &[u8]) -> usize {
    let hex = |b: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(b).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let mut count = 0;
    let mut i = 0;
    while i + 3 < content.len() {
        if content[i] != b'\\' {
            i += 1;
            continue;
        }
        let value = match content[i + 1] {
            b'x' => content.get(i + 2..i + 4).and_then(hex),
            b'u' if content.get(i + 2) == Some(&b'{') => content
                .get(i + 3..(i + 9).min(content.len()))
                .and_then(|rest| rest.iter().position(|&b| b == b'}').map(|end| &rest[..end]))
                .and_then(hex),
            b'u' => content.get(i + 2..i + 6).and_then(hex),
            b'\\' => {
                // An escaped backslash: skip both.
                i += 2;
                continue;
            }
            _ => None,
        };
        if value.is_some_and(|v| (0x20..=0x7e).contains(&v)) {
            count += 1;
        }
        i += 2;
    }
    count
}
