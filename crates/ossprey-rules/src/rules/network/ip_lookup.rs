use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::ServiceClass;

use ossprey_static::analysis::RunsAt;

use super::util::{context_severity, is_package_json, service_mentions};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a public-IP lookup service (ipinfo.io, api.ipify.org, ifconfig.me,
/// checkip.amazonaws.com, ip-api.com…) called from code that runs by itself at
/// install or import time.
///
/// ## Why is this bad?
/// Learning the machine's public address and location is the first thing a stealer
/// or a dependency-confusion probe reports home, so the attacker knows whose network
/// the package landed in. Libraries rarely need it, and never merely because they
/// were installed or imported.
///
/// ## Example
/// ```python
/// ip = urlopen("https://api.ipify.org").read().decode()
/// ```
#[derive(Debug)]
pub struct IpLookup;

impl Rule for IpLookup {
    fn id(&self) -> &'static str {
        "NET-IP-LOOKUP"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "a public-IP lookup service queried by code (recon)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mut seen_files = std::collections::HashSet::new();
        for m in service_mentions(input, &[ServiceClass::IpLookup]) {
            // Asking for one's public IP when called is what many network tools do.
            if m.file.runs_at == RunsAt::Runtime && !is_package_json(m.file) {
                continue;
            }
            if !seen_files.insert(m.file.path.as_str()) {
                continue;
            }
            out.push(finding(
                self.id(),
                context_severity(Severity::Low, m.file),
                self.category(),
                format!(
                    "code looks up the machine's public IP with `{}` (host reconnaissance)",
                    m.host
                ),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
