use ossprey_model::{Category, Finding, Severity};

use super::{is_code, is_test_path};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069) in source code. The plain direction marks U+200E/U+200F,
/// which right-to-left text in strings needs, are not counted.
///
/// ## Why is this bad?
/// These characters reorder how a line is *displayed* without changing how it
/// is *parsed* ("Trojan Source", CVE-2021-42574): a reviewer sees a comment or a
/// harmless string where the interpreter sees code, or the reverse.
///
/// ## Example
/// ```text
/// // shown as: if (accessLevel != "user") { // Check if admin
/// if (accessLevel != "user<U+202E> <U+2066>// Check if admin<U+2069> <U+2066>") { grant(); }
/// ```
#[derive(Debug)]
pub struct BidiControl;

impl Rule for BidiControl {
    fn id(&self) -> &'static str {
        "UNICODE-BIDI-CONTROL"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "bidirectional control characters in source code (Trojan Source)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for file in &input.facts.files {
            if !is_code(file.kind) {
                continue;
            }
            if file.text.obfuscation.minified {
                // Bundles carry these characters as data (Unicode ranges,
                // entity tables); nobody reviews a bundle line by line.
                continue;
            }
            let Some(content) = input.files.content(&file.path) else {
                continue;
            };
            if !has_bidi_control_bytes(content) {
                continue;
            }
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            let controls: Vec<(u32, char)> = deceptive_controls(&text);
            let Some(first) = controls.first() else {
                continue;
            };
            let (line, codepoint) = *first;
            let snippet =
                super::py_packer::line_text(input, &file.path, line).map(|l| escape_controls(&l));
            out.push(finding(
                self.id(),
                if is_test_path(&file.path) {
                    Severity::Low
                } else {
                    Severity::High
                },
                self.category(),
                format!(
                    "{} bidirectional control character(s) between plain code characters, first U+{:04X} on line {line}",
                    controls.len(),
                    u32::from(codepoint),
                ),
                Some(&file.path),
                Some(line),
                snippet.as_deref(),
            ));
        }
    }
}

/// Whether `bytes` holds the UTF-8 encoding of an embedding, override or
/// isolate control (`E2 80 AA`..`E2 80 AE`, `E2 81 A6`..`E2 81 A9`). Almost no
/// file does, and one SIMD pass for the lead byte settles it without decoding
/// the file. Lossy decoding never produces these characters, so a file without
/// the bytes has none.
fn has_bidi_control_bytes(bytes: &[u8]) -> bool {
    memchr::memchr_iter(0xE2, bytes).any(|at| {
        matches!(
            bytes.get(at + 1..at + 3),
            Some([0x80, 0xAA..=0xAE] | [0x81, 0xA6..=0xA9])
        )
    })
}

/// Shows invisible controls as `<U+202E>` so the evidence reads as it parses.
fn escape_controls(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                format!("<U+{:04X}>", u32::from(c))
            }
            c => c.to_string(),
        })
        .collect()
}

/// Embedding, override and isolate controls set between ASCII characters
/// (other than a `-` range), with their 1-based lines. Controls inside runs of
/// non-ASCII text or as the ends of a range are data, not a disguise.
fn deceptive_controls(text: &str) -> Vec<(u32, char)> {
    let is_control = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let plain = |c: Option<char>| c.is_none_or(|c| c.is_ascii() && c != '-' || is_control(c));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.len() > 1000 || !line.contains(is_control) {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if !is_control(c) {
                continue;
            }
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            if plain(before) && plain(after) {
                out.push((u32::try_from(n + 1).unwrap_or(u32::MAX), c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::has_bidi_control_bytes;

    #[test]
    fn byte_prefilter_sees_every_control_and_nothing_else() {
        for c in '\u{202A}'..='\u{202E}' {
            assert!(has_bidi_control_bytes(format!("a{c}b").as_bytes()), "{c:?}");
        }
        for c in '\u{2066}'..='\u{2069}' {
            assert!(has_bidi_control_bytes(format!("a{c}").as_bytes()), "{c:?}");
        }
        for c in ['\u{2029}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{2019}'] {
            assert!(
                !has_bidi_control_bytes(format!("a{c}b").as_bytes()),
                "{c:?}"
            );
        }
        // A truncated sequence at the end of the file.
        assert!(!has_bidi_control_bytes(b"x\xE2\x80"));
    }
}
