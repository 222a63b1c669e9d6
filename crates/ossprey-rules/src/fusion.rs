//! Fusion: one score and verdict per package from static, metadata and dynamic
//! evidence.
//!
//! [`fuse`] runs the behaviour rules (`rules::behaviour`) over the sandbox's events,
//! applies the user's allowlist to their findings as to static ones, links the two
//! kinds of evidence, and scores everything together with the one model of
//! [`crate::scoring`]:
//!
//! - **Proof outweighs everything.** A planted honeytoken seen leaving the sandbox
//!   (`DYN-HONEYTOKEN-EGRESS`) makes the package `malicious` with score 10, whatever
//!   else is known (see [`crate::SCORE_PROOF_RULES`]).
//! - **Linked evidence.** When a destination the sandbox saw (a connection's host
//!   name or address, a queried domain) appears literally in a static finding's
//!   snippet, the dynamic finding points at that call site (`evidence.file`/`line`,
//!   when it had none) and both findings get a note naming the other. The static
//!   finding, now confirmed, is raised one severity step (at most to high): the
//!   sandbox removed the doubt that made it weigh less (does this code really run?
//!   does it really reach that host?).
//! - **Unseen suspicions.** A static network, exfiltration, download or credential
//!   finding whose capability the sandbox never saw happen — the phases ran to
//!   completion without traffic beyond the registry, or without a planted credential
//!   being read or sent — gets a note saying so. Its
//!   weight is unchanged: malware often waits for conditions the sandbox does not
//!   meet (a date, a CI variable, a platform, an argument), so not seeing something
//!   is no evidence that it cannot happen.
//!
//! Must never read the host: everything comes from the report's data.

use ossprey_model::dynamic::PhaseStatus;
use ossprey_model::{
    Category, DynamicResult, Finding, ManifestFacts, PackageRef, Severity, SuppressedFinding,
};
use serde_json::Value;

use crate::rules::behaviour::events::{egress, phases};
use crate::rules::behaviour::{self, BehaviourInput};
use crate::{Evaluation, Suppressions, evaluate_findings};

/// What fusion needs besides the static findings.
#[derive(Clone, Copy, Debug)]
pub struct FusionInput<'a> {
    /// The package's identity (registry, or the manifest's).
    pub package: Option<&'a PackageRef>,
    /// The manifest static analysis read, when there was one.
    pub manifest: Option<&'a ManifestFacts>,
    /// What the sandbox recorded.
    pub dynamic: &'a DynamicResult,
    /// The user's allowlist, applied to behaviour findings too.
    pub suppressions: Option<&'a Suppressions>,
    /// sha256 of the analysed archive, for `sha256` allowlist entries.
    pub artifact_sha256: Option<&'a str>,
}

/// The fused evaluation and the behaviour findings the allowlist silenced.
#[derive(Clone, Debug, PartialEq)]
pub struct Fused {
    pub evaluation: Evaluation,
    /// Behaviour findings the allowlist silenced (the static ones were reported by
    /// static analysis already).
    pub suppressed: Vec<SuppressedFinding>,
}

/// Most notes fusion adds to one finding.
const MAX_NOTES: usize = 3;

/// Fuses `static_findings` (static and metadata findings that survived the
/// allowlist) with the behaviour findings over `input.dynamic`.
pub fn fuse(static_findings: Vec<Finding>, input: &FusionInput<'_>) -> Fused {
    let behaviour_input = BehaviourInput {
        package: input.package,
        manifest: input.manifest,
        dynamic: input.dynamic,
    };
    let found = behaviour::run(&behaviour_input);
    // Behaviour findings have no file of the package: allowlist entries by rule,
    // package or archive hash apply, entries by file cannot match.
    let (mut dynamic_findings, suppressed) = match input.suppressions {
        Some(s) => s.apply(found, input.package, "", input.artifact_sha256, &|_| None),
        None => (found, Vec::new()),
    };
    let mut static_findings = static_findings;
    link(&mut static_findings, &mut dynamic_findings);
    note_unseen(&mut static_findings, &behaviour_input);
    static_findings.extend(dynamic_findings);
    Fused {
        evaluation: evaluate_findings(static_findings),
        suppressed,
    }
}

fn add_note(f: &mut Finding, note: String) {
    if f.notes.len() < MAX_NOTES && !f.notes.contains(&note) {
        f.notes.push(note);
    }
}

/// Host names, addresses and domains a behaviour finding's event names, most
/// specific first. Sinkhole-assigned addresses (198.18.0.0/15) stand for the name
/// they were handed out for, so they never appear in code and are left out.
fn destinations(event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_destinations(event, &mut out, 0);
    out.retain(|d| !d.starts_with("198.18.") && !d.starts_with("198.19.") && !d.is_empty());
    out.dedup();
    out
}

fn collect_destinations(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Object(map) => {
            for key in ["hostname", "host", "address", "tls_sni"] {
                if let Some(Value::String(s)) = map.get(key) {
                    out.push(s.trim_end_matches('.').to_ascii_lowercase());
                }
            }
            for (k, val) in map {
                if matches!(
                    k.as_str(),
                    "connection" | "dns" | "datagram" | "honeytoken_hit" | "http" | "examples"
                ) {
                    collect_destinations(val, out, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    // A list of names (the DNS tunnel's examples).
                    Value::String(s) => out.push(s.trim_end_matches('.').to_ascii_lowercase()),
                    _ => collect_destinations(item, out, depth + 1),
                }
            }
        }
        _ => {}
    }
}

/// Whether `text` names `host` as a whole host name (not inside a longer name).
fn names_host(text: &str, host: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let hostname_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(host).any(|(at, _)| {
        let before = text.get(..at).and_then(|s| s.chars().next_back());
        let after = text.get(at + host.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(hostname_char) && !after.is_some_and(hostname_char)
    })
}

/// Whether `text` builds names under `suffix`: the suffix follows a `.` that
/// follows a placeholder or the end of an expression (`'%s.%d.d.collector.example'`,
/// `` `${x}.d.collector.example` ``, `x + '.d.collector.example'`), not another label.
fn builds_under(text: &str, suffix: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let dotted = format!(".{suffix}");
    text.match_indices(&dotted).any(|(at, _)| {
        let before = text.get(..at).unwrap_or_default();
        let after = text.get(at + dotted.len()..).and_then(|s| s.chars().next());
        let placeholder = ["%s", "%d", "%x", "{}"].iter().any(|p| before.ends_with(p))
            || before.ends_with(['}', '\'', '"', '`', '+', ')']);
        placeholder && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The host and its parents down to three labels (two for a two-label name): DNS
/// exfiltration builds names under a literal suffix (`'%s.d.collector.example'`).
fn host_and_parents(host: &str) -> Vec<&str> {
    let mut out = vec![host];
    let labels = host.split('.').count();
    let mut rest = host;
    let mut left = labels;
    while left > 3 {
        let Some((_, parent)) = rest.split_once('.') else {
            break;
        };
        out.push(parent);
        rest = parent;
        left -= 1;
    }
    out
}

/// Links each behaviour finding about a destination to the static finding whose
/// snippet names it.
fn link(static_findings: &mut [Finding], dynamic_findings: &mut [Finding]) {
    for d in dynamic_findings.iter_mut() {
        let Some(event) = d.evidence.event.clone() else {
            continue;
        };
        let phase = event
            .get("phase")
            .and_then(Value::as_str)
            .unwrap_or("a")
            .to_owned();
        let hosts = destinations(&event);
        let mut linked = false;
        'hosts: for host in &hosts {
            for candidate in host_and_parents(host) {
                for s in static_findings.iter_mut() {
                    let whole = candidate == host.as_str();
                    let names = [s.evidence.snippet.as_deref(), Some(s.message.as_str())]
                        .into_iter()
                        .flatten()
                        .any(|t| {
                            if whole {
                                names_host(t, candidate)
                            } else {
                                builds_under(t, candidate)
                            }
                        });
                    if !names {
                        continue;
                    }
                    let site = match (&s.evidence.file, s.evidence.line) {
                        (Some(f), Some(l)) => format!("{f}:{l}"),
                        (Some(f), None) => f.clone(),
                        _ => "the package's code".to_owned(),
                    };
                    if d.evidence.file.is_none() {
                        d.evidence.file = s.evidence.file.clone();
                        d.evidence.line = s.evidence.line;
                    }
                    let rule = s.rule.clone();
                    add_note(
                        d,
                        format!(
                            "made by the code at {site} (static finding {rule} names {candidate})"
                        ),
                    );
                    let seen = d.evidence.snippet.clone().unwrap_or_default();
                    confirm(s);
                    add_note(
                        s,
                        format!("seen in the sandbox ({phase} phase, {}): {seen}", d.rule),
                    );
                    linked = true;
                }
                if linked {
                    break 'hosts;
                }
            }
        }
    }
}

/// Raises a static finding the sandbox saw happen one severity step, at most to
/// high (confirmation alone never makes a finding critical), once.
fn confirm(s: &mut Finding) {
    if s.notes.iter().any(|n| n.starts_with("seen in the sandbox")) {
        return;
    }
    if s.severity < Severity::High {
        s.severity = crate::input::step(s.severity, true);
        add_note(
            s,
            "confirmed by the sandbox: raised one severity step".to_owned(),
        );
    }
}

/// Notes on static findings whose capability the sandbox never saw happen.
fn note_unseen(static_findings: &mut [Finding], input: &BehaviourInput<'_>) {
    let completed: Vec<&str> = phases(input.dynamic)
        .filter(|(_, p)| p.status == PhaseStatus::Completed)
        .map(|(k, _)| k)
        .collect();
    if completed.is_empty() {
        return;
    }
    let ran = completed.join(" and ");
    let any_traffic = phases(input.dynamic).any(|(_, p)| !egress(p, input.ecosystem()).is_empty());
    let honeytokens_planted = !input.dynamic.honeytokens.planted.is_empty();
    let credential_hit = !input.dynamic.honeytokens.hits.is_empty();
    for s in static_findings.iter_mut() {
        if s.notes.iter().any(|n| n.starts_with("seen in the sandbox")) {
            continue;
        }
        let unseen = if [
            Category::NETWORK,
            Category::EXFILTRATION,
            Category::DOWNLOAD_EXECUTE,
        ]
        .contains(&s.category)
            && !any_traffic
        {
            Some("no network traffic beyond the registry")
        } else if s.category == Category::CREDENTIAL_ACCESS
            && honeytokens_planted
            && !credential_hit
        {
            Some("no planted credential read or sent")
        } else {
            None
        };
        if let Some(what) = unseen {
            add_note(
                s,
                format!(
                    "not seen in the sandbox: {ran} ran to completion with {what}; the code may wait for conditions the sandbox did not meet (weight unchanged)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_match_whole_names_only() {
        assert!(names_host(
            "HTTPConnection('creds.exfil.example.test', 80)",
            "creds.exfil.example.test"
        ));
        assert!(names_host(
            "http://Creds.Exfil.Example.Test/upload",
            "creds.exfil.example.test"
        ));
        assert!(!names_host(
            "'xcreds.exfil.example.test'",
            "creds.exfil.example.test"
        ));
        assert!(!names_host(
            "'creds.exfil.example.testing'",
            "creds.exfil.example.test"
        ));
        assert_eq!(
            host_and_parents("a.b.0.d.exfil.example.test"),
            vec![
                "a.b.0.d.exfil.example.test",
                "b.0.d.exfil.example.test",
                "0.d.exfil.example.test",
                "d.exfil.example.test",
                "exfil.example.test"
            ]
        );
    }
}
