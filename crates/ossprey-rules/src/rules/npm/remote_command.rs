//! JS-REMOTE-COMMAND: JavaScript runs commands it receives over a socket, server or
//! command-and-control poll (a backdoor).

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;

use super::common::{context, is_js_exec, is_js_network, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that opens a listening server or a raw socket
/// (`net.createServer`, `net.connect`, `new net.Socket`, `http.createServer`,
/// `tls.connect`, a WebSocket or socket.io client), or polls the network on a timer
/// (`setInterval` with a request), and inside a callback starts a process whose command
/// is not written in the file (`exec(data.toString())`, `execSync(q.cmd)`). Critical
/// when the file runs at install or import time; in runtime-only code high when the
/// channel is a raw socket or WebSocket (SSH clients and build daemons share that
/// shape, so it takes a second signal to reach `malicious`), medium for an HTTP server
/// handler.
///
/// ## Why is this bad?
/// Running whatever arrives on a connection is a remote shell: the package turns the
/// machine that loads it into one the sender controls. Ordinary servers map requests to
/// their own handlers; they do not pass request bytes to a shell.
///
/// ## Example
/// ```javascript
/// const net = require("net"), { exec } = require("child_process");
/// net.createServer((s) => s.on("data", (d) => exec(d.toString(), (e, o) => s.write(o)))).listen(8181);
/// ```
#[derive(Debug)]
pub struct RemoteCommand;

/// Channels that deliver data from a remote party.
pub(crate) const CHANNELS: &[&str] = &[
    "net.createServer",
    "net.connect",
    "net.createConnection",
    "net.Socket",
    "tls.connect",
    "tls.createServer",
    "http.createServer",
    "https.createServer",
    "http2.createServer",
    "dgram.createSocket",
    "ws",
    "ws.WebSocket",
    "WebSocket",
    "socket.io-client",
    "socket.io-client.io",
    "socket.io-client.connect",
];

fn computed_command(arg: Option<&Arg>) -> bool {
    matches!(arg, Some(Arg::Name(_) | Arg::Call { .. } | Arg::Other))
}

impl Rule for RemoteCommand {
    fn id(&self) -> &'static str {
        "JS-REMOTE-COMMAND"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "runs commands received over the network"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            // Cheap test first: most files start no process with a computed command.
            let Some(exec) = facts.calls.iter().find(|c| {
                is_js_exec(&c.callee) && c.scope.is_some() && computed_command(c.args.first())
            }) else {
                continue;
            };
            let ctx = context(input, file);
            let channel = facts
                .calls
                .iter()
                .find(|c| CHANNELS.contains(&c.callee.as_str()))
                .map(|c| c.callee.as_str())
                .or_else(|| {
                    // A timer that polls a server: only for code that runs by itself, as
                    // installers also fetch and run what they downloaded.
                    let polls = ctx == RunsAt::Import
                        && facts.calls.iter().any(|c| c.callee == "setInterval")
                        && facts.calls.iter().any(|c| is_js_network(&c.callee));
                    polls.then_some("setInterval")
                });
            let Some(channel) = channel else {
                continue;
            };
            // Code that runs by itself (install, import) opening a channel and running
            // what arrives is a backdoor. In code only run when called, a raw socket or
            // WebSocket next to a computed command is still worth a high finding, but
            // SSH clients, build daemons and dev servers have exactly that shape, so it
            // needs a second signal to reach `malicious`; a web server's handler even more.
            let raw = !matches!(
                channel,
                "http.createServer" | "https.createServer" | "http2.createServer" | "setInterval"
            );
            let severity = match ctx {
                RunsAt::Install | RunsAt::Import => Severity::Critical,
                RunsAt::Runtime if raw => Severity::High,
                RunsAt::Runtime => Severity::Medium,
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` runs a computed command in a callback of a file that uses `{channel}`",
                    exec.callee
                ),
                Some(&file.path),
                Some(exec.line),
                Some(&exec.snippet),
            ));
        }
    }
}
