use ossprey_model::{Category, Finding, Severity};

use super::{is_code, is_test_path};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds identifiers in source code that mix Latin letters with Cyrillic or
/// Greek look-alikes (`рrint` with a Cyrillic `р`, `ехес`). Words inside string
/// literals and comments (ordinary Russian or Greek text) are not counted.
///
/// ## Why is this bad?
/// Such an identifier looks like a familiar name but is a different one: a
/// reader sees `subprocess` or `is_admin`, the interpreter calls something the
/// package defined to shadow it.
///
/// ## Example
/// ```python
/// def subprосess_run(cmd):   # `о` and `с` are Cyrillic
///     ...
/// ```
#[derive(Debug)]
pub struct HomoglyphIdentifier;

impl Rule for HomoglyphIdentifier {
    fn id(&self) -> &'static str {
        "UNICODE-HOMOGLYPH-IDENTIFIER"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "identifiers mixing Latin with Cyrillic or Greek look-alike letters"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for file in &input.facts.files {
            if !is_code(file.kind) {
                continue;
            }
            let strings = file.source.as_ref().map(|s| &s.strings);
            for hit in &file.text.unicode.homoglyph_identifiers {
                let Some(line) = super::py_packer::line_text(input, &file.path, hit.line) else {
                    continue;
                };
                if !imitates_latin_word(&hit.token)
                    || in_string_or_comment(&line, &hit.token)
                    || strings.is_some_and(|s| {
                        s.iter().any(|lit| {
                            lit.line == hit.line && lit.value.contains(hit.token.as_str())
                        })
                    })
                {
                    continue;
                }
                out.push(finding(
                    self.id(),
                    if is_test_path(&file.path) {
                        Severity::Low
                    } else {
                        Severity::Medium
                    },
                    self.category(),
                    format!(
                        "identifier `{}` mixes Latin and Cyrillic/Greek look-alike letters",
                        hit.token
                    ),
                    Some(&file.path),
                    Some(hit.line),
                    Some(&line),
                ));
                break;
            }
        }
    }
}

/// Whether `token`'s first occurrence on `line` sits after a comment start or
/// inside a quote (counted naively: an odd number of quotes before it).
fn in_string_or_comment(line: &str, token: &str) -> bool {
    let Some(at) = line.find(token) else {
        return true;
    };
    let before = &line[..at];
    if before.contains('#') || before.contains("//") || before.trim_start().starts_with('*') {
        return true;
    }
    ['"', '\'', '`']
        .iter()
        .any(|q| before.matches(*q).count() % 2 == 1)
}

/// Cyrillic and Greek letters drawn like Latin ones (as the text scan lists them).
const LOOKALIKES: &str = "аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХІЈЅοανιρκτυΑΒΕΖΗΙΚΜΝΟΡΤΥΧ";

/// A Latin word with one or two letters swapped for look-alikes: at least
/// three ASCII letters, every non-ASCII letter a look-alike, each next to an
/// ASCII letter. `α_warmup` (a Greek symbol prefixed) and Russian words with a
/// Latin letter do not qualify.
fn imitates_latin_word(token: &str) -> bool {
    let chars: Vec<char> = token.chars().collect();
    let ascii_letters = chars.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let foreign: Vec<usize> = (0..chars.len()).filter(|&i| !chars[i].is_ascii()).collect();
    ascii_letters >= 3
        && !foreign.is_empty()
        && foreign.len() * 2 <= ascii_letters
        && foreign.iter().all(|&i| {
            LOOKALIKES.contains(chars[i])
                && (i
                    .checked_sub(1)
                    .is_some_and(|j| chars[j].is_ascii_alphabetic())
                    || chars.get(i + 1).is_some_and(char::is_ascii_alphabetic))
        })
}
