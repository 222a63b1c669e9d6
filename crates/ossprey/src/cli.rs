//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ossprey_model::Verdict;

#[derive(Debug, Parser)]
#[command(
    name = "ossprey",
    version,
    about = "Catch malicious packages in open-source registries before people install them",
    long_about = "Catch malicious packages in open-source registries before people install them.\n\n\
        Targets are registry specs (pypi:NAME[@VER], npm:NAME[@VER], npm:@scope/name[@VER], \
        crates:NAME[@VER], rubygems:NAME[@VER]; no version means latest), local archives \
        (.tar.gz .tgz .whl .zip .egg .crate .gem .tar.bz2 .tar) or directories."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Acquire targets and read them statically (nothing is executed).
    Scan(Box<ScanArgs>),
    /// Scan, then run the package's install, import and execute phases in the sandbox
    /// (sealed network, every process traced) and add what it did to the report.
    Analyze(Box<AnalyzeArgs>),
    /// Compare two targets (e.g. two versions of a package): what changed that matters
    /// for security.
    ///
    /// Lists added and removed install hooks, network destinations, commands,
    /// obfuscated files, findings, dependencies and the verdict change. Exits 1 when
    /// something security-relevant was added (see below), 0 when not, 2 when a target
    /// could not be analysed.
    #[command(after_long_help = crate::diff::RELEVANCE_HELP)]
    Diff(Box<DiffArgs>),
    /// Search the analyses in the store (filters combine with AND), or run one
    /// read-only SQL statement on it with `--sql`.
    Query(Box<QueryArgs>),
    /// Export stored analyses: `jsonl` (dynamic results with the OpenSSF
    /// package-analysis field names), `osv` (MAL- reports for malicious verdicts) or
    /// `sarif` (findings for code scanning).
    Export(Box<ExportArgs>),
    /// Drain the store's job queue: lease jobs, run them (`scan`, `analyze`), store
    /// the reports. SIGTERM/SIGINT finish or release the jobs in flight, then exit 0.
    Worker(Box<crate::worker::WorkerArgs>),
    /// Poll the registries' new-release feeds (PyPI, npm, crates.io, RubyGems) and
    /// queue every new version once; gaps where a feed may have dropped releases are
    /// logged and stored. SIGTERM/SIGINT stop after the poll in progress.
    Watch(Box<crate::watch::WatchArgs>),
    /// List the detection rules: id, category and what each detects.
    Rules(RulesArgs),
    /// The sandbox itself.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Probe which isolation layers work on this host (each one is tried for real).
    /// Exits 0 when every required layer works, 2 otherwise.
    Check(SandboxCheckArgs),
}

#[derive(Debug, Args)]
pub struct SandboxCheckArgs {
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Registry specs, archive files or directories.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Output format. `json` prints one object for one target and an array for
    /// several; `jsonl` prints one object per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Targets analysed in parallel (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// No progress or summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Exit with status 1 when any verdict is at least LEVEL.
    #[arg(long, value_name = "LEVEL", value_parser = parse_verdict)]
    pub fail_on: Option<Verdict>,

    /// In text output, list every file of the inventory.
    #[arg(long)]
    pub files: bool,

    /// Allowlist file (`[[allow]]` entries with a reason) [default: ./ossprey.toml when present].
    #[arg(long, env = "OSSPREY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// `scan`/`analyze`: save each report to the store.
#[derive(Debug, Default, Args)]
pub struct StoreArgs {
    /// Save every report to the store (`--db`, else $OSSPREY_DB, else ossprey.db in
    /// the user's data dir). A report that cannot be saved is an error (exit 2).
    #[arg(long)]
    pub store: bool,

    /// Database URL to save to (`sqlite://PATH` or `postgres://USER:PASS@HOST/DB`);
    /// implies `--store`.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    #[command(flatten)]
    pub dynamic: DynamicArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old side: a registry spec, archive file or directory.
    #[arg(value_name = "A")]
    pub a: String,

    /// The new side: a registry spec, archive file or directory.
    #[arg(value_name = "B")]
    pub b: String,

    /// Output format (`json`: one object, shape documented in docs/diff.md).
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,

    /// Also run both targets in the sandbox (as `ossprey analyze` does) and compare DNS
    /// names, connections, executed commands and file writes.
    #[arg(long)]
    pub analyze: bool,

    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Allowlist file (`[[allow]]` entries with a reason) [default: ./ossprey.toml when present].
    #[arg(long, env = "OSSPREY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Sandbox settings, used with `--analyze`.
    #[command(flatten)]
    pub dynamic: DynamicArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Sandbox")]
pub struct DynamicArgs {
    /// Wall-clock deadline of each sandbox phase, in seconds; every process of the
    /// phase is killed when it passes.
    #[arg(long = "timeout", alias = "phase-timeout", value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub phase_timeout: u64,

    /// Keep what each package sent (sinkhole log, raw connection bytes) and the files
    /// it wrote in DIR/<package>-<version>/. Symlinks the package made are recorded,
    /// never followed.
    #[arg(long, value_name = "DIR")]
    pub keep_artifacts: Option<PathBuf>,

    /// Total size of a package's writable directories (home, /work, /tmp), in MiB;
    /// a tmpfs enforces it when running as root.
    #[arg(long, value_name = "MIB", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub scratch_mib: u64,

    /// How long processes that outlive a phase's main process (daemons, delayed
    /// actions) may keep running, in seconds, before the phase ends and kills them;
    /// still bounded by --timeout.
    #[arg(long, value_name = "SECS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub linger: u64,

    /// Phases to run, comma-separated, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PhaseArg::Install, PhaseArg::Import, PhaseArg::Execute])]
    pub phases: Vec<PhaseArg>,

    /// Which sandbox detonates the package: `native` (namespaces, seccomp, landlock on
    /// the host kernel) or `gvisor` (runsc's user-space kernel in between; needs root
    /// and Debian's `runsc`). Same events and verdicts either way. Default: the
    /// config file's `[sandbox] backend`, else `native`.
    #[arg(long, value_enum, env = "OSSPREY_SANDBOX")]
    pub sandbox: Option<SandboxBackendArg>,
}

/// A sandbox backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SandboxBackendArg {
    Native,
    Gvisor,
}

/// A phase of dynamic analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    Install,
    Import,
    Execute,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Registries")]
pub struct RegistryArgs {
    /// Directory of the content-addressed archive cache [default: the user's cache dir + /ossprey].
    #[arg(long, env = "OSSPREY_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// PyPI base URL (project JSON API and Simple API live below it).
    #[arg(long, env = "OSSPREY_PYPI_URL", value_name = "URL")]
    pub pypi_url: Option<String>,

    /// npm registry base URL.
    #[arg(long, env = "OSSPREY_NPM_URL", value_name = "URL")]
    pub npm_url: Option<String>,

    /// crates.io sparse index URL.
    #[arg(long, env = "OSSPREY_CRATES_INDEX_URL", value_name = "URL")]
    pub crates_index_url: Option<String>,

    /// RubyGems base URL.
    #[arg(long, env = "OSSPREY_RUBYGEMS_URL", value_name = "URL")]
    pub rubygems_url: Option<String>,

    /// Timeout of each registry request, body included, in seconds [default: 120].
    #[arg(long, value_name = "SECS")]
    pub http_timeout: Option<f64>,

    /// Retries after a connection error, timeout or 5xx.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Use only the local cache; never contact a registry.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Archive limits")]
pub struct LimitArgs {
    /// Largest total decompressed size of one package, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub max_total_mib: u64,

    /// Most entries in one package (nested archives included).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub max_entries: u64,
}

/// The database `query` and `export` read.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`
    /// [default: $OSSPREY_DB, else ossprey.db in the user's data dir].
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

/// Which stored analyses: every filter given must match.
#[derive(Debug, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Analyses with this verdict.
    #[arg(long, value_name = "VERDICT", value_parser = parse_verdict)]
    pub verdict: Option<Verdict>,
    /// Analyses with a finding of this rule id (e.g. EXEC-DECODED-PAYLOAD).
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// Analyses with a finding in this category (e.g. exfiltration).
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// Analyses that reached for this domain or a subdomain of it (URLs in code,
    /// DNS queries, connections).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Analyses that reached for this IP address.
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// `ECOSYSTEM:NAME[@VERSION]` (e.g. `pypi:requests@2.32.3`) or a bare name.
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<String>,
    /// Analyses of the artifact with this sha256.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Stored at or after T: RFC 3339 (`2026-11-25T18:00:00Z`), a date
    /// (`2026-11-25`, UTC midnight) or an age (`30m`, `24h`, `7d`).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Stored at or before T (same forms as --since).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// At most N analyses, newest first.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// Run this one read-only SQL statement instead (SELECT/WITH; any write is
    /// refused by the database) and print its rows.
    #[arg(long, value_name = "SQL", conflicts_with_all = [
        "verdict", "rule", "category", "domain", "ip", "package", "sha256", "since", "until", "limit",
    ])]
    pub sql: Option<String>,

    /// `text`: one line per analysis; `json`: one array; `jsonl`: one object per line
    /// (`{id, kind, created_at, report}`, or the SQL rows).
    #[arg(long, value_enum, default_value_t = QueryFormat::Text)]
    pub format: QueryFormat,

    // Last: its help heading applies to everything after it.
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Text,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,

    /// `jsonl`: dynamic results, one line per analysis, OpenSSF package-analysis
    /// field names plus ossprey's under `Ossprey`; `osv`: MAL- reports for the
    /// malicious verdicts; `sarif`: SARIF 2.1.0 with every finding.
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,

    /// `-` for stdout, or a directory: `dynamic-analysis.jsonl`, `ossprey.sarif`, or
    /// for OSV one `ECOSYSTEM/NAME/ID.json` per report (the layout of
    /// malicious-packages' `osv/malicious/`).
    #[arg(long, value_name = "DIR|-", default_value = "-")]
    pub out: String,

    // Last: its help heading applies to everything after it.
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Jsonl,
    Osv,
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
    /// SARIF 2.1.0, one run with the findings of every target (for code scanning).
    Sarif,
    /// OSV 1.6 reports (`MAL-` ids) for the targets judged malicious, as a JSON array.
    Osv,
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    s.parse()
}
