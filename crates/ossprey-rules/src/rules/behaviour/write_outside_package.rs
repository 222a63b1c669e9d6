use ossprey_model::{Category, Finding, Severity};

use super::events::{
    PackageProcesses, behaviour_finding, file_event, home_rel, is_own_or_scratch, phases, written,
};
use super::persistence_write::persistence_kind;
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// ## What it does
/// Reports files the package's own processes wrote outside the directories a
/// package may write to: scratch space (`/tmp`), the project the installer set up
/// (`/work`, the package's own `node_modules/<name>`), its own entries in
/// site-packages, and the tools' caches (`~/.cache`, `~/.npm`, `~/.node-gyp`). Writes
/// that `DYN-PERSISTENCE-WRITE` reports are left to it. In the home directory a write
/// weighs medium; anywhere else (`/etc`, `/usr`, `/opt`, …) high.
///
/// ## Why is this bad?
/// Installing or importing a library should change nothing but the library's own
/// files. Markers, dropped payloads and tampered configuration all show up as writes
/// elsewhere.
///
/// ## Example
/// ```javascript
/// fs.writeFileSync(path.join(os.homedir(), ".cache-update.js"), payload);
/// ```
#[derive(Debug)]
pub struct WriteOutsidePackage;

behaviour_rule!(
    WriteOutsidePackage,
    "DYN-WRITE-OUTSIDE-PACKAGE",
    Category::custom("tampering"),
    "the package wrote files outside its own directories, scratch space and tool caches"
);

impl BehaviourRule for WriteOutsidePackage {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let own_name = input.name();
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            for f in &phase.files {
                if !written(f)
                    || !own.touched(f)
                    || is_own_or_scratch(&f.path, own_name)
                    || persistence_kind(&f.path, own_name).is_some()
                {
                    continue;
                }
                let home = home_rel(&f.path).is_some();
                out.push(behaviour_finding(
                    self,
                    if home {
                        Severity::Medium
                    } else {
                        Severity::High
                    },
                    format!(
                        "{key} phase wrote {} outside the package's directories",
                        f.path
                    ),
                    key,
                    "file",
                    file_event(f),
                    &format!("wrote {} (pids {:?})", f.path, f.pids),
                ));
            }
        }
    }
}
