//! Runs the real `ossprey` binary over files in batches and reads its JSONL.
//!
//! Peak memory comes from `/usr/bin/time -f %M` around each process (max RSS in
//! KiB), so the measurement is the operating system's, not ossprey's own.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::metrics::{Outcome, Verdict};

const TIME_BIN: &str = "/usr/bin/time";

/// One package's report, reduced to what the evaluation reads.
#[derive(Clone, Debug, Default)]
pub struct Scanned {
    pub outcome: Outcome,
    pub verdict_raw: Option<String>,
    pub score: Option<f64>,
    pub error_code: Option<String>,
    /// The package name the report declares, if any.
    pub package_name: Option<String>,
}

/// All reports of a set of files, plus how heavy producing them was.
#[derive(Debug, Default)]
pub struct ScanRun {
    /// Keyed by the file path as passed to ossprey (it echoes it as `target`).
    pub reports: HashMap<String, Scanned>,
    /// Largest max RSS of any batch process, KiB (`None` without /usr/bin/time).
    pub batch_max_rss_kib: Option<u64>,
    /// Sum of the batch processes' wall-clock times.
    pub wall: Duration,
}

/// Reads one JSONL report line. Anything odd yields `None` or empty fields, never a panic.
pub fn parse_report(line: &str) -> Option<(String, Scanned)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let target = v.get("target")?.as_str()?.to_owned();
    let verdict_raw = v.get("verdict").and_then(Value::as_str).map(str::to_owned);
    let error_code = v.get("error").filter(|e| !e.is_null()).map(|e| {
        e.get("code")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned()
    });
    let rules: BTreeSet<String> = v
        .get("findings")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f.get("rule").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let outcome = Outcome {
        verdict: Verdict::parse(verdict_raw.as_deref()),
        error: error_code.is_some(),
        duration_ms: v.get("duration_ms").and_then(Value::as_f64),
        rules,
    };
    Some((
        target,
        Scanned {
            outcome,
            verdict_raw,
            score: v.get("score").and_then(Value::as_f64),
            error_code,
            package_name: v
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    ))
}

fn have_time() -> bool {
    Path::new(TIME_BIN).is_file()
}

/// Runs `ossprey scan --format jsonl --jobs 1` on `files`, `batch` files per
/// process, `jobs` processes at a time. Files with no report line (a crash) get
/// an error outcome with code `no-report`.
pub fn scan_files(
    bin: &Path,
    files: &[PathBuf],
    batch: usize,
    jobs: usize,
    label: &str,
) -> ScanRun {
    let chunks: Vec<&[PathBuf]> = files.chunks(batch.max(1)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let run = Mutex::new(ScanRun::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, chunks.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else { break };
                    let (reports, rss, wall, problem) = run_batch(bin, chunk);
                    if let Some(problem) = problem {
                        eprintln!("eval: {label}: batch {}: {problem}", i + 1);
                    }
                    let n = done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
                    eprintln!("eval: {label}: scanned {n}/{}", files.len());
                    let mut r = run
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    r.wall += wall;
                    if let Some(rss) = rss {
                        r.batch_max_rss_kib = Some(r.batch_max_rss_kib.unwrap_or(0).max(rss));
                    }
                    r.reports.extend(reports);
                }
            });
        }
    });
    let mut run = run
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for f in files {
        run.reports
            .entry(f.display().to_string())
            .or_insert_with(|| Scanned {
                outcome: Outcome {
                    error: true,
                    ..Outcome::default()
                },
                error_code: Some("no-report".into()),
                ..Scanned::default()
            });
    }
    run
}

type Batch = (
    HashMap<String, Scanned>,
    Option<u64>,
    Duration,
    Option<String>,
);

fn run_batch(bin: &Path, files: &[PathBuf]) -> Batch {
    let rss_file = tempfile::NamedTempFile::new().ok();
    let mut cmd = match (&rss_file, have_time()) {
        (Some(f), true) => {
            let mut c = Command::new(TIME_BIN);
            c.arg("-f").arg("%M").arg("-o").arg(f.path()).arg(bin);
            c
        }
        _ => Command::new(bin),
    };
    cmd.args([
        "scan",
        "--format",
        "jsonl",
        "--jobs",
        "1",
        "--quiet",
        "--offline",
    ])
    .args(files)
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    let started = Instant::now();
    let output = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            return (
                HashMap::new(),
                None,
                started.elapsed(),
                Some(format!("cannot run {}: {e}", bin.display())),
            );
        }
    };
    let wall = started.elapsed();
    let reports: HashMap<String, Scanned> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(parse_report)
        .collect();
    let rss = rss_file.as_ref().and_then(|f| read_rss(f.path()));
    // Exit 1 is --fail-on (unused here), 2 means some targets had errors: both normal.
    let problem = match output.status.code() {
        Some(0..=2) => None,
        other => Some(format!(
            "ossprey exited with {other:?} ({} of {} reports)",
            reports.len(),
            files.len()
        )),
    };
    (reports, rss, wall, problem)
}

/// `/usr/bin/time -o` writes "Command exited with non-zero status N" before the
/// number when the command fails: take the last line that parses.
fn read_rss(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().rev().find_map(|l| l.trim().parse().ok())
}

/// Max RSS (KiB) of scanning each of `files` alone, one process each.
pub fn per_file_rss(bin: &Path, files: &[PathBuf]) -> Vec<(PathBuf, Option<u64>)> {
    files
        .iter()
        .map(|f| {
            let (_, rss, _, _) = run_batch(bin, std::slice::from_ref(f));
            (f.clone(), rss)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reports_with_null_verdicts_findings_and_errors() {
        let (t, s) = parse_report(r#"{"target":"/a.tgz","verdict":null,"score":null,"findings":[],"duration_ms":3,"error":null}"#).unwrap();
        assert_eq!(t, "/a.tgz");
        assert_eq!(s.outcome.verdict, None);
        assert!(!s.outcome.error);
        assert_eq!(s.outcome.duration_ms, Some(3.0));

        let line = r#"{"target":"x","verdict":"malicious","score":9.5,"findings":[{"rule":"R1"},{"rule":"R1"},{"rule":"R2"},{"norule":1}],"duration_ms":1,"package":{"name":"evil"}}"#;
        let (_, s) = parse_report(line).unwrap();
        assert_eq!(s.outcome.verdict, Some(Verdict::Malicious));
        assert_eq!(s.outcome.rules.len(), 2);
        assert_eq!(s.score, Some(9.5));
        assert_eq!(s.package_name.as_deref(), Some("evil"));

        let (_, s) =
            parse_report(r#"{"target":"y","error":{"code":"archive-limit","message":"m"}}"#)
                .unwrap();
        assert!(s.outcome.error);
        assert_eq!(s.error_code.as_deref(), Some("archive-limit"));

        assert!(parse_report("not json").is_none());
        assert!(parse_report(r#"{"verdict":"malicious"}"#).is_none());
        assert!(parse_report(r#"[1,2]"#).is_none());
        let (_, s) =
            parse_report(r#"{"target":"z","findings":"oops","verdict":7,"duration_ms":"x"}"#)
                .unwrap();
        assert_eq!(s.outcome, Outcome::default());
    }
}
