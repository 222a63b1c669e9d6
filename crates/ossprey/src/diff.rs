//! `ossprey diff A B`: what changed between two targets (usually two releases of one
//! package) that matters for security — the way a compromised release of a good
//! package shows itself.
//!
//! Each side goes through the ordinary pipeline ([`pipeline::scan_target`], with the
//! sandbox phases when `--analyze` is given), so its findings and verdict are exactly
//! what `ossprey scan`/`analyze` would report. Facts the report does not carry (URL,
//! domain and IP literals in code, process-execution call sites with their literal
//! commands, obfuscation markers) are read again from the same bytes with
//! `ossprey-static`; the bytes are checked against the report's sha256 first, so both
//! views describe the same artifact. [`facets`] turns each side into comparable sets,
//! [`compare`] takes their differences and decides what is security-relevant, [`text`]
//! renders them for people.
//!
//! Exit status: 0 when nothing security-relevant was added, 1 when something was, 2
//! when a side could not be analysed.

mod compare;
mod facets;
mod text;

use std::io::Write as _;

use anyhow::Context as _;
use ossprey_model::{ArtifactSource, Report};
use ossprey_static::PackageFiles;

use crate::cli::{DiffArgs, DiffFormat, Format, ScanArgs};
use crate::pipeline;

/// Nothing security-relevant was added.
const EXIT_SAME: u8 = 0;
/// Something security-relevant was added.
const EXIT_RELEVANT: u8 = 1;
/// A side could not be analysed.
const EXIT_ERROR: u8 = 2;

/// What counts as security-relevant, for `--help` (kept in step with `docs/diff.md`).
pub const RELEVANCE_HELP: &str = "\
Security-relevant (exit status 1) is any of these in B that A does not have:
  - an install hook (npm preinstall/install/postinstall/prepare, binding.gyp, setup.py,
    setup.py cmdclass, .pth file, build backend, build.rs, gem extension), or a hook
    of the same trigger and file whose command changed;
  - a network destination: a domain or public IPv4 address in a URL or as a literal
    argument of a network call in a code file (source files and files that run at
    install or import time) or in a hook command; a URL only when it points at a
    service class malware favours (paste sites, webhooks, file drops, tunnels); with
    --analyze, a DNS name queried or a connection made in the sandbox;
  - a command: a process-execution call site (file, callee and literal command; the
    line does not matter), a simple command of a hook script, or with --analyze a
    program executed in the sandbox (argv, with random temporary names masked);
  - an obfuscated file: a file with an obfuscation finding, a packer/obfuscator
    marker, a decoded payload passed to eval/exec, or javascript-obfuscator names;
  - a dependency taken from a URL, git repository or path instead of the registry;
  - a finding of severity medium or above (matched by rule and file, not line), or
    one whose severity rose to medium or above;
  - a worse verdict.
Not security-relevant by themselves (listed only): removals, new registry
dependencies, new URLs on already-known hosts, destinations and commands seen only in
tests, docs, examples or benchmarks that run neither at install nor at import,
destinations only in comments or Python docstrings, new low/info findings, sandbox file
writes, and changed files. Exit status 2 when either target cannot be analysed.";

/// Runs `ossprey diff`; returns the exit status. Usage errors come back as `Err`.
pub fn run(args: DiffArgs) -> anyhow::Result<u8> {
    let DiffArgs {
        a,
        b,
        format,
        analyze,
        quiet,
        config,
        registry,
        limits,
        dynamic,
    } = args;
    let scan_args = ScanArgs {
        targets: vec![a.clone(), b.clone()],
        format: Format::Text,
        jobs: None,
        quiet,
        fail_on: None,
        files: false,
        config,
        registry,
        limits,
        store: Default::default(),
    };
    let ctx = pipeline::Context::new(&scan_args, analyze.then_some(&dynamic))?;
    if !quiet {
        eprintln!("ossprey: diffing {a} → {b}");
    }
    // The two sides are independent: analyse them side by side.
    let (side_a, side_b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| analyse_side(&ctx, &b));
        let first = analyse_side(&ctx, &a);
        let second = other
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("{b}: the analysis thread panicked")));
        (first, second)
    });
    let (side_a, side_b) = match (side_a, side_b) {
        (Ok(x), Ok(y)) => (x, y),
        (x, y) => {
            for err in [x.err(), y.err()].into_iter().flatten() {
                eprintln!("ossprey: error: {err:#}");
            }
            return Ok(EXIT_ERROR);
        }
    };

    let name = |s: &AnalysedSide| {
        s.report
            .package
            .as_ref()
            .map(|p| (p.ecosystem, p.name.clone()))
    };
    if !quiet && name(&side_a) != name(&side_b) {
        eprintln!("ossprey: warning: {a} and {b} are not the same package; diffing them anyway");
    }
    let diff = compare::compare(
        &side_a.report,
        &side_b.report,
        &side_a.facets,
        &side_b.facets,
    );
    let mut out = std::io::stdout().lock();
    match format {
        DiffFormat::Text => out.write_all(text::render(&diff).as_bytes()),
        DiffFormat::Json => serde_json::to_writer_pretty(&mut out, &diff)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
    }
    .context("writing the diff to stdout")?;
    Ok(if diff.security_relevant {
        EXIT_RELEVANT
    } else {
        EXIT_SAME
    })
}

/// One analysed side.
struct AnalysedSide {
    report: Report,
    facets: facets::Facets,
}

/// Scans (and with `--analyze`, runs) one target and reads its facets.
fn analyse_side(ctx: &pipeline::Context, target: &str) -> anyhow::Result<AnalysedSide> {
    let report = pipeline::scan_target(ctx, target);
    if let Some(error) = &report.error {
        anyhow::bail!(
            "{target} could not be analysed: {} ({})",
            error.message,
            error.code
        );
    }
    let files = reread_files(ctx, &report).with_context(|| format!("reading {target} again"))?;
    let manifest = report.manifest.clone().unwrap_or_default();
    let facts = ossprey_static::analysis::analyze(&files, &manifest);
    let version = report
        .package
        .as_ref()
        .and_then(|p| p.version.clone())
        .or_else(|| manifest.version.clone());
    let archive = report.artifact.as_ref().and_then(|a| match &a.source {
        ArtifactSource::Registry { filename, .. } => Some(filename.clone()),
        ArtifactSource::File { path } => std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        ArtifactSource::Directory { .. } => None,
    });
    let norm =
        facets::PathNorm::new(files.root(), version.as_deref()).with_archive(archive.as_deref());
    let facets = facets::extract(&report, &facts, &files, &norm);
    Ok(AnalysedSide { report, facets })
}

/// The files the report describes, read again for the facts the report does not
/// carry. Refuses bytes whose digest differs from the report's: a local file replaced
/// between the two reads would otherwise mix two artifacts in one side.
fn reread_files(ctx: &pipeline::Context, report: &Report) -> anyhow::Result<PackageFiles> {
    let artifact = report
        .artifact
        .as_ref()
        .context("the report names no artifact")?;
    let expected = artifact.sha256.as_str();
    let to_anyhow = |e: ossprey_model::ReportError| anyhow::anyhow!("{} ({})", e.message, e.code);
    match &artifact.source {
        ArtifactSource::Registry { filename, .. } => {
            // The content-addressed store re-hashes the archive before handing it out.
            let path = ctx
                .registries
                .store()
                .get_verified(expected)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .with_context(|| format!("archive {expected} is no longer in the cache"))?;
            pipeline::read_archive_file(&path, filename, &ctx.limits).map_err(to_anyhow)
        }
        ArtifactSource::File { path } => {
            let path = std::path::Path::new(path);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (files, sha256, _) =
                pipeline::read_archive_file_hashed(path, &name, &ctx.limits).map_err(to_anyhow)?;
            anyhow::ensure!(
                sha256 == expected,
                "{} changed while it was being diffed (sha256 {sha256}, scanned {expected})",
                path.display()
            );
            Ok(files)
        }
        ArtifactSource::Directory { path } => {
            let files = PackageFiles::collect_path(std::path::Path::new(path), &ctx.limits)
                .with_context(|| format!("reading directory {path}"))?;
            let digest = files.tree_digest();
            anyhow::ensure!(
                digest == expected,
                "{path} changed while it was being diffed (tree digest {digest}, scanned {expected})"
            );
            Ok(files)
        }
    }
}
