use ossprey_model::dynamic::HitHow;
use ossprey_model::{Category, Finding, Severity};

use super::events::behaviour_finding;
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// ## What it does
/// Reports every read of a planted credential file — the fake `~/.ssh/id_rsa`,
/// `~/.aws/credentials`, `~/.npmrc`, `~/.pypirc`, `~/.git-credentials`, Docker, Kube
/// and browser stores the sandbox puts in its home — by the package's code. Reads
/// that are the tools' own (npm loading `~/.npmrc`) are already left out by the
/// sandbox and only noted there.
///
/// ## Why is this bad?
/// Installing or importing a library has no reason to open a user's private keys or
/// registry tokens. It is the first half of credential theft; when the token then
/// leaves, `DYN-HONEYTOKEN-EGRESS` proves the second half. An open that failed is
/// reported one step lower: it still shows the intent.
///
/// ## Example
/// ```javascript
/// const key = fs.readFileSync(path.join(os.homedir(), ".ssh", "id_rsa"));
/// ```
#[derive(Debug)]
pub struct HoneytokenRead;

behaviour_rule!(
    HoneytokenRead,
    "DYN-HONEYTOKEN-READ",
    Category::CREDENTIAL_ACCESS,
    "the package's code opened a planted credential file (SSH key, cloud or registry token)"
);

impl BehaviourRule for HoneytokenRead {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for hit in &input.dynamic.honeytokens.hits {
            if hit.how != HitHow::Read {
                continue;
            }
            let path = hit.path.as_deref().unwrap_or("a planted file");
            let ok = hit.succeeded != Some(false);
            let by = hit.process.as_deref().unwrap_or("a process");
            out.push(behaviour_finding(
                self,
                if ok { Severity::High } else { Severity::Medium },
                format!(
                    "{} phase {} the planted {} at {path}",
                    hit.phase,
                    if ok { "read" } else { "tried to read" },
                    hit.kind
                ),
                &hit.phase,
                "honeytoken_hit",
                serde_json::to_value(hit).unwrap_or_default(),
                &format!("{by} opened {path}"),
            ));
        }
    }
}
