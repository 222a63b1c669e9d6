//! The messages the sandbox's processes send to the supervisor: JSON lines on one pipe.
//!
//! JSON because it is self-delimiting per line, debuggable with `strace -s`, and the
//! event types are serde already; the volume (one line per traced syscall) is small next to
//! the cost of the ptrace stop that produced it.

use std::os::fd::BorrowedFd;

use serde::{Deserialize, Serialize};

use crate::event::{Event, ExitStatus};

/// One message from the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Wire {
    /// Interfaces of the network namespace, read from inside before the command ran.
    Interfaces(Vec<String>),
    /// Landlock status.
    Landlock(String),
    /// A remark for the isolation report.
    Note(String),
    /// A traced event.
    Event(Event),
    /// The main process ended.
    MainExited { pid: i32, status: ExitStatus },
    /// The sandbox could not be set up or the command not started.
    SetupError(String),
    /// Init is done: every process of the sandbox has ended.
    Done,
}

/// Write one message as a line. Lines up to `PIPE_BUF` are atomic, which matters only for
/// the command's pre-exec messages (init is otherwise the only writer).
pub(crate) fn send(fd: BorrowedFd<'_>, msg: &Wire) -> nix::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(|_| nix::errno::Errno::EINVAL)?;
    line.push(b'\n');
    let mut rest = &line[..];
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
