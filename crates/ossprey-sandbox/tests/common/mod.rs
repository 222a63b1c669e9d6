//! Shared helpers of the sandbox's end-to-end tests.
#![allow(dead_code)]

use std::time::Duration;

use ossprey_sandbox::{Phase, PhaseResult, Policy, RootFs, Sandbox};

/// Why this host cannot run the sandbox, if it cannot (printed by the tests that skip).
pub fn unsupported() -> Option<String> {
    if !std::path::Path::new("/proc/self/ns/user").exists() {
        return Some("no user namespaces".into());
    }
    let probe = std::process::Command::new("unshare")
        .args(["-Urnmpf", "--mount-proc", "true"])
        .status();
    match probe {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`unshare -Urnmpf true` failed here ({s})")),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

/// Skip (with a printed reason) when the host lacks namespaces.
#[macro_export]
macro_rules! require_sandbox {
    () => {
        if let Some(why) = common::unsupported() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

/// A policy over the host's system directories, with small limits for fast tests.
pub fn policy() -> Policy {
    let mut p = Policy::new(RootFs::host_system());
    p.limits.output_capture_bytes = 64 * 1024;
    p
}

/// `sh -c SCRIPT` with a deadline.
pub fn sh(script: &str, timeout_secs: u64) -> Phase {
    Phase::new(["sh", "-c", script]).timeout(Duration::from_secs(timeout_secs))
}

/// Run and return the result, failing the test on a host-side error.
pub fn run(policy: &Policy, phase: &Phase) -> PhaseResult {
    Sandbox::new().run(policy, phase).expect("sandbox run")
}

/// Run a probe command and assert the sandbox's network namespace has only `lo`: the
/// safety rule before any test lets sandboxed code try a non-loopback address.
pub fn assert_sealed(policy: &Policy) {
    let r = run(policy, &sh("cat /proc/self/net/dev", 10));
    assert_eq!(r.isolation.interfaces, ["lo"], "{r:#?}");
    let names: Vec<&str> = r
        .stdout
        .text
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, _)| n.trim())
        .collect();
    assert_eq!(names, ["lo"], "interfaces seen by the sandboxed process");
}
