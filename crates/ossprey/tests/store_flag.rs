//! `ossprey scan --store` / `--db URL`: every report is saved, and a store that
//! cannot take it makes the run fail (exit 2) with a clear message.

use std::path::Path;
use std::process::{Command, Output};

use ossprey_store::{Filter, Store};
use ossprey_testkit::archives;

fn ossprey(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env("OSSPREY_CACHE_DIR", cache)
        .env_remove("OSSPREY_DB")
        .env("OSSPREY_PYPI_URL", "http://127.0.0.1:9")
        .env("OSSPREY_NPM_URL", "http://127.0.0.1:9")
        .env("OSSPREY_CRATES_INDEX_URL", "http://127.0.0.1:9")
        .env("OSSPREY_RUBYGEMS_URL", "http://127.0.0.1:9")
        .output()
        .expect("run ossprey")
}

fn package(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}-1.0.tar.gz"));
    let setup = format!("from setuptools import setup\nsetup(name='{name}', version='1.0')\n");
    let pkg_info = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n");
    let files: [(String, &[u8]); 2] = [
        (format!("{name}-1.0/setup.py"), setup.as_bytes()),
        (format!("{name}-1.0/PKG-INFO"), pkg_info.as_bytes()),
    ];
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    std::fs::write(&path, archives::tar_gz(&refs)).expect("write archive");
    path.display().to_string()
}

#[test]
fn scan_store_saves_every_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let (a, b) = (package(dir.path(), "alpha"), package(dir.path(), "beta"));
    let db = format!("sqlite://{}", dir.path().join("db/ossprey.db").display());
    let out = ossprey(
        &["scan", &a, &b, "--db", &db, "--format", "jsonl", "-q"],
        &cache,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&db).expect("open");
    let found = store.find_analyses(&Filter::default()).expect("find");
    let mut targets: Vec<_> = found.iter().map(|f| f.report.target.clone()).collect();
    targets.sort();
    assert_eq!(targets, vec![a.clone(), b.clone()]);
    assert!(found.iter().all(|f| f.kind == "scan"));
    // What was printed is what was stored.
    let printed: Vec<ossprey_model::Report> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl report"))
        .collect();
    for p in &printed {
        assert!(
            found.iter().any(|f| &f.report == p),
            "{} not stored as printed",
            p.target
        );
    }
    // Without --store/--db nothing is saved.
    let out = ossprey(&["scan", &a, "-q", "--format", "json"], &cache);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(store.count_rows("analyses").expect("count"), 2);
}

#[test]
fn unusable_store_fails_the_run_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let a = package(dir.path(), "alpha");
    // Not a database URL; a directory where the file should be.
    let not_a_file = format!("sqlite://{}", dir.path().display());
    for db in ["mysql://me:hunter2@localhost/o", not_a_file.as_str()] {
        let out = ossprey(&["scan", &a, "--db", db, "-q", "--format", "json"], &cache);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{db}: {stderr}");
        assert!(stderr.contains("store"), "{db}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "{db}: printed a report it could not store"
        );
    }
}

/// A store that fills up: the run exits 2 and says so; the report is still printed
/// when the store opened, and nothing is counted as stored that was not.
#[test]
fn full_store_fails_the_run() {
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root {
        println!("SKIP: full_store_fails_the_run: not root, cannot mount a small tmpfs");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "ossprey-test"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("SKIP: full_store_fails_the_run: mount -t tmpfs failed");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mnt);
    let db = format!("sqlite://{}", mnt.join("ossprey.db").display());
    drop(Store::open(&db).expect("create the store"));
    // Fill what is left of the disk.
    let mut junk = std::fs::File::create(mnt.join("junk")).expect("junk");
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut junk, &chunk).is_ok() {}
    drop(junk);

    let cache = dir.path().join("cache");
    let a = package(dir.path(), "alpha");
    let out = ossprey(&["scan", &a, "--db", &db, "-q", "--format", "json"], &cache);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("full store: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("out of space"), "{stderr}");
    std::fs::remove_file(mnt.join("junk")).expect("free space");
    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.count_rows("analyses").expect("count"), 0);
}
