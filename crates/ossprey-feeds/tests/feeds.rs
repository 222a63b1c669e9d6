//! Every feed against a local fake server serving hand-written responses shaped like
//! the registries' real ones, into an in-memory sink.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use ossprey_feeds::{Endpoints, FeedConfig, FeedId, Gap, Release, Sink, Watcher};
use ossprey_testkit::{FakeServer, Reply};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A sink with the store's semantics: idempotent enqueue, one cursor per feed.
#[derive(Default)]
struct MemorySink {
    cursors: Mutex<BTreeMap<String, String>>,
    queued: Mutex<Vec<String>>,
    enqueue_calls: Mutex<usize>,
    gaps: Mutex<Vec<Gap>>,
}

impl MemorySink {
    fn queued(&self) -> Vec<String> {
        self.queued.lock().unwrap().clone()
    }
    fn gaps(&self) -> Vec<Gap> {
        self.gaps.lock().unwrap().clone()
    }
    fn cursor_of(&self, feed: FeedId) -> Option<String> {
        self.cursors.lock().unwrap().get(feed.as_str()).cloned()
    }
}

impl Sink for MemorySink {
    fn cursor(&self, feed: &str) -> Result<Option<String>> {
        Ok(self.cursors.lock().unwrap().get(feed).cloned())
    }
    fn set_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        self.cursors
            .lock()
            .unwrap()
            .insert(feed.to_owned(), cursor.to_owned());
        Ok(())
    }
    fn enqueue(&self, release: &Release) -> Result<bool> {
        *self.enqueue_calls.lock().unwrap() += 1;
        let key = release.to_string();
        let mut q = self.queued.lock().unwrap();
        if q.contains(&key) {
            return Ok(false);
        }
        q.push(key);
        Ok(true)
    }
    fn gap(&self, gap: &Gap) -> Result<()> {
        self.gaps.lock().unwrap().push(gap.clone());
        Ok(())
    }
}

fn watcher(endpoints: Endpoints) -> Watcher {
    let mut cfg = FeedConfig::default();
    cfg.endpoints = endpoints;
    cfg.retries = 2;
    cfg.backoff = Duration::from_millis(10);
    cfg.timeout = Duration::from_secs(10);
    Watcher::new(cfg)
}

fn xml(body: Vec<u8>) -> Reply {
    Reply {
        content_type: "application/rss+xml; charset=utf-8".into(),
        ..Reply::ok(body)
    }
}

#[test]
fn pypi_rss_overlapping_polls_enqueue_nothing_twice_and_a_slid_window_is_a_gap() {
    let server = FakeServer::start();
    server.route(
        "/rss/updates.xml",
        vec![
            xml(fixture("pypi_updates_1.xml")),
            xml(fixture("pypi_updates_2.xml")),
            xml(fixture("pypi_updates_2.xml")),
            xml(fixture("pypi_updates_3.xml")),
        ],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();

    let first = w.poll(FeedId::PypiRssUpdates, &sink).unwrap();
    assert_eq!(first.items, 4);
    assert_eq!(first.new.len(), 4, "{}", first.summary());
    // Oldest first, so a queue ordered by insertion analyses in publish order.
    assert_eq!(first.new[0].to_string(), "pypi:numpy-financial@1.1.0.post1");
    assert_eq!(first.new[3].to_string(), "pypi:requests-toolbelt-ng@1.0.4");
    assert!(sink.gaps().is_empty());

    // Overlaps the first window by two items, one of which shares the cursor's second.
    let second = w.poll(FeedId::PypiRssUpdates, &sink).unwrap();
    let new: Vec<String> = second.new.iter().map(ToString::to_string).collect();
    assert_eq!(new, ["pypi:pyyaml-include@2.2", "pypi:django-sesame@3.2.3"]);
    assert_eq!(second.existing, 0, "the cursor alone filtered the overlap");

    // The same window again: nothing at all is offered to the sink.
    let calls_before = *sink.enqueue_calls.lock().unwrap();
    let third = w.poll(FeedId::PypiRssUpdates, &sink).unwrap();
    assert!(third.new.is_empty());
    assert_eq!(*sink.enqueue_calls.lock().unwrap(), calls_before);
    assert_eq!(sink.queued().len(), 6);
    assert!(sink.gaps().is_empty());

    // The window has moved on by more than its length: everything between the
    // cursor and its oldest item may be lost.
    let fourth = w.poll(FeedId::PypiRssUpdates, &sink).unwrap();
    assert_eq!(fourth.new.len(), 2);
    let gaps = sink.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].feed, FeedId::PypiRssUpdates);
    assert_eq!(gaps[0].from, "2026-11-25T17:41:02Z");
    assert_eq!(gaps[0].to, "2026-11-25T18:02:30Z");
    assert!(gaps[0].backfill.contains("changelog_since_serial"));
    let dupes = sink.queued().len() - sink.queued().iter().collect::<BTreeSet<_>>().len();
    assert_eq!(dupes, 0);
}

#[test]
fn pypi_new_projects_are_read_through_their_releases_feed() {
    let server = FakeServer::start();
    server.route("/rss/packages.xml", vec![xml(fixture("pypi_packages.xml"))]);
    server.route(
        "/rss/project/reqeusts-async/releases.xml",
        vec![xml(fixture("pypi_project_reqeusts-async.xml"))],
    );
    // acme-telemetry-sdk was removed before we looked: its feed is 404.
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    let r = w.poll(FeedId::PypiRssPackages, &sink).unwrap();
    assert_eq!(r.items, 2);
    assert_eq!(
        sink.queued(),
        ["pypi:reqeusts-async@0.0.2", "pypi:reqeusts-async@0.0.1"]
    );
    assert!(
        r.rejected.iter().any(|m| m.contains("acme-telemetry-sdk")),
        "{:?}",
        r.rejected
    );
    let again = w.poll(FeedId::PypiRssPackages, &sink).unwrap();
    assert!(again.new.is_empty());
    assert_eq!(server.hits("/rss/project/reqeusts-async/releases.xml"), 1);
}

/// Per method: the replies in order (the last repeating) and how many were given.
type Script = BTreeMap<&'static str, (Vec<Vec<u8>>, usize)>;

/// A fake XML-RPC server: answers by `methodName` from per-method scripts (the last
/// reply repeating) and records each call's method and body.
struct XmlRpcServer {
    url: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl XmlRpcServer {
    fn start(script: Vec<(&'static str, Vec<Vec<u8>>)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/pypi", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(
            script.into_iter().map(|(m, r)| (m, (r, 0))).collect(),
        ));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let body = String::from_utf8_lossy(&body).into_owned();
                seen.lock().unwrap().push(body.clone());
                let reply = {
                    let mut s = script.lock().unwrap();
                    s.iter_mut()
                        .find(|(m, _)| body.contains(&format!("<methodName>{m}</methodName>")))
                        .map(|(_, (replies, next))| {
                            let r = replies[(*next).min(replies.len() - 1)].clone();
                            *next += 1;
                            r
                        })
                };
                let (status, reply) = match reply {
                    Some(r) => (200, r),
                    None => (500, b"no such method".to_vec()),
                };
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = out.write_all(&reply);
            }
        });
        Self { url, calls }
    }
}

#[test]
fn pypi_xmlrpc_follows_the_journal_by_serial_and_reports_skipped_serials() {
    let server = XmlRpcServer::start(vec![
        (
            "changelog_last_serial",
            vec![fixture("xmlrpc_last_serial.xml")],
        ),
        (
            "changelog_since_serial",
            vec![fixture("xmlrpc_changelog.xml")],
        ),
    ]);
    let mut ep = Endpoints::default();
    ep.set("pypi-xmlrpc", &server.url).unwrap();
    let w = watcher(ep);
    let sink = MemorySink::default();
    sink.set_cursor("pypi-xmlrpc", "31337000").unwrap();

    let r = w.poll(FeedId::PypiXmlrpc, &sink).unwrap();
    assert_eq!(r.items, 6);
    // `new release` + `add source file` of one version is one job; a yank or an
    // ownership change is none.
    assert_eq!(
        sink.queued(),
        ["pypi:reqeusts-async@0.0.1", "pypi:django-sesame@3.2.3"]
    );
    assert_eq!(
        sink.cursor_of(FeedId::PypiXmlrpc).as_deref(),
        Some("31337042")
    );
    let gaps = sink.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].from.as_str(), gaps[0].to.as_str()),
        ("31337000", "31337042")
    );
    assert!(
        gaps[0]
            .detail
            .contains("31337004-31337006, 31337009-31337041"),
        "{}",
        gaps[0].detail
    );
    assert!(gaps[0].backfill.contains("list_packages_with_serial"));
    let calls = server.calls.lock().unwrap().clone();
    assert!(calls[1].contains("<int>31337000</int>"), "{}", calls[1]);

    // At the head already: one call, nothing new, nothing enqueued twice.
    let again = w.poll(FeedId::PypiXmlrpc, &sink).unwrap();
    assert!(again.new.is_empty());
    assert_eq!(server.calls.lock().unwrap().len(), 3);
    assert_eq!(sink.gaps().len(), 1);
}

#[test]
fn pypi_xmlrpc_first_poll_starts_at_the_head_and_a_fault_is_an_error() {
    let fault = br#"<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>-32500</int></value></member><member><name>faultString</name><value><string>HTTPTooManyRequests: The action could not be performed because there were too many requests by the client.</string></value></member></struct></value></fault></methodResponse>"#;
    let server = XmlRpcServer::start(vec![(
        "changelog_last_serial",
        vec![fixture("xmlrpc_last_serial.xml"), fault.to_vec()],
    )]);
    let mut ep = Endpoints::default();
    ep.set("pypi-xmlrpc", &server.url).unwrap();
    let w = watcher(ep);
    let sink = MemorySink::default();
    let r = w.poll(FeedId::PypiXmlrpc, &sink).unwrap();
    assert!(r.new.is_empty());
    assert_eq!(
        sink.cursor_of(FeedId::PypiXmlrpc).as_deref(),
        Some("31337042")
    );
    let err = format!("{:#}", w.poll(FeedId::PypiXmlrpc, &sink).unwrap_err());
    assert!(
        err.contains("-32500") && err.contains("too many requests"),
        "{err}"
    );
    assert_eq!(
        sink.cursor_of(FeedId::PypiXmlrpc).as_deref(),
        Some("31337042")
    );
}

#[test]
fn pypi_xmlrpc_pages_until_the_head_and_leaves_the_rest_as_backlog() {
    let head = String::from_utf8(fixture("xmlrpc_last_serial.xml"))
        .unwrap()
        .replace("31337042", "31337100");
    let server = XmlRpcServer::start(vec![
        ("changelog_last_serial", vec![head.into_bytes()]),
        (
            "changelog_since_serial",
            vec![fixture("xmlrpc_changelog.xml")],
        ),
    ]);
    let mut cfg = FeedConfig::default();
    cfg.endpoints.set("pypi-xmlrpc", &server.url).unwrap();
    cfg.max_pages = 1;
    let sink = MemorySink::default();
    sink.set_cursor("pypi-xmlrpc", "31337000").unwrap();
    let r = Watcher::new(cfg.clone())
        .poll(FeedId::PypiXmlrpc, &sink)
        .unwrap();
    assert!(
        r.backlog,
        "one page allowed, the head is further: more pending"
    );
    assert_eq!(
        sink.cursor_of(FeedId::PypiXmlrpc).as_deref(),
        Some("31337042")
    );

    // With room for more pages it asks again from 31337042; the journal has nothing
    // newer yet, so it stops there without inventing a gap past the last entry.
    cfg.max_pages = 5;
    let r = Watcher::new(cfg).poll(FeedId::PypiXmlrpc, &sink).unwrap();
    assert!(!r.backlog);
    let calls = server.calls.lock().unwrap().clone();
    assert!(calls.last().unwrap().contains("<int>31337042</int>"));
    assert_eq!(
        sink.gaps().len(),
        1,
        "only the first poll's skipped serials"
    );
}

fn packument(name: &str, now: time::OffsetDateTime) -> Reply {
    let fmt = |secs: i64| ossprey_feeds::format_rfc3339(now - time::Duration::seconds(secs));
    let body = String::from_utf8(fixture(name))
        .unwrap()
        .replace("NOW_MINUS_90S", &fmt(90))
        .replace("NOW_MINUS_60S", &fmt(60))
        .replace("NOW_MINUS_30S", &fmt(30));
    Reply {
        content_type: "application/json".into(),
        ..Reply::ok(body)
    }
}

#[test]
fn npm_changes_then_packuments_enqueue_new_versions_once() {
    let server = FakeServer::start();
    let now = time::OffsetDateTime::now_utc();
    server.route(
        "/registry/_changes",
        vec![
            Reply::ok(fixture("npm_changes_now.json")),
            Reply::ok(fixture("npm_changes_1.json")),
            // An overlapping poll: the same rows again (a follower that re-read).
            Reply::ok(fixture("npm_changes_1.json")),
        ],
    );
    server.route(
        "/npm/left-pad-ts",
        vec![packument("npm_packument_left-pad-ts.json", now)],
    );
    server.route(
        "/npm/@acme-internal%2Fconfig-loader",
        vec![packument("npm_packument_config-loader.json", now)],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();

    let first = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert!(first.new.is_empty(), "a new follower starts at the head");
    assert!(
        sink.cursor_of(FeedId::NpmChanges)
            .unwrap()
            .contains("58211904")
    );

    let second = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert_eq!(second.items, 4);
    // Old 1.0.0 and unpublished 2.0.0 are left out; the design doc and the
    // deleted package are not packages to fetch.
    let mut q = sink.queued();
    q.sort();
    assert_eq!(
        q,
        [
            "npm:@acme-internal/config-loader@99.0.0",
            "npm:left-pad-ts@2.1.0",
            "npm:left-pad-ts@3.0.0-beta.1"
        ]
    );
    assert_eq!(server.hits("/npm/old-removed-pkg"), 0);
    assert_eq!(server.hits("/npm/_design/app"), 0);
    assert!(
        sink.cursor_of(FeedId::NpmChanges)
            .unwrap()
            .contains("58211923")
    );
    let asked: Vec<_> = server.requests("/registry/_changes");
    assert_eq!(asked.len(), 2);

    let third = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert!(third.new.is_empty());
    assert_eq!(
        third.existing, 3,
        "re-offered, refused by the idempotent sink"
    );
    assert_eq!(sink.queued().len(), 3);
    assert!(sink.gaps().is_empty());
}

/// A backlog (more `_changes` pages than one poll reads) must not move the cursor's
/// time: a version published while the feed was behind would otherwise be older than
/// the next poll's window and never be queued.
#[test]
fn an_npm_backlog_keeps_versions_published_while_behind() {
    let server = FakeServer::start();
    let now = time::OffsetDateTime::now_utc();
    let an_hour_ago = ossprey_feeds::format_rfc3339(now - time::Duration::hours(1));
    let page = |seq: u32, id: &str| {
        Reply::ok(format!(
            r#"{{"results":[{{"seq":{seq},"id":"{id}","changes":[{{"rev":"1-a"}}]}}],"last_seq":{seq}}}"#
        ))
    };
    server.route(
        "/registry/_changes",
        vec![page(101, "slow-a"), page(102, "slow-b")],
    );
    let packument = |version: &str| Reply {
        content_type: "application/json".into(),
        ..Reply::ok(format!(
            r#"{{"time":{{"created":"{an_hour_ago}","{version}":"{an_hour_ago}"}},"versions":{{"{version}":{{}}}}}}"#
        ))
    };
    server.route("/npm/slow-a", vec![packument("1.0.0")]);
    server.route("/npm/slow-b", vec![packument("2.0.0")]);
    let mut cfg = FeedConfig::default();
    cfg.endpoints = Endpoints::all_at(&server.base);
    cfg.retries = 0;
    cfg.timeout = Duration::from_secs(10);
    cfg.npm_batch = 1;
    cfg.max_pages = 1;
    let w = Watcher::new(cfg);
    let sink = MemorySink::default();
    let two_hours_ago = ossprey_feeds::format_rfc3339(now - time::Duration::hours(2));
    sink.set_cursor(
        "npm-changes",
        &format!(r#"{{"seq":100,"at":"{two_hours_ago}"}}"#),
    )
    .unwrap();

    let first = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert!(first.backlog, "{}", first.summary());
    assert_eq!(sink.queued(), ["npm:slow-a@1.0.0"]);
    let second = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert_eq!(
        sink.queued(),
        ["npm:slow-a@1.0.0", "npm:slow-b@2.0.0"],
        "{}",
        second.summary()
    );
    assert!(sink.gaps().is_empty(), "{:?}", sink.gaps());
}

#[test]
fn npm_feed_reset_is_a_gap() {
    let server = FakeServer::start();
    server.route(
        "/registry/_changes",
        vec![Reply::ok(r#"{"results":[],"last_seq":1200}"#)],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    sink.set_cursor(
        "npm-changes",
        r#"{"seq":58211923,"at":"2026-11-25T17:00:00Z"}"#,
    )
    .unwrap();
    let r = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert!(sink.gaps()[0].detail.contains("reset"), "{:?}", sink.gaps());
    assert!(sink.cursor_of(FeedId::NpmChanges).unwrap().contains("1200"));
}

#[test]
fn an_unreadable_packument_is_a_gap_for_that_package_not_a_stuck_feed() {
    let server = FakeServer::start();
    let now = time::OffsetDateTime::now_utc();
    server.route(
        "/registry/_changes",
        vec![Reply::ok(fixture("npm_changes_1.json"))],
    );
    server.route(
        "/npm/left-pad-ts",
        vec![Reply::ok(&b"{\"time\": [\"not\", \"a map\"]}"[..])],
    );
    server.route(
        "/npm/@acme-internal%2Fconfig-loader",
        vec![packument("npm_packument_config-loader.json", now)],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    let at = ossprey_feeds::format_rfc3339(now - time::Duration::seconds(120));
    sink.set_cursor("npm-changes", &format!(r#"{{"seq":58211904,"at":"{at}"}}"#))
        .unwrap();
    let r = w.poll(FeedId::NpmChanges, &sink).unwrap();
    assert_eq!(sink.queued(), ["npm:@acme-internal/config-loader@99.0.0"]);
    let gaps = sink.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].detail.contains("left-pad-ts"), "{gaps:?}");
    assert!(gaps[0].backfill.contains("/npm/left-pad-ts"), "{gaps:?}");
    assert!(r.cursor_after.unwrap().contains("58211923"));
}

#[test]
fn crates_summary_feeds_both_lists() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/summary",
        vec![Reply::ok(fixture("crates_summary.json"))],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    let up = w.poll(FeedId::CratesJustUpdated, &sink).unwrap();
    assert_eq!(up.new.len(), 2);
    let new = w.poll(FeedId::CratesNew, &sink).unwrap();
    // The new crate was already queued from just_updated: offered, not duplicated.
    assert_eq!((new.new.len(), new.existing), (0, 1));
    assert_eq!(
        sink.queued(),
        ["crates:tokio-utils-ext@0.1.0", "crates:serde_json@1.0.146"]
    );
    let again = w.poll(FeedId::CratesJustUpdated, &sink).unwrap();
    assert!(again.new.is_empty() && again.existing == 0);
}

#[test]
fn rubygems_activity_feeds() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/activity/just_updated.json",
        vec![Reply::ok(fixture("rubygems_just_updated.json"))],
    );
    server.route(
        "/api/v1/activity/latest.json",
        vec![Reply::ok(fixture("rubygems_latest.json"))],
    );
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    w.poll(FeedId::RubygemsJustUpdated, &sink).unwrap();
    w.poll(FeedId::RubygemsLatest, &sink).unwrap();
    w.poll(FeedId::RubygemsJustUpdated, &sink).unwrap();
    assert_eq!(
        sink.queued(),
        [
            "rubygems:nokogiri@1.18.10",
            "rubygems:rails-html-sanitizer@1.6.3",
            "rubygems:rest-client-ng@0.0.1"
        ]
    );
    let c = sink.cursor_of(FeedId::RubygemsLatest).unwrap();
    assert!(c.contains("2026-11-25T17:38:11.9Z"), "{c}");
}

#[test]
fn malformed_and_oversized_responses_fail_without_moving_the_cursor() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/activity/latest.json",
        vec![
            Reply::ok(fixture("rubygems_latest.json")),
            Reply::ok(&b"<html>502 Bad Gateway</html>"[..]),
            Reply::ok(vec![b' '; 4096]),
        ],
    );
    server.route(
        "/rss/updates.xml",
        vec![xml(
            b"<rss><channel><item><title>x 1</title></channel></rss>".to_vec(),
        )],
    );
    let mut cfg = FeedConfig::default();
    cfg.endpoints = Endpoints::all_at(&server.base);
    cfg.max_response_bytes = 2048;
    cfg.retries = 0;
    let w = Watcher::new(cfg);
    let sink = MemorySink::default();
    w.poll(FeedId::RubygemsLatest, &sink).unwrap();
    let cursor = sink.cursor_of(FeedId::RubygemsLatest);

    let err = format!("{:#}", w.poll(FeedId::RubygemsLatest, &sink).unwrap_err());
    assert!(
        err.contains("latest.json") && err.contains("not a RubyGems activity array"),
        "{err}"
    );
    let err = format!("{:#}", w.poll(FeedId::RubygemsLatest, &sink).unwrap_err());
    assert!(err.contains("larger than the limit of 2048 bytes"), "{err}");
    assert_eq!(sink.cursor_of(FeedId::RubygemsLatest), cursor);

    let err = format!("{:#}", w.poll(FeedId::PypiRssUpdates, &sink).unwrap_err());
    assert!(
        err.contains("updates.xml") && err.contains("malformed XML"),
        "{err}"
    );
    assert_eq!(sink.cursor_of(FeedId::PypiRssUpdates), None);
    assert_eq!(sink.queued().len(), 1);
}

#[test]
fn a_server_slower_than_the_timeout_fails_the_poll_after_its_retries() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/activity/latest.json",
        vec![Reply::ok(fixture("rubygems_latest.json")).delayed(Duration::from_secs(3))],
    );
    let mut cfg = FeedConfig::default();
    cfg.endpoints = Endpoints::all_at(&server.base);
    cfg.timeout = Duration::from_millis(300);
    cfg.retries = 1;
    cfg.backoff = Duration::from_millis(10);
    let sink = MemorySink::default();
    let started = std::time::Instant::now();
    let err = format!(
        "{:#}",
        Watcher::new(cfg)
            .poll(FeedId::RubygemsLatest, &sink)
            .unwrap_err()
    );
    assert!(err.contains("gave up after 2 attempts"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout did not apply"
    );
    assert_eq!(server.hits("/api/v1/activity/latest.json"), 2);
    assert_eq!(sink.cursor_of(FeedId::RubygemsLatest), None);
}

#[test]
fn transient_errors_are_retried_and_hard_ones_are_not() {
    let server = FakeServer::start();
    server.route(
        "/api/v1/summary",
        vec![
            Reply::status(503),
            Reply::status(429),
            Reply::ok(fixture("crates_summary.json")),
        ],
    );
    server.route("/api/v1/activity/latest.json", vec![Reply::status(403)]);
    let w = watcher(Endpoints::all_at(&server.base));
    let sink = MemorySink::default();
    let r = w.poll(FeedId::CratesNew, &sink).unwrap();
    assert_eq!(r.new.len(), 1);
    assert_eq!(server.hits("/api/v1/summary"), 3);
    let err = format!("{:#}", w.poll(FeedId::RubygemsLatest, &sink).unwrap_err());
    assert!(err.contains("HTTP 403"), "{err}");
    assert_eq!(server.hits("/api/v1/activity/latest.json"), 1);
}
