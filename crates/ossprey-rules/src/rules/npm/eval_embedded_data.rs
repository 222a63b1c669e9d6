//! JS-EVAL-EMBEDDED-DATA: JavaScript evaluates code it pulls out of an image or other
//! non-code file of the package (steganography).

use ossprey_model::{Category, Finding};

use super::common::{critical_unless_runtime, evaluates_computed_code, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that reads a file with a media or data extension (`.png`,
/// `.jpg`, `.gif`, `.ico`, `.wav`, `.ttf`, `.dat`, …; the name within a few lines of the
/// read) and also evaluates computed code
/// (`eval(x)`, `new Function(x)`, `vm.runInThisContext(x)`). Critical when the file
/// runs at install or import time; high in runtime-only code.
///
/// ## Why is this bad?
/// Hiding the payload in the pixels or trailing bytes of an image keeps it out of
/// every text-based review and scanner; the small loader that extracts and runs it is
/// all that is visible. Code that displays an image does not evaluate its bytes.
///
/// ## Example
/// ```javascript
/// const img = require("fs").readFileSync(__dirname + "/logo.png");
/// let s = ""; for (const b of img.subarray(-2048)) s += String.fromCharCode(b ^ 42);
/// eval(s);
/// ```
#[derive(Debug)]
pub struct EvalEmbeddedData;

const DATA_EXTENSIONS: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".wav", ".mp3",
    ".mp4", ".ttf", ".woff", ".woff2", ".otf", ".dat", ".bin",
];

const READS: &[&str] = &[
    "fs.readFileSync",
    "fs.readFile",
    "fs.promises.readFile",
    "fs.createReadStream",
    "fs.openSync",
];

fn names_data_file(s: &str) -> bool {
    let lower = s.trim().to_ascii_lowercase();
    // `video/mp4`-style media types name a format, not a file.
    let media_type = !lower.starts_with(['.', '/'])
        && lower.matches('/').count() == 1
        && lower
            .split('/')
            .next()
            .is_some_and(|t| matches!(t, "image" | "video" | "audio" | "font" | "application"));
    lower.len() <= 260
        && !media_type
        && !lower.contains(char::is_whitespace)
        && DATA_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// Lines apart within which a file name and the read that opens it count as related.
const NEAR: u32 = 10;

impl Rule for EvalEmbeddedData {
    fn id(&self) -> &'static str {
        "JS-EVAL-EMBEDDED-DATA"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "evaluates code extracted from an image or data file"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some(eval) = facts.calls.iter().find(|c| evaluates_computed_code(c)) else {
                continue;
            };
            let reads: Vec<u32> = facts
                .calls
                .iter()
                .filter(|c| READS.contains(&c.callee.as_str()))
                .map(|c| c.line)
                .take(256)
                .collect();
            // The path is often built (`path.join(__dirname, "logo.png")`), so look for
            // the file name among the string literals near a read.
            let Some(data) = facts.strings.iter().find(|s| {
                names_data_file(&s.value) && reads.iter().any(|r| r.abs_diff(s.line) <= NEAR)
            }) else {
                continue;
            };
            let severity = critical_unless_runtime(input, file);
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` evaluates computed code in a file that reads `{}`",
                    eval.callee,
                    ossprey_static::facts::snippet(&data.value, 80)
                ),
                Some(&file.path),
                Some(eval.line),
                Some(&eval.snippet),
            ));
        }
    }
}
