//! Compares `read_path` with `gzip -dc` on the same files and prints the ratio.
//!
//! `cargo run --release -p ossprey-archive --example bench -- FILE.tgz...`

use std::process::{Command, Stdio};
use std::time::Instant;

use ossprey_archive::{Limits, read_path};

fn main() {
    let limits = Limits {
        max_total_bytes: u64::MAX,
        max_file_bytes: u64::MAX,
        max_entries: u64::MAX,
        ..Limits::default()
    };
    for arg in std::env::args().skip(1) {
        let path = std::path::Path::new(&arg);
        let start = Instant::now();
        let mut seen = 0u64;
        let result = read_path(path, &limits, &mut |e| {
            seen = seen.wrapping_add(e.data.len() as u64);
            Ok(())
        });
        let ours = start.elapsed();
        let start = Instant::now();
        let status = Command::new("gzip")
            .arg("-dc")
            .arg(path)
            .stdout(Stdio::null())
            .status();
        let gzip = start.elapsed();
        match (result, status) {
            (Ok(summary), Ok(_)) => println!(
                "{arg}: {} entries, {} bytes; ossprey {:.3}s, gzip -dc {:.3}s, ratio {:.2}",
                summary.entries,
                summary.total_bytes,
                ours.as_secs_f64(),
                gzip.as_secs_f64(),
                ours.as_secs_f64() / gzip.as_secs_f64().max(1e-9)
            ),
            (Err(e), _) => println!("{arg}: error {e}"),
            (_, Err(e)) => println!("{arg}: gzip failed: {e}"),
        }
    }
}
