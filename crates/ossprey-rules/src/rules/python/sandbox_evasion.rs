use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::python_sources;
use crate::{Input, Rule, finding};

/// Reads of the machine's identity or size, and artefacts of analysis VMs.
const PROBES: &[&str] = &[
    "platform.node()",
    "getpass.getuser()",
    "os.getlogin()",
    "socket.gethostname()",
    "cpu_count()",
    "virtual_memory()",
    "vbox",
    "vmware",
    "virtualbox",
    "qemu",
    "sandbox",
    "wdagutilityaccount",
    "vmtoolsd",
    "hyper-v",
];

/// How code gives up when it believes it is watched.
const BAILS: &[&str] = &[
    "sys.exit(",
    "os._exit(",
    "exit(",
    "quit(",
    "raise SystemExit",
];

/// ## What it does
/// Finds code that compares the host name, user name, CPU count, memory size,
/// or traces of virtual machines and sandboxes (`/proc/1/cgroup`, `VBOX`,
/// `VMware`, `WDAGUtilityAccount`) against values and then exits or returns —
/// in install- or import-time files (medium) or elsewhere (low).
///
/// ## Why is this bad?
/// Malware stays quiet inside analysis sandboxes and CI machines so that
/// dynamic scanners see nothing. Ordinary packages have no reason to stop
/// installing or importing because the machine is small or named `sandbox`.
///
/// ## Example
/// ```python
/// if os.cpu_count() < 2 or getpass.getuser() in ("sandbox", "malware"):
///     sys.exit(0)
/// ```
#[derive(Debug)]
pub struct SandboxEvasion;

impl Rule for SandboxEvasion {
    fn id(&self) -> &'static str {
        "PY-SANDBOX-EVASION"
    }
    fn category(&self) -> Category {
        Category::EVASION
    }
    fn summary(&self) -> &'static str {
        "exits when the host looks like a sandbox or analysis VM"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, _) in python_sources(input) {
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let trimmed = line.trim_start();
                if !(trimmed.starts_with("if ") || trimmed.starts_with("elif ")) {
                    continue;
                }
                let lower = trimmed.to_ascii_lowercase();
                let Some(probe) = PROBES.iter().find(|p| lower.contains(*p)) else {
                    continue;
                };
                let compares = ["==", "!=", " in ", "<", ">"]
                    .iter()
                    .any(|op| trimmed.contains(op));
                if !compares {
                    continue;
                }
                let after = trimmed.split_once(':').map_or("", |(_, r)| r);
                let next: Vec<&str> = lines.iter().skip(i + 1).take(2).map(|l| l.trim()).collect();
                let bails = |s: &str| {
                    BAILS.iter().any(|b| s.starts_with(b)) || s == "return" || s == "return None"
                };
                // `if getpass.getuser() == "root":` is an ordinary privilege check.
                if lower.contains("\"root\"") || lower.contains("'root'") {
                    continue;
                }
                if !(bails(after.trim()) || next.first().is_some_and(|s| bails(s))) {
                    continue;
                }
                let severity = if file.runs_at == RunsAt::Runtime {
                    Severity::Low
                } else {
                    Severity::Medium
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("gives up when the host matches a check on `{probe}`"),
                    Some(&file.path),
                    u32::try_from(i + 1).ok(),
                    Some(trimmed),
                ));
            }
        }
    }
}
