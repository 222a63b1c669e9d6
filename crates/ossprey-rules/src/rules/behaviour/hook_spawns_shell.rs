use std::collections::BTreeMap;

use ossprey_model::dynamic::Process;
use ossprey_model::{Category, Finding, Severity};

use super::events::{
    PackageProcesses, SHELLS, behaviour_finding, inline_code, ok_execs, process_event, program,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Build tools: shells and interpreters they start (make recipes run through `sh -c`,
/// node-gyp runs gyp in Python) are a native build, not the package's own doing.
const BUILD_TOOLS: &[&str] = &[
    "node-gyp",
    "node-gyp-build",
    "prebuild-install",
    "make",
    "gmake",
    "cmake",
    "ninja",
    "gcc",
    "cc",
    "c++",
    "g++",
    "clang",
    "clang++",
    "ld",
    "cargo",
    "rustc",
    "go",
    "meson",
    "autoreconf",
    "configure",
    "pkg-config",
];

/// Inline code that talks to the network, decodes a payload, or detaches.
const ALARMING: &[&str] = &[
    "curl",
    "wget",
    "/dev/tcp",
    "/dev/udp",
    "nc ",
    "ncat",
    "socket",
    "http",
    "base64",
    "nohup",
    "setsid",
    "disown",
    "eval",
    "exec(",
    "child_process",
    "subprocess",
    "connect",
    "dgram",
    "dns",
];

/// ## What it does
/// Reports a shell or a script interpreter given code inline (`sh -c …`,
/// `bash -c …`, `python3 -c …`, `node -e …`, `perl -e …`) that the package's
/// install-time code started — below its install hook, not the hook itself (npm runs
/// every lifecycle script as `sh -c <script>`, pip runs `setup.py` in a Python of its
/// own; those are the installer's). Shells that build tools start (make recipes,
/// node-gyp) are a native build and do not count. Inline code that reaches the
/// network, decodes data, or detaches (`&`, `nohup`, `setsid`) weighs high; other
/// inline code medium.
///
/// ## Why is this bad?
/// An install hook that needs to run a program runs it; one that spawns a fresh
/// shell or interpreter with a code string is staging a second stage, hiding code from
/// the static reader, or starting a daemon. A thank-you `echo` in the hook itself is
/// the hook, not a spawned shell.
///
/// ## Example
/// ```javascript
/// // install.js, run by "postinstall": "node install.js"
/// cp.spawn("sh", ["-c", 'node -e "$0" >/dev/null 2>&1 &', payload]);
/// ```
#[derive(Debug)]
pub struct HookSpawnsShell;

behaviour_rule!(
    HookSpawnsShell,
    "DYN-HOOK-SPAWNS-SHELL",
    Category::EXECUTION,
    "install-time code started a shell or interpreter with inline code"
);

impl BehaviourRule for HookSpawnsShell {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let Some(phase) = &input.dynamic.install else {
            return;
        };
        let own = PackageProcesses::of("install", phase);
        let by_pid: BTreeMap<i32, &Process> = phase.processes.iter().map(|p| (p.pid, p)).collect();
        let shell_hook = |pid: i32| {
            own.is_hook_root(pid)
                && by_pid
                    .get(&pid)
                    .is_some_and(|p| ok_execs(p).any(|e| SHELLS.contains(&program(e))))
        };
        for p in own.processes(phase) {
            // The hook, and the command an npm hook's shell runs, are the installer's.
            if own.is_hook_root(p.pid) || shell_hook(p.ppid) {
                continue;
            }
            if under_build_tool(p, &by_pid, &own) {
                continue;
            }
            let Some((e, code)) = ok_execs(p).find_map(|e| Some((e, inline_code(e)?))) else {
                continue;
            };
            let trimmed = code.trim_end();
            let alarming = trimmed.ends_with('&')
                || ALARMING.iter().any(|w| code.contains(w))
                || e.argv
                    .iter()
                    .skip(2)
                    .any(|a| ALARMING.iter().any(|w| a.contains(w)));
            out.push(behaviour_finding(
                self,
                if alarming {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "install-time code started `{}` with inline code{}",
                    program(e),
                    if alarming {
                        " that reaches the network, decodes data or detaches"
                    } else {
                        ""
                    }
                ),
                "install",
                "process",
                process_event(p),
                &format!("pid {} (parent {}): {}", p.pid, p.ppid, e.argv.join(" ")),
            ));
        }
    }
}

/// Whether a build tool is among the process's ancestors inside the package's tree.
fn under_build_tool(p: &Process, by_pid: &BTreeMap<i32, &Process>, own: &PackageProcesses) -> bool {
    let mut pid = p.ppid;
    // The tree is finite; the bound guards against a cycle in hostile-looking data.
    for _ in 0..by_pid.len() {
        let Some(parent) = by_pid.get(&pid) else {
            return false;
        };
        if !own.contains(parent.pid) {
            return false;
        }
        if ok_execs(parent).any(|e| {
            BUILD_TOOLS.contains(&program(e))
                || e.argv
                    .iter()
                    .take(3)
                    .any(|a| a.ends_with("node-gyp") || a.ends_with("node-gyp.js"))
        }) {
            return true;
        }
        pid = parent.ppid;
    }
    false
}
