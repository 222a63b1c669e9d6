//! crates.io: `/api/v1/summary`, whose `just_updated` and `new_crates` lists (ten
//! crates each) are two window feeds. A crate's announced version is its
//! `newest_version` (the most recently published), timed by `updated_at` for
//! `just_updated` and `created_at` for `new_crates`.

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::{FeedId, PollReport, Release, Sink, Watcher, parse_rfc3339};

const BACKFILL: &str = "the crates.io index (sparse index files, or the daily db-dump) lists \
     every version with its publish time; re-read the crates changed in the gap there";

#[derive(Debug, Deserialize)]
struct Summary {
    just_updated: Vec<Krate>,
    new_crates: Vec<Krate>,
}

#[derive(Debug, Deserialize)]
struct Krate {
    name: String,
    newest_version: Option<String>,
    max_version: Option<String>,
    updated_at: Option<String>,
    created_at: Option<String>,
}

/// Parses a summary and returns the releases `feed` announces, plus rejected items.
pub(crate) fn parse_summary(body: &[u8], feed: FeedId) -> Result<(Vec<Release>, Vec<String>)> {
    let s: Summary = serde_json::from_slice(body).context("not a crates.io summary")?;
    let list = if feed == FeedId::CratesNew {
        s.new_crates
    } else {
        s.just_updated
    };
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for k in list {
        let stamp = if feed == FeedId::CratesNew {
            &k.created_at
        } else {
            &k.updated_at
        };
        let version = k.newest_version.as_deref().or(k.max_version.as_deref());
        let time = stamp.as_deref().map(parse_rfc3339);
        match (version, time) {
            (Some(v), Some(Ok(t))) => match Release::checked(feed, &k.name, v, Some(t)) {
                Some(r) => out.push(r),
                None => bad.push(format!("crate `{}`: bad name or version `{v}`", k.name)),
            },
            (None, _) => bad.push(format!("crate `{}`: no newest_version", k.name)),
            (_, None) => bad.push(format!("crate `{}`: no time", k.name)),
            (_, Some(Err(e))) => bad.push(format!("crate `{}`: {e:#}", k.name)),
        }
    }
    Ok((out, bad))
}

pub(crate) fn poll(
    w: &Watcher,
    sink: &dyn Sink,
    feed: FeedId,
    cursor: Option<String>,
) -> Result<PollReport> {
    let url = &w.config().endpoints.crates_summary;
    let body = w.http().get_feed(url, "application/json")?;
    let (releases, bad) = parse_summary(&body, feed).with_context(|| format!("parsing {url}"))?;
    crate::window_poll(sink, feed, cursor, releases, bad, BACKFILL)
}
