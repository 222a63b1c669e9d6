//! Project automation. `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! * `bench-inventory [--runs N] [DIR|FILE ...]` — inventory scan throughput
//!   against plain decompression of the same files, measured in the same run.

mod bench_inventory;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench-inventory") => bench_inventory::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask bench-inventory [--runs N] [--bin PATH] [DIR|FILE ...]\n\
                 \n\
                 bench-inventory  inventory scan of package archives (default: ../shared/corpus)\n\
                 \x20                compared with gzip -dc / bzip2 -dc / unzip -p on the same files"
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
