//! `ossprey query` and `ossprey export`: read analyses back out of the store.
//!
//! Both open the store named by `--db` (else `$OSSPREY_DB`, else the default SQLite
//! file), turn the filter flags into one [`Filter`] and hand the matching analyses to
//! a printer (`query`) or to the exporters in [`crate::export`]. `query --sql` runs
//! one statement through the store's read-only path; the database itself refuses
//! writes, so this module never has to judge SQL.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context as _, bail};
use ossprey_store::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use ossprey_store::{Filter, Store, StoredAnalysis};
use serde_json::{Map, Value, json};

use crate::cli::{DbArgs, ExportArgs, ExportFormatArg, FilterArgs, QueryArgs, QueryFormat};
use crate::export::{self, ExportFormat, ExportItem};

/// Runs `ossprey query`.
pub fn run_query(args: &QueryArgs) -> anyhow::Result<()> {
    let store = open(&args.db)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if let Some(sql) = &args.sql {
        let rows = store
            .raw_query(sql)
            .with_context(|| format!("running the query on {}", store.display_url()))?;
        print_rows(&rows, args.format, &mut out)?;
        out.flush()?;
        eprintln!("{} row{}", rows.len(), plural(rows.len()));
        return Ok(());
    }
    let filter = filter(&args.filters)?;
    let analyses = store
        .find_analyses(&filter)
        .with_context(|| format!("searching {}", store.display_url()))?;
    print_analyses(&analyses, args.format, &mut out)?;
    out.flush()?;
    eprintln!(
        "{} analys{}",
        analyses.len(),
        if analyses.len() == 1 { "is" } else { "es" }
    );
    Ok(())
}

/// Runs `ossprey export`.
pub fn run_export(args: &ExportArgs) -> anyhow::Result<()> {
    let store = open(&args.db)?;
    let filter = filter(&args.filters)?;
    let analyses = store
        .find_analyses(&filter)
        .with_context(|| format!("searching {}", store.display_url()))?;
    let created: Vec<i64> = analyses
        .iter()
        .map(|a| parse_stored_time(&a.created_at).unwrap_or_else(export::now_unix))
        .collect();
    let items: Vec<ExportItem<'_>> = analyses
        .iter()
        .zip(&created)
        .map(|(a, &created_unix)| ExportItem {
            report: &a.report,
            analysis_id: Some(a.id),
            created_unix,
        })
        .collect();
    let format = match args.format {
        ExportFormatArg::Jsonl => ExportFormat::Jsonl,
        ExportFormatArg::Osv => ExportFormat::Osv,
        ExportFormatArg::Sarif => ExportFormat::Sarif,
    };
    if args.out == "-" {
        let mut out = BufWriter::new(io::stdout().lock());
        export::write_stream(&items, format, &mut out)?;
    } else {
        let files = export::write_dir(&items, format, Path::new(&args.out))?;
        eprintln!(
            "wrote {} file{} to {}",
            files.len(),
            plural(files.len()),
            args.out
        );
    }
    Ok(())
}

fn open(db: &DbArgs) -> anyhow::Result<Store> {
    let url = db.db.clone().unwrap_or_else(Store::default_url);
    Store::open(&url).context("opening the store")
}

/// The store filter for the flags given.
fn filter(args: &FilterArgs) -> anyhow::Result<Filter> {
    let now = OffsetDateTime::now_utc();
    let since = args
        .since
        .as_deref()
        .map(|t| parse_time(t, now).with_context(|| format!("--since {t}")))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| parse_time(t, now).with_context(|| format!("--until {t}")))
        .transpose()?;
    if let Some(h) = &args.sha256
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        bail!("--sha256 {h}: expected 64 hexadecimal digits");
    }
    Ok(Filter {
        verdict: args.verdict,
        rule: args.rule.clone(),
        category: args.category.clone(),
        domain: args
            .domain
            .as_ref()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
        ip: args.ip.clone(),
        package: args.package.clone(),
        sha256: args.sha256.as_ref().map(|h| h.to_ascii_lowercase()),
        since,
        until,
        limit: args.limit,
    })
}

/// `2026-11-25T18:00:00Z` (any RFC 3339), `2026-11-25` (UTC midnight), or an age
/// before `now`: `90s`, `30m`, `24h`, `7d`, `2w`.
fn parse_time(text: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(text, &date_format) {
        return Ok(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&i| i > 0)
        .context(
            "expected RFC 3339 (2026-11-25T18:00:00Z), a date (2026-11-25) or an age (24h, 7d)",
        )?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().context("age too large")?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("unknown unit `{unit}` (s, m, h, d, w)"),
    };
    let age = n.checked_mul(seconds_per).context("age too large")?;
    now.checked_sub(time::Duration::seconds(age))
        .context("age reaches before the calendar's start")
}

/// The store's `created_at` (RFC 3339 text) as Unix seconds.
fn parse_stored_time(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn analysis_json(a: &StoredAnalysis) -> Value {
    json!({"id": a.id, "kind": a.kind, "created_at": a.created_at, "report": a.report})
}

fn print_analyses(
    analyses: &[StoredAnalysis],
    format: QueryFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        QueryFormat::Json => {
            let all: Vec<Value> = analyses.iter().map(analysis_json).collect();
            serde_json::to_writer_pretty(&mut *out, &all)?;
            writeln!(out)?;
        }
        QueryFormat::Jsonl => {
            for a in analyses {
                serde_json::to_writer(&mut *out, &analysis_json(a))?;
                writeln!(out)?;
            }
        }
        QueryFormat::Text => {
            writeln!(
                out,
                "{:>6}  {:<27}  {:<8} {:<10} {:>5}  {:<40} RULES",
                "ID", "STORED", "KIND", "VERDICT", "SCORE", "PACKAGE"
            )?;
            for a in analyses {
                let r = &a.report;
                let package = r
                    .package
                    .as_ref()
                    .map_or_else(|| r.target.clone(), ToString::to_string);
                let verdict = match (&r.error, r.verdict) {
                    (Some(_), _) => "error".to_owned(),
                    (None, Some(v)) => v.to_string(),
                    (None, None) => "-".to_owned(),
                };
                let score = r
                    .score
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"));
                let mut rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
                rules.sort_unstable();
                rules.dedup();
                writeln!(
                    out,
                    "{:>6}  {:<27}  {:<8} {:<10} {:>5}  {:<40} {}",
                    a.id,
                    a.created_at,
                    printable(&a.kind),
                    verdict,
                    score,
                    printable(&package),
                    printable(&rules.join(","))
                )?;
            }
        }
    }
    Ok(())
}

fn print_rows(
    rows: &[Map<String, Value>],
    format: QueryFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        QueryFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
        QueryFormat::Jsonl => {
            for row in rows {
                serde_json::to_writer(&mut *out, row)?;
                writeln!(out)?;
            }
        }
        QueryFormat::Text => {
            // Tab-separated with a header; column order is the statement's.
            if let Some(first) = rows.first() {
                let header: Vec<&str> = first.keys().map(String::as_str).collect();
                writeln!(out, "{}", header.join("\t"))?;
            }
            for row in rows {
                let cells: Vec<String> = row
                    .values()
                    .map(|v| match v {
                        Value::Null => "NULL".to_owned(),
                        Value::String(s) => printable(s),
                        other => printable(&other.to_string()),
                    })
                    .collect();
                writeln!(out, "{}", cells.join("\t"))?;
            }
        }
    }
    Ok(())
}

/// Text from packages, feeds and the store is attacker-influenced (package names,
/// rule messages, feed titles): control characters (ANSI sequences, carriage returns,
/// newlines) and bidi controls are written as `\u{..}` so such text can neither
/// rewrite the terminal nor forge rows or log lines. Every command that prints it
/// goes through this one function.
pub(crate) fn printable(s: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    };
    if !s.chars().any(unsafe_char) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        let now = OffsetDateTime::from_unix_timestamp(1_764_093_600).unwrap();
        let at = |t: &str| parse_time(t, now).unwrap().unix_timestamp();
        assert_eq!(at("2025-11-25T18:00:00Z"), 1_764_093_600);
        assert_eq!(at("2025-11-25T19:00:00+01:00"), 1_764_093_600);
        assert_eq!(at("2025-11-25"), 1_764_028_800);
        assert_eq!(at("24h"), 1_764_093_600 - 86_400);
        assert_eq!(at("30m"), 1_764_093_600 - 1800);
        assert_eq!(at("2w"), 1_764_093_600 - 14 * 86_400);
        for bad in [
            "",
            "yesterday",
            "5y",
            "h",
            "99999999999999999999d",
            "2025-13-01",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn control_characters_in_stored_text_are_escaped() {
        assert_eq!(printable("evil\n42  2026"), "evil\\u{a}42  2026");
        assert_eq!(printable("\u{1b}[2Jx\r"), "\\u{1b}[2Jx\\u{d}");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("plain \"quoted\" \\"), "plain \"quoted\" \\");
    }
}
