//! Passing sockets out of the namespace: `SCM_RIGHTS` over a unix socket.
//!
//! The sandbox's child creates the sinkhole's sockets inside its network namespace and
//! sends them to the supervisor, which serves them from outside. This module holds the
//! crate's only `unsafe`: taking ownership of the descriptors the kernel just installed.
#![allow(unsafe_code)]

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use crate::error::SinkholeError;

/// The most descriptors one [`recv_fds`] accepts.
pub const MAX_FDS: usize = 16;

/// Sends `fds` (at most [`MAX_FDS`]) with one byte of payload over `sock`.
///
/// The sender keeps its own copies; close them afterwards so the namespace side holds
/// no listening socket the package could find and use.
pub fn send_fds(sock: &UnixStream, fds: &[BorrowedFd<'_>]) -> Result<(), SinkholeError> {
    if fds.is_empty() || fds.len() > MAX_FDS {
        return Err(SinkholeError::BadFds(format!(
            "can pass 1 to {MAX_FDS} descriptors, not {}",
            fds.len()
        )));
    }
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let payload = [b'F'];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&payload)],
        &[ControlMessage::ScmRights(&raw)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| SinkholeError::sys("send descriptors over the unix socket", e))?;
    Ok(())
}

/// Receives the descriptors one [`send_fds`] sent. Blocks until they arrive; an
/// end-of-file (the child died first) is an error. The descriptors are close-on-exec.
pub fn recv_fds(sock: &UnixStream) -> Result<Vec<OwnedFd>, SinkholeError> {
    let mut payload = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| SinkholeError::sys("receive descriptors over the unix socket", e))?;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().into_iter().flatten() {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            for fd in raw {
                // SAFETY: the kernel has just installed `fd` in this process for this
                // message; nothing else refers to it, so it is ours to own and close.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        return Err(SinkholeError::BadFds(
            "more descriptors than expected were sent; the extra were discarded".into(),
        ));
    }
    if msg.bytes == 0 && fds.is_empty() {
        return Err(SinkholeError::BadFds(
            "the sender closed the socket without sending descriptors".into(),
        ));
    }
    Ok(fds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn descriptors_survive_the_trip_and_still_work() {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut p1, p2) = UnixStream::pair().unwrap();
        send_fds(&a, &[p2.as_fd()]).unwrap();
        drop(p2);
        let fds = recv_fds(&b).unwrap();
        assert_eq!(fds.len(), 1);
        let mut received = UnixStream::from(fds.into_iter().next().unwrap());
        p1.write_all(b"through").unwrap();
        let mut buf = [0u8; 7];
        received.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"through");
    }

    #[test]
    fn a_closed_sender_is_an_error_not_an_empty_list() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(matches!(recv_fds(&b), Err(SinkholeError::BadFds(_))));
    }
}
