//! Errors of provisioning and of the phase drivers.

use std::path::PathBuf;

/// Everything that can go wrong while finding, building or checking the runtime, or
/// while turning a package into phase command lines.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// `debootstrap` is not installed on the host.
    #[error(
        "`debootstrap` was not found on PATH or in /usr/sbin; install it with `apt-get install debootstrap`"
    )]
    DebootstrapMissing,
    /// A host tool the build needs (`chroot`, `unshare`, `mount`) is missing.
    #[error("the host tool `{0}` was not found; it is part of coreutils/util-linux")]
    ToolMissing(&'static str),
    /// Building the runtime needs root (debootstrap creates device nodes and chroots).
    #[error(
        "building the sandbox runtime needs root (debootstrap runs chroot and mknod); \
         run once as root, or point OSSPREY_RUNTIME_DIR at a runtime built elsewhere"
    )]
    NotRoot,
    /// A build step exited unsuccessfully; `tail` holds its last output lines.
    #[error("{step} failed ({status}); last output:\n{tail}")]
    StepFailed {
        /// What was being run (`debootstrap`, `apt-get install`, …).
        step: String,
        /// The exit status as text.
        status: String,
        /// The last lines the step printed.
        tail: String,
    },
    /// The cached runtime exists but does not pass verification.
    #[error("the runtime at {dir} is incomplete or damaged: {reason}; delete it to rebuild")]
    Corrupt {
        /// The runtime directory.
        dir: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A directory that should be deleted still has something mounted inside it.
    #[error("refusing to delete {0}: something is still mounted inside it")]
    MountedInside(PathBuf),
    /// The package cannot be handed to the drivers (bad name, unsupported archive).
    #[error("cannot drive {package}: {reason}")]
    Driver {
        /// The package as given.
        package: String,
        /// Why.
        reason: String,
    },
    /// An I/O error, with the path it concerned.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl RuntimeError {
    /// A stable, machine-readable code for reports and exit handling.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DebootstrapMissing => "runtime-debootstrap-missing",
            Self::ToolMissing(_) => "runtime-tool-missing",
            Self::NotRoot => "runtime-needs-root",
            Self::StepFailed { .. } => "runtime-build-failed",
            Self::Corrupt { .. } => "runtime-corrupt",
            Self::MountedInside(_) => "runtime-mounted",
            Self::Driver { .. } => "driver-unsupported",
            Self::Io { .. } => "io",
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            context,
            path,
            source,
        }
    }
}
