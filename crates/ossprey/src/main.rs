//! `ossprey`: the command-line front end.
//!
//! Thin by design: argument parsing, the per-target pipeline driver, output
//! formats, progress and exit codes. Everything that reads packages lives in the
//! library crates. Exit codes are decided in exactly one place, [`main`].

mod cli;
mod output;
mod pipeline;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Every target was analysed and no `--fail-on` threshold was reached.
const EXIT_OK: u8 = 0;
/// `--fail-on LEVEL` was given and some verdict reached it.
const EXIT_FAIL_ON: u8 = 1;
/// Usage error, or a target could not be analysed (the others are still reported).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "ossprey: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Scan(args) => {
            let outcome = pipeline::scan_all(&args)?;
            Ok(if outcome.errors > 0 {
                EXIT_ERROR
            } else if outcome.fail_on_reached {
                EXIT_FAIL_ON
            } else {
                EXIT_OK
            })
        }
    }
}
