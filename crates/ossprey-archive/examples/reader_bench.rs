//! Reader overhead: `read_path` with a do-nothing visitor against plain
//! in-process decompression of the same files (read into memory first, so
//! the baseline pays no I/O the reader pays), best of N runs. `--only
//! reader|plain` runs one side, for a profiler.
//!
//! `cargo run --release -p ossprey-archive --example reader_bench -- [--runs N] DIR|FILE...`

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ossprey_archive::{Format, Limits, detect_format, read_path};

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        if let Ok(items) = std::fs::read_dir(path) {
            for item in items.flatten() {
                collect(&item.path(), out);
            }
        }
    } else if meta.is_file() {
        let name = path.to_string_lossy().to_lowercase();
        let known = [
            ".tar.gz", ".tgz", ".crate", ".tar.bz2", ".tbz2", ".tar", ".whl", ".zip", ".egg",
            ".jar", ".gem",
        ];
        if known.iter().any(|s| name.ends_with(s)) {
            out.push(path.to_owned());
        }
    }
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f();
        best = best.min(start.elapsed());
    }
    best
}

/// Plain decompression of the same bytes (no tar parsing, no limits), by
/// the format the reader detects.
fn decompress(path: &Path) -> io::Result<u64> {
    let bytes = std::fs::read(path)?;
    let head = bytes.get(..4096).unwrap_or(&bytes);
    let format = detect_format(&path.to_string_lossy(), head);
    let sink = &mut io::sink();
    match format {
        Some(Format::TarGz | Format::Gzip) => {
            io::copy(&mut flate2::bufread::MultiGzDecoder::new(&bytes[..]), sink)
        }
        Some(Format::TarBz2) => {
            io::copy(&mut bzip2::bufread::MultiBzDecoder::new(&bytes[..]), sink)
        }
        Some(Format::Zip) => {
            let mut zip =
                zip::ZipArchive::new(io::Cursor::new(&bytes)).map_err(io::Error::other)?;
            (0..zip.len()).try_fold(0, |total, i| {
                let mut f = zip.by_index(i).map_err(io::Error::other)?;
                Ok(total + io::copy(&mut f, sink)?)
            })
        }
        _ => Ok(bytes.len() as u64),
    }
}

fn main() {
    let mut runs = 5;
    let mut only = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--only" {
            only = args.next();
        } else if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs);
        } else {
            collect(Path::new(&arg), &mut files);
        }
    }
    files.sort();
    let limits = Limits::default();
    let (mut bytes, mut failed, mut entries) = (0u64, 0usize, 0u64);
    let ours = best_of(
        if only.as_deref() == Some("plain") {
            0
        } else {
            runs
        },
        || {
            bytes = 0;
            failed = 0;
            entries = 0;
            for f in &files {
                match read_path(f, &limits, &mut |_| Ok(())) {
                    Ok(s) => {
                        bytes += s.total_bytes;
                        entries += s.entries;
                    }
                    Err(_) => failed += 1,
                }
            }
        },
    );
    let plain = best_of(
        if only.as_deref() == Some("reader") {
            0
        } else {
            runs
        },
        || {
            for f in &files {
                let _ = decompress(f);
            }
        },
    );
    println!(
        "{} files, {failed} rejected, {entries} entries, {bytes} bytes; reader {:.3}s, decompression {:.3}s, ratio {:.2}",
        files.len(),
        ours.as_secs_f64(),
        plain.as_secs_f64(),
        ours.as_secs_f64() / plain.as_secs_f64()
    );
}
