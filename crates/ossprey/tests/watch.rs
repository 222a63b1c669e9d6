//! `ossprey watch` end to end: the binary polls a fake server that serves every feed
//! (PyPI RSS and XML-RPC, npm `_changes`, crates.io summary, RubyGems activity) with
//! the fixtures of `ossprey-feeds`, into a real store (SQLite, and PostgreSQL when the
//! server binaries are installed).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ossprey_store::Store;
use ossprey_testkit::postgres::PgServer;
use ossprey_testkit::{FakeServer, Reply};

mod common;
use common::store::jobs;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../ossprey-feeds/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every feed, scripted: the first answer of each route is the first poll's, the last
/// one repeats for every later poll.
fn feeds_server(second_updates: &str) -> FakeServer {
    let server = FakeServer::start();
    server.route(
        "/rss/updates.xml",
        vec![
            Reply::ok(fixture("pypi_updates_1.xml")),
            Reply::ok(fixture(second_updates)),
        ],
    );
    server.route(
        "/rss/packages.xml",
        vec![Reply::ok(fixture("pypi_packages.xml"))],
    );
    server.route(
        "/rss/project/reqeusts-async/releases.xml",
        vec![Reply::ok(fixture("pypi_project_reqeusts-async.xml"))],
    );
    server.route("/pypi", vec![Reply::ok(fixture("xmlrpc_last_serial.xml"))]);
    server.route(
        "/registry/_changes",
        vec![Reply::ok(fixture("npm_changes_now.json"))],
    );
    server.route(
        "/api/v1/summary",
        vec![Reply::ok(fixture("crates_summary.json"))],
    );
    server.route(
        "/api/v1/activity/just_updated.json",
        vec![Reply::ok(fixture("rubygems_just_updated.json"))],
    );
    server.route(
        "/api/v1/activity/latest.json",
        vec![Reply::ok(fixture("rubygems_latest.json"))],
    );
    server
}

fn watch_once(db: &str, base: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "watch",
            "--once",
            "--retries",
            "0",
            "--db",
            db,
            "--endpoint-base",
            base,
        ])
        .env_remove("OSSPREY_DB")
        .output()
        .expect("run ossprey watch")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The expectations shared by both backends.
fn watch_into(db: &str) {
    let server = feeds_server("pypi_updates_3.xml");
    let first = watch_once(db, &server.base);
    let log = stderr(&first);
    assert_eq!(first.status.code(), Some(0), "{log}");
    assert!(log.contains("pypi-rss-updates: 4 items, 4 new"), "{log}");
    assert!(log.contains("queued crates:serde_json@1.0.146"), "{log}");

    let store = Store::open(db).unwrap();
    let queued = jobs(&store);
    assert_eq!(
        queued,
        [
            "crates:serde_json@1.0.146 scan",
            "crates:tokio-utils-ext@0.1.0 scan",
            "pypi:colorama-utils@0.2.0 scan",
            "pypi:fastapi-auth-kit@3.1.0rc1 scan",
            "pypi:numpy-financial@1.1.0.post1 scan",
            "pypi:reqeusts-async@0.0.1 scan",
            "pypi:reqeusts-async@0.0.2 scan",
            "pypi:requests-toolbelt-ng@1.0.4 scan",
            "rubygems:nokogiri@1.18.10 scan",
            "rubygems:rails-html-sanitizer@1.6.3 scan",
            "rubygems:rest-client-ng@0.0.1 scan",
        ],
        "{log}"
    );
    // Serial and seq feeds start at the head.
    assert_eq!(
        store.feed_cursor("pypi-xmlrpc").unwrap().as_deref(),
        Some("31337042")
    );
    assert!(
        store
            .feed_cursor("npm-changes")
            .unwrap()
            .unwrap()
            .contains("58211904")
    );

    // Second poll: the same windows for every feed but PyPI updates, whose window
    // slid past the cursor. Nothing is queued twice; the slide is a stored gap.
    let second = watch_once(db, &server.base);
    let log = stderr(&second);
    assert_eq!(second.status.code(), Some(0), "{log}");
    assert!(
        log.contains("watch: GAP pypi-rss-updates gap between 2026-11-25T17:40:14Z"),
        "{log}"
    );
    let after = jobs(&store);
    assert_eq!(after.len(), queued.len() + 2, "{after:?}");
    assert!(after.contains(&"pypi:boto3-stubs@1.41.3 scan".to_owned()));
    let gaps = store.feed_gaps("pypi-rss-updates").unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].1.contains("backfill"), "{gaps:?}");
    for feed in ["crates-new", "rubygems-latest", "pypi-rss-packages"] {
        assert!(store.feed_gaps(feed).unwrap().is_empty(), "{feed}");
    }

    // Third poll: everything already seen.
    let third = watch_once(db, &server.base);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert_eq!(jobs(&store).len(), after.len());
    assert!(!stderr(&third).contains("queued "), "{}", stderr(&third));
}

#[test]
fn watch_once_into_sqlite_queues_each_release_once_and_stores_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("watch.db").display());
    watch_into(&db);
}

#[test]
fn watch_once_into_postgres() {
    let pg = match PgServer::start() {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIP: {why}");
            return;
        }
    };
    let db = pg.create_database("watch").expect("create database");
    watch_into(&db);
}

/// Feed text reaches the log: a title carrying terminal escapes or a forged line must
/// come out escaped, whether in a skipped item or in a failed poll's error.
#[test]
fn hostile_feed_text_cannot_drive_the_terminal_or_forge_log_lines() {
    let server = FakeServer::start();
    let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>PyPI</title>\
        <item><title>evil&#x1b;[2J&#x1b;]0;owned&#x7; 1.0 x\nwatch: pypi-rss-updates: queued pypi:forged@6.6.6</title>\
        <link>https://pypi.org/project/x/</link><pubDate>Wed, 25 Nov 2026 17:40:12 GMT</pubDate></item>\
        </channel></rss>";
    server.route("/rss/updates.xml", vec![Reply::ok(rss)]);
    let fault = "<?xml version='1.0'?><methodResponse><fault><value><struct>\
        <member><name>faultCode</name><value><int>1</int></value></member>\
        <member><name>faultString</name><value><string>bad&#x1b;[31m\nwatch: GAP none</string></value></member>\
        </struct></value></fault></methodResponse>";
    server.route("/pypi", vec![Reply::ok(fault)]);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(["watch", "--once", "--retries", "0", "--ecosystems", "pypi"])
        .args(["--feeds", "pypi-rss-updates,pypi-xmlrpc"])
        .args(["--db", &db, "--endpoint-base", &server.base])
        .env_remove("OSSPREY_DB")
        .output()
        .unwrap();
    let log = stderr(&out);
    assert!(log.contains("skipped item `evil\\u{1b}[2J"), "{log}");
    assert!(
        log.contains("fault 1: bad\\u{1b}[31m\\u{a}watch: GAP none"),
        "{log}"
    );
    assert!(!log.contains('\u{1b}') && !log.contains('\u{7}'), "{log:?}");
    assert!(
        log.lines().all(|l| l.starts_with("watch: ")),
        "every line is the watcher's own: {log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.starts_with("watch: pypi-rss-updates: queued")),
        "{log}"
    );
}

#[test]
fn a_failing_feed_fails_once_but_leaves_the_others_polled() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/summary",
        vec![Reply::ok(&b"{\"just_updated\": 5}"[..])],
    );
    server.route(
        "/api/v1/activity/latest.json",
        vec![Reply::ok(fixture("rubygems_latest.json"))],
    );
    server.route(
        "/api/v1/activity/just_updated.json",
        vec![Reply::ok(fixture("rubygems_just_updated.json"))],
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args([
            "watch",
            "--once",
            "--retries",
            "0",
            "--ecosystems",
            "crates,rubygems",
        ])
        .args([
            "--db",
            &db,
            "--endpoint-base",
            &server.base,
            "--kind",
            "analyze",
        ])
        .output()
        .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("crates-just-updated: poll failed") && log.contains("not a crates.io summary"),
        "{log}"
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(store.feed_cursor("crates-new").unwrap(), None);
    assert_eq!(jobs(&store).len(), 3);
    assert!(jobs(&store).iter().all(|j| j.ends_with(" analyze")));
}

#[test]
fn sigterm_stops_the_watch_loop_cleanly() {
    let server = feeds_server("pypi_updates_1.xml");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(["watch", "--interval", "3600", "--ecosystems", "rubygems"])
        .args(["--db", &db, "--endpoint-base", &server.base])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first poll to be done, then ask the loop to stop.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.hits("/api/v1/activity/latest.json") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "watch did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("stopped by signal"), "{log}");
    let store = Store::open(&db).unwrap();
    assert!(store.feed_cursor("rubygems-latest").unwrap().is_some());
}
