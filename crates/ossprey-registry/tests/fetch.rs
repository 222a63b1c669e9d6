//! Every registry client against a scripted loopback server.

use ossprey_testkit as support;
use ossprey_testkit::archives::sha256_hex as sha256;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ossprey_model::{ArtifactSource, Ecosystem, PackageSpec};
use ossprey_registry::{Fetched, Registries, RegistryConfig, RegistryError};
use serde_json::json;
use sha2::Digest as _;
use support::{FakeServer, Reply, dead_base};

fn config(base: &str, cache: &Path) -> RegistryConfig {
    let mut cfg = RegistryConfig::default_for_user();
    cfg.pypi_url = base.to_owned();
    cfg.npm_url = format!("{base}/npm");
    cfg.crates_index_url = format!("{base}/index");
    cfg.rubygems_url = format!("{base}/rubygems");
    cfg.timeout = Duration::from_millis(300);
    cfg.connect_timeout = Duration::from_millis(300);
    cfg.retries = 2;
    cfg.backoff = Duration::from_millis(10);
    cfg.cache_dir = cache.to_owned();
    cfg
}

fn registries(base: &str, cache: &Path) -> Registries {
    Registries::new(config(base, cache)).expect("registries")
}

fn spec(s: &str) -> PackageSpec {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn sri512(b: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(b))
    )
}

fn sha1(b: &[u8]) -> String {
    hex::encode(sha1::Sha1::digest(b))
}

fn archive(eco: Ecosystem, version: &str) -> Vec<u8> {
    format!("{eco} demo {version}: pretend this is a real archive").into_bytes()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p))
        } else {
            out.push(p)
        }
    }
    out
}

fn verified_digest(f: &Fetched) -> &str {
    match &f.artifact.source {
        ArtifactSource::Registry {
            verified_digest, ..
        } => verified_digest,
        other => panic!("unexpected source {other:?}"),
    }
}

/// A package `demo` with versions 1.0.0 and 1.1.0 (latest) on one registry.
struct Fixture {
    eco: Ecosystem,
    meta_path: String,
    download_path: String,
}

impl Fixture {
    fn pinned(&self) -> PackageSpec {
        spec(&format!("{}:demo@1.0.0", self.eco))
    }
    fn latest(&self) -> PackageSpec {
        spec(&format!("{}:demo", self.eco))
    }
}

/// Scripts `demo` on `server`. With `honest == false` the published digest of
/// 1.0.0 does not match its bytes.
fn setup(eco: Ecosystem, server: &FakeServer, honest: bool) -> Fixture {
    let base = &server.base;
    let bytes = |v: &str| archive(eco, v);
    let published = |v: &str| {
        if honest || v != "1.0.0" {
            bytes(v)
        } else {
            b"something else".to_vec()
        }
    };
    let (meta_path, dl): (String, fn(&str) -> String) = match eco {
        Ecosystem::Pypi => {
            let file = |v: &str| {
                json!({"filename": format!("demo-{v}.tar.gz"), "url": format!("{base}/files/demo-{v}.tar.gz"),
                       "packagetype": "sdist", "digests": {"sha256": sha256(&published(v))}, "yanked": false})
            };
            let doc = json!({"info": {"name": "demo", "version": "1.1.0"},
                             "releases": {"1.0.0": [file("1.0.0")], "1.1.0": [file("1.1.0")]}});
            server.route("/pypi/demo/json", vec![Reply::json(&doc)]);
            ("/pypi/demo/json".to_owned(), |v: &str| {
                format!("/files/demo-{v}.tar.gz")
            })
        }
        Ecosystem::Npm => {
            let manifest = |v: &str| {
                json!({"name": "demo", "version": v, "dist": {"tarball": format!("{base}/npm/demo/-/demo-{v}.tgz"),
                       "integrity": sri512(&published(v)), "shasum": sha1(&published(v))}})
            };
            let doc = json!({"name": "demo", "dist-tags": {"latest": "1.1.0"},
                             "versions": {"1.0.0": manifest("1.0.0"), "1.1.0": manifest("1.1.0")}});
            server.route("/npm/demo", vec![Reply::json(&doc)]);
            ("/npm/demo".to_owned(), |v: &str| {
                format!("/npm/demo/-/demo-{v}.tgz")
            })
        }
        Ecosystem::Crates => {
            server.route(
                "/index/config.json",
                vec![Reply::json(&json!({"dl": format!("{base}/crates")}))],
            );
            let line = |v: &str| {
                json!({"name": "demo", "vers": v, "deps": [], "cksum": sha256(&published(v)),
                                        "features": {}, "yanked": false})
                .to_string()
            };
            server.route(
                "/index/de/mo/demo",
                vec![Reply::ok(format!("{}\n{}\n", line("1.0.0"), line("1.1.0")))],
            );
            ("/index/de/mo/demo".to_owned(), |v: &str| {
                format!("/crates/demo/{v}/download")
            })
        }
        Ecosystem::Rubygems => {
            let entry = |v: &str| json!({"number": v, "platform": "ruby", "sha": sha256(&published(v)), "prerelease": false});
            server.route(
                "/rubygems/api/v1/versions/demo.json",
                vec![Reply::json(&json!([entry("1.1.0"), entry("1.0.0")]))],
            );
            (
                "/rubygems/api/v1/versions/demo.json".to_owned(),
                |v: &str| format!("/rubygems/gems/demo-{v}.gem"),
            )
        }
    };
    for v in ["1.0.0", "1.1.0"] {
        server.route(&dl(v), vec![Reply::ok(bytes(v))]);
    }
    Fixture {
        eco,
        meta_path,
        download_path: dl("1.0.0"),
    }
}

#[test]
fn latest_and_pinned_resolve_and_verify_on_every_registry() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        let reg = registries(&server.base, cache.path());

        let latest = reg
            .fetch(&fx.latest())
            .unwrap_or_else(|e| panic!("{eco}: {e}"));
        assert_eq!(latest.package.version.as_deref(), Some("1.1.0"), "{eco}");
        assert_eq!(
            std::fs::read(&latest.path).expect("read"),
            archive(eco, "1.1.0"),
            "{eco}"
        );

        let pinned = reg
            .fetch(&fx.pinned())
            .unwrap_or_else(|e| panic!("{eco}: {e}"));
        let bytes = archive(eco, "1.0.0");
        assert_eq!(pinned.package.name, "demo");
        assert_eq!(pinned.package.version.as_deref(), Some("1.0.0"));
        assert_eq!(pinned.artifact.sha256, sha256(&bytes), "{eco}");
        assert_eq!(pinned.artifact.size, bytes.len() as u64);
        assert_eq!(std::fs::read(&pinned.path).expect("read"), bytes);
        assert!(!pinned.from_cache && !pinned.yanked);
        let sha = &pinned.artifact.sha256;
        assert!(
            pinned
                .path
                .ends_with(format!("archives/sha256/{}/{sha}", &sha[..2])),
            "{eco}: {:?}",
            pinned.path
        );
        let expected_digest = match eco {
            Ecosystem::Npm => format!("sha512:{}", hex::encode(sha2::Sha512::digest(&bytes))),
            _ => format!("sha256:{}", sha256(&bytes)),
        };
        assert_eq!(verified_digest(&pinned), expected_digest, "{eco}");
    }
}

#[test]
fn hash_mismatch_is_an_error_and_leaves_nothing_in_the_cache() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, false);
        let err = registries(&server.base, cache.path())
            .fetch(&fx.pinned())
            .expect_err("must fail");
        assert_eq!(err.code(), "hash-mismatch", "{eco}: {err}");
        let RegistryError::HashMismatch {
            expected, actual, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_ne!(expected, actual);
        let left = files_under(cache.path());
        assert!(left.is_empty(), "{eco}: left behind {left:?}");
    }
}

#[test]
fn unknown_package_and_unknown_version_are_distinct_errors() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        let reg = registries(&server.base, cache.path());
        let err = reg
            .fetch(&spec(&format!("{eco}:nothere@1.0.0")))
            .expect_err("404");
        assert_eq!(err.code(), "no-such-package", "{eco}: {err}");
        let err = reg
            .fetch(&spec(&format!("{eco}:nothere")))
            .expect_err("404");
        assert_eq!(err.code(), "no-such-package", "{eco}: {err}");
        let err = reg
            .fetch(&spec(&format!("{eco}:demo@9.9.9")))
            .expect_err("no version");
        let RegistryError::NoSuchVersion {
            version, latest, ..
        } = &err
        else {
            panic!("{eco}: {err:?}")
        };
        assert_eq!(
            (version.as_str(), latest.as_deref()),
            ("9.9.9", Some("1.1.0")),
            "{eco}"
        );
        assert!(err.to_string().contains("latest is 1.1.0"), "{err}");
        assert_eq!(
            server.hits(&fx.meta_path),
            1,
            "{eco}: a 404 is never retried"
        );
    }
}

#[test]
fn server_errors_are_retried_until_success() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        // Re-script the metadata and download routes to fail first.
        let good_meta = fetch_raw(&server.base, &fx.meta_path);
        let good_dl = fetch_raw(&server.base, &fx.download_path);
        server.route(
            &fx.meta_path,
            vec![Reply::status(500), Reply::ok(good_meta)],
        );
        server.route(
            &fx.download_path,
            vec![Reply::status(503), Reply::status(429), Reply::ok(good_dl)],
        );
        let before_meta = server.hits(&fx.meta_path);
        let before_dl = server.hits(&fx.download_path);
        let f = registries(&server.base, cache.path())
            .fetch(&fx.pinned())
            .unwrap_or_else(|e| panic!("{eco}: {e}"));
        assert_eq!(f.package.version.as_deref(), Some("1.0.0"));
        assert_eq!(server.hits(&fx.meta_path) - before_meta, 2, "{eco}");
        assert_eq!(server.hits(&fx.download_path) - before_dl, 3, "{eco}");
    }
}

/// The body a route currently serves, read with a plain socket.
fn fetch_raw(base: &str, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    raw[at..].to_vec()
}

#[test]
fn slow_registry_is_unreachable_after_retries() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        let body = fetch_raw(&server.base, &fx.meta_path);
        server.route(
            &fx.meta_path,
            vec![Reply::ok(body).delayed(Duration::from_millis(1200))],
        );
        let before = server.hits(&fx.meta_path);
        let err = registries(&server.base, cache.path())
            .fetch(&fx.pinned())
            .expect_err("timeout");
        assert_eq!(err.code(), "registry-unreachable", "{eco}: {err}");
        assert!(err.to_string().contains("3 attempts"), "{err}");
        assert_eq!(server.hits(&fx.meta_path) - before, 3, "{eco}");
    }
}

#[test]
fn server_down_is_unreachable() {
    let cache = tempfile::tempdir().expect("tempdir");
    let reg = registries(&dead_base(), cache.path());
    for eco in Ecosystem::ALL {
        let err = reg
            .fetch(&spec(&format!("{eco}:demo@1.0.0")))
            .expect_err("down");
        assert_eq!(err.code(), "registry-unreachable", "{eco}: {err}");
        assert!(
            err.to_string().contains("gave up after 3 attempts"),
            "{err}"
        );
    }
}

#[test]
fn pinned_versions_are_served_from_cache_and_corruption_is_repaired() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        let reg = registries(&server.base, cache.path());
        let first = reg.fetch(&fx.pinned()).expect("first");
        let hits = server.total_hits();

        let second = reg.fetch(&fx.pinned()).expect("second");
        assert_eq!(
            server.total_hits(),
            hits,
            "{eco}: a cached pinned version needs no network"
        );
        assert!(second.from_cache);
        assert_eq!(
            (&second.path, &second.artifact),
            (&first.path, &first.artifact)
        );

        // A fresh instance (a later run) reads the same cache.
        let mut offline = config(&server.base, cache.path());
        offline.offline = true;
        let third = Registries::new(offline.clone())
            .expect("offline")
            .fetch(&fx.pinned())
            .expect("offline hit");
        assert!(third.from_cache);
        assert_eq!(
            Registries::new(offline)
                .expect("offline")
                .fetch(&fx.latest())
                .expect_err("latest asks")
                .code(),
            "registry-unreachable"
        );

        std::fs::write(&first.path, b"tampered").expect("corrupt");
        let dl_before = server.hits(&fx.download_path);
        let repaired = reg.fetch(&fx.pinned()).expect("repaired");
        assert!(!repaired.from_cache, "{eco}");
        assert_eq!(server.hits(&fx.download_path), dl_before + 1, "{eco}");
        assert_eq!(
            std::fs::read(&repaired.path).expect("read"),
            archive(eco, "1.0.0")
        );

        // "latest" always asks the registry, but reuses the stored archive when the
        // registry's published digest is one already verified.
        let meta_before = server.hits(&fx.meta_path);
        let latest = reg.fetch(&fx.latest()).expect("latest");
        assert_eq!(server.hits(&fx.meta_path), meta_before + 1, "{eco}");
        let again = reg.fetch(&fx.latest()).expect("latest again");
        assert_eq!(again.artifact, latest.artifact);
        assert!(again.from_cache, "{eco}");
        assert_eq!(server.hits(&fx.meta_path), meta_before + 2, "{eco}");
    }
}

#[test]
fn oversized_downloads_are_refused_and_not_kept() {
    for eco in Ecosystem::ALL {
        let server = FakeServer::start();
        let cache = tempfile::tempdir().expect("tempdir");
        let fx = setup(eco, &server, true);
        let mut cfg = config(&server.base, cache.path());
        cfg.max_download_bytes = 16;
        let err = Registries::new(cfg)
            .expect("reg")
            .fetch(&fx.pinned())
            .expect_err("too large");
        assert_eq!(err.code(), "download-too-large", "{eco}: {err}");
        assert!(files_under(&cache.path().join("archives")).is_empty());
        assert_eq!(server.hits(&fx.download_path), 1, "{eco}: not retried");
    }
}

#[test]
fn the_download_cap_does_not_trust_content_length() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().expect("tempdir");
    let fx = setup(Ecosystem::Crates, &server, true);
    server.route(
        &fx.download_path,
        vec![Reply::ok(vec![b'x'; 200_000]).without_length()],
    );
    let mut cfg = config(&server.base, cache.path());
    cfg.max_download_bytes = 100_000;
    let err = Registries::new(cfg)
        .expect("reg")
        .fetch(&fx.pinned())
        .expect_err("too large");
    assert_eq!(err.code(), "download-too-large", "{err}");
    assert!(files_under(&cache.path().join("archives")).is_empty());

    // Without a length, the honest archive still arrives whole.
    server.route(
        &fx.download_path,
        vec![Reply::ok(archive(Ecosystem::Crates, "1.0.0")).without_length()],
    );
    let f = registries(&server.base, cache.path())
        .fetch(&fx.pinned())
        .expect("close-delimited body");
    assert_eq!(
        f.artifact.sha256,
        sha256(&archive(Ecosystem::Crates, "1.0.0"))
    );
}

#[test]
fn one_instance_serves_many_threads() {
    let server = FakeServer::start();
    let cache = tempfile::tempdir().expect("tempdir");
    let fx = setup(Ecosystem::Npm, &server, true);
    let reg = registries(&server.base, cache.path());
    let results: Vec<Fetched> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (reg, fx) = (&reg, &fx);
                s.spawn(move || reg.fetch(&if i % 2 == 0 { fx.pinned() } else { fx.latest() }))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("fetch"))
            .collect()
    });
    for (i, f) in results.iter().enumerate() {
        let v = if i % 2 == 0 { "1.0.0" } else { "1.1.0" };
        assert_eq!(
            std::fs::read(&f.path).expect("read"),
            archive(Ecosystem::Npm, v)
        );
    }
    assert!(files_under(&cache.path().join("archives/tmp")).is_empty());
}

#[test]
fn a_cache_dir_owned_by_another_user_is_refused() {
    use std::os::unix::fs::{MetadataExt as _, chown};
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    if chown(&cache, Some(65534), Some(65534)).is_err() {
        println!("skipped: changing a directory's owner needs root (this test runs as root in CI)");
        return;
    }
    assert_eq!(std::fs::metadata(&cache).unwrap().uid(), 65534);
    let err = Registries::new(config("http://127.0.0.1:9", &cache)).unwrap_err();
    assert_eq!(err.code(), "io");
    assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    // A fresh directory is created private to this user.
    let own = tmp.path().join("own");
    Registries::new(config("http://127.0.0.1:9", &own)).unwrap();
    assert_eq!(std::fs::metadata(&own).unwrap().mode() & 0o777, 0o700);
}
