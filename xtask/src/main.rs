//! Project automation. `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! * `bench-inventory [--runs N] [DIR|FILE ...]` — inventory scan throughput
//!   against plain decompression of the same files, measured in the same run.
//! * `bench-scan [--runs N] [--limit N] [--eco pypi|npm] [DIR ...]` — in-process
//!   static scan time per stage on the eval's cached benign archives, against
//!   decompression of the same files.
//! * `bench-sandbox [--count N] [--runs-true N] [--no-throughput] [--backend native|gvisor|both]` — install phase of
//!   generated sdists and npm packages sandboxed vs. chrooted, sandbox setup+teardown,
//!   analyses per hour (root and the provisioned runtime needed).
//! * `bench-queue [--jobs N] [--threads T] [--backend sqlite|postgres|both]` — job queue
//!   throughput (enqueue, lease+complete) on SQLite and PostgreSQL, and the worker
//!   machines the PyPI + npm release rate needs.
//! * `analyze-popular [--list FILE] [--bin PATH] [--timeout SECS] [--out FILE]` — the
//!   pinned popular packages of `xtask/eval/analyze-popular.txt` through `ossprey analyze`
//!   end to end: each verdict and the findings behind every non-benign one.
//! * `eval [--benign-only|--malicious-only] [--limit N] [--jobs N] [--guarddog] [--bin PATH]`
//!   — detection quality (recall, false positives), speed and memory on the pinned
//!   benign corpus and the malicious corpus; `eval make-lists` regenerates the lists.

mod analyze_popular;
mod bench_inventory;
mod bench_queue;
mod bench_sandbox;
mod bench_scan;
mod eval;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("analyze-popular") => analyze_popular::run(&args[1..]),
        Some("bench-inventory") => bench_inventory::run(&args[1..]),
        Some("bench-queue") => bench_queue::run(&args[1..]),
        Some("bench-scan") => bench_scan::run(&args[1..]),
        Some("bench-sandbox") => bench_sandbox::run(&args[1..]),
        Some("eval") => eval::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask bench-inventory [--runs N] [--bin PATH] [DIR|FILE ...]\n\
                 \x20      cargo xtask bench-scan [--runs N] [--limit N] [--eco pypi|npm] [--top N] [DIR ...]\n\
                 \n\
                 bench-inventory  inventory scan of package archives (default: ../shared/corpus)\n\
                 \x20                compared with gzip -dc / bzip2 -dc / unzip -p on the same files\n\
                 \n\
                 usage: cargo xtask eval [--benign-only|--malicious-only] [--limit N] [--jobs N]\n\
                 \x20                      [--guarddog] [--bin PATH] [--batch N] [--fetch-only]\n\
                 \x20      cargo xtask eval make-lists [--from DIR] [--corpus DIR]\n\
                 \n\
                 eval             recall / false positives / time / peak RSS of ossprey on the pinned\n\
                 \x20                benign corpus (xtask/eval/*.txt) and ../shared/corpus, per ecosystem;\n\
                 \x20                --guarddog also runs GuardDog on the same files"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
