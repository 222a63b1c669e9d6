//! `cargo xtask eval`: measures ossprey's detection on a pinned benign corpus and
//! on the malicious development corpus, per ecosystem, and optionally GuardDog's
//! on the same files in the same run.
//!
//! ```text
//! cargo xtask eval [--benign-only|--malicious-only] [--limit N] [--jobs N]
//!                  [--guarddog] [--bin PATH] [--batch N] [--fetch-only]
//! cargo xtask eval make-lists [--from DIR] [--corpus DIR]
//! ```
//!
//! * Benign lists: `xtask/eval/benign-{pypi,npm}.txt` (see [`lists`] for how they are made).
//! * Cache: `$OSSPREY_EVAL_DIR`, else `~/.cache/ossprey-eval` — outside the repo.
//! * Malicious corpus: `$OSSPREY_CORPUS`, else `../shared/corpus` from the workspace root.
//! * Scanner: the real CLI binary, `ossprey scan --format jsonl --jobs 1`, in batches.
//! * Full per-package results: `target/eval/results.jsonl`.
//!
//! Verdicts may be `null` while detection rules are being written: such packages
//! are counted as "not judged", and as misses for recall.

mod fetch;
mod guarddog;
mod lists;
mod metrics;
mod scan;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use serde_json::json;

use lists::Eco;
use metrics::{Outcome, ratio, summarize, top_rules};

/// Files per ossprey process: big enough to amortise start-up, small enough
/// that one crash loses little and progress shows.
const DEFAULT_BATCH: usize = 100;
/// How many of the largest packages are scanned one by one for per-package peak RSS.
const LARGEST_FOR_RSS: usize = 20;

#[derive(Debug)]
struct Options {
    benign: bool,
    malicious: bool,
    limit: Option<usize>,
    jobs: usize,
    guarddog: bool,
    bin: Option<PathBuf>,
    batch: usize,
    fetch_only: bool,
}

/// Entry point of `cargo xtask eval ...`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) == Some("make-lists") {
        return run_make_lists(&args[1..]);
    }
    let opts = parse_args(args)?;
    let root = workspace_root();
    let eval_dir = eval_dir();
    let corpus = corpus_dir();
    std::fs::create_dir_all(&eval_dir)
        .with_context(|| format!("creating {}", eval_dir.display()))?;
    eprintln!(
        "eval: cache {}, corpus {}",
        eval_dir.display(),
        corpus.display()
    );

    // 1. Gather the files of each ecosystem and corpus.
    let mut items: Vec<Item> = Vec::new();
    let mut fetch_lines = Vec::new();
    for eco in Eco::ALL {
        if opts.benign {
            let list = root
                .join("xtask/eval")
                .join(format!("benign-{}.txt", eco.as_str()));
            let text = std::fs::read_to_string(&list)
                .with_context(|| format!("reading {}", list.display()))?;
            let mut pins =
                lists::parse_list(eco, &text).with_context(|| list.display().to_string())?;
            if let Some(n) = opts.limit {
                pins.truncate(n);
            }
            let report = fetch::fetch_all(eco, &pins, &eval_dir, opts.jobs)?;
            fetch_lines.push(format!(
                "{}: {} pinned, {} cached ({} downloaded this run), {} skipped as > {} MB, {} failed",
                eco.as_str(),
                pins.len(),
                report.cached.len(),
                report.downloaded,
                report.too_large.len(),
                fetch::MAX_ARTIFACT_BYTES / 1_000_000,
                report.failed.len()
            ));
            for (pin, code, _) in &report.failed {
                fetch_lines.push(format!("    failed: {}@{} ({code})", pin.name, pin.version));
            }
            for pin in &report.too_large {
                fetch_lines.push(format!("    too large: {}@{}", pin.name, pin.version));
            }
            items.extend(report.cached.into_iter().map(|c| Item {
                eco,
                malicious: false,
                name: c.pin.name.clone(),
                version: Some(c.pin.version.clone()),
                group: c.pin.group.clone(),
                size: c.size,
                path: c.path,
            }));
        }
        if opts.malicious {
            let mut mal = malicious_files(&corpus, eco)?;
            if let Some(n) = opts.limit {
                mal.truncate(n);
            }
            items.extend(mal);
        }
    }
    eprintln!("eval: fetch summary:");
    for line in &fetch_lines {
        eprintln!("  {line}");
    }
    if opts.fetch_only {
        for line in &fetch_lines {
            println!("{line}");
        }
        return Ok(());
    }
    if items.is_empty() {
        bail!("nothing to scan");
    }

    // 2. Scan with ossprey, per ecosystem.
    let bin = ensure_binary(&root, opts.bin.as_deref())?;
    let mut eco_runs: HashMap<Eco, EcoRun> = HashMap::new();
    for eco in Eco::ALL {
        let files: Vec<PathBuf> = items
            .iter()
            .filter(|i| i.eco == eco)
            .map(|i| i.path.clone())
            .collect();
        if files.is_empty() {
            continue;
        }
        let run = scan::scan_files(&bin, &files, opts.batch, opts.jobs, eco.as_str());
        let mut by_size: Vec<(u64, PathBuf)> = items
            .iter()
            .filter(|i| i.eco == eco)
            .map(|i| (i.size, i.path.clone()))
            .collect();
        by_size.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let largest: Vec<PathBuf> = by_size
            .into_iter()
            .take(LARGEST_FOR_RSS)
            .map(|(_, p)| p)
            .collect();
        eprintln!(
            "eval: {}: peak RSS of the {} largest packages, one process each",
            eco.as_str(),
            largest.len()
        );
        let per_file = scan::per_file_rss(&bin, &largest);
        eco_runs.insert(eco, EcoRun { run, per_file });
    }

    // 3. GuardDog on the same files.
    let mut gd: HashMap<PathBuf, guarddog::GdResult> = HashMap::new();
    if opts.guarddog {
        let exe = guarddog::ensure(&eval_dir)?;
        gd = run_guarddog(&exe, &items, opts.jobs);
    }

    // 4. Results file and table.
    let out_dir = root.join("target/eval");
    std::fs::create_dir_all(&out_dir)?;
    let results_path = out_dir.join("results.jsonl");
    write_results(&results_path, &items, &eco_runs, &gd)?;
    let table = render_table(&items, &eco_runs, &gd, opts.guarddog);
    println!("{}", fetch_lines.join("\n"));
    println!();
    print!("{table}");
    println!("per-package results: {}", results_path.display());
    Ok(())
}

/// One file to scan.
#[derive(Clone, Debug)]
struct Item {
    eco: Eco,
    malicious: bool,
    name: String,
    version: Option<String>,
    group: String,
    size: u64,
    path: PathBuf,
}

#[derive(Debug)]
struct EcoRun {
    run: scan::ScanRun,
    per_file: Vec<(PathBuf, Option<u64>)>,
}

fn parse_args(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        benign: true,
        malicious: true,
        limit: None,
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        guarddog: false,
        bin: None,
        batch: DEFAULT_BATCH,
        fetch_only: false,
    };
    let mut it = args.iter();
    let number = |v: Option<&String>, flag: &str| -> anyhow::Result<usize> {
        let n: usize = v
            .with_context(|| format!("{flag} needs a number"))?
            .parse()
            .with_context(|| flag.to_owned())?;
        anyhow::ensure!(n > 0, "{flag} must be at least 1");
        Ok(n)
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--benign-only" => o.malicious = false,
            "--malicious-only" => o.benign = false,
            "--limit" => o.limit = Some(number(it.next(), "--limit")?),
            "--jobs" | "-j" => o.jobs = number(it.next(), "--jobs")?,
            "--batch" => o.batch = number(it.next(), "--batch")?,
            "--guarddog" => o.guarddog = true,
            "--fetch-only" => o.fetch_only = true,
            "--bin" => o.bin = Some(PathBuf::from(it.next().context("--bin needs a path")?)),
            other => bail!("eval: unknown argument {other:?}"),
        }
    }
    if !o.benign && !o.malicious {
        bail!("--benign-only and --malicious-only exclude each other");
    }
    Ok(o)
}

fn run_make_lists(args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let mut from = root.join("../.library/env/packages");
    let mut corpus = corpus_dir();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--from" => from = PathBuf::from(it.next().context("--from needs a directory")?),
            "--corpus" => corpus = PathBuf::from(it.next().context("--corpus needs a directory")?),
            other => bail!("eval make-lists: unknown argument {other:?}"),
        }
    }
    lists::make_lists(&from, &corpus, &root.join("xtask/eval"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn eval_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OSSPREY_EVAL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("ossprey-eval")
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OSSPREY_CORPUS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    workspace_root().join("../shared/corpus")
}

/// Every archive of `<corpus>/<eco>-malicious` (not the manifest or README),
/// named from the manifest where it has a `name` column, else from the file name.
fn malicious_files(corpus: &Path, eco: Eco) -> anyhow::Result<Vec<Item>> {
    let dir = corpus.join(format!("{}-malicious", eco.as_str()));
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "eval: warning: {}: {e}; no malicious {} corpus",
                dir.display(),
                eco.as_str()
            );
            return Ok(Vec::new());
        }
    };
    let names: HashMap<String, String> = std::fs::read_to_string(dir.join("manifest.csv"))
        .map(|m| manifest_names(&m))
        .unwrap_or_default();
    let mut items = Vec::new();
    for entry in entries {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata()?;
        if !meta.is_file() || file == "manifest.csv" || file.to_lowercase().starts_with("readme") {
            continue;
        }
        let name = names
            .get(&file)
            .cloned()
            .or_else(|| lists::name_from_file(&file))
            .unwrap_or_else(|| file.clone());
        items.push(Item {
            eco,
            malicious: true,
            name,
            version: None,
            group: "malicious".into(),
            size: meta.len(),
            path: entry.path(),
        });
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(items)
}

/// file → name, from a manifest with `name` and `file` columns.
fn manifest_names(manifest: &str) -> HashMap<String, String> {
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    let (Some(n), Some(f)) = (
        header.iter().position(|h| *h == "name"),
        header.iter().position(|h| *h == "file"),
    ) else {
        return HashMap::new();
    };
    lines
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            Some((
                (*cols.get(f)?).trim().to_owned(),
                (*cols.get(n)?).trim().to_owned(),
            ))
        })
        .collect()
}

/// The ossprey binary to measure: `--bin`, else `target/release/ossprey`, built when missing.
fn ensure_binary(root: &Path, bin: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(bin) = bin {
        anyhow::ensure!(bin.is_file(), "--bin {}: no such file", bin.display());
        return Ok(bin.to_owned());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("release/ossprey");
    if !bin.is_file() {
        eprintln!(
            "eval: building {} (cargo build --release -p ossprey)",
            bin.display()
        );
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "-p", "ossprey"])
            .current_dir(root)
            .status()
            .context("running cargo build")?;
        anyhow::ensure!(status.success(), "cargo build --release -p ossprey failed");
    }
    Ok(bin)
}

fn run_guarddog(exe: &Path, items: &[Item], jobs: usize) -> HashMap<PathBuf, guarddog::GdResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let out = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = guarddog::scan(exe, item.eco, &item.path);
                    if let Some(e) = &r.error {
                        eprintln!(
                            "eval: guarddog {} {}: error: {e}",
                            item.eco.as_str(),
                            item.name
                        );
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(10) || n == items.len() {
                        eprintln!("eval: guarddog: {n}/{}", items.len());
                    }
                    out.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(item.path.clone(), r);
                }
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn scanned<'a>(runs: &'a HashMap<Eco, EcoRun>, item: &Item) -> Option<&'a scan::Scanned> {
    runs.get(&item.eco)?
        .run
        .reports
        .get(&item.path.display().to_string())
}

fn write_results(
    path: &Path,
    items: &[Item],
    runs: &HashMap<Eco, EcoRun>,
    gd: &HashMap<PathBuf, guarddog::GdResult>,
) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for item in items {
        let s = scanned(runs, item);
        let mut row = json!({
            "ecosystem": item.eco.as_str(),
            "corpus": if item.malicious { "malicious" } else { "benign" },
            "group": item.group,
            "name": item.name,
            "version": item.version,
            "file": item.path.display().to_string(),
            "size": item.size,
            "ossprey": {
                "verdict": s.and_then(|s| s.verdict_raw.clone()),
                "score": s.and_then(|s| s.score),
                "rules": s.map(|s| s.outcome.rules.iter().cloned().collect::<Vec<_>>()).unwrap_or_default(),
                "duration_ms": s.and_then(|s| s.outcome.duration_ms),
                "error": s.and_then(|s| s.error_code.clone()),
                "package_name": s.and_then(|s| s.package_name.clone()),
            },
        });
        if let Some(g) = gd.get(&item.path) {
            row["guarddog"] = json!({
                "flagged": g.flagged,
                "label": g.label,
                "issues": g.issues,
                "rules": g.rules.iter().cloned().collect::<Vec<_>>(),
                "seconds": g.seconds,
                "error": g.error,
            });
        }
        writeln!(f, "{row}")?;
    }
    f.flush()?;
    Ok(())
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.0}"))
}

fn fmt_mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn fmt_x(v: Option<f64>) -> String {
    // Small ratios (time per package) need more digits than recall ratios.
    v.map_or_else(
        || "n/a".into(),
        |v| {
            if v != 0.0 && v.abs() < 0.1 {
                format!("{v:.4}×")
            } else {
                format!("{v:.2}×")
            }
        },
    )
}

/// GuardDog's results as outcomes, by its risk label: `high_risk` is
/// "malicious", `suspicious` is "suspicious", `low` and `no_risks_detected` are
/// "benign". Without a label (GuardDog before its risk engine) a run with any
/// issue counts as "malicious", its CLI's only criterion then.
fn gd_outcome(g: Option<&guarddog::GdResult>) -> Outcome {
    let Some(g) = g else {
        return Outcome {
            error: true,
            ..Outcome::default()
        };
    };
    let verdict = if g.error.is_some() {
        None
    } else {
        Some(match g.label.as_deref() {
            Some("high_risk") => metrics::Verdict::Malicious,
            Some("suspicious") => metrics::Verdict::Suspicious,
            Some(_) => metrics::Verdict::Benign,
            None if g.flagged => metrics::Verdict::Malicious,
            None => metrics::Verdict::Benign,
        })
    };
    Outcome {
        verdict,
        error: g.error.is_some(),
        duration_ms: Some(g.seconds * 1000.0),
        rules: g.rules.clone(),
    }
}

/// GuardDog's loosest reading: any rule matched (`issues` > 0).
fn gd_flagged(g: Option<&guarddog::GdResult>) -> Outcome {
    let mut o = gd_outcome(g);
    if let (Some(g), Some(_)) = (g, o.verdict) {
        o.verdict = Some(if g.flagged {
            metrics::Verdict::Malicious
        } else {
            metrics::Verdict::Benign
        });
    }
    o
}

fn render_table(
    items: &[Item],
    runs: &HashMap<Eco, EcoRun>,
    gd: &HashMap<PathBuf, guarddog::GdResult>,
    with_gd: bool,
) -> String {
    let mut out = String::new();
    let missing = Outcome {
        error: true,
        ..Outcome::default()
    };
    for eco in Eco::ALL {
        let Some(er) = runs.get(&eco) else { continue };
        let of = |malicious: bool| -> Vec<&Item> {
            items
                .iter()
                .filter(|i| i.eco == eco && i.malicious == malicious)
                .collect()
        };
        let (mal, ben) = (of(true), of(false));
        let outcomes = |v: &[&Item]| -> Vec<&Outcome> {
            v.iter()
                .map(|i| scanned(runs, i).map_or(&missing, |s| &s.outcome))
                .collect()
        };
        let (mo, bo) = (outcomes(&mal), outcomes(&ben));
        let (ms, bs) = (summarize(&mo), summarize(&bo));
        let per_pkg_max = er
            .per_file
            .iter()
            .filter_map(|(p, r)| r.map(|r| (r, p)))
            .max();
        let n_all = (mal.len() + ben.len()).max(1) as f64;
        let wall_per_pkg = er.run.wall.as_secs_f64() * 1000.0 / n_all;

        let _ = writeln!(out, "== {} ==", eco.as_str());
        let _ = writeln!(
            out,
            "  {:<30} {:>24} {:>24}",
            "ossprey", "malicious corpus", "benign corpus"
        );
        let row = |out: &mut String, label: &str, a: String, b: String| {
            let _ = writeln!(out, "  {label:<30} {a:>24} {b:>24}");
        };
        row(&mut out, "n", ms.n.to_string(), bs.n.to_string());
        row(
            &mut out,
            "recall @malicious",
            ms.at_malicious.to_string(),
            "".into(),
        );
        row(
            &mut out,
            "recall @suspicious+",
            ms.at_suspicious.to_string(),
            "".into(),
        );
        row(
            &mut out,
            "FP rate @malicious",
            "".into(),
            bs.at_malicious.to_string(),
        );
        row(
            &mut out,
            "FP rate @suspicious+",
            "".into(),
            bs.at_suspicious.to_string(),
        );
        row(
            &mut out,
            "errors",
            ms.errors.to_string(),
            bs.errors.to_string(),
        );
        row(
            &mut out,
            "not judged (verdict null/error)",
            ms.not_judged.to_string(),
            bs.not_judged.to_string(),
        );
        row(
            &mut out,
            "median duration_ms",
            fmt_ms(ms.median_ms),
            fmt_ms(bs.median_ms),
        );
        row(
            &mut out,
            "p95 duration_ms",
            fmt_ms(ms.p95_ms),
            fmt_ms(bs.p95_ms),
        );
        let _ = writeln!(
            out,
            "  wall time per package (incl. process start, batches of files): {wall_per_pkg:.1} ms"
        );
        let _ = writeln!(
            out,
            "  peak RSS, max over batch processes: {}",
            fmt_mib(er.run.batch_max_rss_kib)
        );
        let _ = writeln!(
            out,
            "  peak RSS, max over the {} largest packages scanned alone: {}{}",
            er.per_file.len(),
            fmt_mib(per_pkg_max.map(|(r, _)| r)),
            per_pkg_max
                .and_then(|(_, p)| p.file_name())
                .map(|f| format!(" ({})", f.to_string_lossy()))
                .unwrap_or_default()
        );
        if ms.not_judged + bs.not_judged > 0 {
            let _ = writeln!(
                out,
                "  note: {} packages have no verdict (null: not judged); they count as misses for recall and not as false positives",
                ms.not_judged + bs.not_judged
            );
        }

        if with_gd {
            let gm: Vec<Outcome> = mal.iter().map(|i| gd_outcome(gd.get(&i.path))).collect();
            let gb: Vec<Outcome> = ben.iter().map(|i| gd_outcome(gd.get(&i.path))).collect();
            let (gms, gbs) = (
                summarize(&gm.iter().collect::<Vec<_>>()),
                summarize(&gb.iter().collect::<Vec<_>>()),
            );
            let gd_secs: f64 = mal
                .iter()
                .chain(&ben)
                .filter_map(|i| gd.get(&i.path))
                .map(|g| g.seconds)
                .sum();
            let gd_per_pkg = gd_secs * 1000.0 / n_all;
            let flag_of = |v: &[&&Item]| -> Vec<Outcome> {
                v.iter().map(|i| gd_flagged(gd.get(&i.path))).collect()
            };
            let (fm, fb) = (
                flag_of(&mal.iter().collect::<Vec<_>>()),
                flag_of(&ben.iter().collect::<Vec<_>>()),
            );
            let (fms, fbs) = (
                summarize(&fm.iter().collect::<Vec<_>>()),
                summarize(&fb.iter().collect::<Vec<_>>()),
            );
            let _ = writeln!(
                out,
                "  {:<30} {:>24} {:>24}",
                "GuardDog (risk label)", "malicious corpus", "benign corpus"
            );
            row(
                &mut out,
                "recall @high_risk",
                gms.at_malicious.to_string(),
                "".into(),
            );
            row(
                &mut out,
                "recall @suspicious+",
                gms.at_suspicious.to_string(),
                "".into(),
            );
            row(
                &mut out,
                "FP rate @high_risk",
                "".into(),
                gbs.at_malicious.to_string(),
            );
            row(
                &mut out,
                "FP rate @suspicious+",
                "".into(),
                gbs.at_suspicious.to_string(),
            );
            row(
                &mut out,
                "any rule matched (issues > 0)",
                fms.at_malicious.to_string(),
                fbs.at_malicious.to_string(),
            );
            row(
                &mut out,
                "errors",
                gms.errors.to_string(),
                gbs.errors.to_string(),
            );
            row(
                &mut out,
                "median ms per package",
                fmt_ms(gms.median_ms),
                fmt_ms(gbs.median_ms),
            );
            let _ = writeln!(out, "  GuardDog wall time per package: {gd_per_pkg:.0} ms");
            let gd_top = top_rules(&gb.iter().collect::<Vec<_>>(), 5);
            if !gd_top.is_empty() {
                let list: Vec<String> = gd_top.iter().map(|(r, n)| format!("{r} ({n})")).collect();
                let _ = writeln!(out, "  GuardDog top rules on benign: {}", list.join(", "));
            }
            let _ = writeln!(out, "  ossprey / GuardDog:");
            let _ = writeln!(
                out,
                "    recall        @malicious {}   @suspicious+ {}",
                fmt_x(ratio(ms.at_malicious.rate(), gms.at_malicious.rate())),
                fmt_x(ratio(ms.at_suspicious.rate(), gms.at_suspicious.rate()))
            );
            let _ = writeln!(
                out,
                "    FP rate       @malicious {}   @suspicious+ {}   (lower is better)",
                fmt_x(ratio(bs.at_malicious.rate(), gbs.at_malicious.rate())),
                fmt_x(ratio(bs.at_suspicious.rate(), gbs.at_suspicious.rate()))
            );
            let _ = writeln!(
                out,
                "    time/package  wall {}   (GuardDog throughput / ossprey's = {}; target ≥ 100×)",
                fmt_x(ratio(Some(wall_per_pkg), Some(gd_per_pkg))),
                fmt_x(ratio(Some(gd_per_pkg), Some(wall_per_pkg))).replace('×', "")
            );
        }

        let top = top_rules(&bo, 15);
        let _ = writeln!(
            out,
            "  top rules on benign packages (packages fired on, of {}):",
            bs.n
        );
        if top.is_empty() {
            let _ = writeln!(out, "    (no rule fired)");
        }
        for (rule, n) in top {
            let _ = writeln!(out, "    {n:>5}  {rule}");
        }
        let missed: Vec<String> = mal
            .iter()
            .zip(&mo)
            .filter(|(_, o)| o.verdict.is_none_or(|v| v < metrics::Verdict::Malicious))
            // The file name, not just the package name: a corpus can hold several
            // versions of one name, and the file is what to open next.
            .map(|(i, _)| {
                i.path
                    .file_name()
                    .map_or_else(|| i.name.clone(), |f| f.to_string_lossy().into_owned())
            })
            .collect();
        let _ = writeln!(
            out,
            "  malicious packages missed at @malicious: {} (first 30)",
            missed.len()
        );
        if !missed.is_empty() {
            let _ = writeln!(
                out,
                "    {}",
                missed
                    .get(..missed.len().min(30))
                    .unwrap_or_default()
                    .join(", ")
            );
        }
        let _ = writeln!(out);
    }
    out
}
