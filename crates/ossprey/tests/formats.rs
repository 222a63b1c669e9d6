//! `--format sarif` and `--format osv` on a package the rules judge malicious.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use ossprey_testkit::archives;
use serde_json::Value;

fn ossprey(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .output()
        .expect("run ossprey")
}

/// An inert imitation of the commonest malicious sdist shape: a decoded payload
/// evaluated by setup.py at install time.
fn malicious_sdist(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("evil-1.0.tar.gz");
    let bytes = archives::tar_gz(&[
        ("evil-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"),
        (
            "evil-1.0/setup.py",
            b"import base64\nfrom setuptools import setup\nexec(base64.b64decode('cHJpbnQoMSk='))\nsetup(name='evil')\n",
        ),
    ]);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn sarif_output_is_valid_against_the_sarif_2_1_0_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (evil, plain) = (
        malicious_sdist(dir.path()),
        common::benign_sdist(dir.path()),
    );
    let out = ossprey(
        &[
            "scan",
            evil.to_str().unwrap(),
            plain.to_str().unwrap(),
            "--format",
            "sarif",
        ],
        &dir.path().join("cache"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::validate(
        &sarif,
        include_str!("schemas/sarif-2.1.0-rtm.5.json"),
        "SARIF",
    );

    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(
            loc["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with(evil.to_str().unwrap())
        );
        if let Some(line) = loc["region"]["startLine"].as_u64() {
            assert!(line >= 1);
        }
    }
    let decoded = results
        .iter()
        .find(|r| r["ruleId"] == "EXEC-DECODED-PAYLOAD")
        .unwrap();
    assert_eq!(decoded["level"], "error");
    assert_eq!(
        decoded["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
}

#[test]
fn osv_output_has_a_mal_report_for_malicious_packages_only() {
    let dir = tempfile::tempdir().unwrap();
    let (evil, plain) = (
        malicious_sdist(dir.path()),
        common::benign_sdist(dir.path()),
    );
    let out = ossprey(
        &[
            "scan",
            evil.to_str().unwrap(),
            plain.to_str().unwrap(),
            "--format",
            "osv",
        ],
        &dir.path().join("cache"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 1, "only the malicious package gets a report");
    let osv = &reports[0];
    assert!(osv["id"].as_str().unwrap().starts_with("MAL-"));
    assert_eq!(osv["affected"][0]["package"]["ecosystem"], "PyPI");
    assert_eq!(osv["affected"][0]["package"]["name"], "evil");
    assert_eq!(osv["affected"][0]["versions"][0], "1.0");
    assert!(
        osv["details"]
            .as_str()
            .unwrap()
            .contains("EXEC-DECODED-PAYLOAD")
    );
    // Stable id across runs.
    let again: Value = serde_json::from_slice(
        &ossprey(
            &["scan", evil.to_str().unwrap(), "--format", "osv"],
            &dir.path().join("cache"),
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(again[0]["id"], osv["id"]);
}
