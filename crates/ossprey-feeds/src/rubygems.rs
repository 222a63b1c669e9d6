//! RubyGems: `/api/v1/activity/just_updated.json` (the 50 most recently updated
//! gems) and `/api/v1/activity/latest.json` (the 50 gems most recently added for the
//! first time). Both are arrays of gem objects; the release is `name` + `version`,
//! timed by `version_created_at`. Neither endpoint pages, so both are window feeds.

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::{FeedId, PollReport, Release, Sink, Watcher, parse_rfc3339};

const BACKFILL: &str = "the compact index /versions file is append-only: gems appended after \
     the gap's start are the releases to re-check (or /api/v1/versions/NAME.json per gem)";

#[derive(Debug, Deserialize)]
struct Gem {
    name: String,
    version: String,
    version_created_at: Option<String>,
}

/// Parses an activity array into releases, plus rejected items.
pub(crate) fn parse_activity(body: &[u8], feed: FeedId) -> Result<(Vec<Release>, Vec<String>)> {
    let gems: Vec<Gem> = serde_json::from_slice(body).context("not a RubyGems activity array")?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for g in gems {
        let time = g.version_created_at.as_deref().map(parse_rfc3339);
        match time {
            Some(Ok(t)) => match Release::checked(feed, &g.name, &g.version, Some(t)) {
                Some(r) => out.push(r),
                None => bad.push(format!(
                    "gem `{}`: bad name or version `{}`",
                    g.name, g.version
                )),
            },
            Some(Err(e)) => bad.push(format!("gem `{}`: {e:#}", g.name)),
            None => bad.push(format!("gem `{}`: no version_created_at", g.name)),
        }
    }
    Ok((out, bad))
}

pub(crate) fn poll(
    w: &Watcher,
    sink: &dyn Sink,
    feed: FeedId,
    cursor: Option<String>,
    url: &str,
) -> Result<PollReport> {
    let body = w.http().get_feed(url, "application/json")?;
    let (releases, bad) = parse_activity(&body, feed).with_context(|| format!("parsing {url}"))?;
    crate::window_poll(sink, feed, cursor, releases, bad, BACKFILL)
}
