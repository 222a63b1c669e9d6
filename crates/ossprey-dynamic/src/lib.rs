//! Dynamic analysis: a package's install, import and execute phases in the sandbox,
//! behind the sealed sinkhole network, turned into the report's `dynamic` section.
//!
//! This crate is the wiring between three crates that know nothing of each other:
//! `ossprey-runtime` (the Debian runtime and the per-ecosystem [`PhaseSpec`]s),
//! `ossprey-sandbox` (namespaces, seccomp, landlock, the tracer) and `ossprey-sinkhole`
//! (the sealed network). Keeping it here keeps the sandbox free of the sinkhole and the
//! runtime free of the sandbox.
//!
//! # How a package runs
//!
//! [`analyze`] gives the package one random plausible identity and one scratch
//! directory on the host for all its phases. Each phase's spec becomes a sandbox
//! [`Policy`] over the runtime's root filesystem (read-only):
//!
//! - every writable directory of the spec (`/work`, the home directory, `/tmp`) is a
//!   host directory of the scratch bound writable, so what `install` leaves behind is
//!   there for `import` and `execute`;
//! - the spec's inputs (the archive in `/pkg`, driver scripts in `/ossprey`) are copied
//!   into per-directory host folders bound read-only;
//! - a fresh [`SinkholeHook`] seals the phase's network namespace and records its
//!   traffic; the sandbox refuses to run when the namespace has anything but `lo`;
//! - [`honeytoken`]: fake secrets planted once in the home directory and added to every
//!   phase's environment; after each phase, reads of the planted files and tokens in
//!   the captured traffic become `dynamic.honeytokens.hits`.
//!
//! The scratch directory is deleted when [`analyze`] returns. As root it is a tmpfs of
//! [`DynamicOptions::scratch_size_bytes`] (see `capped`): a package cannot fill the host's
//! disk. With [`DynamicOptions::keep_artifacts`], the captured traffic and the files the
//! package wrote are copied out first (see `artifacts`).
//!
//! **Must never** run a phase outside the sandbox or without the sinkhole's seal.

pub mod artifacts;
mod capped;
mod convert;
pub mod honeytoken;
mod hook;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ossprey_model::DynamicResult;
use ossprey_runtime::Runtime;
use ossprey_runtime::drivers::{
    DriverOptions, InputSource, PackageInput, Phase, PhaseSpec, SandboxLayout, phase_spec,
};
pub use ossprey_sandbox::Backend;
use ossprey_sandbox::{Bind, HostIdentity, Policy, RootFs, Sandbox, SandboxError};

pub use convert::phase_report;
pub use hook::SinkholeHook;

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicOptions {
    /// Phases, in the order they run.
    pub phases: Vec<Phase>,
    /// Wall-clock deadline of each phase.
    pub phase_timeout: Duration,
    /// Where to keep each package's captured traffic and written files (`--keep-artifacts`).
    pub keep_artifacts: Option<PathBuf>,
    /// Total size of the package's persistent writable directories (home, `/work`,
    /// `/tmp`), enforced with a tmpfs when running as root.
    pub scratch_size_bytes: u64,
    /// How long processes that outlived a phase's main process may go on (bounded by
    /// the phase's deadline): a daemon's delayed action is captured within it.
    pub linger: Duration,
    /// Which sandbox runs the phases (`--sandbox native|gvisor`).
    pub backend: Backend,
}

impl Default for DynamicOptions {
    fn default() -> Self {
        Self {
            phases: Phase::ALL.to_vec(),
            phase_timeout: Duration::from_secs(60),
            keep_artifacts: None,
            scratch_size_bytes: 512 << 20,
            linger: Duration::from_secs(3),
            backend: Backend::Native,
        }
    }
}

/// Why dynamic analysis could not run at all (a phase that fails is a phase report
/// with status `error`, not this).
#[derive(Debug, thiserror::Error)]
pub enum DynamicError {
    /// The host cannot run the sandbox (no user namespaces, a failing kernel call).
    #[error("the sandbox cannot run on this host: {0}")]
    Unavailable(String),
    /// The sandbox refused the policy or failed on the host side.
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// Preparing the host-side scratch directories failed.
    #[error("preparing the sandbox's files: {0}")]
    Io(#[from] std::io::Error),
}

impl DynamicError {
    /// A stable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            DynamicError::Unavailable(_) | DynamicError::Sandbox(_) => "sandbox-unavailable",
            DynamicError::Io(_) => "io",
        }
    }
}

/// Why this host cannot run the sandbox, if it cannot: user namespaces are the one
/// layer everything else stands on.
pub fn sandbox_unavailable() -> Option<String> {
    if !Path::new("/proc/self/ns/user").exists() {
        return Some("the kernel has no user namespaces".into());
    }
    if let Ok(max) = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        && max.trim() == "0"
    {
        return Some("user namespaces are disabled (user.max_user_namespaces = 0)".into());
    }
    None
}

/// Runs `options.phases` of `package` in the sandbox, one after the other, and returns
/// the `dynamic` section. A phase whose spec cannot be built (unsupported archive) is
/// skipped with a note; a phase that fails inside the sandbox is reported as `error`.
pub fn analyze(
    runtime: &Runtime,
    package: &PackageInput,
    options: &DynamicOptions,
) -> Result<DynamicResult, DynamicError> {
    if let Some(why) = sandbox_unavailable() {
        return Err(DynamicError::Unavailable(why));
    }
    let identity = HostIdentity::random();
    let layout = SandboxLayout {
        home: identity.home.display().to_string(),
        ..SandboxLayout::default()
    };
    let drivers = DriverOptions {
        install_deadline: options.phase_timeout,
        import_deadline: options.phase_timeout,
        execute_deadline: options.phase_timeout,
        call_timeout: options.phase_timeout.min(Duration::from_secs(10)),
        ..DriverOptions::default()
    };
    let mut scratch = Scratch::new()?;
    let mut result = DynamicResult {
        runtime: Some(runtime.key().to_owned()),
        notes: vec!["dependencies are not installed: the package ran alone".into()],
        ..DynamicResult::default()
    };
    if let Some(note) = scratch.cap(options.scratch_size_bytes) {
        result.notes.push(note);
    }
    // Fake secrets in the home (it persists across phases: planted once, after the
    // cap's mount so they live on it) and in every phase's environment.
    let honeytokens = honeytoken::Honeytokens::generate(&identity)?;
    honeytokens.plant(&scratch.host_dir(&layout.home)?)?;
    result.honeytokens.planted = honeytokens.planted();
    for &phase in &options.phases {
        let spec = match phase_spec(package, phase, &layout, &drivers) {
            Ok(spec) => spec,
            Err(e) => {
                result
                    .notes
                    .push(format!("{} phase not run: {e}", phase.as_str()));
                continue;
            }
        };
        let mut policy = Policy::new(RootFs::from_dir(runtime.root()));
        policy.identity = identity.clone();
        policy.binds = scratch.binds(&spec)?;
        // A writable directory of the spec (e.g. /tmp) must persist across phases: its
        // bind replaces the policy's default tmpfs there.
        policy
            .tmpfs
            .retain(|t| !spec.writable.iter().any(|w| Path::new(w) == t.target));
        let sandbox_phase = ossprey_sandbox::Phase {
            argv: spec.argv.clone(),
            env: honeytokens.phase_env(&spec.env),
            cwd: Some(PathBuf::from(&spec.cwd)),
            timeout: spec.deadline,
            linger: options.linger,
        };
        let hook = Arc::new(SinkholeHook::new());
        let run = Sandbox::new()
            .with_backend(options.backend)
            .with_netns_hook(hook.clone())
            .run(&policy, &sandbox_phase)?;
        let network = hook.finish();
        let mut report = phase_report(&spec.argv, &run, network.as_ref().ok());
        honeytokens.record(
            phase.as_str(),
            &run,
            network.as_ref().ok(),
            &mut result.honeytokens,
        );
        honeytokens.redact(&mut report);
        if let Err(why) = network {
            report.isolation.notes.push(why);
        }
        if let Some(slot) = result.phase_mut(phase.as_str()) {
            *slot = Some(report);
        }
    }
    if let Some(root) = &options.keep_artifacts {
        let name = artifacts::safe_name(&format!(
            "{}-{}",
            package.name,
            package.version.as_deref().unwrap_or("unknown")
        ));
        let writable: BTreeMap<String, PathBuf> = scratch
            .dirs
            .iter()
            .filter(|(k, _)| !k.starts_with("input:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let budget = artifacts::DEFAULT_FILES_BUDGET;
        match artifacts::keep(root, &name, &result, &writable, budget) {
            Ok(dir) => result
                .notes
                .push(format!("artifacts kept in {}", dir.display())),
            Err(e) => result
                .notes
                .push(format!("keeping artifacts in {}: {e}", root.display())),
        }
    }
    Ok(result)
}

/// Host-side directories of one package's phases, removed on drop.
struct Scratch {
    /// The size cap on `dir`; declared first so it is unmounted before `dir` is removed.
    cap: Option<capped::CappedDir>,
    dir: tempfile::TempDir,
    /// Sandbox path → host directory.
    dirs: BTreeMap<String, PathBuf>,
}

impl Scratch {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            cap: None,
            dir: tempfile::Builder::new()
                .prefix("ossprey-dynamic-")
                .tempdir()?,
            dirs: BTreeMap::new(),
        })
    }

    /// Cap the scratch's total size with a tmpfs (root only); returns a note when it
    /// could not be capped. Must run before any directory is created in it.
    fn cap(&mut self, size_bytes: u64) -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some(
                "writable directories not size-capped (needs root for a tmpfs); \
                 RLIMIT_FSIZE bounds each file"
                    .into(),
            );
        }
        match capped::CappedDir::mount(self.dir.path(), size_bytes) {
            Ok(cap) => {
                self.cap = Some(cap);
                None
            }
            Err(e) => Some(format!("writable directories not size-capped: {e}")),
        }
    }

    /// The host directory standing for `sandbox_path` (created once, then reused).
    fn host_dir(&mut self, sandbox_path: &str) -> std::io::Result<PathBuf> {
        if let Some(d) = self.dirs.get(sandbox_path) {
            return Ok(d.clone());
        }
        let name: String = sandbox_path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = self.dir.path().join(format!("{}-{name}", self.dirs.len()));
        std::fs::create_dir(&dir)?;
        self.dirs.insert(sandbox_path.to_owned(), dir.clone());
        Ok(dir)
    }

    /// Binds for `spec`: its writable directories (persistent across phases) and its
    /// inputs, placed in read-only directories.
    fn binds(&mut self, spec: &PhaseSpec) -> std::io::Result<Vec<Bind>> {
        let mut binds = Vec::new();
        for w in &spec.writable {
            binds.push(Bind::writable(self.host_dir(w)?, w));
        }
        let mut input_dirs: Vec<String> = Vec::new();
        for input in &spec.inputs {
            let path = Path::new(&input.path);
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(std::io::Error::other(format!(
                    "input path {} has no directory",
                    input.path
                )));
            };
            let parent = parent.display().to_string();
            let host = self.host_dir(&format!("input:{parent}"))?;
            let dest = host.join(name);
            match &input.source {
                InputSource::HostFile(src) => {
                    std::fs::copy(src, &dest)?;
                }
                InputSource::Embedded(text) => std::fs::write(&dest, text)?,
            }
            if !input_dirs.contains(&parent) {
                input_dirs.push(parent.clone());
                binds.push(Bind::read_only(host, parent));
            }
        }
        Ok(binds)
    }
}
