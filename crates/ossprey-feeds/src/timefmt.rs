//! The three time formats the feeds use: RFC 2822 (RSS `pubDate`), RFC 3339
//! (crates.io, RubyGems, npm packuments, our cursors) and Unix seconds (XML-RPC).

use anyhow::{Context as _, Result};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

/// Parses an RSS `pubDate` such as `Wed, 25 Nov 2026 17:40:12 GMT`.
pub fn parse_rfc2822(s: &str) -> Result<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc2822)
        .or_else(|_| {
            // The `time` crate only knows numeric zones; PyPI writes `GMT` (allowed
            // by RFC 2822 as an obsolete zone), and some feeds write `UTC`.
            let numeric = s
                .strip_suffix(" GMT")
                .or_else(|| s.strip_suffix(" UTC"))
                .or_else(|| s.strip_suffix(" UT"))
                .map(|head| format!("{head} +0000"))
                .unwrap_or_else(|| s.to_owned());
            OffsetDateTime::parse(&numeric, &Rfc2822)
        })
        .with_context(|| format!("`{s}` is not an RFC 2822 date"))
}

/// Parses an RFC 3339 time such as `2026-11-25T17:40:12.345Z`.
pub fn parse_rfc3339(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .with_context(|| format!("`{s}` is not an RFC 3339 time"))
}

/// Formats a time as RFC 3339 in UTC (the cursor format).
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Unix seconds (XML-RPC journal timestamps) as a time.
pub(crate) fn from_unix(secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pypi_and_registry_times() {
        let t = parse_rfc2822("Wed, 25 Nov 2026 17:40:12 GMT").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-25T17:40:12Z");
        let t = parse_rfc2822("Wed, 25 Nov 2026 18:40:12 +0100").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-25T17:40:12Z");
        let t = parse_rfc3339("2026-11-25T17:40:12.123456+00:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-25T17:40:12.123456Z");
        assert!(parse_rfc2822("yesterday").is_err());
        assert!(parse_rfc3339("2026-13-01T00:00:00Z").is_err());
    }
}
