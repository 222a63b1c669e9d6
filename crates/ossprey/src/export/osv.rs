//! OSV reports (schema 1.6, valid against the 1.7 JSON schema) for packages judged
//! malicious, in the shape of the OpenSSF malicious-packages database: a `MAL-` id,
//! the affected version, the reasons in `details`, and network indicators
//! (domains, URLs, IPs from the findings' evidence and the sandbox's events) under
//! `database_specific`.
//!
//! The database assigns final `MAL-YYYY-NNNN` ids when it accepts a report;
//! ossprey's ids are `MAL-0000-ossprey-` plus a digest of the package version
//! (the `MAL-0000-<source>-<digest>` form its importers use), stable across runs so
//! resubmissions deduplicate.

use std::collections::BTreeSet;

use ossprey_model::{Ecosystem, Report, Verdict};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::indicators::Indicators;

/// The OSV report for `report`, when its verdict is malicious, stamped now.
pub fn report(report: &Report) -> Option<Value> {
    report_at(report, &super::rfc3339(super::now_unix()))
}

/// The OSV report for `report`, when its verdict is malicious, with `published` and
/// `modified` set to `timestamp` (RFC 3339, UTC, `Z`): the time of the analysis, so
/// exporting the same stored analysis twice gives the same document.
pub fn report_at(report: &Report, timestamp: &str) -> Option<Value> {
    if report.verdict != Some(Verdict::Malicious) {
        return None;
    }
    let package = report.package.as_ref()?;
    let version = package.version.clone().unwrap_or_default();
    let id = osv_id(package.ecosystem, &package.name, &version);

    let mut details = format!(
        "ossprey judged {} {} ({}) malicious (score {:.1}/10).\n\nIt is considered malicious because:\n",
        package.name,
        version,
        package.ecosystem.osv_name(),
        report.score.unwrap_or_default()
    );
    for f in &report.findings {
        details.push_str(&format!(
            "\n- [{}] {} ({}, {})",
            f.rule,
            f.message,
            f.severity.as_str(),
            f.category
        ));
        if let Some(file) = &f.evidence.file {
            details.push_str(&format!(" at {file}"));
            if let Some(line) = f.evidence.line {
                details.push_str(&format!(":{line}"));
            }
        }
    }
    details.push('\n');
    let iocs = Indicators::of(report);

    let mut doc = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": timestamp,
        "published": timestamp,
        "summary": format!("Malicious code in {} ({})", package.name, package.ecosystem.osv_name()),
        "details": details,
        "affected": [{
            "package": {"ecosystem": package.ecosystem.osv_name(), "name": package.name},
            "versions": [version],
            "database_specific": {"source": "ossprey"},
        }],
        "credits": [{"name": "ossprey", "type": "FINDER"}],
        "database_specific": {
            "ossprey": {
                "score": report.score,
                "sha256": report.sha256,
                "rules": report.findings.iter().map(|f| f.rule.as_str()).collect::<BTreeSet<_>>(),
                "categories": report.findings.iter().map(|f| f.category.as_str()).collect::<BTreeSet<_>>(),
                "dynamic": report.dynamic.is_some(),
            },
            "iocs": {"urls": iocs.urls, "domains": iocs.domains, "ips": iocs.ips},
        },
    });
    if let Some(url) = package_url(package.ecosystem, &package.name, &version) {
        doc["references"] = json!([{"type": "PACKAGE", "url": url}]);
    }
    Some(doc)
}

/// `MAL-0000-ossprey-<12 hex>`: stable for one package version.
pub fn osv_id(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let key = format!("{ecosystem}:{name}@{version}");
    let digest = sha2::Sha256::digest(key.as_bytes());
    format!(
        "MAL-0000-ossprey-{}",
        digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// The registry page of the version, when name and version are plain enough to go
/// into a URL as they are (names from local archives are attacker-chosen).
fn package_url(ecosystem: Ecosystem, name: &str, version: &str) -> Option<String> {
    let plain = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '.' | '-' | '_' | '+')
                    || extra.contains(&c)
            })
    };
    if !plain(version, &[]) || !plain(name, &['@', '/']) || name.contains("..") {
        return None;
    }
    Some(match ecosystem {
        Ecosystem::Pypi => format!("https://pypi.org/project/{name}/{version}/"),
        Ecosystem::Npm => format!("https://www.npmjs.com/package/{name}/v/{version}"),
        Ecosystem::Crates => format!("https://crates.io/crates/{name}/{version}"),
        Ecosystem::Rubygems => format!("https://rubygems.org/gems/{name}/versions/{version}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::testdata;

    fn validate(doc: &Value) -> Vec<String> {
        let schema: Value =
            serde_json::from_str(include_str!("../../tests/schemas/osv-schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    #[test]
    fn malicious_report_is_valid_osv_with_reasons_and_indicators() {
        let report = testdata::analysed_malicious();
        let doc = report_at(&report, "2026-11-25T18:00:00Z").unwrap();
        let errors = validate(&doc);
        assert!(
            errors.is_empty(),
            "OSV schema violations:\n{}",
            errors.join("\n")
        );

        assert!(doc["id"].as_str().unwrap().starts_with("MAL-0000-ossprey-"));
        assert_eq!(doc["affected"][0]["package"]["ecosystem"], "PyPI");
        assert_eq!(doc["affected"][0]["versions"], json!(["1.0"]));
        assert_eq!(doc["published"], "2026-11-25T18:00:00Z");
        let details = doc["details"].as_str().unwrap();
        assert!(details.contains("[EXEC-DECODED-PAYLOAD]") && details.contains("setup.py:3"));
        assert!(details.contains("[HONEYTOKEN-EGRESS]"));
        let iocs = &doc["database_specific"]["iocs"];
        assert_eq!(
            iocs["domains"],
            json!([
                "c2.evil.example",
                "drop.evil.example",
                "static.evil.example"
            ])
        );
        assert_eq!(iocs["ips"], json!(["203.0.113.7"]));
        assert_eq!(
            iocs["urls"],
            json!([
                "http://c2.evil.example/x",
                "http://drop.evil.example/collect",
                "https://static.evil.example/k"
            ])
        );
        assert_eq!(
            doc["references"][0]["url"],
            "https://pypi.org/project/evil/1.0/"
        );
    }

    #[test]
    fn schema_check_rejects_a_broken_document() {
        // The validation above must be able to fail: a wrong id prefix and a
        // timestamp without `Z` are both errors.
        let mut doc = report_at(&testdata::analysed_malicious(), "2026-11-25T18:00:00Z").unwrap();
        doc["id"] = json!("OSSPREY-1");
        doc["modified"] = json!("2026-11-25 18:00");
        assert!(validate(&doc).len() >= 2);
    }

    #[test]
    fn only_malicious_verdicts_get_a_report_and_ids_are_stable() {
        let mut report = testdata::analysed_malicious();
        let a = report_at(&report, "2026-01-01T00:00:00Z").unwrap();
        let b = report_at(&report, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(a, b);
        report.verdict = Some(Verdict::Suspicious);
        assert!(report_at(&report, "2026-01-01T00:00:00Z").is_none());
    }

    #[test]
    fn hostile_names_get_no_reference_url() {
        assert_eq!(package_url(Ecosystem::Npm, "../../x", "1.0"), None);
        assert_eq!(package_url(Ecosystem::Pypi, "a b", "1.0"), None);
        assert_eq!(
            package_url(Ecosystem::Npm, "@scope/pkg", "1.0.0").as_deref(),
            Some("https://www.npmjs.com/package/@scope/pkg/v/1.0.0")
        );
    }
}
