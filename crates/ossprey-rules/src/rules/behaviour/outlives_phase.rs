use ossprey_model::{Category, Finding, Severity};

use super::events::{PackageProcesses, behaviour_finding, command_line, phases, process_event};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// ## What it does
/// Reports the package's processes that were still running when the phase's main
/// process (the installer, the importer) ended: daemons and background jobs. One still
/// running at the end of the phase (killed by the sandbox) weighs high at install and
/// import and medium at execute; one that ended by itself shortly after the main
/// process, one step less.
///
/// ## Why is this bad?
/// An install hook or an import that leaves a process behind has started something
/// meant to run after nobody watches: a beacon that fires later, a miner, a backdoor.
/// Legitimate installs finish their work before they return.
///
/// ## Example
/// ```javascript
/// cp.spawn("node", ["-e", payload], { detached: true, stdio: "ignore" }).unref();
/// ```
#[derive(Debug)]
pub struct OutlivesPhase;

behaviour_rule!(
    OutlivesPhase,
    "DYN-OUTLIVES-PHASE",
    Category::PERSISTENCE,
    "a process of the package kept running after the phase's main process ended (a daemon)"
);

impl BehaviourRule for OutlivesPhase {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            for p in own.processes(phase) {
                if !p.outlived_main {
                    continue;
                }
                let base = if key == "execute" {
                    Severity::Medium
                } else {
                    Severity::High
                };
                let severity = if p.killed_at_end {
                    base
                } else {
                    crate::input::step(base, false)
                };
                out.push(behaviour_finding(
                    self,
                    severity,
                    format!(
                        "{key} phase left a process running after its main process ended{}",
                        if p.killed_at_end {
                            " (killed at the end of the phase)"
                        } else {
                            ""
                        }
                    ),
                    key,
                    "process",
                    process_event(p),
                    &format!("pid {}: {}", p.pid, command_line(p)),
                ));
            }
        }
    }
}
