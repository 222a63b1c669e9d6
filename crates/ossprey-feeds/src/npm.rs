//! npm: the replication `_changes` feed, then each changed packument.
//!
//! Endpoint: `https://replicate.npmjs.com/registry/_changes?since=SEQ&limit=N`, the
//! CouchDB-protocol changes feed npm documents for followers. Each row is
//! `{"seq", "id", "changes": [{"rev"}], "deleted"?}` and the answer ends with
//! `last_seq`. Since npm's 2025 replication changes the feed no longer serves
//! `include_docs`, so a row says only *which* package changed: its new versions come
//! from the full packument (`{registry}/{name}`, the `time` map of version → publish
//! time), taking versions published since the previous poll (minus a clock slack).
//!
//! npm says to treat `seq` as opaque (it was reset in 2021), so a jump in seq is not
//! a gap: CouchDB skips the seqs of superseded revisions by design. A gap is a feed
//! whose `last_seq` is numerically behind our cursor (a reset), an unreadable cursor,
//! or a packument we could not read (its versions are then unknown).

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{FeedId, Gap, PollReport, Release, Sink, Watcher, format_rfc3339, parse_rfc3339};

const FEED: FeedId = FeedId::NpmChanges;

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// `last_seq` as the feed gave it (number or string).
    seq: Value,
    /// When the poll that produced `seq` started.
    at: String,
}

/// One row of `_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) id: String,
    pub(crate) deleted: bool,
}

/// A page of `_changes`: its rows and `last_seq`.
#[derive(Debug)]
pub(crate) struct ChangesPage {
    pub(crate) changes: Vec<Change>,
    pub(crate) last_seq: Value,
}

pub(crate) fn parse_changes(body: &[u8]) -> Result<ChangesPage> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        #[serde(default)]
        deleted: bool,
    }
    #[derive(Deserialize)]
    struct Page {
        results: Vec<Row>,
        last_seq: Value,
    }
    let page: Page = serde_json::from_slice(body).context("not a _changes response")?;
    if !(page.last_seq.is_number() || page.last_seq.is_string()) {
        bail!("_changes last_seq is neither a number nor a string");
    }
    Ok(ChangesPage {
        changes: page
            .results
            .into_iter()
            .map(|r| Change {
                id: r.id,
                deleted: r.deleted,
            })
            .collect(),
        last_seq: page.last_seq,
    })
}

/// The versions of a full packument published at or after `since`, oldest first,
/// leaving out versions no longer in `versions` (unpublished).
pub(crate) fn versions_since(
    body: &[u8],
    since: OffsetDateTime,
) -> Result<Vec<(String, OffsetDateTime)>> {
    #[derive(Deserialize)]
    struct Packument {
        #[serde(default)]
        time: serde_json::Map<String, Value>,
        #[serde(default)]
        versions: serde_json::Map<String, Value>,
    }
    let p: Packument = serde_json::from_slice(body).context("not a packument")?;
    let mut out = Vec::new();
    for (version, t) in &p.time {
        if version == "created" || version == "modified" || !p.versions.contains_key(version) {
            continue;
        }
        let Some(t) = t.as_str().and_then(|s| parse_rfc3339(s).ok()) else {
            continue;
        };
        if t >= since {
            out.push((version.clone(), t));
        }
    }
    out.sort_by_key(|(_, t)| *t);
    Ok(out)
}

fn seq_param(seq: &Value) -> String {
    match seq {
        Value::String(s) => percent_encode(s),
        other => percent_encode(&other.to_string()),
    }
}

/// Percent-encodes everything but unreserved characters (for query values and
/// scoped package names).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn poll(w: &Watcher, sink: &dyn Sink, cursor: Option<String>) -> Result<PollReport> {
    let cfg = w.config();
    let base = &cfg.endpoints.npm_changes;
    let mut report = PollReport::for_feed(FEED, cursor.clone());
    let started = OffsetDateTime::now_utc();
    let prior = match cursor.as_deref().map(serde_json::from_str::<Cursor>) {
        None => None,
        Some(Ok(c)) => match parse_rfc3339(&c.at) {
            Ok(at) => Some((c.seq, at)),
            Err(_) => None,
        },
        Some(Err(_)) => None,
    };
    let Some((mut seq, prior_at)) = prior else {
        if let Some(raw) = &cursor {
            report.gaps.push(Gap {
                feed: FEED,
                from: raw.chars().take(80).collect(),
                to: "now".into(),
                detail: "the stored cursor is unreadable; restarted at the feed's head".into(),
                backfill: backfill("an earlier seq"),
            });
        }
        // First poll: follow from now on, like a CouchDB follower with `since=now`.
        let url = format!("{base}?since=now&limit=1");
        let page = parse_changes(&get(w, &url)?).with_context(|| format!("parsing {url}"))?;
        let c = Cursor {
            seq: page.last_seq,
            at: format_rfc3339(started),
        };
        report.commit(sink, FEED, serde_json::to_string(&c)?)?;
        return Ok(report);
    };
    let since_time = prior_at - cfg.npm_clock_slack;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut pages = 0;
    loop {
        if pages >= cfg.max_pages {
            report.backlog = true;
            break;
        }
        pages += 1;
        let url = format!("{base}?since={}&limit={}", seq_param(&seq), cfg.npm_batch);
        let page = parse_changes(&get(w, &url)?).with_context(|| format!("parsing {url}"))?;
        if let (Some(old), Some(new)) = (as_int(&seq), as_int(&page.last_seq))
            && new < old
        {
            report.gaps.push(Gap {
                feed: FEED,
                from: old.to_string(),
                to: new.to_string(),
                detail: format!(
                    "the feed's last_seq {new} is behind the cursor {old}: the feed was reset"
                ),
                backfill: backfill(&format_rfc3339(since_time)),
            });
        }
        report.items += page.changes.len();
        let full = page.changes.len() >= cfg.npm_batch as usize;
        for c in page.changes {
            // Design documents and deletions announce no version to analyse.
            if !c.deleted && !c.id.starts_with("_design/") {
                ids.insert(c.id);
            }
        }
        seq = page.last_seq;
        if !full {
            break;
        }
    }
    let mut releases = Vec::new();
    for id in ids {
        if Release::checked(FEED, &id, "0.0.0", None).is_none() {
            report
                .rejected
                .push(format!("change `{id}`: not a valid package name"));
            continue;
        }
        let url = format!("{}/{}", cfg.endpoints.npm_registry, percent_encode(&id));
        let Some(body) = w.http().get(&url, "application/json")? else {
            report
                .rejected
                .push(format!("`{id}`: packument gone (404)"));
            continue;
        };
        match versions_since(&body, since_time) {
            Ok(versions) => {
                for (v, t) in versions {
                    match Release::checked(FEED, &id, &v, Some(t)) {
                        Some(r) => releases.push(r),
                        None => report.rejected.push(format!("`{id}`: bad version `{v}`")),
                    }
                }
            }
            // Its versions are unknown: a gap for this package, not a stuck feed.
            Err(e) => report.gaps.push(Gap {
                feed: FEED,
                from: format_rfc3339(since_time),
                to: format_rfc3339(started),
                detail: format!("packument of `{id}` unreadable: {e:#}"),
                backfill: format!(
                    "fetch {url} and enqueue versions published after the gap's start"
                ),
            }),
        }
    }
    report.enqueue_all(sink, releases)?;
    // The packuments of changes still unread (a backlog) are fetched by a later poll,
    // which takes versions published since the cursor's time: that time may only move
    // to this poll's start once the feed has been read to its head, or versions
    // published during a long backlog would fall before it and be lost.
    let at = if report.backlog { prior_at } else { started };
    let c = Cursor {
        seq,
        at: format_rfc3339(at),
    };
    report.commit(sink, FEED, serde_json::to_string(&c)?)?;
    Ok(report)
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn backfill(from: &str) -> String {
    format!(
        "re-read _changes from {from} (since=SEQ), or fetch the packuments of the packages \
         you care about and enqueue versions whose `time` falls in the gap"
    )
}

fn get(w: &Watcher, url: &str) -> Result<Vec<u8>> {
    w.http().get_feed(url, "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_names_and_seqs_are_escaped() {
        assert_eq!(percent_encode("@scope/pkg"), "@scope%2Fpkg");
        assert_eq!(seq_param(&Value::from(42)), "42");
        assert_eq!(seq_param(&Value::from("12-g1AAA")), "12-g1AAA");
    }
}
