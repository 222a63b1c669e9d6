//! Phase drivers: what runs inside the sandbox for each phase of a package.
//!
//! A driver is a pure function from a package (its name, version, archive, and what
//! static analysis learnt about it) to a [`PhaseSpec`]: argv, environment, working
//! directory, the directories that must be writable, the files to place inside the
//! sandbox, and the deadline. The sandbox executes the spec; drivers never touch the
//! host. Phases of one package share their writable directories (the install phase
//! leaves the package in `~/.local` or `/work/node_modules` for the later ones).
//!
//! Inside the sandbox the layout is [`SandboxLayout`]: the archive at
//! `/pkg/<file name>`, the scratch project at `/work`, driver scripts at `/ossprey`,
//! and a home directory. The runtime's root has these mount points already.
//!
//! The in-sandbox helper scripts (`scripts/pypi_driver.py`, `scripts/npm_driver.js`)
//! print their own results as `@@ossprey {json}` lines on stdout; those lines come
//! from inside the sandbox and are hints, not evidence.

mod npm;
mod pypi;

use std::path::PathBuf;
use std::time::Duration;

use ossprey_model::Ecosystem;
use serde::{Serialize, Serializer};

use crate::error::RuntimeError;

pub use npm::{ModuleKind, npm_module_kind};
pub use pypi::{PypiArchive, import_names_from_sdist, import_names_from_wheel, pypi_archive_kind};

/// The prefix of the result lines the helper scripts print.
pub const RESULT_MARK: &str = "@@ossprey ";

/// A phase of dynamic analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Installing the package, with its install-time code (setup.py, npm lifecycle scripts).
    Install,
    /// Importing / requiring the installed package.
    Import,
    /// Calling what the package exports.
    Execute,
}

impl Phase {
    /// The phases in the order they run.
    pub const ALL: [Phase; 3] = [Self::Install, Self::Import, Self::Execute];

    /// `install`, `import`, `execute` (the keys of the report's `dynamic` object).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Import => "import",
            Self::Execute => "execute",
        }
    }
}

/// Where things are inside the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxLayout {
    /// Read-only directory holding the package archive.
    pub pkg_dir: String,
    /// The writable scratch project directory (cwd of every phase).
    pub work_dir: String,
    /// Read-only directory holding the driver scripts.
    pub driver_dir: String,
    /// The (writable) home directory of the sandbox user.
    pub home: String,
    /// The writable temporary directory.
    pub tmp_dir: String,
}

impl Default for SandboxLayout {
    fn default() -> Self {
        Self {
            pkg_dir: "/pkg".into(),
            work_dir: "/work".into(),
            driver_dir: "/ossprey".into(),
            home: "/root".into(),
            tmp_dir: "/tmp".into(),
        }
    }
}

/// Deadlines and bounds of the phases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverOptions {
    /// Wall-clock deadline of the install phase.
    pub install_deadline: Duration,
    /// Wall-clock deadline of the import phase.
    pub import_deadline: Duration,
    /// Wall-clock deadline of the execute phase.
    pub execute_deadline: Duration,
    /// Bound of one import, entry point or call inside a phase.
    pub call_timeout: Duration,
    /// At most this many calls per module in the execute phase.
    pub max_calls: u32,
}

impl Default for DriverOptions {
    fn default() -> Self {
        Self {
            install_deadline: Duration::from_secs(60),
            import_deadline: Duration::from_secs(60),
            execute_deadline: Duration::from_secs(60),
            call_timeout: Duration::from_secs(10),
            max_calls: 50,
        }
    }
}

impl DriverOptions {
    fn deadline(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Install => self.install_deadline,
            Phase::Import => self.import_deadline,
            Phase::Execute => self.execute_deadline,
        }
    }
}

/// What static analysis learnt that helps the drivers; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageHints {
    /// Python top-level import names seen in the archive (see
    /// [`import_names_from_wheel`], [`import_names_from_sdist`]); the in-sandbox
    /// driver adds what the installed distribution's metadata says.
    pub python_modules: Vec<String>,
    /// Whether an npm package is CommonJS or ESM (see [`npm_module_kind`]).
    pub npm_module_kind: ModuleKind,
}

/// The package to drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageInput {
    /// Which registry the package is from.
    pub ecosystem: Ecosystem,
    /// The registry name (`requests`, `@scope/name`).
    pub name: String,
    /// The version, when known.
    pub version: Option<String>,
    /// The archive on the host (e.g. in the content-addressed store).
    pub archive: PathBuf,
    /// The archive's registry file name (`foo-1.0.tar.gz`, `foo-1.0-py3-none-any.whl`,
    /// `name-1.0.0.tgz`): pip reads wheel tags from it, so it must be the real one.
    pub archive_name: String,
    /// Static hints.
    pub hints: PackageHints,
}

/// A file to place (read-only) inside the sandbox before the phase runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxInput {
    /// Absolute path inside the sandbox.
    pub path: String,
    /// Where its bytes come from.
    pub source: InputSource,
}

/// The contents of a [`SandboxInput`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSource {
    /// A file on the host (the package archive).
    HostFile(PathBuf),
    /// A driver script embedded in ossprey.
    Embedded(#[serde(skip)] &'static str),
}

/// Everything the sandbox needs to run one phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseSpec {
    /// Which phase this is.
    pub phase: Phase,
    /// The command; `argv[0]` is an absolute path inside the runtime.
    pub argv: Vec<String>,
    /// The complete base environment (the sandbox adds its host fingerprint and
    /// honeytoken variables on top).
    pub env: Vec<(String, String)>,
    /// Working directory inside the sandbox.
    pub cwd: String,
    /// Directories that must be writable (and persist across the package's phases).
    pub writable: Vec<String>,
    /// Files to place before running.
    pub inputs: Vec<SandboxInput>,
    /// Wall-clock deadline; when it passes every process of the phase is killed.
    #[serde(rename = "deadline_ms", serialize_with = "as_millis")]
    pub deadline: Duration,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl PhaseSpec {
    /// A phase that runs `argv` in the work directory with `inputs` placed: the base
    /// environment with `bin_dir` (where the package manager puts the package's
    /// commands) first on `PATH`, the layout's writable directories and the phase's
    /// deadline.
    pub(crate) fn in_work_dir(
        phase: Phase,
        layout: &SandboxLayout,
        options: &DriverOptions,
        bin_dir: &str,
        argv: Vec<String>,
        inputs: Vec<SandboxInput>,
    ) -> Self {
        Self {
            phase,
            argv,
            env: base_env(layout, &format!("{bin_dir}:/usr/local/bin:/usr/bin:/bin")),
            cwd: layout.work_dir.clone(),
            writable: writable(layout),
            inputs,
            deadline: options.deadline(phase),
        }
    }

    /// The value of an environment variable of the spec.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The spec of one phase of `package`.
pub fn phase_spec(
    package: &PackageInput,
    phase: Phase,
    layout: &SandboxLayout,
    options: &DriverOptions,
) -> Result<PhaseSpec, RuntimeError> {
    check_archive_name(package)?;
    match package.ecosystem {
        Ecosystem::Pypi => pypi::spec(package, phase, layout, options),
        Ecosystem::Npm => npm::spec(package, phase, layout, options),
        other => Err(unsupported(
            package,
            format!("no sandbox driver for {other} packages yet"),
        )),
    }
}

/// The specs of all three phases, in order.
pub fn phase_specs(
    package: &PackageInput,
    layout: &SandboxLayout,
    options: &DriverOptions,
) -> Result<Vec<PhaseSpec>, RuntimeError> {
    Phase::ALL
        .iter()
        .map(|p| phase_spec(package, *p, layout, options))
        .collect()
}

pub(crate) fn unsupported(package: &PackageInput, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::Driver {
        package: format!("{}:{}", package.ecosystem, package.name),
        reason: reason.into(),
    }
}

/// The archive name becomes a path inside the sandbox and a tool argument: keep it to
/// a plain file name.
fn check_archive_name(package: &PackageInput) -> Result<(), RuntimeError> {
    let n = &package.archive_name;
    let ok = !n.is_empty()
        && n.len() <= 255
        && !n.starts_with(['.', '-'])
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '!'));
    if ok {
        Ok(())
    } else {
        Err(unsupported(
            package,
            format!("unusable archive file name {n:?}"),
        ))
    }
}

/// Environment shared by every phase of every ecosystem.
pub(crate) fn base_env(layout: &SandboxLayout, path: &str) -> Vec<(String, String)> {
    [
        ("HOME", layout.home.as_str()),
        ("PATH", path),
        ("LANG", "C.UTF-8"),
        ("TMPDIR", layout.tmp_dir.as_str()),
        ("SHELL", "/bin/bash"),
        ("TERM", "xterm-256color"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub(crate) fn writable(layout: &SandboxLayout) -> Vec<String> {
    vec![
        layout.work_dir.clone(),
        layout.home.clone(),
        layout.tmp_dir.clone(),
    ]
}

pub(crate) fn archive_input(
    package: &PackageInput,
    layout: &SandboxLayout,
) -> (String, SandboxInput) {
    let path = format!("{}/{}", layout.pkg_dir, package.archive_name);
    let input = SandboxInput {
        path: path.clone(),
        source: InputSource::HostFile(package.archive.clone()),
    };
    (path, input)
}

pub(crate) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.3}")
    }
}

#[cfg(test)]
mod tests;
