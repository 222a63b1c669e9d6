//! `ossprey`: the command-line front end.
//!
//! Thin by design: argument parsing, the per-target pipeline driver, output
//! formats, progress and exit codes. Everything that reads packages lives in the
//! library crates. Exit codes are decided in exactly one place, [`main`].

mod cli;
mod diff;
mod export;
mod output;
mod pipeline;
mod progress;
mod query;
mod sandbox_check;
mod watch;
mod worker;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{CheckFormat, Cli, Command, RulesFormat, SandboxCommand};

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
        Command::Rules(args) => {
            print_rules(args.format)?;
            Ok(EXIT_OK)
        }
        Command::Scan(args) => Ok(exit_code(&pipeline::scan_all(&args, None)?)),
        Command::Analyze(args) => Ok(exit_code(&pipeline::scan_all(
            &args.scan,
            Some(&args.dynamic),
        )?)),
        Command::Diff(args) => diff::run(*args),
        Command::Watch(args) => watch::run(*args),
        Command::Worker(args) => {
            worker::run(*args)?;
            Ok(EXIT_OK)
        }
        Command::Query(args) => {
            query::run_query(&args)?;
            Ok(EXIT_OK)
        }
        Command::Export(args) => {
            query::run_export(&args)?;
            Ok(EXIT_OK)
        }
        Command::Sandbox(SandboxCommand::Check(args)) => {
            let check = sandbox_check::host_check(true);
            let mut out = std::io::stdout().lock();
            match args.format {
                CheckFormat::Text => write!(out, "{}", check.to_text())?,
                CheckFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &check)?;
                    writeln!(out)?;
                }
            }
            Ok(if check.ready() { EXIT_OK } else { EXIT_ERROR })
        }
    }
}

fn exit_code(outcome: &pipeline::Outcome) -> u8 {
    if outcome.errors > 0 {
        EXIT_ERROR
    } else if outcome.fail_on_reached {
        EXIT_FAIL_ON
    } else {
        EXIT_OK
    }
}

fn print_rules(format: RulesFormat) -> anyhow::Result<()> {
    let rules = ossprey_rules::rules::all();
    let mut out = std::io::stdout().lock();
    match format {
        RulesFormat::Text => {
            for r in rules {
                writeln!(
                    out,
                    "{:<34} {:<22} {}",
                    r.id(),
                    r.category().as_str(),
                    r.summary()
                )?;
            }
        }
        RulesFormat::Json => {
            let list: Vec<serde_json::Value> = rules
                .iter()
                .map(|r| serde_json::json!({"id": r.id(), "category": r.category().as_str(), "summary": r.summary()}))
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        RulesFormat::Markdown => {
            writeln!(out, "| rule | category | detects |\n|---|---|---|")?;
            for r in rules {
                writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    r.id(),
                    r.category().as_str(),
                    r.summary()
                )?;
            }
        }
    }
    Ok(())
}
