//! Every rule runs on its two fixtures: `fixtures/<ID>/malicious/` must make it
//! fire and `fixtures/<ID>/benign/` (a look-alike an ordinary package could
//! contain) must not. The findings on the malicious fixture are snapshotted.
//!
//! Fixtures are inert imitations written for these tests; none is real malware
//! and nothing here runs them.

use std::path::{Path, PathBuf};

use ossprey_archive::Limits;
use ossprey_model::Finding;
use ossprey_rules::{Analysis, Rule};
use ossprey_static::PackageFiles;

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
