//! Benchmark: in-process static scan time per stage on cached benign archives,
//! against plain in-process decompression of the same files in the same run.
//!
//! `cargo xtask bench-scan [--runs N] [--limit N] [--eco pypi|npm] [--top N] [DIR ...]`
//!
//! Reads the eval's benign cache (`~/.cache/ossprey-eval/benign/<eco>/<pkg>/*`)
//! unless directories are given, and skips with a message when it is absent.
//! Each run times, per archive and single-threaded:
//!
//! * decompression only (flate2 / bzip2 / zip to a sink) — the baseline;
//! * inventory (`PackageFiles::collect_path`: decompress, parse, sha256, kind);
//! * manifest facts, static analysis (parse + text scan + run contexts),
//!   metadata facts (typosquat index), rules — the stages of `ossprey_rules::analyze`.
//!
//! Times are process CPU time (`getrusage`, user + system, parser threads
//! included), not wall time: the machine is shared with compilers, and wall
//! time there measures them as much as us. The smallest of `--runs` runs counts
//! per archive and stage. Prints per-stage totals,
//! the median / p95 / mean per package, the slowest packages, and the ratio of
//! the whole scan to decompression.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::bench_inventory::{collect_archives, decompress_in_process};

/// CPU time used by this process so far, all threads, live and finished.
fn cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let tv = |t: nix::sys::time::TimeVal| {
            Duration::new(
                u64::try_from(t.tv_sec()).unwrap_or(0),
                u32::try_from(t.tv_usec()).unwrap_or(0) * 1000,
            )
        };
        tv(u.user_time()) + tv(u.system_time())
    })
}

/// Minimal stand-in for `Instant` over CPU time.
#[derive(Clone, Copy)]
struct Cpu(Duration);

impl Cpu {
    fn now() -> Self {
        Cpu(cpu())
    }
    fn elapsed(self) -> Duration {
        cpu().saturating_sub(self.0)
    }
}

/// Stages, in pipeline order.
const STAGES: [&str; 6] = [
    "decompress (baseline)",
    "inventory",
    "manifest",
    "static analysis",
    "metadata",
    "rules",
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut runs = 3usize;
    let mut limit: Option<usize> = None;
    let mut ecos: Vec<String> = Vec::new();
    let mut top = 10usize;
    let mut roots = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut num = |what: &str| -> anyhow::Result<usize> {
            it.next()
                .with_context(|| format!("{what} needs a number"))?
                .parse()
                .with_context(|| what.to_owned())
        };
        match arg.as_str() {
            "--runs" => runs = num("--runs")?,
            "--limit" => limit = Some(num("--limit")?),
            "--top" => top = num("--top")?,
            "--eco" => ecos.push(it.next().context("--eco needs pypi or npm")?.clone()),
            _ => roots.push(PathBuf::from(arg)),
        }
    }
    if roots.is_empty() {
        let Some(cache) = dirs::cache_dir() else {
            println!("bench-scan: no cache directory; nothing to measure");
            return Ok(());
        };
        let benign = cache.join("ossprey-eval/benign");
        if ecos.is_empty() {
            ecos = vec!["pypi".into(), "npm".into()];
        }
        for eco in &ecos {
            let dir = benign.join(eco);
            if dir.is_dir() {
                roots.push(dir);
            } else {
                println!(
                    "bench-scan: {} absent (run `cargo xtask eval --fetch-only`); skipping {eco}",
                    dir.display()
                );
            }
        }
        if roots.is_empty() {
            return Ok(());
        }
    }
    let mut files = Vec::new();
    for root in &roots {
        collect_archives(root, &mut files)
            .with_context(|| format!("listing {}", root.display()))?;
    }
    files.sort();
    if let Some(limit) = limit {
        files.truncate(limit);
    }
    if files.is_empty() {
        bail!("no archives found under {roots:?}");
    }
    println!(
        "bench-scan: {} archives, CPU time, best of {runs} runs per archive and stage",
        files.len()
    );

    let limits = ossprey_archive::Limits::default();
    // times[file][stage]
    let mut times: Vec<[Duration; STAGES.len()]> = vec![[Duration::MAX; STAGES.len()]; files.len()];
    let mut rejected = 0usize;
    for run in 0..runs.max(1) {
        for (i, f) in files.iter().enumerate() {
            let t = &mut times[i];
            let start = Cpu::now();
            let _ = decompress_in_process(f);
            t[0] = t[0].min(start.elapsed());

            let start = Cpu::now();
            let Ok(pkg) = ossprey_static::PackageFiles::collect_path(f, &limits) else {
                if run == 0 {
                    rejected += 1;
                }
                t[1..].fill(Duration::ZERO);
                continue;
            };
            t[1] = t[1].min(start.elapsed());
            let ecosystem = ossprey_static::detect_ecosystem(&pkg, None);

            let start = Cpu::now();
            let manifest = ossprey_static::manifest::extract(&pkg, ecosystem);
            t[2] = t[2].min(start.elapsed());

            let start = Cpu::now();
            let facts = ossprey_static::analysis::analyze(&pkg, &manifest);
            t[3] = t[3].min(start.elapsed());

            let start = Cpu::now();
            let metadata = ossprey_static::metadata::metadata_facts(None, &manifest);
            t[4] = t[4].min(start.elapsed());

            let start = Cpu::now();
            let input = ossprey_rules::Input {
                package: None,
                files: &pkg,
                manifest: &manifest,
                facts: &facts,
                metadata: &metadata,
            };
            let findings = ossprey_rules::run_rules(&input);
            std::hint::black_box(findings);
            t[5] = t[5].min(start.elapsed());
        }
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let total = |stage: usize| -> Duration { times.iter().map(|t| t[stage]).sum() };
    let decompress = total(0);
    println!("  ({rejected} archives rejected by the inventory)");
    println!();
    println!(
        "  {:<24} {:>10} {:>10} {:>8}",
        "stage", "CPU ms", "mean ms", "× decomp"
    );
    for (s, name) in STAGES.iter().enumerate() {
        let t = total(s);
        println!(
            "  {:<24} {:>10.1} {:>10.2} {:>7.2}×",
            name,
            ms(t),
            ms(t) / files.len() as f64,
            t.as_secs_f64() / decompress.as_secs_f64().max(1e-9)
        );
    }
    // A package's scan time: everything `ossprey scan` does after reading the file.
    let mut per_pkg: Vec<(Duration, &PathBuf)> = times
        .iter()
        .zip(&files)
        .map(|(t, f)| (t[1..].iter().sum(), f))
        .collect();
    let scan_total: Duration = per_pkg.iter().map(|p| p.0).sum();
    per_pkg.sort();
    let pct = |p: f64| {
        let i = ((per_pkg.len() as f64 - 1.0) * p).round() as usize;
        per_pkg.get(i).map_or(0.0, |x| ms(x.0))
    };
    println!();
    println!(
        "  scan CPU per package: median {:.2} ms, p95 {:.2} ms, mean {:.2} ms, total {:.1} ms",
        pct(0.5),
        pct(0.95),
        ms(scan_total) / files.len() as f64,
        ms(scan_total)
    );
    println!(
        "  scan / decompression = {:.2}×",
        scan_total.as_secs_f64() / decompress.as_secs_f64().max(1e-9)
    );
    println!();
    println!("  slowest packages (inventory / static / rules ms):");
    for (d, f) in per_pkg.iter().rev().take(top) {
        let i = files.iter().position(|x| x == *f).unwrap_or(0);
        let t = &times[i];
        println!(
            "    {:>8.1} ms  {:>7.1} / {:>7.1} / {:>7.1}  {}",
            ms(*d),
            ms(t[1]),
            ms(t[3]),
            ms(t[5]),
            short(f)
        );
    }
    Ok(())
}

fn short(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{parent}/{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    )
}
