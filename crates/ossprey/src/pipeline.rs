//! The per-target pipeline: acquire → read → inventory → manifest → report, and for
//! `analyze` the sandboxed phases (`ossprey-dynamic`) after the static ones.
//!
//! Each target is independent: a failure becomes that target's `error` and the
//! batch goes on. Targets run on `--jobs` worker threads; reports are written
//! in the order the targets were given, as soon as each one's turn comes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ossprey_archive::Limits;
use ossprey_model::{Artifact, ArtifactSource, PackageRef, Report, ReportError, Target};
use ossprey_registry::{Registries, RegistryConfig};
use ossprey_rules::Suppressions;
use ossprey_static::PackageFiles;

use crate::cli::{DynamicArgs, PhaseArg, SandboxBackendArg, ScanArgs};
use crate::output::Printer;
use crate::progress::Progress;

/// What a batch amounted to, for the exit code.
pub struct Outcome {
    pub errors: usize,
    pub fail_on_reached: bool,
}

/// Shared, read-only state of one run.
pub struct Context {
    pub(crate) registries: Registries,
    pub(crate) limits: Limits,
    suppressions: Option<Suppressions>,
    /// Set for `analyze`.
    dynamic: Option<DynamicContext>,
}

/// What `analyze` needs besides the static pipeline.
struct DynamicContext {
    options: ossprey_dynamic::DynamicOptions,
    /// Why the host cannot run the sandbox, if a required layer is missing (probed once
    /// per batch; each target then fails with `sandbox-unavailable`).
    unavailable: Option<String>,
    /// The runtime, or why it could not be provisioned (each target then fails).
    runtime: Result<ossprey_runtime::Runtime, String>,
}

impl DynamicContext {
    /// Provisions the runtime once for the whole batch (minutes the first time, with
    /// progress on stderr; a manifest read afterwards).
    fn new(args: &DynamicArgs, configured: Option<SandboxBackendArg>, quiet: bool) -> Self {
        let phases = args
            .phases
            .iter()
            .map(|p| match p {
                PhaseArg::Install => ossprey_runtime::drivers::Phase::Install,
                PhaseArg::Import => ossprey_runtime::drivers::Phase::Import,
                PhaseArg::Execute => ossprey_runtime::drivers::Phase::Execute,
            })
            .collect();
        let options = ossprey_runtime::Options::from_env();
        let unavailable = crate::sandbox_check::host_check(false).unavailable_reason();
        let runtime = if let Some(why) = &unavailable {
            // Building a runtime the sandbox cannot use would only cost minutes.
            Err(format!("not provisioned: {why}"))
        } else if quiet {
            ossprey_runtime::Runtime::ensure(&options, &mut ossprey_runtime::NoProgress)
                .map_err(|e| e.to_string())
        } else {
            eprintln!(
                "ossprey: sandbox runtime at {}",
                options.runtime_path().display()
            );
            ossprey_runtime::Runtime::ensure(&options, &mut crate::progress::RuntimeProgress::new())
                .map_err(|e| e.to_string())
        };
        Self {
            options: ossprey_dynamic::DynamicOptions {
                phases,
                phase_timeout: Duration::from_secs(args.phase_timeout),
                keep_artifacts: args.keep_artifacts.clone(),
                scratch_size_bytes: args.scratch_mib << 20,
                linger: Duration::from_secs(args.linger),
                // The flag (or $OSSPREY_SANDBOX) wins over the config file.
                backend: match args.sandbox.or(configured) {
                    None | Some(SandboxBackendArg::Native) => ossprey_dynamic::Backend::Native,
                    Some(SandboxBackendArg::Gvisor) => ossprey_dynamic::Backend::Gvisor,
                },
            },
            unavailable,
            runtime,
        }
    }
}

impl Context {
    pub fn new(args: &ScanArgs, dynamic: Option<&DynamicArgs>) -> anyhow::Result<Self> {
        let r = &args.registry;
        let mut cfg = RegistryConfig::default_for_user().with_env_overrides();
        if let Some(dir) = &r.cache_dir {
            cfg.cache_dir = dir.clone();
        }
        if let Some(url) = &r.pypi_url {
            cfg.pypi_url = url.clone();
        }
        if let Some(url) = &r.npm_url {
            cfg.npm_url = url.clone();
        }
        if let Some(url) = &r.crates_index_url {
            cfg.crates_index_url = url.clone();
        }
        if let Some(url) = &r.rubygems_url {
            cfg.rubygems_url = url.clone();
        }
        if let Some(secs) = r.http_timeout {
            anyhow::ensure!(
                secs.is_finite() && secs > 0.0,
                "--http-timeout must be a positive number of seconds"
            );
            // `from_secs_f64` panics on values too large for a Duration.
            cfg.timeout = Duration::try_from_secs_f64(secs)
                .map_err(|_| anyhow::anyhow!("--http-timeout {secs} is too large"))?;
        }
        cfg.retries = r.retries;
        cfg.offline = r.offline;
        let registries = Registries::new(cfg).context("setting up registry clients")?;
        let limits = Limits {
            max_total_bytes: args.limits.max_total_mib.saturating_mul(1 << 20),
            max_entries: args.limits.max_entries,
            ..Limits::default()
        };
        let config = load_config(args)?;
        let suppressions = config.suppressions;
        let dynamic = dynamic.map(|d| DynamicContext::new(d, config.sandbox, args.quiet));
        Ok(Self {
            registries,
            limits,
            suppressions,
            dynamic,
        })
    }
}

/// What the user's config file says.
#[derive(Debug, Default)]
struct UserConfig {
    /// The `[[allow]]` entries.
    suppressions: Option<Suppressions>,
    /// `[sandbox] backend = "native" | "gvisor"`.
    sandbox: Option<SandboxBackendArg>,
}

/// The user's config: `--config`, `$OSSPREY_CONFIG`, or `./ossprey.toml`.
///
/// `./ossprey.toml` is not used when the current directory is inside a directory
/// being scanned: a package must never be able to suppress its own findings (or
/// choose its sandbox).
fn load_config(args: &ScanArgs) -> anyhow::Result<UserConfig> {
    let (path, explicit) = match &args.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from("ossprey.toml"), false),
    };
    if !explicit {
        if !path.is_file() {
            return Ok(UserConfig::default());
        }
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let inside_target = args.targets.iter().any(|t| {
            let t = Path::new(t);
            t.is_dir() && t.canonicalize().is_ok_and(|dir| cwd.starts_with(dir))
        });
        if inside_target {
            if !args.quiet {
                eprintln!(
                    "ossprey: warning: not reading ./ossprey.toml: the current directory is inside a scanned directory \
                     (a package must not configure its own scan); pass --config to use it"
                );
            }
            return Ok(UserConfig::default());
        }
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse_config(&text).with_context(|| format!("in {}", path.display()))
}

/// Splits a config file into its `[sandbox]` table and the allowlist (which keeps
/// rejecting unknown keys, so a typo is an error, not a silently ignored entry).
fn parse_config(text: &str) -> anyhow::Result<UserConfig> {
    let mut table: toml::Table = text.parse()?;
    let sandbox = match table.remove("sandbox") {
        None => None,
        Some(toml::Value::Table(mut section)) => {
            let backend = match section.remove("backend") {
                None => None,
                Some(toml::Value::String(name)) => Some(match name.as_str() {
                    "native" => SandboxBackendArg::Native,
                    "gvisor" => SandboxBackendArg::Gvisor,
                    other => anyhow::bail!(
                        "[sandbox] backend = {other:?}: expected \"native\" or \"gvisor\""
                    ),
                }),
                Some(_) => anyhow::bail!("[sandbox] backend must be a string"),
            };
            if let Some(key) = section.keys().next() {
                anyhow::bail!("[sandbox] has an unknown key `{key}` (known: backend)");
            }
            backend
        }
        Some(_) => anyhow::bail!("`sandbox` must be a table: [sandbox]"),
    };
    let suppressions = Suppressions::parse(&toml::to_string(&table)?)?;
    Ok(UserConfig {
        suppressions: Some(suppressions),
        sandbox,
    })
}

/// Scans every target of `args` (and with `dynamic`, runs it in the sandbox), printing
/// reports as they complete.
pub fn scan_all(args: &ScanArgs, dynamic: Option<&DynamicArgs>) -> anyhow::Result<Outcome> {
    let ctx = Context::new(args, dynamic)?;
    // Opened before any work, so a wrong `--db` fails at once.
    let store = open_store(&args.store)?;
    let kind = if dynamic.is_some() { "analyze" } else { "scan" };
    let targets = &args.targets;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, targets.len().max(1));

    let mut printer = Printer::new(args.format, args.files, targets.len());
    let progress = Progress::new(targets.len(), args.quiet);
    let mut outcome = Outcome {
        errors: 0,
        fail_on_reached: false,
    };

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Report)>();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (ctx, next) = (&ctx, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let report = scan_target(ctx, target);
                    if tx.send((i, report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);

        // Reorder: print report i only after reports 0..i.
        let mut pending: Vec<Option<Report>> = (0..targets.len()).map(|_| None).collect();
        let mut cursor = 0;
        for (i, report) in rx {
            progress.finished(&report);
            if let Some(slot) = pending.get_mut(i) {
                *slot = Some(report);
            }
            while let Some(report) = pending.get_mut(cursor).and_then(Option::take) {
                if report.error.is_some() {
                    outcome.errors += 1;
                }
                if let (Some(level), Some(verdict)) = (args.fail_on, report.verdict)
                    && verdict >= level
                {
                    outcome.fail_on_reached = true;
                }
                // A report the store refused is still printed, and fails the run.
                if let Some(store) = &store
                    && let Err(err) = store.save_report(&report, kind)
                {
                    eprintln!(
                        "ossprey: error: report of {} not stored: {err}",
                        report.target
                    );
                    outcome.errors += 1;
                }
                printer
                    .print(&report)
                    .context("writing results to stdout")?;
                cursor += 1;
            }
        }
        Ok(())
    })?;
    printer.finish().context("writing results to stdout")?;
    progress.done(outcome.errors);
    Ok(outcome)
}

/// The store `--store`/`--db` name, if either was given.
fn open_store(args: &crate::cli::StoreArgs) -> anyhow::Result<Option<ossprey_store::Store>> {
    if !args.store && args.db.is_none() {
        return Ok(None);
    }
    let url = args
        .db
        .clone()
        .unwrap_or_else(ossprey_store::Store::default_url);
    ossprey_store::Store::open(&url)
        .map(Some)
        .with_context(|| "opening the store for --store")
}

/// Runs the whole pipeline on one target. Never fails: errors go into the report.
pub fn scan_target(ctx: &Context, target: &str) -> Report {
    let started = Instant::now();
    let mut report = Report::new(target);
    match fill_report(ctx, target, &mut report) {
        Ok(archive) => {
            if let Some(dynamic) = &ctx.dynamic {
                match run_dynamic(dynamic, archive, &mut report) {
                    Ok(()) => fuse_dynamic(ctx, &mut report),
                    Err(error) => report.fail(error),
                }
            }
        }
        Err(error) => report.fail(error),
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// An archive on the host and its file name (the registry's, or the local file's).
type ArchiveLocation = (PathBuf, String);

/// Fills the static part of `report`; returns where the archive is, for the sandbox
/// (`None` for a directory target).
fn fill_report(
    ctx: &Context,
    target: &str,
    report: &mut Report,
) -> Result<Option<ArchiveLocation>, ReportError> {
    let target =
        Target::parse(target).map_err(|e| ReportError::new("invalid-target", e.to_string()))?;
    let (files, registry_package, archive) = match target {
        Target::Registry(spec) => {
            let fetched = ctx
                .registries
                .fetch(&spec)
                .map_err(|e| ReportError::new(e.code(), e.to_string()))?;
            report.sha256 = Some(fetched.artifact.sha256.clone());
            report.artifact = Some(fetched.artifact.clone());
            report.package = Some(fetched.package.clone());
            let files = read_archive_file(&fetched.path, &fetched.filename, &ctx.limits)?;
            let archive = (fetched.path.clone(), fetched.filename.clone());
            (files, Some(fetched.package), Some(archive))
        }
        Target::Path(path) => {
            let meta = std::fs::metadata(&path).map_err(|e| {
                ReportError::new(
                    if e.kind() == std::io::ErrorKind::NotFound {
                        "not-found"
                    } else {
                        "io"
                    },
                    format!("{}: {e}", path.display()),
                )
            })?;
            let display = path.display().to_string();
            if meta.is_dir() {
                let files = PackageFiles::collect_path(&path, &ctx.limits)
                    .map_err(|e| ReportError::new(e.code(), e.to_string()))?;
                let artifact = Artifact {
                    sha256: files.tree_digest(),
                    size: files.total_bytes(),
                    source: ArtifactSource::Directory { path: display },
                };
                report.sha256 = Some(artifact.sha256.clone());
                report.artifact = Some(artifact);
                (files, None, None)
            } else if !meta.is_file() {
                // A FIFO would block and a device such as /dev/zero never ends.
                return Err(ReportError::new(
                    "io",
                    format!("{display}: not a regular file or directory"),
                ));
            } else {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let (files, sha256, size) = read_archive_file_hashed(&path, &name, &ctx.limits)?;
                report.sha256 = Some(sha256.clone());
                report.artifact = Some(Artifact {
                    sha256,
                    size,
                    source: ArtifactSource::File { path: display },
                });
                (files, None, Some((path.clone(), name)))
            }
        }
    };

    let ecosystem = registry_package
        .as_ref()
        .map(|p| p.ecosystem)
        .or_else(|| ossprey_static::detect_ecosystem(&files, None));
    let analysis = ossprey_rules::analyze(
        &files,
        ossprey_rules::Options {
            package: registry_package.as_ref(),
            ecosystem,
            suppressions: ctx.suppressions.as_ref(),
            artifact_sha256: report.sha256.as_deref(),
        },
    );
    let manifest = analysis.manifest;
    report.findings = analysis.evaluation.findings;
    report.score = Some(analysis.evaluation.score);
    report.verdict = Some(analysis.evaluation.verdict);
    report.suppressed = analysis.suppressed;
    if report.package.is_none()
        && let (Some(ecosystem), Some(name)) = (ecosystem, manifest.name.clone())
    {
        report.package = Some(PackageRef {
            ecosystem,
            name,
            version: manifest.version.clone(),
        });
    }
    report.manifest = Some(manifest);
    report.inventory = Some(files.inventory());
    Ok(archive)
}

/// The dynamic part of `analyze`: the package's phases in the sandbox. Ecosystems
/// without a driver and directory targets get a note instead (static analysis stands).
fn run_dynamic(
    ctx: &DynamicContext,
    archive: Option<ArchiveLocation>,
    report: &mut Report,
) -> Result<(), ReportError> {
    use ossprey_model::{DynamicResult, Ecosystem};
    use ossprey_runtime::drivers::{
        PackageHints, PackageInput, import_names_from_sdist, import_names_from_wheel,
    };

    let static_only = |why: String| DynamicResult {
        notes: vec![format!("{why}; static analysis only")],
        ..DynamicResult::default()
    };
    let Some(package) = report.package.clone() else {
        report.dynamic = Some(static_only(
            "the package's ecosystem and name are unknown".into(),
        ));
        return Ok(());
    };
    if !matches!(package.ecosystem, Ecosystem::Pypi | Ecosystem::Npm) {
        report.dynamic = Some(static_only(format!(
            "the sandbox runs PyPI and npm packages, not {} packages",
            package.ecosystem
        )));
        return Ok(());
    }
    let Some((archive, archive_name)) = archive else {
        report.dynamic = Some(static_only(
            "a directory target cannot be installed; give its archive".into(),
        ));
        return Ok(());
    };
    if let Some(why) = &ctx.unavailable {
        return Err(ReportError::new("sandbox-unavailable", why.clone()));
    }
    let runtime = ctx
        .runtime
        .as_ref()
        .map_err(|why| ReportError::new("runtime-unavailable", why.clone()))?;
    let paths: Vec<&str> = report
        .inventory
        .iter()
        .flat_map(|i| i.files.iter().map(|f| f.path.as_str()))
        .collect();
    let python_modules = match package.ecosystem {
        Ecosystem::Pypi if archive_name.ends_with(".whl") => {
            import_names_from_wheel(paths.iter().copied(), None)
        }
        Ecosystem::Pypi => import_names_from_sdist(paths.iter().copied()),
        _ => Vec::new(),
    };
    let input = PackageInput {
        ecosystem: package.ecosystem,
        name: package.name.clone(),
        version: package.version.clone(),
        archive,
        archive_name,
        hints: PackageHints {
            python_modules,
            ..PackageHints::default()
        },
    };
    let result = ossprey_dynamic::analyze(runtime, &input, &ctx.options)
        .map_err(|e| ReportError::new(e.code(), e.to_string()))?;
    report.dynamic = Some(result);
    Ok(())
}

/// Replaces the static evaluation with one fused from static, metadata and dynamic
/// findings (`ossprey_rules::fuse`): behaviour rules over `report.dynamic`, the same
/// allowlist, links between the two kinds of evidence.
fn fuse_dynamic(ctx: &Context, report: &mut Report) {
    let Some(dynamic) = report.dynamic.take() else {
        return;
    };
    let fused = ossprey_rules::fuse(
        std::mem::take(&mut report.findings),
        &ossprey_rules::FusionInput {
            package: report.package.as_ref(),
            manifest: report.manifest.as_ref(),
            dynamic: &dynamic,
            suppressions: ctx.suppressions.as_ref(),
            artifact_sha256: report.sha256.as_deref(),
        },
    );
    report.findings = fused.evaluation.findings;
    report.score = Some(fused.evaluation.score);
    report.verdict = Some(fused.evaluation.verdict);
    report.suppressed.extend(fused.suppressed);
    report.dynamic = Some(dynamic);
}

/// Reads an archive whose hash is already known (a verified registry download).
pub(crate) fn read_archive_file(
    path: &Path,
    name: &str,
    limits: &Limits,
) -> Result<PackageFiles, ReportError> {
    let bytes = read_bounded(path, limits)?;
    parse_archive(name, &bytes, limits)
}

/// Reads a local archive and hashes it in the same pass over its bytes.
pub(crate) fn read_archive_file_hashed(
    path: &Path,
    name: &str,
    limits: &Limits,
) -> Result<(PackageFiles, String, u64), ReportError> {
    let bytes = read_bounded(path, limits)?;
    let sha256 = ossprey_static::sha256_hex(&bytes);
    let files = parse_archive(name, &bytes, limits)?;
    Ok((files, sha256, bytes.len() as u64))
}

fn parse_archive(name: &str, bytes: &[u8], limits: &Limits) -> Result<PackageFiles, ReportError> {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or_default();
    let format = ossprey_archive::detect_format(name, head).ok_or_else(|| {
        ReportError::new(
            "archive-unsupported",
            format!("{name}: not a recognised package archive (expected .tar.gz, .tgz, .whl, .zip, .egg, .crate, .gem, .tar.bz2, .tar or a directory)"),
        )
    })?;
    PackageFiles::collect_bytes(name, bytes, format, limits)
        .map_err(|e| ReportError::new(e.code(), e.to_string()))
}

/// The compressed archive itself may not be larger than the decompressed budget.
fn read_bounded(path: &Path, limits: &Limits) -> Result<Vec<u8>, ReportError> {
    let io_err = |e: std::io::Error| ReportError::new("io", format!("{}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size > limits.max_total_bytes {
        return Err(ReportError::new(
            "archive-limit",
            format!(
                "{}: archive is {size} bytes, more than the {} byte limit on a package",
                path.display(),
                limits.max_total_bytes
            ),
        ));
    }
    std::fs::read(path).map_err(io_err)
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn the_config_file_picks_the_sandbox_and_keeps_its_allowlist() {
        let c = parse_config(
            "[sandbox]\nbackend = \"gvisor\"\n\n[[allow]]\nrule = \"X\"\nreason = \"ours\"\n",
        )
        .unwrap();
        assert_eq!(c.sandbox, Some(SandboxBackendArg::Gvisor));
        assert!(!c.suppressions.unwrap().is_empty());
        let plain = parse_config("[[allow]]\nrule = \"X\"\nreason = \"ours\"\n").unwrap();
        assert_eq!(plain.sandbox, None);
    }

    #[test]
    fn config_mistakes_are_errors() {
        for bad in [
            "[sandbox]\nbackend = \"docker\"\n",
            "[sandbox]\nbackend = 1\n",
            "[sandbox]\nbakend = \"gvisor\"\n",
            "sandbox = \"gvisor\"\n",
            "[[allow]]\nrules = \"X\"\nreason = \"typo\"\n",
        ] {
            assert!(parse_config(bad).is_err(), "{bad}");
        }
    }
}
