//! What the tracer records, and what a phase returns.
//!
//! Field names follow SPEC capability 5 and, where it has one, the reference system's
//! schema (OpenSSF package-analysis: `Files{Path,Read,Write,Delete}`,
//! `Sockets{Address,Port}`, `Commands{Command,Environment}`). These types will move into
//! `ossprey-model` as the report's `dynamic` object; until then they live here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One thing a sandboxed process did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the phase started.
    pub time_ms: u64,
    /// Process id inside the sandbox (its pid namespace; the tracer is pid 1).
    pub pid: i32,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A new process (fork/vfork/clone without `CLONE_THREAD`).
    ProcessStart {
        /// Parent pid inside the sandbox.
        ppid: i32,
        /// Command line at the time it was first seen (a fork copies its parent's).
        argv: Vec<String>,
        /// Working directory.
        cwd: String,
    },
    /// `execve`/`execveat`.
    Exec {
        /// The program, resolved against the working directory.
        path: String,
        /// Arguments (bounded).
        argv: Vec<String>,
        /// The recorded subset of the environment (see `Policy::env_capture`).
        env: BTreeMap<String, String>,
        /// Syscall result: 0, or a negative errno. `None` if it never returned.
        result: Option<i64>,
    },
    /// A process ended.
    ProcessExit {
        /// Exit code, when it exited.
        code: Option<i32>,
        /// Signal number, when a signal killed it.
        signal: Option<i32>,
    },
    /// A file-system operation.
    File {
        /// The operation.
        op: FileOp,
        /// Absolute path inside the sandbox (resolved lexically against cwd/dirfd).
        path: String,
        /// Opened for reading.
        read: bool,
        /// Opened for writing (or the operation modifies the file).
        write: bool,
        /// May create the file (`O_CREAT`, `creat`, `mkdir`, `symlink`, `link`).
        create: bool,
        /// The second path: rename destination, symlink or link target.
        target: Option<String>,
        /// Mode argument of `chmod`/`mkdir`/`open` with `O_CREAT`.
        mode: Option<u32>,
        /// Syscall result (fd or 0, or a negative errno). `None` if it never returned.
        result: Option<i64>,
    },
    /// `socket(2)`.
    Socket {
        /// Address family (`inet`, `inet6`, `unix`, `netlink`, `packet`, or a number).
        family: String,
        /// `stream`, `dgram`, `raw`, … or a number.
        socket_type: String,
        /// Protocol number.
        protocol: i32,
        /// The new fd or a negative errno.
        result: Option<i64>,
    },
    /// `connect`, `bind`, `sendto`/`sendmsg`/`sendmmsg` with a destination.
    Network {
        /// The operation.
        op: NetOp,
        /// The socket fd.
        fd: i32,
        /// Decoded address.
        address: SocketAddress,
        /// Syscall result. `None` if it never returned.
        result: Option<i64>,
    },
    /// `listen(2)`.
    Listen {
        /// The socket fd.
        fd: i32,
        /// Syscall result.
        result: Option<i64>,
    },
}

/// File-system operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOp {
    /// `open`, `openat`, `openat2`, `creat`.
    Open,
    /// `unlink`, `unlinkat`, `rmdir`.
    Delete,
    /// `rename`, `renameat`, `renameat2` (`target` is the destination).
    Rename,
    /// `chmod`, `fchmod`, `fchmodat`, `fchmodat2`.
    Chmod,
    /// `mkdir`, `mkdirat`.
    Mkdir,
    /// `symlink`, `symlinkat` (`path` is the new link, `target` what it points to).
    Symlink,
    /// `link`, `linkat` (`path` is the new name, `target` the existing file).
    Link,
}

/// Socket operations with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetOp {
    /// `connect`.
    Connect,
    /// `bind`.
    Bind,
    /// `sendto`/`sendmsg`/`sendmmsg` to an explicit destination.
    Send,
}

/// A decoded `sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum SocketAddress {
    /// IPv4 or IPv6.
    Inet {
        /// Address.
        address: IpAddr,
        /// Port.
        port: u16,
    },
    /// A Unix socket path; `abstract_name` for the abstract namespace.
    Unix {
        /// Path (or abstract name).
        path: String,
        /// Abstract namespace (leading NUL).
        abstract_name: bool,
    },
    /// Any other family (netlink, packet, …), by number.
    Other {
        /// `sa_family`.
        family_number: u16,
    },
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    /// The main process ended before the deadline (whatever its exit code).
    Completed,
    /// The deadline killed the main process.
    Timeout,
    /// The sandbox could not start the command (setup failure, program not found).
    Error,
}

/// Exit of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal number, when a signal killed it.
    pub signal: Option<i32>,
}

/// Bounded capture of an output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// The first bytes, lossily decoded as UTF-8.
    pub text: String,
    /// Total bytes written (kept or not).
    pub total_bytes: u64,
    /// Whether `text` is only a prefix.
    pub truncated: bool,
}

/// One process of the phase, as the supervisor reconstructed it from events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Pid inside the sandbox.
    pub pid: i32,
    /// Parent pid inside the sandbox.
    pub ppid: i32,
    /// Last known command line (after its last exec).
    pub argv: Vec<String>,
    /// How it ended, if it ended before the phase did.
    pub exit: Option<ExitStatus>,
    /// Still running when the phase's main process ended.
    pub outlived_main: bool,
    /// Killed by the end of the phase (deadline or end of linger).
    pub killed_at_end: bool,
}

/// Which isolation layers were in force, and what was degraded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationReport {
    /// Interfaces of the sandbox's network namespace, read from inside it before the
    /// command started. Anything but `["lo"]` makes the sandbox refuse to run.
    pub interfaces: Vec<String>,
    /// Landlock status (`fully_enforced`, `partially_enforced`, `not_enforced`).
    pub landlock: String,
    /// Whether cgroup limits (memory, pids) were applied.
    pub cgroup: bool,
    /// Peak memory of the sandbox (cgroup), when known.
    pub peak_memory_bytes: Option<u64>,
    /// Degradations and remarks (missing kernel features, unusable cgroups, …).
    pub notes: Vec<String>,
}

/// The outcome of one sandboxed phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseResult {
    /// How it ended.
    pub status: PhaseStatus,
    /// Why, when `status` is `error`.
    pub error: Option<String>,
    /// Exit of the main process, when it ended.
    pub exit: Option<ExitStatus>,
    /// Wall-clock duration, from fork to teardown.
    pub duration_ms: u64,
    /// Standard output of all processes (bounded).
    pub stdout: Captured,
    /// Standard error of all processes (bounded).
    pub stderr: Captured,
    /// Everything the tracer recorded, in order.
    pub events: Vec<Event>,
    /// Every process, with whether it outlived the main process.
    pub processes: Vec<ProcessRecord>,
    /// Isolation layers in force.
    pub isolation: IsolationReport,
}

impl PhaseResult {
    /// Processes still running when the main process ended (daemons, background jobs).
    pub fn outlived_main(&self) -> impl Iterator<Item = &ProcessRecord> {
        self.processes.iter().filter(|p| p.outlived_main)
    }

    /// File events on `path`.
    pub fn file_events<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .filter(move |e| matches!(&e.kind, EventKind::File { path: p, .. } if p == path))
    }
}
