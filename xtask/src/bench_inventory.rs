//! Benchmark: how fast ossprey reads package archives, compared with the
//! practical limit — plain decompression of the same files — in the same run.
//!
//! Three baselines and two ossprey measurements, all single-threaded and over
//! the same file list, each repeated `--runs` times (the fastest run counts):
//!
//! * `gzip -dc` / `bzip2 -dc` / `unzip -p` / `cat` to /dev/null, one process per file;
//! * in-process decompression only (flate2 / bzip2 / zip to a sink), no tar parsing, no hashing;
//! * ossprey inventory (`PackageFiles::collect_path`: decompress, parse, sha256, entropy, classify);
//! * optionally `ossprey scan --jobs 1 --format jsonl` end to end, when `--bin` is given.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const ARCHIVE_SUFFIXES: &[&str] = &[
    ".tar.gz", ".tgz", ".crate", ".tar.bz2", ".tbz2", ".tar", ".whl", ".zip", ".egg", ".jar",
    ".gem",
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut runs = 3usize;
    let mut bin: Option<PathBuf> = None;
    let mut roots = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs")?
            }
            "--bin" => bin = Some(PathBuf::from(it.next().context("--bin needs a path")?)),
            _ => roots.push(PathBuf::from(arg)),
        }
    }
    if roots.is_empty() {
        roots.push(default_corpus());
    }
    let mut files = Vec::new();
    for root in &roots {
        collect_archives(root, &mut files)
            .with_context(|| format!("listing {}", root.display()))?;
    }
    files.sort();
    if files.is_empty() {
        bail!("no archives found under {:?}", roots);
    }
    let compressed: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "bench-inventory: {} archives, {:.1} MB compressed, best of {runs} runs, 1 thread",
        files.len(),
        mb(compressed)
    );

    let limits = ossprey_archive::Limits::default();
    let mut decompressed = 0u64;
    let mut rejected = 0usize;
    let ossprey = best_of(runs, || {
        decompressed = 0;
        rejected = 0;
        for f in &files {
            match ossprey_static::PackageFiles::collect_path(f, &limits) {
                Ok(p) => decompressed += p.total_bytes(),
                Err(_) => rejected += 1,
            }
        }
        Ok(())
    })?;
    let inproc = best_of(runs, || {
        for f in &files {
            // Broken archives count as far as they decompress.
            let _ = decompress_in_process(f);
        }
        Ok(())
    })?;
    let external = best_of(runs, || {
        for f in &files {
            decompress_external(f)?;
        }
        Ok(())
    })?;
    let cli = match &bin {
        Some(bin) => Some(best_of(runs, || {
            let status = Command::new(bin)
                .args([
                    "scan",
                    "--jobs",
                    "1",
                    "--format",
                    "jsonl",
                    "--quiet",
                    "--offline",
                ])
                .args(&files)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .with_context(|| format!("running {}", bin.display()))?;
            // Exit 2 only means some archives were rejected, as in the inventory row.
            if !matches!(status.code(), Some(0 | 2)) {
                bail!("{} exited with {status}", bin.display());
            }
            Ok(())
        })?),
        None => None,
    };

    println!(
        "  ({rejected} archives rejected by ossprey, {:.1} MB decompressed by it)",
        mb(decompressed)
    );
    println!();
    println!(
        "  {:<44} {:>9} {:>11} {:>13} {:>8}",
        "measurement", "seconds", "archives/s", "MB/s (compr.)", "ratio"
    );
    let row = |name: &str, t: Duration| {
        let s = t.as_secs_f64();
        println!(
            "  {:<44} {:>9.3} {:>11.0} {:>13.1} {:>7.2}×",
            name,
            s,
            files.len() as f64 / s,
            mb(compressed) / s,
            s / external.as_secs_f64()
        );
    };
    row("baseline: gzip -dc / unzip -p > /dev/null", external);
    row("baseline: in-process decompression only", inproc);
    row("ossprey inventory (parse+sha256+entropy+kind)", ossprey);
    if let Some(cli) = cli {
        row("ossprey scan --jobs 1 --format jsonl", cli);
    }
    println!();
    println!(
        "  ossprey inventory / gzip -dc = {:.2}×   ossprey inventory / in-process decompression = {:.2}×   (target ≤ 2×)",
        ossprey.as_secs_f64() / external.as_secs_f64(),
        ossprey.as_secs_f64() / inproc.as_secs_f64()
    );
    Ok(())
}

fn default_corpus() -> PathBuf {
    if let Ok(dir) = std::env::var("OSSPREY_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

pub(crate) fn collect_archives(path: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect_archives(&entry?.path(), out)?;
        }
    } else if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if ARCHIVE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            out.push(path.to_owned());
        }
    }
    Ok(())
}

fn best_of(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn decompress_external(path: &Path) -> anyhow::Result<()> {
    let name = name_of(path);
    let mut cmd = if name.ends_with(".tar.bz2") || name.ends_with(".tbz2") {
        let mut c = Command::new("bzip2");
        c.arg("-dc").arg(path);
        c
    } else if name.ends_with(".zip")
        || name.ends_with(".whl")
        || name.ends_with(".egg")
        || name.ends_with(".jar")
    {
        let mut c = Command::new("unzip");
        c.arg("-p").arg(path);
        c
    } else if name.ends_with(".tar") || name.ends_with(".gem") {
        let mut c = Command::new("cat");
        c.arg(path);
        c
    } else {
        let mut c = Command::new("gzip");
        c.arg("-dc").arg(path);
        c
    };
    // A corrupt archive makes the tool exit non-zero; that is fine for a baseline.
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {:?} (is it installed?)", cmd.get_program()))?;
    Ok(())
}

pub(crate) fn decompress_in_process(path: &Path) -> io::Result<u64> {
    let name = name_of(path);
    let file = io::BufReader::new(std::fs::File::open(path)?);
    let mut sink = io::sink();
    if name.ends_with(".tar.bz2") || name.ends_with(".tbz2") {
        io::copy(&mut bzip2::read::BzDecoder::new(file), &mut sink)
    } else if name.ends_with(".zip")
        || name.ends_with(".whl")
        || name.ends_with(".egg")
        || name.ends_with(".jar")
    {
        let mut zip = zip::ZipArchive::new(file).map_err(io::Error::other)?;
        let mut total = 0;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(io::Error::other)?;
            total += io::copy(&mut entry, &mut sink)?;
        }
        Ok(total)
    } else if name.ends_with(".tar") || name.ends_with(".gem") {
        let mut f = file;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map(|n| n as u64)
    } else {
        io::copy(&mut flate2::read::MultiGzDecoder::new(file), &mut sink)
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
