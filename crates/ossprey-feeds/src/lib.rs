//! Pollers for the registries' new-release feeds: each poll reads one feed from its
//! cursor, hands every new release to a [`Sink`] (the job queue, in the binary) once,
//! records a [`Gap`] wherever the feed may have dropped releases since the last poll,
//! and only then advances the cursor.
//!
//! ```no_run
//! use ossprey_feeds::{FeedConfig, FeedId, Watcher};
//! # fn sink() -> Box<dyn ossprey_feeds::Sink> { unimplemented!() }
//! let watcher = Watcher::new(FeedConfig::default());
//! let report = watcher.poll(FeedId::PypiXmlrpc, sink().as_ref())?;
//! eprintln!("{}", report.summary());
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Feeds ([`FeedId`]) and what their cursor is:
//! - `pypi-rss-updates`, `pypi-rss-packages`, `crates-just-updated`, `crates-new`,
//!   `rubygems-just-updated`, `rubygems-latest`: *window* feeds that show the newest
//!   N items. Cursor: the newest item time seen plus the items at exactly that time.
//!   A poll whose oldest item is newer than the cursor is a gap.
//! - `pypi-xmlrpc`: the journal by serial (`changelog_since_serial`). Cursor: the last
//!   serial read. Serials that should have been there but were not are a gap.
//! - `npm-changes`: the CouchDB-style `_changes` feed of replicate.npmjs.com, then each
//!   changed packument for its new versions. Cursor: the opaque `last_seq` and the time
//!   of the poll.
//!
//! Ordering is what makes overlapping polls safe: enqueue everything, record gaps,
//! then move the cursor. A crash in between re-reads the same items next time, and the
//! sink's enqueue is idempotent on (ecosystem, name, version). A response that does not
//! parse fails the poll without touching the cursor.
//!
//! This crate must never trust a feed: names and versions go through the same
//! validation as command-line package specs, bodies are size-capped, and nothing in a
//! feed is ever fetched except the registry endpoints configured here.

mod crates;
mod http;
mod npm;
mod pypi;
mod rubygems;
mod timefmt;
mod window;
mod xml;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Result, bail};
use ossprey_model::{Ecosystem, PackageSpec};
use time::OffsetDateTime;

pub use timefmt::{format_rfc3339, parse_rfc2822, parse_rfc3339};

/// One feed ossprey can follow; each has its own cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedId {
    /// `https://pypi.org/rss/updates.xml`: the latest 100 releases.
    PypiRssUpdates,
    /// `https://pypi.org/rss/packages.xml`: the latest 40 new projects.
    PypiRssPackages,
    /// PyPI's XML-RPC journal, `changelog_since_serial`: gap-free by serial.
    PypiXmlrpc,
    /// npm's replication `_changes` feed plus the changed packuments.
    NpmChanges,
    /// crates.io `/api/v1/summary`, `just_updated`.
    CratesJustUpdated,
    /// crates.io `/api/v1/summary`, `new_crates`.
    CratesNew,
    /// RubyGems `/api/v1/activity/just_updated.json`.
    RubygemsJustUpdated,
    /// RubyGems `/api/v1/activity/latest.json`.
    RubygemsLatest,
}

impl FeedId {
    /// Every feed, in polling order.
    pub const ALL: [FeedId; 8] = [
        Self::PypiXmlrpc,
        Self::PypiRssUpdates,
        Self::PypiRssPackages,
        Self::NpmChanges,
        Self::CratesJustUpdated,
        Self::CratesNew,
        Self::RubygemsJustUpdated,
        Self::RubygemsLatest,
    ];

    /// The stable name used for cursors, gap records and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PypiRssUpdates => "pypi-rss-updates",
            Self::PypiRssPackages => "pypi-rss-packages",
            Self::PypiXmlrpc => "pypi-xmlrpc",
            Self::NpmChanges => "npm-changes",
            Self::CratesJustUpdated => "crates-just-updated",
            Self::CratesNew => "crates-new",
            Self::RubygemsJustUpdated => "rubygems-just-updated",
            Self::RubygemsLatest => "rubygems-latest",
        }
    }

    /// The registry this feed announces releases of.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Self::PypiRssUpdates | Self::PypiRssPackages | Self::PypiXmlrpc => Ecosystem::Pypi,
            Self::NpmChanges => Ecosystem::Npm,
            Self::CratesJustUpdated | Self::CratesNew => Ecosystem::Crates,
            Self::RubygemsJustUpdated | Self::RubygemsLatest => Ecosystem::Rubygems,
        }
    }

    /// The feeds that cover `ecosystems`, in polling order.
    pub fn for_ecosystems(ecosystems: &[Ecosystem]) -> Vec<FeedId> {
        Self::ALL
            .into_iter()
            .filter(|f| ecosystems.contains(&f.ecosystem()))
            .collect()
    }
}

impl fmt::Display for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedId {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| anyhow::anyhow!("unknown feed `{s}`"))
    }
}

/// A package version a feed announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// The feed that announced it.
    pub feed: FeedId,
    /// When the registry says it was published, if the feed tells.
    pub published: Option<OffsetDateTime>,
}

impl Release {
    /// A release whose name and version passed the package-spec checks (no path
    /// separators, control characters or other things a hostile feed could slip in).
    pub(crate) fn checked(
        feed: FeedId,
        name: &str,
        version: &str,
        published: Option<OffsetDateTime>,
    ) -> Option<Self> {
        let ecosystem = feed.ecosystem();
        let spec: PackageSpec = format!("{ecosystem}:{name}@{version}").parse().ok()?;
        (spec.name == name && spec.version.as_deref() == Some(version)).then(|| Self {
            ecosystem,
            name: name.to_owned(),
            version: version.to_owned(),
            feed,
            published,
        })
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.ecosystem, self.name, self.version)
    }
}

/// A stretch of a feed where releases may have been missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub feed: FeedId,
    /// The cursor (serial, seq or time) the gap starts after.
    pub from: String,
    /// The first cursor seen again after the gap.
    pub to: String,
    /// What was observed.
    pub detail: String,
    /// How to recover the releases the gap may hide.
    pub backfill: String,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} gap between {} and {}: {}; backfill: {}",
            self.feed, self.from, self.to, self.detail, self.backfill
        )
    }
}

/// Where polls put what they learn: cursors, releases and gaps. The binary backs it
/// with the store; tests with memory. Implementations must make `enqueue` idempotent
/// on (ecosystem, name, version): overlapping polls rely on it.
pub trait Sink {
    /// The cursor stored for `feed`, if any.
    fn cursor(&self, feed: &str) -> Result<Option<String>>;
    /// Stores the cursor of `feed`; called only after every release of the poll was enqueued.
    fn set_cursor(&self, feed: &str, cursor: &str) -> Result<()>;
    /// Queues `release`; `true` if it was new, `false` if it was already queued.
    fn enqueue(&self, release: &Release) -> Result<bool>;
    /// Records a gap.
    fn gap(&self, gap: &Gap) -> Result<()>;
}

/// Where every feed lives. Each field can be pointed elsewhere (a mirror, a fake
/// server) by name with [`Endpoints::set`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoints {
    /// `pypi-rss-updates`
    pub pypi_rss_updates: String,
    /// `pypi-rss-packages`
    pub pypi_rss_packages: String,
    /// `pypi-rss-project`: per-project releases feed, `{name}` replaced.
    pub pypi_rss_project: String,
    /// `pypi-xmlrpc`: the XML-RPC endpoint.
    pub pypi_xmlrpc: String,
    /// `npm-changes`: the `_changes` URL (query parameters are added).
    pub npm_changes: String,
    /// `npm-registry`: where packuments live (`{npm-registry}/{name}`).
    pub npm_registry: String,
    /// `crates-summary`
    pub crates_summary: String,
    /// `rubygems-just-updated`
    pub rubygems_just_updated: String,
    /// `rubygems-latest`
    pub rubygems_latest: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            pypi_rss_updates: "https://pypi.org/rss/updates.xml".into(),
            pypi_rss_packages: "https://pypi.org/rss/packages.xml".into(),
            pypi_rss_project: "https://pypi.org/rss/project/{name}/releases.xml".into(),
            pypi_xmlrpc: "https://pypi.org/pypi".into(),
            npm_changes: "https://replicate.npmjs.com/registry/_changes".into(),
            npm_registry: "https://registry.npmjs.org".into(),
            crates_summary: "https://crates.io/api/v1/summary".into(),
            rubygems_just_updated: "https://rubygems.org/api/v1/activity/just_updated.json".into(),
            rubygems_latest: "https://rubygems.org/api/v1/activity/latest.json".into(),
        }
    }
}

impl Endpoints {
    /// The names [`Endpoints::set`] accepts.
    pub const NAMES: [&'static str; 9] = [
        "pypi-rss-updates",
        "pypi-rss-packages",
        "pypi-rss-project",
        "pypi-xmlrpc",
        "npm-changes",
        "npm-registry",
        "crates-summary",
        "rubygems-just-updated",
        "rubygems-latest",
    ];

    /// Points the endpoint called `name` at `url` (`http://` or `https://` only).
    pub fn set(&mut self, name: &str, url: &str) -> Result<()> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            bail!("endpoint {name}: `{url}` is not an http:// or https:// URL");
        }
        let url = url.trim_end_matches('/').to_owned();
        let slot = match name {
            "pypi-rss-updates" => &mut self.pypi_rss_updates,
            "pypi-rss-packages" => &mut self.pypi_rss_packages,
            "pypi-rss-project" => {
                if !url.contains("{name}") {
                    bail!("endpoint pypi-rss-project: `{url}` has no `{{name}}` placeholder");
                }
                &mut self.pypi_rss_project
            }
            "pypi-xmlrpc" => &mut self.pypi_xmlrpc,
            "npm-changes" => &mut self.npm_changes,
            "npm-registry" => &mut self.npm_registry,
            "crates-summary" => &mut self.crates_summary,
            "rubygems-just-updated" => &mut self.rubygems_just_updated,
            "rubygems-latest" => &mut self.rubygems_latest,
            other => bail!(
                "unknown endpoint `{other}` (known: {})",
                Self::NAMES.join(", ")
            ),
        };
        *slot = url;
        Ok(())
    }

    /// Points every endpoint at `base` under the paths the real registries use
    /// (`{base}/rss/updates.xml`, `{base}/pypi`, `{base}/_changes`, …): for a mirror
    /// or a test server that serves them all.
    pub fn all_at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            pypi_rss_updates: format!("{base}/rss/updates.xml"),
            pypi_rss_packages: format!("{base}/rss/packages.xml"),
            pypi_rss_project: format!("{base}/rss/project/{{name}}/releases.xml"),
            pypi_xmlrpc: format!("{base}/pypi"),
            npm_changes: format!("{base}/registry/_changes"),
            npm_registry: format!("{base}/npm"),
            crates_summary: format!("{base}/api/v1/summary"),
            rubygems_just_updated: format!("{base}/api/v1/activity/just_updated.json"),
            rubygems_latest: format!("{base}/api/v1/activity/latest.json"),
        }
    }
}

/// How to poll: endpoints, patience and limits.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FeedConfig {
    pub endpoints: Endpoints,
    /// Budget for one whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Extra attempts on connection errors, timeouts, 429 and 5xx.
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one.
    pub backoff: Duration,
    /// Largest response body read (feeds and packuments alike).
    pub max_response_bytes: u64,
    /// Rows asked of npm's `_changes` per request.
    pub npm_batch: u32,
    /// Most pages (XML-RPC changelog calls, `_changes` requests) per poll; the rest
    /// waits for the next poll (a backlog, not a gap).
    pub max_pages: u32,
    /// How far before the previous npm poll a packument's version time may be and
    /// still count as new (clock skew between us and the registry).
    pub npm_clock_slack: Duration,
    /// Most versions of one newly created PyPI project enqueued from its releases feed.
    pub max_new_project_versions: usize,
    pub user_agent: String,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            endpoints: Endpoints::default(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_response_bytes: 64 * 1024 * 1024,
            npm_batch: 1000,
            max_pages: 20,
            npm_clock_slack: Duration::from_secs(600),
            max_new_project_versions: 20,
            user_agent: concat!(
                "ossprey-watch/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/ossprey/ossprey)"
            )
            .into(),
        }
    }
}

/// What one poll of one feed did.
#[derive(Clone, Debug, Default)]
pub struct PollReport {
    pub feed: Option<FeedId>,
    /// Items the feed returned (after parsing).
    pub items: usize,
    /// Releases queued for the first time.
    pub new: Vec<Release>,
    /// Releases the sink already had.
    pub existing: usize,
    /// Items dropped because their name or version failed validation, with why.
    pub rejected: Vec<String>,
    pub gaps: Vec<Gap>,
    pub cursor_before: Option<String>,
    pub cursor_after: Option<String>,
    /// Pages left unread for the next poll (serial or seq feeds only).
    pub backlog: bool,
}

impl PollReport {
    fn for_feed(feed: FeedId, cursor_before: Option<String>) -> Self {
        Self {
            feed: Some(feed),
            cursor_before,
            ..Self::default()
        }
    }

    /// One line for logs: feed, counts, cursor movement.
    pub fn summary(&self) -> String {
        let feed = self.feed.map_or("?", FeedId::as_str);
        let mut s = format!(
            "{feed}: {} items, {} new, {} already queued",
            self.items,
            self.new.len(),
            self.existing
        );
        if !self.rejected.is_empty() {
            s.push_str(&format!(", {} rejected", self.rejected.len()));
        }
        if !self.gaps.is_empty() {
            s.push_str(&format!(", {} gap(s)", self.gaps.len()));
        }
        if self.backlog {
            s.push_str(", more pending");
        }
        s.push_str(&format!(
            "; cursor {} -> {}",
            self.cursor_before.as_deref().unwrap_or("(none)"),
            self.cursor_after.as_deref().unwrap_or("(unchanged)")
        ));
        s
    }

    /// Enqueues `releases` through `sink`, counting new and existing.
    fn enqueue_all(&mut self, sink: &dyn Sink, releases: Vec<Release>) -> Result<()> {
        for r in releases {
            if sink.enqueue(&r)? {
                self.new.push(r);
            } else {
                self.existing += 1;
            }
        }
        Ok(())
    }

    /// Records the gaps, then moves the cursor: the last step of every poll.
    fn commit(&mut self, sink: &dyn Sink, feed: FeedId, cursor: String) -> Result<()> {
        for gap in &self.gaps {
            sink.gap(gap)?;
        }
        if self.cursor_before.as_deref() != Some(cursor.as_str()) {
            sink.set_cursor(feed.as_str(), &cursor)?;
        }
        self.cursor_after = Some(cursor);
        Ok(())
    }
}

/// The common tail of every window feed whose items carry versions: pick what is
/// new since the cursor, enqueue it oldest first, record gaps, move the cursor.
pub(crate) fn window_poll(
    sink: &dyn Sink,
    feed: FeedId,
    cursor: Option<String>,
    releases: Vec<Release>,
    rejected: Vec<String>,
    backfill: &str,
) -> Result<PollReport> {
    let mut report = PollReport::for_feed(feed, cursor.clone());
    report.rejected = rejected;
    report.items = releases.len();
    let entries: Vec<_> = releases
        .iter()
        .map(|r| {
            (
                format!("{}@{}", r.name, r.version),
                r.published.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            )
        })
        .collect();
    let adv = window::advance(feed, cursor.as_deref(), &entries, backfill);
    let mut fresh: Vec<Release> = adv
        .fresh
        .iter()
        .filter_map(|&i| releases.get(i).cloned())
        .collect();
    fresh.sort_by_key(|r| r.published);
    report.enqueue_all(sink, fresh)?;
    report.gaps = adv.gaps;
    if let Some(c) = adv.cursor {
        report.commit(sink, feed, c)?;
    }
    Ok(report)
}

/// Polls feeds. `Send + Sync`; one per process is enough.
#[derive(Debug)]
pub struct Watcher {
    cfg: FeedConfig,
    http: http::Http,
}

impl Watcher {
    /// Builds the HTTP agent; touches no network until a poll.
    pub fn new(cfg: FeedConfig) -> Self {
        let http = http::Http::new(&cfg);
        Self { cfg, http }
    }

    /// The configuration this watcher polls with.
    pub fn config(&self) -> &FeedConfig {
        &self.cfg
    }

    /// Reads `feed` once from its stored cursor, enqueues what is new, records gaps
    /// and advances the cursor. On error nothing after the failure happened: the
    /// cursor is where it was, and enqueues already made are idempotent to repeat.
    pub fn poll(&self, feed: FeedId, sink: &dyn Sink) -> Result<PollReport> {
        let cursor = sink.cursor(feed.as_str())?;
        let ep = &self.cfg.endpoints;
        match feed {
            FeedId::PypiXmlrpc => pypi::poll_xmlrpc(self, sink, cursor),
            FeedId::PypiRssUpdates => pypi::poll_updates(self, sink, cursor, &ep.pypi_rss_updates),
            FeedId::PypiRssPackages => pypi::poll_packages(self, sink, cursor),
            FeedId::NpmChanges => npm::poll(self, sink, cursor),
            FeedId::CratesJustUpdated | FeedId::CratesNew => crates::poll(self, sink, feed, cursor),
            FeedId::RubygemsJustUpdated => {
                rubygems::poll(self, sink, feed, cursor, &ep.rubygems_just_updated)
            }
            FeedId::RubygemsLatest => rubygems::poll(self, sink, feed, cursor, &ep.rubygems_latest),
        }
    }

    pub(crate) fn http(&self) -> &http::Http {
        &self.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_rejected() {
        let f = FeedId::PypiRssUpdates;
        assert!(Release::checked(f, "requests", "2.32.3", None).is_some());
        assert!(Release::checked(f, "../etc", "1.0", None).is_none());
        assert!(Release::checked(f, "x", "1.0/../../a", None).is_none());
        assert!(Release::checked(f, "x\u{7}", "1.0", None).is_none());
        assert!(Release::checked(FeedId::NpmChanges, "@scope/pkg", "1.0.0", None).is_some());
    }

    #[test]
    fn endpoints_are_settable_by_name_and_checked() {
        let mut ep = Endpoints::default();
        ep.set("crates-summary", "http://127.0.0.1:9/api/v1/summary/")
            .unwrap();
        assert_eq!(ep.crates_summary, "http://127.0.0.1:9/api/v1/summary");
        assert!(ep.set("crates-summary", "file:///etc/passwd").is_err());
        assert!(ep.set("nope", "http://x").is_err());
        assert!(ep.set("pypi-rss-project", "http://x/rss").is_err());
        for name in Endpoints::NAMES {
            ep.set(name, "http://h/{name}").unwrap();
        }
    }

    #[test]
    fn watcher_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Watcher>();
    }

    #[test]
    fn feed_names_round_trip() {
        for f in FeedId::ALL {
            assert_eq!(f.as_str().parse::<FeedId>().unwrap(), f);
        }
        assert_eq!(
            FeedId::for_ecosystems(&[Ecosystem::Crates]),
            [FeedId::CratesJustUpdated, FeedId::CratesNew]
        );
    }
}
