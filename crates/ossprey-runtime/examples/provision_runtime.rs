//! Builds (or finds) the sandbox runtime in the cache and prints its manifest.
//!
//! ```sh
//! cargo run -p ossprey-runtime --example provision_runtime            # stages only
//! cargo run -p ossprey-runtime --example provision_runtime -- -v      # plus debootstrap/apt output
//! ```
//!
//! Needs root and `debootstrap` on first use (see `docs/sandbox-runtime.md`).

use std::time::Instant;

use ossprey_runtime::{Options, Runtime, StderrProgress};

fn main() {
    let verbose = std::env::args().any(|a| a == "-v" || a == "--verbose");
    let options = Options::from_env();
    eprintln!("runtime: {}", options.runtime_path().display());
    let started = Instant::now();
    match Runtime::ensure(&options, &mut StderrProgress { verbose }) {
        Ok(rt) => {
            eprintln!(
                "ready in {:.1} s at {}",
                started.elapsed().as_secs_f64(),
                rt.root().display()
            );
            match serde_json::to_string_pretty(&serde_json::json!({
                "key": rt.key(),
                "root": rt.root(),
                "tools": rt.manifest().tools,
                "size_bytes": rt.manifest().size_bytes,
                "build_seconds": rt.manifest().build_seconds,
                "packages": rt.manifest().packages.len(),
            })) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: {e}"),
            }
        }
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            std::process::exit(1);
        }
    }
}
