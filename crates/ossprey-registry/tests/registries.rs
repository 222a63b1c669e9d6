//! Registry-specific behaviour, against a scripted loopback server.

use ossprey_testkit as support;
use ossprey_testkit::archives::sha256_hex as sha256;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use ossprey_model::{ArtifactSource, PackageSpec};
use ossprey_registry::{Fetched, Registries, RegistryConfig};
use serde_json::json;
use sha2::Digest as _;
use support::{FakeServer, Reply};

fn registries(base: &str, cache: &Path) -> Registries {
    let mut cfg = RegistryConfig::default_for_user();
    cfg.pypi_url = base.to_owned();
    cfg.npm_url = format!("{base}/npm");
    cfg.crates_index_url = format!("{base}/index");
    cfg.rubygems_url = format!("{base}/rubygems");
    cfg.timeout = Duration::from_millis(300);
    cfg.retries = 1;
    cfg.backoff = Duration::from_millis(10);
    cfg.cache_dir = cache.to_owned();
    Registries::new(cfg).expect("registries")
}

fn fetch(server: &FakeServer, s: &str) -> Fetched {
    fetch_with_bytes(server, s).0
}

/// The fetched archive's bytes are read before its temporary cache goes away.
fn fetch_with_bytes(server: &FakeServer, s: &str) -> (Fetched, Vec<u8>) {
    let cache = tempfile::tempdir().expect("tempdir");
    let spec: PackageSpec = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    let f = registries(&server.base, cache.path())
        .fetch(&spec)
        .unwrap_or_else(|e| panic!("{s}: {e}"));
    let bytes = std::fs::read(&f.path).expect("read");
    (f, bytes)
}

fn fetch_err(server: &FakeServer, s: &str) -> String {
    let cache = tempfile::tempdir().expect("tempdir");
    let spec: PackageSpec = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    registries(&server.base, cache.path())
        .fetch(&spec)
        .expect_err(s)
        .code()
        .to_owned()
}

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn digest_of(f: &Fetched) -> &str {
    match &f.artifact.source {
        ArtifactSource::Registry {
            verified_digest, ..
        } => verified_digest,
        other => panic!("{other:?}"),
    }
}

// ---------- PyPI ----------

fn pypi_file(
    base: &str,
    filename: &str,
    packagetype: &str,
    body: &[u8],
    server: &FakeServer,
) -> serde_json::Value {
    server.route(
        &format!("/files/{filename}"),
        vec![Reply::ok(body.to_vec())],
    );
    json!({"filename": filename, "url": format!("{base}/files/{filename}"), "packagetype": packagetype,
           "digests": {"sha256": sha256(body), "md5": "x"}, "yanked": false})
}

#[test]
fn pypi_prefers_the_sdist_then_a_pure_wheel() {
    let server = FakeServer::start();
    let b = &server.base;
    let doc = json!({"info": {"name": "My_Pkg", "version": "2.0"}, "releases": {
        "1.0": [pypi_file(b, "My_Pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "bdist_wheel", b"cp", &server),
                pypi_file(b, "My_Pkg-1.0-py3-none-any.whl", "bdist_wheel", b"pure", &server)],
        "2.0": [pypi_file(b, "My_Pkg-2.0-py3-none-any.whl", "bdist_wheel", b"pure2", &server),
                pypi_file(b, "My_Pkg-2.0.zip", "sdist", b"zip2", &server),
                pypi_file(b, "my_pkg-2.0.tar.gz", "sdist", b"targz2", &server)],
        "3.0": [pypi_file(b, "My_Pkg-3.0.win32.exe", "bdist_wininst", b"exe", &server)],
    }});
    // The spec's name is normalized for the URL (`My.Pkg` → `my-pkg`).
    server.route("/pypi/my-pkg/json", vec![Reply::json(&doc)]);
    let latest = fetch(&server, "pypi:My.Pkg");
    assert_eq!(
        (latest.filename.as_str(), latest.package.name.as_str()),
        ("my_pkg-2.0.tar.gz", "My_Pkg")
    );
    assert_eq!(
        fetch(&server, "pypi:my-pkg@1.0").filename,
        "My_Pkg-1.0-py3-none-any.whl"
    );
    assert_eq!(fetch_err(&server, "pypi:my-pkg@3.0"), "no-artifact");
}

#[test]
fn pypi_versions_match_by_normal_form_but_not_numerically() {
    let server = FakeServer::start();
    let b = &server.base;
    let doc = json!({"info": {"name": "p", "version": "1.0"}, "releases": {
        "1.0": [pypi_file(b, "p-1.0.tar.gz", "sdist", b"a", &server)],
        "2.0rc1": [pypi_file(b, "p-2.0rc1.tar.gz", "sdist", b"b", &server)],
    }});
    server.route("/pypi/p/json", vec![Reply::json(&doc)]);
    assert_eq!(
        fetch(&server, "pypi:p@V2.0-RC1").package.version.as_deref(),
        Some("2.0rc1")
    );
    assert_eq!(
        fetch(&server, "pypi:p@v1.0").package.version.as_deref(),
        Some("1.0")
    );
    assert_eq!(fetch_err(&server, "pypi:p@1.0.0"), "no-such-version");
}

#[test]
fn pypi_falls_back_to_the_simple_api() {
    let server = FakeServer::start();
    // No JSON API route: it answers 404, like a mirror without one.
    let files = [
        ("six-1.16.0.tar.gz", &b"old"[..]),
        ("six-1.17.0.tar.gz", b"new"),
        ("six-1.17.0-py2.py3-none-any.whl", b"whl"),
        ("six-1.18.0.tar.gz", b"yanked"),
        ("six-2.0.0b1.tar.gz", b"beta"),
    ];
    for (name, body) in files {
        server.route(&format!("/packages/{name}"), vec![Reply::ok(body.to_vec())]);
    }
    let doc = json!({
        "meta": {"api-version": "1.1"}, "name": "six", "versions": ["1.16.0", "1.17.0", "1.18.0", "2.0.0b1", "3.0"],
        "files": [
            // relative URL with the hash only in the fragment
            {"filename": "six-1.16.0.tar.gz", "url": format!("../../packages/six-1.16.0.tar.gz#sha256={}", sha256(b"old")), "hashes": {}},
            {"filename": "six-1.17.0-py2.py3-none-any.whl", "url": "/packages/six-1.17.0-py2.py3-none-any.whl", "hashes": {"sha256": sha256(b"whl")}},
            {"filename": "six-1.17.0.tar.gz", "url": format!("{}/packages/six-1.17.0.tar.gz", server.base), "hashes": {"sha256": sha256(b"new")}},
            {"filename": "six-1.18.0.tar.gz", "url": "/packages/six-1.18.0.tar.gz", "hashes": {"sha256": sha256(b"yanked")}, "yanked": "broken"},
            {"filename": "six-2.0.0b1.tar.gz", "url": "/packages/six-2.0.0b1.tar.gz", "hashes": {"sha256": sha256(b"beta")}, "yanked": false},
        ]
    });
    server.route("/simple/six/", vec![Reply::json(&doc)]);
    let latest = fetch(&server, "pypi:six");
    assert_eq!(
        (latest.package.version.as_deref(), latest.filename.as_str()),
        (Some("1.17.0"), "six-1.17.0.tar.gz")
    );
    assert_eq!(server.hits("/pypi/six/json"), 1);
    let accept = &server.requests("/simple/six/")[0].headers["accept"];
    assert!(
        accept.contains("application/vnd.pypi.simple.v1+json"),
        "{accept}"
    );
    assert_eq!(fetch_with_bytes(&server, "pypi:six@1.16.0").1, b"old");
    let yanked = fetch(&server, "pypi:six@1.18.0");
    assert!(yanked.yanked, "a yanked pinned file is fetched and flagged");
    assert_eq!(fetch_err(&server, "pypi:six@3.0"), "no-artifact");
    assert_eq!(fetch_err(&server, "pypi:six@4.0"), "no-such-version");
    assert_eq!(fetch_err(&server, "pypi:nosuch"), "no-such-package");
}

#[test]
fn pypi_file_without_sha256_is_refused() {
    let server = FakeServer::start();
    let doc = json!({"info": {"version": "1.0"}, "releases": {"1.0": [
        {"filename": "q-1.0.tar.gz", "url": format!("{}/q.tar.gz", server.base), "packagetype": "sdist", "digests": {"md5": "00"}}]}});
    server.route("/pypi/q/json", vec![Reply::json(&doc)]);
    assert_eq!(fetch_err(&server, "pypi:q"), "bad-registry-response");
    assert_eq!(server.hits("/q.tar.gz"), 0);
}

// ---------- npm ----------

#[test]
fn npm_scoped_names_are_encoded_and_sha512_integrity_verified() {
    let server = FakeServer::start();
    let body = b"scoped tarball";
    let tarball = format!("{}/npm/@scope/pkg/-/pkg-1.2.3.tgz", server.base);
    let doc = json!({"name": "@scope/pkg", "dist-tags": {"latest": "1.2.3"}, "versions": {"1.2.3": {"dist": {
        "tarball": tarball,
        // a wrong sha1 next to a right sha512: the strongest algorithm decides
        "integrity": format!("sha1-{} sha512-{}", b64(&sha1::Sha1::digest(b"nope")), b64(&sha2::Sha512::digest(body))),
        "shasum": "0000000000000000000000000000000000000000"}}}});
    server.route("/npm/@scope%2fpkg", vec![Reply::json(&doc)]);
    server.route(
        "/npm/@scope/pkg/-/pkg-1.2.3.tgz",
        vec![Reply::ok(body.to_vec())],
    );
    let f = fetch(&server, "npm:@scope/pkg");
    assert_eq!(
        (f.package.name.as_str(), f.filename.as_str()),
        ("@scope/pkg", "pkg-1.2.3.tgz")
    );
    assert!(digest_of(&f).starts_with("sha512:"));
    let accept = &server.requests("/npm/@scope%2fpkg")[0].headers["accept"];
    assert!(
        accept.starts_with("application/vnd.npm.install-v1+json"),
        "{accept}"
    );
    let dl = &server.requests("/npm/@scope/pkg/-/pkg-1.2.3.tgz")[0].headers;
    assert_eq!(
        dl.get("accept-encoding").map(String::as_str),
        Some("identity")
    );
}

#[test]
fn npm_falls_back_to_shasum_and_rejects_a_bad_strongest_digest() {
    let server = FakeServer::start();
    let body = b"legacy tarball";
    let url = |v: &str| format!("{}/npm/old/-/old-{v}.tgz", server.base);
    let doc = json!({"name": "old", "dist-tags": {"latest": "0.1.0"}, "versions": {
        "0.1.0": {"dist": {"tarball": url("0.1.0"), "shasum": hex::encode(sha1::Sha1::digest(body))}},
        "0.2.0": {"dist": {"tarball": url("0.2.0"),
            "integrity": format!("sha512-{} sha1-{}", b64(&sha2::Sha512::digest(b"nope")), b64(&sha1::Sha1::digest(body)))}},
        "0.3.0": {"dist": {"tarball": url("0.3.0")}},
        "0.4.0": {"dist": {}}
    }});
    server.route("/npm/old", vec![Reply::json(&doc)]);
    for v in ["0.1.0", "0.2.0", "0.3.0"] {
        server.route(
            &format!("/npm/old/-/old-{v}.tgz"),
            vec![Reply::ok(body.to_vec())],
        );
    }
    let f = fetch(&server, "npm:old@v0.1.0");
    assert_eq!(
        digest_of(&f),
        format!("sha1:{}", hex::encode(sha1::Sha1::digest(body)))
    );
    assert_eq!(fetch_err(&server, "npm:old@0.2.0"), "hash-mismatch");
    assert_eq!(fetch_err(&server, "npm:old@0.3.0"), "bad-registry-response");
    assert_eq!(fetch_err(&server, "npm:old@0.4.0"), "no-artifact");
}

#[test]
fn tarball_url_with_file_scheme_is_refused_not_read() {
    let server = FakeServer::start();
    let secret = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(secret.path(), b"local secret").expect("write");
    let body = b"local secret";
    let doc = json!({"name": "sneaky", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {"dist": {
        "tarball": format!("file://{}", secret.path().display()),
        "integrity": format!("sha512-{}", b64(&sha2::Sha512::digest(body)))}}}});
    server.route("/npm/sneaky", vec![Reply::json(&doc)]);
    assert_eq!(fetch_err(&server, "npm:sneaky"), "bad-registry-response");
}

// ---------- crates.io ----------

fn index_line(name: &str, vers: &str, body: &[u8], yanked: bool) -> String {
    json!({"name": name, "vers": vers, "deps": [], "cksum": sha256(body), "features": {}, "yanked": yanked}).to_string()
}

#[test]
fn crates_index_paths_and_dl_template() {
    let server = FakeServer::start();
    let dl = format!(
        "{}/dl/{{lowerprefix}}/{{crate}}/{{crate}}-{{version}}.crate?sum={{sha256-checksum}}",
        server.base
    );
    server.route(
        "/index/config.json",
        vec![Reply::json(&json!({"dl": dl, "api": "x"}))],
    );
    for (name, path, prefix) in [
        ("a", "1/a", "1"),
        ("ab", "2/ab", "2"),
        ("Abc", "3/a/abc", "3/a"),
        ("Serde_X", "se/rd/serde_x", "se/rd"),
    ] {
        let body = format!("crate {name}").into_bytes();
        server.route(
            &format!("/index/{path}"),
            vec![Reply::ok(index_line(name, "0.1.0", &body, false))],
        );
        server.route(
            &format!("/dl/{prefix}/{name}/{name}-0.1.0.crate"),
            vec![Reply::ok(body.clone())],
        );
        let (f, bytes) = fetch_with_bytes(&server, &format!("crates:{name}"));
        assert_eq!(
            (f.package.name.as_str(), f.filename.clone()),
            (name, format!("{name}-0.1.0.crate"))
        );
        assert_eq!(bytes, body);
        let ArtifactSource::Registry { url, .. } = &f.artifact.source else {
            panic!()
        };
        assert!(url.ends_with(&format!("?sum={}", sha256(&body))), "{url}");
    }
    assert_eq!(
        server.hits("/index/config.json"),
        4,
        "one per Registries instance"
    );
}

#[test]
fn crates_latest_skips_yanked_and_prereleases_but_pinned_yanked_is_fetched() {
    let server = FakeServer::start();
    server.route(
        "/index/config.json",
        vec![Reply::json(
            &json!({"dl": format!("{}/api/v1/crates/", server.base)}),
        )],
    );
    let lines = [
        index_line("demo", "1.0.0", b"one", false),
        "{ this line is not json".to_owned(),
        index_line("demo", "1.2.0", b"yanked", true),
        index_line("demo", "1.10.0-rc.1", b"pre", false),
        index_line("demo", "1.1.0", b"latest", false),
    ];
    server.route("/index/de/mo/demo", vec![Reply::ok(lines.join("\n"))]);
    for (v, body) in [
        ("1.0.0", &b"one"[..]),
        ("1.2.0", b"yanked"),
        ("1.1.0", b"latest"),
    ] {
        // No markers in `dl`: cargo appends `/{crate}/{version}/download`.
        server.route(
            &format!("/api/v1/crates/demo/{v}/download"),
            vec![Reply::ok(body.to_vec())],
        );
    }
    let latest = fetch(&server, "crates:demo");
    assert_eq!(
        (latest.package.version.as_deref(), latest.yanked),
        (Some("1.1.0"), false)
    );
    let (yanked, bytes) = fetch_with_bytes(&server, "crates:demo@1.2.0");
    assert!(yanked.yanked);
    assert_eq!(bytes, b"yanked");
    assert_eq!(fetch_err(&server, "crates:demo@2.0.0"), "no-such-version");
}

// ---------- RubyGems ----------

#[test]
fn rubygems_latest_is_the_newest_pure_ruby_release_and_platform_gems_download() {
    let server = FakeServer::start();
    let v = |number: &str, platform: &str, body: &[u8], pre: bool| json!({"number": number, "platform": platform, "sha": sha256(body), "prerelease": pre, "authors": "x"});
    let doc = json!([
        v("2.0.0.rc1", "ruby", b"rc", true),
        v("1.6.0", "x86_64-linux", b"native-only", false),
        v("1.5.0", "java", b"java", false),
        v("1.5.0", "ruby", b"ruby", false),
        {"number": "1.4.0", "platform": "ruby", "sha": null, "prerelease": false},
    ]);
    server.route(
        "/rubygems/api/v1/versions/nokogiri.json",
        vec![Reply::json(&doc)],
    );
    server.route(
        "/rubygems/gems/nokogiri-1.5.0.gem",
        vec![Reply::ok(b"ruby".to_vec())],
    );
    server.route(
        "/rubygems/gems/nokogiri-1.6.0-x86_64-linux.gem",
        vec![Reply::ok(b"native-only".to_vec())],
    );
    let latest = fetch(&server, "rubygems:nokogiri");
    assert_eq!(
        (latest.package.version.as_deref(), latest.filename.as_str()),
        (Some("1.5.0"), "nokogiri-1.5.0.gem")
    );
    let (native, bytes) = fetch_with_bytes(&server, "rubygems:nokogiri@1.6.0");
    assert_eq!(native.filename, "nokogiri-1.6.0-x86_64-linux.gem");
    assert_eq!(bytes, b"native-only");
    assert_eq!(
        fetch_err(&server, "rubygems:nokogiri@1.4.0"),
        "bad-registry-response"
    );
    assert_eq!(
        fetch_err(&server, "rubygems:nokogiri@9.0.0"),
        "no-such-version"
    );
}

#[test]
fn malformed_registry_json_is_an_error_not_a_panic() {
    let server = FakeServer::start();
    for path in [
        "/npm/junk",
        "/rubygems/api/v1/versions/junk.json",
        "/pypi/junk/json",
        "/simple/junk/",
    ] {
        server.route(
            path,
            vec![Reply::ok(&b"{\"versions\": [1, 2, {\"dist\": 7}"[..])],
        );
    }
    server.route("/index/config.json", vec![Reply::ok(&b"[]"[..])]);
    server.route(
        "/index/ju/nk/junk",
        vec![Reply::ok(&b"\x00\xff garbage\n{}\n"[..])],
    );
    for eco in ["npm", "rubygems", "pypi", "crates"] {
        assert_eq!(
            fetch_err(&server, &format!("{eco}:junk")),
            "bad-registry-response",
            "{eco}"
        );
    }
}
