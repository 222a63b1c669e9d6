//! Against the real registries. Off by default: set `OSSPREY_LIVE=1`.

use std::process::Command;

use serde_json::Value;

#[test]
fn live_scan_of_real_packages_from_three_registries() {
    if std::env::var("OSSPREY_LIVE").as_deref() != Ok("1") {
        println!("skipped: set OSSPREY_LIVE=1 to scan real packages from PyPI, npm and crates.io");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "scan",
            "pypi:requests@2.32.3",
            "npm:left-pad@1.3.0",
            "crates:serde@1.0.210",
            "--format",
            "json",
        ])
        .env("OSSPREY_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    let expect = [
        ("pypi", "requests", "2.32.3"),
        ("npm", "left-pad", "1.3.0"),
        ("crates", "serde", "1.0.210"),
    ];
    for (r, (eco, name, version)) in reports.iter().zip(expect) {
        assert!(r["error"].is_null(), "{}: {}", r["target"], r["error"]);
        assert_eq!(r["package"]["ecosystem"], eco);
        assert_eq!(r["package"]["name"], name);
        assert_eq!(r["package"]["version"], version);
        assert_eq!(r["sha256"].as_str().unwrap().len(), 64);
        assert!(r["inventory"]["file_count"].as_u64().unwrap() > 3);
    }
    // The sdist, not a wheel: setup.py is where install-time code lives.
    assert!(
        reports[0]["artifact"]["source"]["filename"]
            .as_str()
            .unwrap()
            .ends_with(".tar.gz")
    );
    // serde has a build script.
    let hooks = reports[2]["manifest"]["install_hooks"].as_array().unwrap();
    assert!(
        hooks.iter().any(|h| h["trigger"] == "build-rs"),
        "{hooks:?}"
    );
}
