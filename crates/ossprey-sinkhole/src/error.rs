//! Errors of the sealed network's setup and of fd passing.
//!
//! Serving never fails with these: whatever the sandboxed code sends is data, and
//! the server records or drops it (see `NetworkLog::dropped`).

use nix::errno::Errno;

/// Why the sealed network could not be set up or handed over.
#[derive(Debug, thiserror::Error)]
pub enum SinkholeError {
    /// A system call failed.
    #[error("could not {what}: {errno}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The kernel refused a netlink request.
    #[error("netlink refused to {what}: {errno}")]
    Netlink {
        /// What was being done.
        what: &'static str,
        /// The error the kernel acknowledged the request with.
        errno: Errno,
    },
    /// The network namespace has an interface other than `lo`: traffic could leave.
    #[error("the network namespace is not sealed: it has interfaces {interfaces:?} besides lo")]
    NotSealed {
        /// Every interface other than `lo`.
        interfaces: Vec<String>,
    },
    /// The namespace's interface list could not be read.
    #[error("could not read the namespace's interfaces from {path}: {source}")]
    InterfaceList {
        /// The file read.
        path: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Received file descriptors are not the sinkhole's sockets.
    #[error("the passed file descriptors are not a sinkhole's sockets: {0}")]
    BadFds(String),
}

impl SinkholeError {
    pub(crate) fn sys(what: &'static str, errno: Errno) -> Self {
        Self::Sys { what, errno }
    }

    pub(crate) fn io(what: &'static str, err: &std::io::Error) -> Self {
        Self::Sys {
            what,
            errno: Errno::from_raw(err.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}
