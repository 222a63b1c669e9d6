//! SARIF 2.1.0: one run whose results are the findings of every target.
//!
//! Locations are `<target>/<file>` so results of several packages stay apart;
//! regions are emitted only with a line number, which is always ≥ 1.

use std::collections::BTreeMap;

use ossprey_model::{Report, Severity};
use serde_json::{Value, json};

pub fn document(reports: &[Report]) -> Value {
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for report in reports {
        for f in &report.findings {
            rules.entry(f.rule.as_str()).or_insert_with(|| {
                json!({
                    "id": f.rule,
                    "shortDescription": {"text": rule_summary(&f.rule)},
                    "properties": {"category": f.category.as_str()},
                })
            });
            let uri = match &f.evidence.file {
                Some(file) => format!("{}/{}", report.target, file),
                None => report.target.clone(),
            };
            let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri}}});
            if let Some(line) = f.evidence.line.filter(|&l| l >= 1) {
                let mut region = json!({"startLine": line});
                if let Some(snippet) = &f.evidence.snippet {
                    region["snippet"] = json!({"text": snippet});
                }
                location["physicalLocation"]["region"] = region;
            }
            results.push(json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [location],
                "properties": {
                    "severity": f.severity,
                    "category": f.category.as_str(),
                    "target": report.target,
                    "package": report.package,
                    "verdict": report.verdict,
                    "score": report.score,
                },
            }));
        }
    }
    let mut driver = json!({
        "name": "ossprey",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules.into_values().collect::<Vec<_>>(),
    });
    if !env!("CARGO_PKG_REPOSITORY").is_empty() {
        driver["informationUri"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn rule_summary(id: &str) -> String {
    ossprey_rules::rules::all()
        .iter()
        .find(|r| r.id() == id)
        .map_or_else(|| id.to_owned(), |r| r.summary().to_owned())
}
