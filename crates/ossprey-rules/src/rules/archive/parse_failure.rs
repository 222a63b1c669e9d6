use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use crate::{Input, Rule, finding};

/// ## What it does
/// Reports a Python or JavaScript file that runs at install time (`setup.py`,
/// a file an npm install script runs, a `.pth` file, and what they import) but
/// does not parse.
///
/// ## Why is this bad?
/// A package manager runs that file, so for the ecosystem's own interpreter it
/// works — or the install fails. Code deliberately malformed for other parsers
/// (or for an older grammar) hides what it does from scanners. Weak alone: old
/// Python 2 `setup.py` files fail too, so this is low.
///
/// ## Example
/// ```python
/// # setup.py
/// exec(bytes.fromhex("…"))  ) ]  # stray brackets that defeat a parser
/// ```
#[derive(Debug)]
pub struct ParseFailureInstall;

impl Rule for ParseFailureInstall {
    fn id(&self) -> &'static str {
        "PARSE-FAILURE-INSTALL"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "an install-time source file that does not parse"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in input.sources() {
            if file.runs_at != RunsAt::Install || source.parsed {
                continue;
            }
            let (line, error) = source
                .parse_errors
                .first()
                .map_or((None, "syntax error"), |(l, e)| (Some(*l), e.as_str()));
            out.push(finding(
                self.id(),
                Severity::Low,
                self.category(),
                format!("install-time file does not parse: {error}"),
                Some(&file.path),
                line,
                None,
            ));
        }
    }
}
