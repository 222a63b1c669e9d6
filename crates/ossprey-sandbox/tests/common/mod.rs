//! Shared helpers of the sandbox's end-to-end tests.
#![allow(dead_code)]

use std::time::Duration;

use std::cell::Cell;

use ossprey_sandbox::{Backend, Phase, PhaseResult, Policy, RootFs, Sandbox};

thread_local! {
    /// The backend this test thread runs its phases on (set by `on_both_backends!`).
    pub static BACKEND: Cell<Backend> = const { Cell::new(Backend::Native) };
}

/// The backend of the current test.
pub fn backend() -> Backend {
    BACKEND.with(Cell::get)
}

/// Why the gVisor backend cannot run here, if it cannot.
pub fn gvisor_unusable() -> Option<String> {
    ossprey_sandbox::gvisor::probe().err()
}

/// Define each test twice, as `NAME::native` and `NAME::gvisor`: the same body runs with
/// every sandbox of `common::run` on that backend. The gVisor variant prints
/// `SKIP: <reason>` when runsc is missing or unusable.
#[macro_export]
macro_rules! on_both_backends {
    ($(fn $name:ident() $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body() $body
            #[test]
            fn native() {
                body()
            }
            #[test]
            fn gvisor() {
                if let Some(why) = common::gvisor_unusable() {
                    eprintln!("SKIP: {why}");
                    return;
                }
                common::BACKEND.with(|b| b.set(ossprey_sandbox::Backend::Gvisor));
                body()
            }
        }
    )*};
}

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
    Sandbox::new()
        .with_backend(backend())
        .run(policy, phase)
        .expect("sandbox run")
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
