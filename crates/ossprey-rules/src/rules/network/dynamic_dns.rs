use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::ServiceClass;

use super::tunnel_oast::GENERIC_LABELS;
use super::util::{context_severity, is_placeholder, service_mentions, subdomain};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a host under a dynamic-DNS provider's shared suffix (`x.duckdns.org`,
/// `x.ddns.net`, `x.hopto.org`, `x.no-ip.biz`…) in code. The providers' own
/// update endpoints and sites do not count.
///
/// ## Why is this bad?
/// Dynamic-DNS names cost nothing, need no identity and can be pointed at a new
/// server in seconds, which is why remote-access trojans and reverse shells use them
/// for command and control. A published library has no business with a particular
/// person's home-server name.
///
/// ## Example
/// ```python
/// s.connect(("attacker-box.duckdns.org", 4444))
/// ```
#[derive(Debug)]
pub struct DynamicDns;

impl Rule for DynamicDns {
    fn id(&self) -> &'static str {
        "NET-DYNAMIC-DNS"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "a dynamic-DNS host (duckdns, no-ip, ddns.net, …) in code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for m in service_mentions(input, &[ServiceClass::DynamicDns]) {
            let concrete = subdomain(&m.host, m.entry).is_some_and(|l| {
                let first = l.rsplit('.').next().unwrap_or(l);
                !GENERIC_LABELS.contains(&first) && !l.contains("example")
            });
            if !concrete || is_placeholder(&m.host) {
                continue;
            }
            out.push(finding(
                self.id(),
                context_severity(Severity::Medium, m.file),
                self.category(),
                format!("code reaches `{}`, a dynamic-DNS host", m.host),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
