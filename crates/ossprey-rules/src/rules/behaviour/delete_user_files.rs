use ossprey_model::{Category, Finding, Severity};

use super::events::{PackageProcesses, behaviour_finding, file_event, is_own_or_scratch, phases};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Deleted files in one phase from which the deletion weighs critical.
const MANY: usize = 5;

/// ## What it does
/// Reports files the package's own processes deleted outside scratch space, the
/// package's own directories and the tools' caches: the user's files in the home
/// directory, the project, other packages, the system. High per file; critical when a
/// phase deleted five or more.
///
/// ## Why is this bad?
/// Installing a library deletes nothing of the user's. Wipers and "protestware"
/// delete home directories and projects; stealers delete their traces.
///
/// ## Example
/// ```javascript
/// fs.rmSync(os.homedir(), { recursive: true, force: true });
/// ```
#[derive(Debug)]
pub struct DeleteUserFiles;

behaviour_rule!(
    DeleteUserFiles,
    "DYN-DELETE-USER-FILES",
    Category::DESTRUCTION,
    "the package deleted files outside its own directories, scratch space and caches"
);

impl BehaviourRule for DeleteUserFiles {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let own_name = input.name();
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            let deleted: Vec<_> = phase
                .files
                .iter()
                .filter(|f| {
                    f.delete
                        && f.succeeded
                        && own.touched(f)
                        && !is_own_or_scratch(&f.path, own_name)
                })
                .collect();
            let severity = if deleted.len() >= MANY {
                Severity::Critical
            } else {
                Severity::High
            };
            for f in &deleted {
                out.push(behaviour_finding(
                    self,
                    severity,
                    format!(
                        "{key} phase deleted {} ({} file(s) deleted outside the package)",
                        f.path,
                        deleted.len()
                    ),
                    key,
                    "file",
                    file_event(f),
                    &format!("deleted {} (pids {:?})", f.path, f.pids),
                ));
            }
        }
    }
}
