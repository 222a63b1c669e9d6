//! Helpers shared by the tests that run `ossprey analyze` in the sandbox
//! (`analyze.rs`, `behaviour.rs`, `honeytokens.rs`): skipping with a printed reason
//! when the host cannot run the sandbox, running the binary against fake registries on
//! a closed loopback port, and reading the JSON report.
//!
//! The submodules serve the service tests (`worker_chaos.rs`, `query_export.rs`,
//! `service_e2e.rs`): fake registry endpoints, store counts, schema validation.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod fake_registry;
pub mod schema;
pub mod store;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::{Value, json};

/// The runtime directory, or why the test must skip (printed as `SKIP <test>: …`).
pub fn runtime_dir_or_skip(test: &str) -> Option<PathBuf> {
    if !is_root() {
        eprintln!("SKIP {test}: needs root (the sandbox maps the caller's uid)");
        return None;
    }
    if let Some(why) = ossprey_dynamic::sandbox_unavailable() {
        eprintln!("SKIP {test}: {why}");
        return None;
    }
    let options = ossprey_runtime::Options::from_env();
    match ossprey_runtime::Runtime::open(&options) {
        Ok(Some(_)) => Some(options.runtime_dir),
        Ok(None) => {
            eprintln!(
                "SKIP {test}: no sandbox runtime at {}; build it with `cargo run -p ossprey-runtime --example provision_runtime`",
                options.runtime_path().display()
            );
            None
        }
        Err(e) => panic!("the cached runtime is damaged: {e}"),
    }
}

/// Whether the test runs as uid 0 (read from `/proc`, no libc needed).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs `ossprey analyze ARGS` with its caches in `cache`, the runtime in
/// `runtime_dir`, and every registry pointed at a closed loopback port (nothing is
/// fetched: the targets are local archives).
pub fn analyze(runtime_dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .arg("analyze")
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env("OSSPREY_RUNTIME_DIR", runtime_dir)
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .env("OSSPREY_CRATES_INDEX_URL", "http://127.0.0.1:9")
        .env("OSSPREY_RUBYGEMS_URL", "http://127.0.0.1:9")
        .output()
        .expect("run ossprey")
}

/// The JSON report on stdout (panics with stderr when it is not JSON).
pub fn report(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    r
}

/// Fails unless the phase's network namespace had only `lo` (read from inside it).
pub fn assert_sealed(phase: &Value) {
    assert_eq!(
        phase["isolation"]["interfaces"],
        json!(["lo"]),
        "the sandbox's namespace must have only lo: {phase:#}"
    );
}

/// Decodes a `*_base64` field of the report.
pub fn b64(s: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().unwrap_or_default())
        .expect("base64")
}

/// A benign PyPI sdist `plain-1.0.tar.gz` written into `dir`: one pure function.
pub fn benign_sdist(dir: &Path) -> PathBuf {
    let path = dir.join("plain-1.0.tar.gz");
    let bytes = ossprey_testkit::archives::tar_gz(&[
        (
            "plain-1.0/PKG-INFO",
            b"Metadata-Version: 2.1\nName: plain\nVersion: 1.0\nSummary: adds\n",
        ),
        (
            "plain-1.0/plain/__init__.py",
            b"def add(a, b):\n    return a + b\n",
        ),
    ]);
    std::fs::write(&path, bytes).unwrap();
    path
}
