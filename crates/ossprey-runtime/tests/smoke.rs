//! Smoke test of the drivers in the provisioned runtime.
//!
//! Builds tiny harmless packages (a PyPI sdist whose `setup.py`, import, entry point
//! and function each write a marker file; a CommonJS npm tarball with `preinstall` and
//! `postinstall` scripts and an undeclared-in-cache dependency; an ESM npm tarball),
//! then runs each phase's [`PhaseSpec`] in a `chroot` into the cached runtime — no
//! sandbox: these are our own packages, not untrusted code — and checks the markers.
//! The chroot honours the spec literally: the root is mounted read-only, only the
//! spec's writable directories are writable (persisting across phases, as in the
//! sandbox), inputs are placed read-only, and everything runs in fresh mount and
//! network namespaces (no interface is up: nothing can reach any network).
//!
//! Skips, saying why, when not root or when the runtime is not in the cache; build it
//! with `cargo run -p ossprey-runtime --example provision_runtime` or the ignored test
//! `build_runtime_in_the_cache` (minutes, see docs/sandbox-runtime.md).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ossprey_model::Ecosystem;
use ossprey_runtime::drivers::{
    DriverOptions, InputSource, ModuleKind, PackageHints, PackageInput, Phase, PhaseSpec,
    RESULT_MARK, SandboxLayout, phase_spec,
};
use ossprey_runtime::{Options, Runtime, StderrProgress, find_tool, running_as_root};

fn runtime_or_skip(test: &str) -> Option<Runtime> {
    if !running_as_root() {
        eprintln!("SKIP {test}: needs root (mount namespaces and chroot)");
        return None;
    }
    if find_tool("unshare").is_none() || find_tool("chroot").is_none() {
        eprintln!("SKIP {test}: `unshare` or `chroot` is missing");
        return None;
    }
    let options = Options::from_env();
    match Runtime::open(&options) {
        Ok(Some(rt)) => Some(rt),
        Ok(None) => {
            eprintln!(
                "SKIP {test}: no runtime at {}; build it with `cargo run -p ossprey-runtime --example provision_runtime`",
                options.runtime_path().display()
            );
            None
        }
        Err(e) => panic!("the cached runtime is damaged: {e}"),
    }
}

/// Host-side state of one package's phases: a directory per writable path.
struct Scratch {
    dir: tempfile::TempDir,
    writable: BTreeMap<String, PathBuf>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            writable: BTreeMap::new(),
        }
    }

    fn host_dir(&mut self, sandbox_path: &str) -> PathBuf {
        let n = self.writable.len();
        let dir = self.dir.path().join(format!("rw{n}"));
        self.writable
            .entry(sandbox_path.to_owned())
            .or_insert_with(|| {
                fs::create_dir_all(&dir).unwrap();
                dir
            })
            .clone()
    }
}

struct PhaseRun {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl PhaseRun {
    fn results(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(RESULT_MARK))
            .map(|j| serde_json::from_str(j).unwrap())
            .collect()
    }
}

fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `spec` chrooted into the runtime, honouring its writable dirs and inputs.
fn run_phase(rt: &Runtime, spec: &PhaseSpec, scratch: &mut Scratch) -> PhaseRun {
    let newroot = scratch.dir.path().join("newroot");
    fs::create_dir_all(&newroot).unwrap();
    let mut script = String::from("set -e\n");
    script += &format!(
        "mount --bind {root} {r}\nmount -o remount,bind,ro {r}\n",
        root = sq(&rt.root().to_string_lossy()),
        r = sq(&newroot.to_string_lossy())
    );
    for path in &spec.writable {
        let host = scratch.host_dir(path);
        script += &format!(
            "mount --bind {} {}\n",
            sq(&host.to_string_lossy()),
            sq(&format!("{}{path}", newroot.display()))
        );
    }
    // Inputs: one read-only directory per parent directory inside the sandbox.
    let mut parents: BTreeMap<String, PathBuf> = BTreeMap::new();
    for input in &spec.inputs {
        let (parent, file) = input.path.rsplit_once('/').unwrap();
        let n = parents.len();
        let host = parents
            .entry(parent.to_owned())
            .or_insert_with(|| scratch.dir.path().join(format!("in{n}-{:?}", spec.phase)))
            .clone();
        fs::create_dir_all(&host).unwrap();
        match &input.source {
            InputSource::HostFile(p) => fs::copy(p, host.join(file)).map(|_| ()).unwrap(),
            InputSource::Embedded(text) => fs::write(host.join(file), text).unwrap(),
        }
    }
    for (parent, host) in &parents {
        let target = sq(&format!("{}{parent}", newroot.display()));
        script += &format!(
            "mount --bind {} {target}\nmount -o remount,bind,ro {target}\n",
            sq(&host.to_string_lossy())
        );
    }
    script += &format!(
        "mount -t proc proc {}\n",
        sq(&format!("{}/proc", newroot.display()))
    );
    let env: Vec<String> = spec
        .env
        .iter()
        .map(|(k, v)| sq(&format!("{k}={v}")))
        .collect();
    let argv: Vec<String> = spec.argv.iter().map(|a| sq(a)).collect();
    script += &format!(
        "exec chroot {} /usr/bin/env -i {} /bin/sh -c 'cd \"$1\" && shift && exec \"$@\"' sh {} {}\n",
        sq(&newroot.to_string_lossy()),
        env.join(" "),
        sq(&spec.cwd),
        argv.join(" ")
    );
    let started = Instant::now();
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if started.elapsed() > spec.deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    PhaseRun {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        elapsed,
    }
}

fn tar_gz(path: &Path, files: &[(&str, &str, u32)]) {
    let file = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, name, contents.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

fn options() -> DriverOptions {
    DriverOptions {
        install_deadline: Duration::from_secs(60),
        import_deadline: Duration::from_secs(30),
        execute_deadline: Duration::from_secs(30),
        call_timeout: Duration::from_secs(5),
        max_calls: 10,
    }
}

fn assert_ok(phase: &str, run: &PhaseRun) {
    assert_eq!(
        run.status,
        Some(0),
        "{phase} failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    eprintln!("{phase}: {} ms", run.elapsed.as_millis());
}

const SETUP_PY: &str = r#"import os, sys
from setuptools import setup
with open(os.path.join(os.environ["HOME"], "pypi-setup-ran"), "w") as f:
    f.write(sys.executable)
setup(
    name="ossprey-smoke-dist",
    version="0.1",
    packages=["smokemod"],
    entry_points={"console_scripts": ["smoke-cli=smokemod:main"]},
)
"#;

const SMOKEMOD: &str = r#"import os, sys
HOME = os.environ["HOME"]
with open(os.path.join(HOME, "pypi-import-ran"), "w") as f:
    f.write(sys.version)

def greet(name, punctuation="!"):
    with open(os.path.join(HOME, "pypi-execute-greet"), "w") as f:
        f.write(type(name).__name__ + punctuation)

def main():
    with open(os.path.join(HOME, "pypi-main-calls"), "a") as f:
        f.write(repr(sys.argv[1:]) + "\n")

class Greeter:
    def __init__(self, who):
        self.who = who
    def wave(self):
        with open(os.path.join(HOME, "pypi-execute-wave"), "w") as f:
            f.write("wave")
"#;

#[test]
fn pypi_sdist_install_import_execute_in_the_runtime() {
    let Some(rt) = runtime_or_skip("pypi_sdist_install_import_execute_in_the_runtime") else {
        return;
    };
    let mut scratch = Scratch::new();
    let archive = scratch.dir.path().join("ossprey-smoke-dist-0.1.tar.gz");
    tar_gz(
        &archive,
        &[
            ("ossprey-smoke-dist-0.1/setup.py", SETUP_PY, 0o644),
            (
                "ossprey-smoke-dist-0.1/PKG-INFO",
                "Metadata-Version: 1.0\nName: ossprey-smoke-dist\nVersion: 0.1\n",
                0o644,
            ),
            (
                "ossprey-smoke-dist-0.1/smokemod/__init__.py",
                SMOKEMOD,
                0o644,
            ),
        ],
    );
    // The import name (smokemod) differs from the dist name and no hint is given:
    // the in-sandbox driver must find it from the installed metadata.
    let package = PackageInput {
        ecosystem: Ecosystem::Pypi,
        name: "ossprey-smoke-dist".into(),
        version: Some("0.1".into()),
        archive: archive.clone(),
        archive_name: "ossprey-smoke-dist-0.1.tar.gz".into(),
        hints: PackageHints::default(),
    };
    let layout = SandboxLayout::default();

    let install = run_phase(
        &rt,
        &phase_spec(&package, Phase::Install, &layout, &options()).unwrap(),
        &mut scratch,
    );
    assert_ok("pypi install", &install);
    let home = scratch.host_dir(&layout.home);
    assert_eq!(
        fs::read_to_string(home.join("pypi-setup-ran")).unwrap(),
        "/usr/bin/python3",
        "setup.py ran with the runtime's python"
    );
    assert!(
        home.join(".local/lib/python3.11/site-packages/smokemod/__init__.py")
            .exists(),
        "installed into the user site"
    );
    assert!(
        home.join(".local/bin/smoke-cli").exists(),
        "console script written"
    );

    let import = run_phase(
        &rt,
        &phase_spec(&package, Phase::Import, &layout, &options()).unwrap(),
        &mut scratch,
    );
    assert_ok("pypi import", &import);
    assert!(
        fs::read_to_string(home.join("pypi-import-ran"))
            .unwrap()
            .starts_with("3.11")
    );
    let results = import.results();
    assert!(
        results
            .iter()
            .any(|r| r["event"] == "modules" && r["modules"] == serde_json::json!(["smokemod"])),
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| r["event"] == "import" && r["module"] == "smokemod" && r["status"] == "ok"),
        "{results:?}"
    );

    let execute = run_phase(
        &rt,
        &phase_spec(&package, Phase::Execute, &layout, &options()).unwrap(),
        &mut scratch,
    );
    assert_ok("pypi execute", &execute);
    // main() runs twice: as the console script with --help, then as a module
    // function, where it sees the argv of `python3 -c` and nothing of the driver.
    assert_eq!(
        fs::read_to_string(home.join("pypi-main-calls")).unwrap(),
        "['--help']\n[]\n"
    );
    assert_eq!(
        fs::read_to_string(home.join("pypi-execute-greet")).unwrap(),
        "MagicMock!",
        "mock for the required argument, default kept"
    );
    assert_eq!(
        fs::read_to_string(home.join("pypi-execute-wave")).unwrap(),
        "wave",
        "methods of instantiated classes are called"
    );
    let results = execute.results();
    for target in [
        "smokemod.greet",
        "smokemod.main",
        "smokemod.Greeter",
        "smokemod.Greeter.wave",
    ] {
        assert!(
            results
                .iter()
                .any(|r| r["event"] == "call" && r["target"] == target && r["status"] == "ok"),
            "{target}: {results:?}"
        );
    }
    assert!(
        results.iter().any(|r| r["event"] == "entry-point"
            && r["name"] == "smoke-cli"
            && r["status"] == "ok"),
        "{results:?}"
    );
}

const NPM_PACKAGE_JSON: &str = r#"{
  "name": "@ossprey-test/smoke",
  "version": "1.0.0",
  "main": "index.js",
  "dependencies": { "left-pad": "^1.3.0" },
  "scripts": {
    "preinstall": "echo \"$npm_lifecycle_event $npm_package_name\" > \"$HOME/npm-preinstall\"",
    "postinstall": "node post.js"
  }
}"#;

#[test]
fn npm_cjs_install_runs_lifecycle_scripts_then_require_and_execute() {
    let Some(rt) =
        runtime_or_skip("npm_cjs_install_runs_lifecycle_scripts_then_require_and_execute")
    else {
        return;
    };
    let mut scratch = Scratch::new();
    let archive = scratch.dir.path().join("smoke-1.0.0.tgz");
    tar_gz(
        &archive,
        &[
            ("package/package.json", NPM_PACKAGE_JSON, 0o644),
            (
                "package/post.js",
                "require('fs').writeFileSync(process.env.HOME + '/npm-postinstall', process.env.npm_lifecycle_event + ' ' + process.version);\n",
                0o644,
            ),
            (
                "package/index.js",
                "const fs = require('fs');\nfs.writeFileSync(process.env.HOME + '/npm-required', 'yes');\nmodule.exports = { greet(who) { fs.writeFileSync(process.env.HOME + '/npm-execute-greet', typeof who); }, spin() { for (;;) {} } };\n",
                0o644,
            ),
        ],
    );
    let mut package = PackageInput {
        ecosystem: Ecosystem::Npm,
        name: "@ossprey-test/smoke".into(),
        version: Some("1.0.0".into()),
        archive,
        archive_name: "smoke-1.0.0.tgz".into(),
        hints: PackageHints {
            npm_module_kind: ModuleKind::CommonJs,
            ..Default::default()
        },
    };
    let layout = SandboxLayout::default();
    let opts = DriverOptions {
        call_timeout: Duration::from_secs(2),
        ..options()
    };

    let install = run_phase(
        &rt,
        &phase_spec(&package, Phase::Install, &layout, &opts).unwrap(),
        &mut scratch,
    );
    assert_ok("npm install", &install);
    let home = scratch.host_dir(&layout.home);
    let work = scratch.host_dir(&layout.work_dir);
    assert_eq!(
        fs::read_to_string(home.join("npm-preinstall"))
            .unwrap()
            .trim(),
        "preinstall @ossprey-test/smoke",
        "npm's env reached the script"
    );
    assert!(
        fs::read_to_string(home.join("npm-postinstall"))
            .unwrap()
            .starts_with("postinstall v18."),
        "node 18 of the runtime"
    );
    assert!(
        work.join("node_modules/@ossprey-test/smoke/index.js")
            .exists()
    );
    assert!(
        !work.join("node_modules/left-pad").exists(),
        "dependencies are not installed"
    );

    let import = run_phase(
        &rt,
        &phase_spec(&package, Phase::Import, &layout, &opts).unwrap(),
        &mut scratch,
    );
    assert_ok("npm import (require)", &import);
    assert_eq!(
        fs::read_to_string(home.join("npm-required")).unwrap(),
        "yes"
    );

    // The fallback import line works for a CommonJS package too.
    fs::remove_file(home.join("npm-required")).unwrap();
    package.hints.npm_module_kind = ModuleKind::Unknown;
    let import = run_phase(
        &rt,
        &phase_spec(&package, Phase::Import, &layout, &opts).unwrap(),
        &mut scratch,
    );
    assert_ok("npm import (unknown kind)", &import);
    assert_eq!(
        fs::read_to_string(home.join("npm-required")).unwrap(),
        "yes"
    );

    let execute = run_phase(
        &rt,
        &phase_spec(&package, Phase::Execute, &layout, &opts).unwrap(),
        &mut scratch,
    );
    assert_ok("npm execute", &execute);
    assert_eq!(
        fs::read_to_string(home.join("npm-execute-greet")).unwrap(),
        "function",
        "called with a mock argument"
    );
    let results = execute.results();
    let status_of = |t: &str| {
        results
            .iter()
            .find(|r| r["event"] == "call" && r["target"] == t)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of("greet"), Some("ok".into()), "{results:?}");
    assert_eq!(
        status_of("default.spin").or_else(|| status_of("spin")),
        Some("timeout".into()),
        "an endless call is killed: {results:?}"
    );
}

#[test]
fn npm_esm_package_is_imported_not_required() {
    let Some(rt) = runtime_or_skip("npm_esm_package_is_imported_not_required") else {
        return;
    };
    let mut scratch = Scratch::new();
    let archive = scratch.dir.path().join("esm-smoke-2.0.0.tgz");
    let package_json = r#"{"name":"esm-smoke","version":"2.0.0","type":"module","exports":{"import":"./index.js"}}"#;
    tar_gz(
        &archive,
        &[
            ("package/package.json", package_json, 0o644),
            (
                "package/index.js",
                "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.HOME + '/esm-imported', 'yes');\nexport function hello(x) { writeFileSync(process.env.HOME + '/esm-execute-hello', 'called'); }\n",
                0o644,
            ),
        ],
    );
    let kind =
        ossprey_runtime::drivers::npm_module_kind(&serde_json::from_str(package_json).unwrap());
    assert_eq!(kind, ModuleKind::Esm);
    let mut package = PackageInput {
        ecosystem: Ecosystem::Npm,
        name: "esm-smoke".into(),
        version: Some("2.0.0".into()),
        archive,
        archive_name: "esm-smoke-2.0.0.tgz".into(),
        hints: PackageHints {
            npm_module_kind: kind,
            ..Default::default()
        },
    };
    let layout = SandboxLayout::default();
    assert_ok(
        "npm install (esm)",
        &run_phase(
            &rt,
            &phase_spec(&package, Phase::Install, &layout, &options()).unwrap(),
            &mut scratch,
        ),
    );
    let home = scratch.host_dir(&layout.home);

    // A plain require is refused by this package: the ESM line is needed.
    package.hints.npm_module_kind = ModuleKind::CommonJs;
    let refused = run_phase(
        &rt,
        &phase_spec(&package, Phase::Import, &layout, &options()).unwrap(),
        &mut scratch,
    );
    assert_ne!(
        refused.status,
        Some(0),
        "require of an import-only package must fail"
    );
    assert!(!home.join("esm-imported").exists());

    for kind in [ModuleKind::Esm, ModuleKind::Unknown] {
        package.hints.npm_module_kind = kind;
        let import = run_phase(
            &rt,
            &phase_spec(&package, Phase::Import, &layout, &options()).unwrap(),
            &mut scratch,
        );
        assert_ok(&format!("npm import ({kind:?})"), &import);
        assert_eq!(
            fs::read_to_string(home.join("esm-imported")).unwrap(),
            "yes"
        );
        fs::remove_file(home.join("esm-imported")).unwrap();
    }

    let execute = run_phase(
        &rt,
        &phase_spec(&package, Phase::Execute, &layout, &options()).unwrap(),
        &mut scratch,
    );
    assert_ok("npm execute (esm)", &execute);
    assert_eq!(
        fs::read_to_string(home.join("esm-execute-hello")).unwrap(),
        "called"
    );
}

/// Builds the runtime into the cache (minutes on first use; a no-op when present).
#[test]
#[ignore = "slow: builds the Debian runtime with debootstrap (about 3-6 minutes, ~440 MB)"]
fn build_runtime_in_the_cache() {
    if !running_as_root() {
        eprintln!("SKIP build_runtime_in_the_cache: needs root");
        return;
    }
    let rt = Runtime::ensure(&Options::from_env(), &mut StderrProgress { verbose: false }).unwrap();
    eprintln!("{}: {:?}", rt.root().display(), rt.manifest().tools);
}
