//! The gVisor backend's sealed network: the native backend's namespace, used through
//! runsc's `--network=host`.
//!
//! A child process creates a fresh network namespace, brings `lo` up and runs the
//! [`NetnsHook`] there exactly as the native sandbox's init does (the sinkhole's `local
//! default` route, nftables redirect and listening sockets, ending with its own "only
//! `lo`" check); the sockets are passed to the supervisor and served from outside, and
//! the child then only holds the namespace until the run ends. runsc is started inside
//! that namespace (`nsenter --net`) with `--network=host`: the sentry makes the
//! package's socket calls on the host kernel *in this namespace*, so the nft redirect,
//! `SO_ORIGINAL_DST` and the DNS/UDP sockets capture everything as for a native run, and
//! nothing can leave because the namespace has no interface but `lo` (checked again from
//! `/proc/<holder>/net/dev` before runsc starts).
//!
//! Why not gVisor's own netstack (`--network=sandbox`) behind a veth: Debian's runsc
//! (0.0~20221219) decides it is in the root namespace whenever
//! `/proc/sys/net/core/rmem_default` exists, which on current kernels is every namespace,
//! and refuses to start. See `docs/sandbox-gvisor.md`.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, setsockopt, socketpair, sockopt};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};

use crate::error::{SandboxError, sys as sys_err};
use crate::netns::{NetnsHook, parse_net_dev, recv_fds, send_fds};
use crate::sys;

/// Most seconds the hook may take to configure the namespace.
const HOOK_TIMEOUT_SECS: i64 = 20;

/// The sealed namespace of one run, held by a paused child; dropping it ends the child.
#[derive(Debug)]
pub(super) struct Network {
    holder: Pid,
    /// Interfaces of the namespace, read after the hook ran (only `lo`).
    pub interfaces: Vec<String>,
}

impl Network {
    /// Create the namespace, configure it with `hook`, serve the hook's sockets, and
    /// verify it is sealed.
    pub(super) fn create(hook: &dyn NetnsHook) -> Result<Self, SandboxError> {
        let (parent, child) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(sys_err("socketpair"))?;
        let holder = match sys::fork().map_err(sys_err("fork"))? {
            ForkResult::Child => {
                drop(parent);
                if let Err(e) = holder_setup(hook, child.as_fd()) {
                    eprintln!("ossprey gvisor network: {e}");
                    sys::exit_now(1);
                }
                drop(child);
                loop {
                    nix::unistd::pause();
                }
            }
            ForkResult::Parent { child: pid } => pid,
        };
        drop(child);
        // A hook that hangs (a stuck `nft`) must not hang the run: bounded wait.
        setsockopt(
            &parent,
            sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(HOOK_TIMEOUT_SECS, 0),
        )
        .map_err(sys_err("setsockopt(SO_RCVTIMEO)"))?;
        // Owned from here on: dropping `net` kills and reaps the holder.
        let mut net = Network {
            holder,
            interfaces: Vec::new(),
        };
        let sockets = recv_fds(parent.as_fd()).unwrap_or_default();
        // No sockets is fine for a hook that opens none, but also what a holder that
        // failed and exited leaves: tell them apart by whether it is still there.
        if sockets.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let holder_gone = !matches!(
            waitpid(holder, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
            Ok(nix::sys::wait::WaitStatus::StillAlive)
        );
        if holder_gone {
            return Err(SandboxError::Backend(
                "gvisor: the network hook failed in the sandbox's namespace (see stderr)".into(),
            ));
        }
        hook.serve(sockets);
        let names = parse_net_dev(&std::fs::read_to_string(format!("/proc/{holder}/net/dev"))?);
        if names != ["lo"] {
            return Err(SandboxError::Backend(format!(
                "gvisor: the sandbox's network namespace has interfaces {names:?}, not only lo; refusing to run"
            )));
        }
        net.interfaces = names;
        Ok(net)
    }

    /// The namespace runsc is started in.
    pub(super) fn netns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.holder))
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = kill(self.holder, Signal::SIGKILL);
        let _ = waitpid(self.holder, None);
    }
}

/// In the forked holder: a new namespace, `lo` up, the hook, its sockets passed up.
fn holder_setup(hook: &dyn NetnsHook, pass: BorrowedFd<'_>) -> Result<(), String> {
    // Die with the supervisor: the namespace must not outlive the run.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(net): {e}"))?;
    sys::loopback_up().map_err(|e| format!("lo up: {e}"))?;
    let sockets = hook.configure()?;
    send_fds(pass, &sockets).map_err(|e| format!("passing sockets: {e}"))
}
