use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};
use serde_json::json;

use super::events::{
    PackageProcesses, behaviour_finding, egress, is_own_or_scratch, ok_execs, phases, program,
    written,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Files read to tell a sandbox, container or VM from a real machine. Files runtimes
/// read by themselves at start-up (`/proc/cpuinfo`, `/proc/meminfo`, the cgroup memory
/// limit: Node does) are not among them.
const MARKERS: &[&str] = &[
    "/.dockerenv",
    "/run/.containerenv",
    "/proc/1/cgroup",
    "/proc/self/cgroup",
    "/proc/1/sched",
    "/proc/1/environ",
    "/proc/uptime",
    "/proc/scsi/scsi",
    "/proc/sys/kernel/hostname",
    "/etc/hostname",
    "/sys/hypervisor/type",
    "/sys/class/dmi/id/product_name",
    "/sys/class/dmi/id/sys_vendor",
    "/sys/class/dmi/id/board_vendor",
    "/sys/class/dmi/id/bios_vendor",
];

/// Programs that answer the same questions.
const PROGRAMS: &[&str] = &[
    "systemd-detect-virt",
    "virt-what",
    "dmidecode",
    "uptime",
    "nproc",
    "lscpu",
];

/// ## What it does
/// Reports an install or import phase in which the package's processes checked what
/// kind of machine they
/// run on — container markers (`/.dockerenv`, `/proc/1/cgroup`), uptime, the host
/// name file, DMI vendor strings, `systemd-detect-virt`, `nproc` — and then did
/// nothing visible: no network traffic beyond the registry and no writes outside their
/// own directories. That is the shape of a payload that exits early when it thinks it
/// is watched (medium). The same checks in a phase that went on to act weigh low:
/// the acts are reported by the other rules.
///
/// The tracer sees files and programs, not system calls such as `uname(2)` or
/// `sysconf`: a host-name or CPU-count check made in-process (`os.hostname()`,
/// `os.cpus().length`) is invisible here.
///
/// ## Why is this bad?
/// Libraries do not care whether they run in a container. Malware does: it hides from
/// analysis sandboxes and CI by staying quiet there, and acts on real machines.
///
/// ## Example
/// ```javascript
/// if (fs.existsSync("/.dockerenv") || os.uptime() < 600) process.exit(0);
/// ```
#[derive(Debug)]
pub struct EvasionCheck;

behaviour_rule!(
    EvasionCheck,
    "DYN-EVASION-CHECK",
    Category::EVASION,
    "container, VM or uptime checks followed by no further activity (sandbox evasion)"
);

impl BehaviourRule for EvasionCheck {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let own_name = input.name();
        for (key, phase) in phases(input.dynamic) {
            // Calling a library's functions (execute) may legitimately ask about the
            // machine (`py-cpuinfo` runs `lscpu`); evasion gates install and import.
            if key == "execute" {
                continue;
            }
            let own = PackageProcesses::of(key, phase);
            let mut checks = BTreeSet::new();
            for f in &phase.files {
                if f.read && own.touched(f) && MARKERS.contains(&f.path.as_str()) {
                    checks.insert(f.path.clone());
                }
            }
            for p in own.processes(phase) {
                for e in ok_execs(p) {
                    if PROGRAMS.contains(&program(e)) {
                        checks.insert(e.argv.join(" "));
                    }
                }
            }
            if checks.is_empty() {
                continue;
            }
            let acted = !egress(phase, input.ecosystem()).is_empty()
                || phase
                    .files
                    .iter()
                    .any(|f| written(f) && own.touched(f) && !is_own_or_scratch(&f.path, own_name));
            let list: Vec<String> = checks.into_iter().collect();
            out.push(behaviour_finding(
                self,
                if acted {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                format!(
                    "{key} phase checked its environment ({}){}",
                    list.join(", "),
                    if acted {
                        ""
                    } else {
                        " and then did nothing visible: the shape of sandbox evasion"
                    }
                ),
                key,
                "checks",
                json!({ "checked": list, "acted_afterwards": acted }),
                &format!("checked {}", list.join(", ")),
            ));
        }
    }
}
