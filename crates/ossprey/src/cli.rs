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
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    #[command(flatten)]
    pub dynamic: DynamicArgs,
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
