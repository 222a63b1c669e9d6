//! End-to-end tests of the `ossprey` binary on archives the tests build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ossprey_testkit::archives;
use serde_json::Value;

fn ossprey(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        // Registry tests must never reach the internet: point every registry at a closed port.
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .env("OSSPREY_CRATES_INDEX_URL", "http://127.0.0.1:9")
        .env("OSSPREY_RUBYGEMS_URL", "http://127.0.0.1:9")
        .output()
        .expect("run ossprey")
}

fn tar_gz(path: &Path, files: &[(&str, &[u8])]) {
    std::fs::write(path, archives::tar_gz(files)).unwrap();
}

fn zip_file(path: &Path, files: &[(&str, &[u8])]) {
    std::fs::write(path, archives::zip_bytes(files)).unwrap();
}

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn npm(&self) -> PathBuf {
        let p = self.path("evil-helper-1.0.0.tgz");
        tar_gz(
            &p,
            &[
                (
                    "package/package.json",
                    br#"{"name":"evil-helper","version":"1.0.0","scripts":{"postinstall":"node setup.js","test":"jest"}}"#,
                ),
                ("package/setup.js", b"require('child_process').exec('id')\n"),
                ("package/index.js", b"module.exports = 1;\n"),
            ],
        );
        p
    }
    fn sdist(&self) -> PathBuf {
        let p = self.path("foo-1.0.tar.gz");
        tar_gz(
            &p,
            &[
                ("foo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nSummary: a package\n"),
                (
                    "foo-1.0/setup.py",
                    b"from setuptools import setup\nfrom x import Post\nsetup(name='foo', cmdclass={'install': Post})\n",
                ),
                ("foo-1.0/foo/__init__.py", b"VERSION = '1.0'\n"),
            ],
        );
        p
    }
    fn wheel(&self) -> PathBuf {
        let p = self.path("bar-2.0-py3-none-any.whl");
        zip_file(
            &p,
            &[
                ("bar/__init__.py", b"x = 1\n"),
                (
                    "bar-2.0.dist-info/METADATA",
                    b"Metadata-Version: 2.1\nName: bar\nVersion: 2.0\n",
                ),
                (
                    "bar-2.0.dist-info/WHEEL",
                    b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
                ),
                (
                    "bar-2.0.data/purelib/bar-hook.pth",
                    b"import os; os.system('echo hi')\n",
                ),
            ],
        );
        p
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn hook_triggers(report: &Value) -> Vec<String> {
    report["manifest"]["install_hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["trigger"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn scan_of_one_archive_prints_one_json_object_per_the_contract() {
    let fx = Fixtures::new();
    let npm = fx.npm();
    let out = ossprey(
        &["scan", npm.to_str().unwrap(), "--format", "json"],
        &fx.cache(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["target"], npm.to_str().unwrap());
    assert_eq!(r["package"]["ecosystem"], "npm");
    assert_eq!(r["package"]["name"], "evil-helper");
    assert_eq!(r["package"]["version"], "1.0.0");
    let sha = r["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(r["artifact"]["sha256"], sha);
    assert!(["benign", "suspicious", "malicious"].contains(&r["verdict"].as_str().unwrap()));
    let score = r["score"].as_f64().unwrap();
    assert!((0.0..=10.0).contains(&score));
    assert!(r["findings"].is_array());
    assert!(r["error"].is_null());
    assert!(r["duration_ms"].is_u64());
    assert_eq!(hook_triggers(&r), ["npm-postinstall"]);
    assert_eq!(
        r["manifest"]["install_hooks"][0]["command"],
        "node setup.js"
    );
    let files = r["inventory"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let setup = files
        .iter()
        .find(|f| f["path"] == "package/setup.js")
        .unwrap();
    assert_eq!(setup["kind"], "javascript");
    assert_eq!(setup["size"], 36);
    assert!(setup["entropy"].as_f64().unwrap() > 3.0);
}

#[test]
fn scan_reports_install_hooks_of_sdists_and_wheels() {
    let fx = Fixtures::new();
    let (sdist, wheel) = (fx.sdist(), fx.wheel());
    let out = ossprey(
        &[
            "scan",
            sdist.to_str().unwrap(),
            wheel.to_str().unwrap(),
            "--format",
            "json",
        ],
        &fx.cache(),
    );
    assert_eq!(out.status.code(), Some(0));
    let reports = json(&out);
    let reports = reports.as_array().expect("several targets print an array");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["package"]["name"], "foo");
    assert_eq!(reports[0]["package"]["ecosystem"], "pypi");
    assert_eq!(
        hook_triggers(&reports[0]),
        ["setup-py", "setup-py-cmdclass"]
    );
    assert_eq!(reports[1]["package"]["name"], "bar");
    assert_eq!(hook_triggers(&reports[1]), ["pth-file"]);
}

#[test]
fn a_bad_target_is_reported_and_the_rest_of_the_batch_goes_on() {
    let fx = Fixtures::new();
    let npm = fx.npm();
    let broken = fx.path("broken.tar.gz");
    let mut bytes = std::fs::read(&npm).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&broken, bytes).unwrap();
    let missing = fx.path("missing.tgz");
    let out = ossprey(
        &[
            "scan",
            broken.to_str().unwrap(),
            missing.to_str().unwrap(),
            npm.to_str().unwrap(),
            "pypi:../../etc",
            "--format",
            "jsonl",
            "--jobs",
            "3",
        ],
        &fx.cache(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a target that could not be analysed exits 2"
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "one object per target");
    // Reports come in the order the targets were given, whatever --jobs does.
    assert_eq!(lines[0]["target"], broken.to_str().unwrap());
    assert_eq!(lines[0]["error"]["code"], "archive-malformed");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("broken.tar.gz")
    );
    assert!(lines[0]["verdict"].is_null());
    assert_eq!(lines[1]["error"]["code"], "not-found");
    assert!(lines[2]["error"].is_null());
    assert_eq!(lines[2]["package"]["name"], "evil-helper");
    assert_eq!(lines[3]["error"]["code"], "invalid-target");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 of 4 targets could not be analysed"),
        "{stderr}"
    );
}

#[test]
fn directory_targets_get_a_tree_digest_and_never_follow_symlinks() {
    let fx = Fixtures::new();
    let dir = fx.path("pkg");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("package.json"),
        br#"{"name":"local-pkg","version":"0.1.0"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("lib/a.js"), b"console.log(1)\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    let out = ossprey(
        &["scan", dir.to_str().unwrap(), "--format", "json"],
        &fx.cache(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["artifact"]["source"]["kind"], "directory");
    assert_eq!(r["package"]["name"], "local-pkg");
    let first = r["sha256"].as_str().unwrap().to_owned();
    let link = r["inventory"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "passwd")
        .unwrap();
    assert_eq!(link["link"]["target"], "/etc/passwd");
    assert_eq!(link["link"]["escapes"], true);
    assert_eq!(link["size"], 0, "the symlink's target was not read");
    // Same tree, same digest; one byte changed, another digest.
    let again = json(&ossprey(
        &["scan", dir.to_str().unwrap(), "--format", "json"],
        &fx.cache(),
    ));
    assert_eq!(again["sha256"], first.as_str());
    std::fs::write(dir.join("lib/a.js"), b"console.log(2)\n").unwrap();
    let changed = json(&ossprey(
        &["scan", dir.to_str().unwrap(), "--format", "json"],
        &fx.cache(),
    ));
    assert_ne!(changed["sha256"], first.as_str());
}

#[test]
fn unreachable_registry_is_an_error_with_its_code() {
    let fx = Fixtures::new();
    let out = ossprey(
        &[
            "scan",
            "pypi:requests@2.32.3",
            "--format",
            "json",
            "--retries",
            "0",
            "--http-timeout",
            "2",
        ],
        &fx.cache(),
    );
    assert_eq!(out.status.code(), Some(2));
    let r = json(&out);
    assert_eq!(r["error"]["code"], "registry-unreachable");
    assert!(r["verdict"].is_null());
}

#[test]
fn text_output_names_hooks_and_the_verdict() {
    let fx = Fixtures::new();
    let npm = fx.npm();
    let out = ossprey(&["scan", npm.to_str().unwrap()], &fx.cache());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("package   npm evil-helper 1.0.0"), "{text}");
    assert!(text.contains("npm-postinstall"), "{text}");
    assert!(text.contains("node setup.js"), "{text}");
    assert!(text.contains("  verdict   "), "{text}");
    assert!(text.contains("/10)"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    let fx = Fixtures::new();
    assert_eq!(ossprey(&["scan"], &fx.cache()).status.code(), Some(2));
    assert_eq!(
        ossprey(&["scan", "x", "--format", "yaml"], &fx.cache())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ossprey(&["scan", "x", "--fail-on", "bad"], &fx.cache())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn huge_http_timeout_is_a_usage_error_not_a_panic() {
    let fx = Fixtures::new();
    let out = ossprey(
        &["scan", "pypi:six@1.16.0", "--http-timeout", "1e30"],
        &fx.cache(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--http-timeout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
#[cfg(unix)]
fn device_file_target_is_an_error_not_an_endless_read() {
    let fx = Fixtures::new();
    let out = ossprey(&["scan", "/dev/zero", "--format", "json"], &fx.cache());
    assert_eq!(out.status.code(), Some(2));
    let r = json(&out);
    assert_eq!(r["error"]["code"], "io");
    assert!(r["verdict"].is_null());
}

#[test]
fn fail_on_exits_1_only_when_a_verdict_reaches_the_level() {
    let fx = Fixtures::new();
    let benign = fx.path("plain-1.0.tar.gz");
    tar_gz(
        &benign,
        &[
            ("plain-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: plain\nVersion: 1.0\nSummary: adds numbers\n"),
            ("plain-1.0/pyproject.toml", b"[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n"),
            ("plain-1.0/plain/__init__.py", b"def add(a, b):\n    return a + b\n"),
        ],
    );
    let evil = fx.path("evil-1.0.tar.gz");
    tar_gz(
        &evil,
        &[
            ("evil-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"),
            (
                "evil-1.0/setup.py",
                b"import base64\nfrom setuptools import setup\nexec(base64.b64decode('cHJpbnQoMSk='))\nsetup(name='evil')\n",
            ),
        ],
    );
    let run = |target: &Path, level: &str| {
        ossprey(
            &["scan", target.to_str().unwrap(), "--fail-on", level, "-q"],
            &fx.cache(),
        )
    };
    let out = run(&benign, "suspicious");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stderr.is_empty());
    let out = run(&evil, "malicious");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = ossprey(&["scan", evil.to_str().unwrap(), "-q"], &fx.cache());
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --fail-on a verdict never changes the exit status"
    );
}

#[test]
fn rules_are_listed_and_docs_rules_md_is_current() {
    let fx = Fixtures::new();
    let out = ossprey(&["rules", "--format", "json"], &fx.cache());
    assert_eq!(out.status.code(), Some(0));
    let rules: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 40, "{} rules", rules.len());
    for r in rules {
        assert!(
            !r["id"].as_str().unwrap().is_empty() && !r["summary"].as_str().unwrap().is_empty()
        );
    }
    let markdown = ossprey(&["rules", "--format", "markdown"], &fx.cache()).stdout;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let committed = std::fs::read_to_string(&docs).unwrap_or_default();
    assert!(
        committed.contains(String::from_utf8(markdown).unwrap().trim()),
        "docs/rules.md is stale: regenerate with `cargo run -q -- rules --format markdown` into it"
    );
}
