//! Cursors for window feeds: feeds that show only the newest N items (PyPI RSS,
//! crates.io summary, RubyGems activity) with no sequence number.
//!
//! The cursor is the newest item time seen plus the keys of the items at exactly
//! that time (feeds stamp whole seconds, so several releases share one). An item is
//! new when it is newer than the cursor, or at the cursor's time and not among its
//! keys. When even the oldest item of a poll is newer than the cursor, the window has
//! slid past releases never seen: that is a gap.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{FeedId, Gap, format_rfc3339, parse_rfc3339};

/// Most keys kept at the cursor's time; more releases than this in one second
/// would only cause re-enqueues, which the sink absorbs.
const MAX_SEEN: usize = 1000;

#[derive(Debug, Serialize, Deserialize)]
struct WindowCursor {
    time: String,
    seen: BTreeSet<String>,
}

/// The decision for one poll of a window feed.
#[derive(Debug)]
pub(crate) struct Advance {
    /// Indices into the entries that are new since the cursor.
    pub(crate) fresh: Vec<usize>,
    pub(crate) gaps: Vec<Gap>,
    /// The cursor to store after the fresh entries are enqueued (`None`: no entries
    /// and no prior cursor, nothing to store).
    pub(crate) cursor: Option<String>,
}

/// Compares one poll's `entries` (key, time) with the stored cursor.
pub(crate) fn advance(
    feed: FeedId,
    prior: Option<&str>,
    entries: &[(String, OffsetDateTime)],
    backfill: &str,
) -> Advance {
    let mut gaps = Vec::new();
    let prior = prior.and_then(|raw| match decode(raw) {
        Some(c) => Some(c),
        None => {
            // A cursor we cannot read must not wedge the feed forever: start over
            // from this window and say so.
            gaps.push(Gap {
                feed,
                from: raw.chars().take(80).collect(),
                to: "(current window)".into(),
                detail: "the stored cursor is unreadable; restarted from the current window".into(),
                backfill: backfill.to_owned(),
            });
            None
        }
    });
    let fresh: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, (key, t))| match &prior {
            None => true,
            Some((ct, seen)) => t > ct || (t == ct && !seen.contains(key)),
        })
        .map(|(i, _)| i)
        .collect();
    if let (Some((ct, _)), Some(oldest)) = (&prior, entries.iter().map(|(_, t)| *t).min())
        && oldest > *ct
    {
        gaps.push(Gap {
            feed,
            from: format_rfc3339(*ct),
            to: format_rfc3339(oldest),
            detail: format!(
                "the feed's window ({} items) no longer reaches back to the cursor: \
                 releases published in between may have been dropped",
                entries.len()
            ),
            backfill: backfill.to_owned(),
        });
    }
    // The cursor never moves backwards: a feed serving an older window (a stale
    // cache node) must not make us re-announce or lose our place.
    let newest = entries.iter().map(|(_, t)| *t).max();
    let cursor = match (prior, newest) {
        (None, None) => None,
        (Some((ct, seen)), None) => Some(encode(ct, seen)),
        (Some((ct, seen)), Some(n)) if n < ct => Some(encode(ct, seen)),
        (prior, Some(n)) => {
            let mut seen: BTreeSet<String> = match prior {
                Some((ct, seen)) if ct == n => seen,
                _ => BTreeSet::new(),
            };
            seen.extend(
                entries
                    .iter()
                    .filter(|(_, t)| *t == n)
                    .map(|(k, _)| k.clone())
                    .take(MAX_SEEN),
            );
            Some(encode(n, seen))
        }
    };
    Advance {
        fresh,
        gaps,
        cursor,
    }
}

fn decode(raw: &str) -> Option<(OffsetDateTime, BTreeSet<String>)> {
    let c: WindowCursor = serde_json::from_str(raw).ok()?;
    Some((parse_rfc3339(&c.time).ok()?, c.seen))
}

fn encode(time: OffsetDateTime, mut seen: BTreeSet<String>) -> String {
    while seen.len() > MAX_SEEN {
        seen.pop_last();
    }
    let c = WindowCursor {
        time: format_rfc3339(time),
        seen,
    };
    serde_json::to_string(&c).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> OffsetDateTime {
        parse_rfc3339(s).unwrap()
    }

    fn e(k: &str, s: &str) -> (String, OffsetDateTime) {
        (k.to_owned(), t(s))
    }

    const F: FeedId = FeedId::RubygemsLatest;

    #[test]
    fn first_poll_takes_the_whole_window() {
        let a = advance(
            F,
            None,
            &[
                e("a", "2026-01-01T00:00:01Z"),
                e("b", "2026-01-01T00:00:02Z"),
            ],
            "",
        );
        assert_eq!(a.fresh, [0, 1]);
        assert!(a.gaps.is_empty());
        let a2 = advance(F, None, &[], "");
        assert!(a2.cursor.is_none());
    }

    #[test]
    fn overlap_is_new_only_past_the_cursor_including_same_second_siblings() {
        let first = advance(
            F,
            None,
            &[
                e("a", "2026-01-01T00:00:01Z"),
                e("b", "2026-01-01T00:00:02Z"),
            ],
            "",
        );
        let cur = first.cursor.unwrap();
        let second = advance(
            F,
            Some(&cur),
            &[
                e("a", "2026-01-01T00:00:01Z"),
                e("b", "2026-01-01T00:00:02Z"),
                e("c", "2026-01-01T00:00:02Z"),
                e("d", "2026-01-01T00:00:03Z"),
            ],
            "",
        );
        assert_eq!(second.fresh, [2, 3]);
        assert!(second.gaps.is_empty());
    }

    #[test]
    fn a_window_that_slid_past_the_cursor_is_a_gap() {
        let cur = advance(F, None, &[e("a", "2026-01-01T00:00:01Z")], "")
            .cursor
            .unwrap();
        let a = advance(
            F,
            Some(&cur),
            &[e("x", "2026-01-01T01:00:00Z")],
            "use the index",
        );
        assert_eq!(a.fresh, [0]);
        assert_eq!(a.gaps.len(), 1);
        assert_eq!(a.gaps[0].from, "2026-01-01T00:00:01Z");
        assert_eq!(a.gaps[0].to, "2026-01-01T01:00:00Z");
        assert_eq!(a.gaps[0].backfill, "use the index");
    }

    #[test]
    fn an_older_window_never_moves_the_cursor_back_and_bad_cursors_restart() {
        let cur = advance(F, None, &[e("a", "2026-01-02T00:00:00Z")], "")
            .cursor
            .unwrap();
        let a = advance(F, Some(&cur), &[e("z", "2026-01-01T00:00:00Z")], "");
        assert!(a.fresh.is_empty());
        assert_eq!(a.cursor.as_deref(), Some(cur.as_str()));
        let b = advance(F, Some("garbage"), &[e("a", "2026-01-01T00:00:00Z")], "");
        assert_eq!(b.fresh, [0]);
        assert_eq!(b.gaps.len(), 1);
    }
}
