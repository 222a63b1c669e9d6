//! Errors of the sandbox API.
//!
//! Only problems of the *host* side are errors (a policy that cannot be built, a kernel
//! feature missing, a pipe failing). Anything the sandboxed code does — crash, hang, fill
//! the disk, refuse to start — is a [`crate::PhaseResult`], never an error or a panic.

/// Why a sandbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The policy or phase cannot be turned into a sandbox (missing rootfs, bad path).
    #[error("invalid sandbox policy: {0}")]
    Policy(String),
    /// A kernel call of the supervisor failed.
    #[error("{what}: {source}")]
    Sys {
        /// The operation.
        what: &'static str,
        /// The error.
        source: nix::Error,
    },
    /// Building the seccomp filter failed.
    #[error("seccomp filter: {0}")]
    Seccomp(String),
    /// The chosen backend cannot run here (gVisor: runsc missing, not root, its
    /// network could not be built).
    #[error("sandbox backend: {0}")]
    Backend(String),
    /// Reading the sandbox's pipes failed.
    #[error("sandbox i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl SandboxError {
    /// A stable code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::Policy(_) => "sandbox-policy",
            SandboxError::Sys { .. } => "sandbox-sys",
            SandboxError::Seccomp(_) => "sandbox-seccomp",
            SandboxError::Io(_) => "sandbox-io",
            SandboxError::Backend(_) => "sandbox-backend",
        }
    }
}

pub(crate) fn sys(what: &'static str) -> impl FnOnce(nix::Error) -> SandboxError {
    move |source| SandboxError::Sys { what, source }
}
