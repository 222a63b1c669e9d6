//! The sandbox's network namespace: sealed, with a hook for the sinkhole.
//!
//! The namespace is created empty (the kernel gives it only a down `lo`); the sandbox
//! brings `lo` up and then lets a [`NetnsHook`] configure it (routes, redirects) and create
//! listening sockets *inside* it. Those sockets are passed to the supervisor over a Unix
//! socket pair (`SCM_RIGHTS`): a socket keeps the namespace it was created in, so the
//! supervisor serves the sandbox's traffic without ever joining the namespace, and the
//! sandboxed code can neither see nor kill the server.
//!
//! Before the command runs, the sandbox lists the namespace's interfaces from inside it
//! and refuses to run when there is anything but `lo`: no route out can exist without an
//! interface.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// Plug-in for the sandbox's network namespace (implemented by the sinkhole).
pub trait NetnsHook: Send + Sync + std::fmt::Debug {
    /// Runs inside the sandbox's fresh network namespace, in the sandbox's init process
    /// before the filesystem is switched (the host's binaries, e.g. `nft`, are still
    /// reachable), after `lo` is up. Returns listening sockets created in the namespace.
    ///
    /// It runs in a forked child of a possibly multi-threaded process: keep to syscalls
    /// and spawning programs.
    fn configure(&self) -> Result<Vec<OwnedFd>, String>;

    /// Runs in the supervisor with the sockets `configure` returned, in the same order,
    /// before the sandboxed command starts. Typically starts a server thread.
    fn serve(&self, sockets: Vec<OwnedFd>);
}

/// Names of the network interfaces of the calling process's network namespace.
pub fn interfaces_of_current_netns() -> std::io::Result<Vec<String>> {
    let text = std::fs::read_to_string("/proc/self/net/dev")?;
    Ok(parse_net_dev(&text))
}

/// Parse `/proc/net/dev`: two header lines, then `name: counters…` per interface.
pub(crate) fn parse_net_dev(text: &str) -> Vec<String> {
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

/// Most sockets a hook may pass.
pub(crate) const MAX_PASSED_FDS: usize = 16;

/// Send `fds` over the Unix socket `sock` in one message (a count byte, then the rights).
pub(crate) fn send_fds(sock: BorrowedFd<'_>, fds: &[OwnedFd]) -> nix::Result<()> {
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let count = [raw.len() as u8];
    let iov = [IoSlice::new(&count)];
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &cmsg };
    sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None)?;
    Ok(())
}

/// Receive what [`send_fds`] sent.
pub(crate) fn recv_fds(sock: BorrowedFd<'_>) -> nix::Result<Vec<OwnedFd>> {
    let mut count = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut count)];
    let mut space = nix::cmsg_space!([RawFd; MAX_PASSED_FDS]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut out = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for fd in fds {
                out.push(own_received(fd)?);
            }
        }
    }
    Ok(out)
}

/// Take ownership of a descriptor the kernel just installed for us (`SCM_RIGHTS`).
fn own_received(fd: RawFd) -> nix::Result<OwnedFd> {
    crate::sys::own_fd(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_dev() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 0 0 0\n  eth0: 1 2 3\n";
        assert_eq!(parse_net_dev(text), ["lo", "eth0"]);
    }

    #[test]
    fn passes_descriptors_over_a_socketpair() {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
        use std::io::{Read, Write};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        send_fds(std::os::fd::AsFd::as_fd(&a), &[w]).unwrap();
        let got = recv_fds(std::os::fd::AsFd::as_fd(&b)).unwrap();
        assert_eq!(got.len(), 1);
        let mut w = std::fs::File::from(got.into_iter().next().unwrap());
        w.write_all(b"hi").unwrap();
        drop(w);
        let mut s = String::new();
        std::fs::File::from(r).read_to_string(&mut s).unwrap();
        assert_eq!(s, "hi");
    }
}
