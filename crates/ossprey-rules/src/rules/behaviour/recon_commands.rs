use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};
use serde_json::{Value, json};

use super::events::{
    PackageProcesses, behaviour_finding, egress, ok_execs, phases, process_event, program,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Programs that describe the user, the host or its network.
const RECON: &[&str] = &[
    "whoami",
    "id",
    "uname",
    "hostname",
    "hostnamectl",
    "ifconfig",
    "ip",
    "arp",
    "netstat",
    "ss",
    "route",
    "ps",
    "w",
    "who",
    "users",
    "last",
    "groups",
    "lsb_release",
    "getent",
    "nslookup",
    "dig",
];

/// IP-lookup services a `curl`/`wget` probe asks for the host's public address.
const IP_LOOKUP: &[&str] = &[
    "ifconfig.me",
    "icanhazip",
    "ipinfo.io",
    "api.ipify.org",
    "ipecho.net",
    "checkip",
    "ident.me",
    "myexternalip",
    "wtfismyip",
    "ip-api.com",
];

/// ## What it does
/// Collects the reconnaissance commands the package's processes ran in each phase —
/// `whoami`, `id`, `uname`, `hostname`, `ifconfig`/`ip`, `netstat`, `ps`, … — and
/// `curl`/`wget` probes of IP-lookup services, and reports them once per phase: one
/// or two distinct commands low, three or more medium, three or more in a phase that
/// also reached the network high (the fingerprint was sent somewhere); one step less
/// in the execute phase, where a system-information library runs them on request. The
/// installer's own probes (pip runs `uname -rs`) are not the package's and do not
/// count.
///
/// ## Why is this bad?
/// A library has no use for who is installing it. Stealers fingerprint the victim
/// (user, host name, OS, addresses) to triage their haul and to recognise sandboxes,
/// and send the answers with the first beacon.
///
/// ## Example
/// ```javascript
/// const info = ["whoami", "hostname", "uname -a"].map((c) => cp.execSync(c).toString());
/// ```
#[derive(Debug)]
pub struct ReconCommands;

behaviour_rule!(
    ReconCommands,
    "DYN-RECON-COMMANDS",
    Category::custom("reconnaissance"),
    "the package ran commands that fingerprint the user, host or network (whoami, id, uname, …)"
);

impl BehaviourRule for ReconCommands {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            let mut names = BTreeSet::new();
            let mut events: Vec<Value> = Vec::new();
            let mut lines = Vec::new();
            for p in own.processes(phase) {
                for e in ok_execs(p) {
                    let prog = program(e);
                    let probe = matches!(prog, "curl" | "wget")
                        && e.argv
                            .iter()
                            .any(|a| IP_LOOKUP.iter().any(|s| a.contains(s)));
                    if RECON.contains(&prog) || probe {
                        names.insert(prog.to_owned());
                        events.push(process_event(p));
                        lines.push(e.argv.join(" "));
                    }
                }
            }
            if names.is_empty() {
                continue;
            }
            let network = !egress(phase, input.ecosystem()).is_empty();
            let severity = match (names.len(), network) {
                (0..=2, _) => Severity::Low,
                (_, false) => Severity::Medium,
                (_, true) => Severity::High,
            };
            // Calling a library's functions may be asking about the machine on
            // purpose (system-info libraries): one step less at execute.
            let severity = if key == "execute" {
                crate::input::step(severity, false)
            } else {
                severity
            };
            let list = names.iter().cloned().collect::<Vec<_>>().join(", ");
            out.push(behaviour_finding(
                self,
                severity,
                format!(
                    "{key} phase ran {} reconnaissance command(s): {list}{}",
                    names.len(),
                    if network {
                        ", and reached the network"
                    } else {
                        ""
                    }
                ),
                key,
                "processes",
                json!(events),
                &lines.join("; "),
            ));
        }
    }
}
