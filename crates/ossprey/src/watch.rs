//! `ossprey watch`: poll the registries' new-release feeds and queue every new
//! version for the workers.
//!
//! The feeds themselves live in `ossprey-feeds`; this module backs its [`Sink`] with
//! the store (cursors in `feed_cursors`, gaps in `feed_gaps`, releases as jobs through
//! the idempotent `enqueue`) and runs the polling loop. Each poll logs one line per
//! feed on stderr, the releases it queued and every gap. SIGTERM or SIGINT stop the
//! loop after the poll in progress (a second signal exits at once); cursors only ever
//! move after their releases are queued, so a stop loses nothing.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use ossprey_feeds::{Endpoints, FeedConfig, FeedId, Gap, Release, Sink, Watcher};
use ossprey_model::Ecosystem;
use ossprey_store::{Enqueued, NewJob, Store};

use crate::query::printable;

/// Most queued releases listed by name per feed and poll; the rest are counted.
const LISTED_PER_POLL: usize = 20;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Registries to watch, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_ecosystem,
          default_values = ["pypi", "npm", "crates", "rubygems"])]
    pub ecosystems: Vec<Ecosystem>,

    /// Only these feeds (of the chosen ecosystems), comma-separated: pypi-xmlrpc,
    /// pypi-rss-updates, pypi-rss-packages, npm-changes, crates-just-updated,
    /// crates-new, rubygems-just-updated, rubygems-latest [default: all of them].
    #[arg(long, value_delimiter = ',', value_parser = parse_feed)]
    pub feeds: Vec<FeedId>,

    /// Database URL: `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`
    /// [default: $OSSPREY_DB, else ossprey.db in the user's data dir].
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,

    /// Seconds between the starts of two polls of every feed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub interval: u64,

    /// Poll every feed once, then exit (status 2 if any poll failed).
    #[arg(long)]
    pub once: bool,

    /// What the queued jobs do.
    #[arg(long, value_enum, default_value_t = WatchKind::Scan)]
    pub kind: WatchKind,

    /// Priority of the queued jobs (higher runs first).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,

    /// Point one endpoint elsewhere: `NAME=URL`, repeatable. Names: pypi-rss-updates,
    /// pypi-rss-packages, pypi-rss-project (with `{name}`), pypi-xmlrpc, npm-changes,
    /// npm-registry, crates-summary, rubygems-just-updated, rubygems-latest.
    #[arg(long = "endpoint", value_name = "NAME=URL")]
    pub endpoints: Vec<String>,

    /// Serve every endpoint from one base URL (a mirror or a test server) under the
    /// real registries' paths; `--endpoint` still overrides single ones.
    #[arg(long, value_name = "URL")]
    pub endpoint_base: Option<String>,

    /// Seconds one feed request may take, body included.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,

    /// Extra attempts on connection errors, timeouts, 429 and 5xx.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Largest feed response or packument read, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_response_mib: u64,
}

/// The job kind queued for each release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WatchKind {
    Scan,
    Analyze,
}

impl WatchKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Analyze => "analyze",
        }
    }
}

fn parse_ecosystem(s: &str) -> Result<Ecosystem, String> {
    s.trim().parse().map_err(|e| format!("{e}"))
}

fn parse_feed(s: &str) -> Result<FeedId, String> {
    s.trim().parse().map_err(|e| format!("{e}"))
}

/// The store as the feeds' sink: cursors, jobs and gap records.
struct StoreSink<'a> {
    store: &'a Store,
    kind: &'static str,
    priority: i32,
}

impl Sink for StoreSink<'_> {
    fn cursor(&self, feed: &str) -> Result<Option<String>> {
        Ok(self.store.feed_cursor(feed)?)
    }

    fn set_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        Ok(self.store.set_feed_cursor(feed, cursor)?)
    }

    fn enqueue(&self, release: &Release) -> Result<bool> {
        let job = NewJob {
            ecosystem: release.ecosystem,
            name: release.name.clone(),
            version: release.version.clone(),
            kind: self.kind.to_owned(),
            priority: self.priority,
        };
        let done = self
            .store
            .enqueue(&job)
            .with_context(|| format!("queueing {release}"))?;
        Ok(matches!(done, Enqueued::New(_)))
    }

    fn gap(&self, gap: &Gap) -> Result<()> {
        let detail = format!(
            "between {} and {}: {}; backfill: {}",
            gap.from, gap.to, gap.detail, gap.backfill
        );
        Ok(self.store.record_feed_gap(gap.feed.as_str(), &detail)?)
    }
}

/// Runs `ossprey watch`. Returns the exit status: 0, or 2 when `--once` saw a poll fail.
pub fn run(args: WatchArgs) -> Result<u8> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // The first signal asks the loop to stop; a second one exits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    let feeds: Vec<FeedId> = FeedId::for_ecosystems(&args.ecosystems)
        .into_iter()
        .filter(|f| args.feeds.is_empty() || args.feeds.contains(f))
        .collect();
    anyhow::ensure!(
        !feeds.is_empty(),
        "--feeds names no feed of the ecosystems in --ecosystems"
    );
    let mut cfg = FeedConfig::default();
    if let Some(base) = &args.endpoint_base {
        cfg.endpoints = Endpoints::all_at(base);
    }
    for spec in &args.endpoints {
        let (name, url) = spec
            .split_once('=')
            .with_context(|| format!("--endpoint `{spec}`: expected NAME=URL"))?;
        cfg.endpoints.set(name.trim(), url.trim())?;
    }
    cfg.timeout = Duration::from_secs(args.timeout.max(1));
    cfg.retries = args.retries;
    cfg.max_response_bytes = args.max_response_mib.max(1).saturating_mul(1024 * 1024);
    let watcher = Watcher::new(cfg);

    let url = args.db.clone().unwrap_or_else(Store::default_url);
    let store = Store::open(&url).with_context(|| format!("opening the store at {url}"))?;
    let sink = StoreSink {
        store: &store,
        kind: args.kind.as_str(),
        priority: args.priority,
    };
    let interval = Duration::from_secs(args.interval.max(1));
    let mut err = std::io::stderr();
    let names: Vec<&str> = feeds.iter().map(|f| f.as_str()).collect();
    let _ = writeln!(
        err,
        "watch: {} feed(s) [{}] into {} as `{}` jobs",
        feeds.len(),
        names.join(", "),
        store.backend().as_str(),
        args.kind.as_str()
    );
    let mut failed = 0usize;
    loop {
        let started = Instant::now();
        for &feed in &feeds {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match watcher.poll(feed, &sink) {
                Ok(report) => log_report(&report),
                Err(e) => {
                    failed += 1;
                    // The error may quote the feed (an XML-RPC fault string, a title).
                    let _ = writeln!(
                        err,
                        "watch: {feed}: poll failed: {}",
                        printable(&format!("{e:#}"))
                    );
                }
            }
        }
        if args.once || stop.load(Ordering::Relaxed) {
            break;
        }
        // Sleep in short steps so a signal is acted on promptly.
        while started.elapsed() < interval && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200).min(interval));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    if stop.load(Ordering::Relaxed) {
        let _ = writeln!(err, "watch: stopped by signal; cursors are saved");
    }
    Ok(if args.once && failed > 0 { 2 } else { 0 })
}

/// Logs one poll. Feed text (titles of rejected items, gap details, names) is
/// escaped: a hostile feed must not be able to forge log lines or drive the terminal.
fn log_report(report: &ossprey_feeds::PollReport) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "watch: {}", printable(&report.summary()));
    let feed = report.feed.map_or("?", FeedId::as_str);
    for r in report.new.iter().take(LISTED_PER_POLL) {
        let _ = writeln!(err, "watch: {feed}: queued {}", printable(&r.to_string()));
    }
    if report.new.len() > LISTED_PER_POLL {
        let _ = writeln!(
            err,
            "watch: {feed}: … and {} more queued",
            report.new.len() - LISTED_PER_POLL
        );
    }
    for gap in &report.gaps {
        let _ = writeln!(err, "watch: GAP {}", printable(&gap.to_string()));
    }
    for why in report.rejected.iter().take(LISTED_PER_POLL) {
        let _ = writeln!(err, "watch: {feed}: skipped {}", printable(why));
    }
}
