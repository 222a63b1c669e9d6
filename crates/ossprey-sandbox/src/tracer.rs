//! The syscall tracer: runs in the sandbox's init, records what the processes do.
//!
//! Only syscalls the seccomp filter marks `TRACE` stop (see [`crate::seccomp`]); at such a
//! stop the tracer reads the arguments (`PTRACE_GET_SYSCALL_INFO`) and the strings and
//! socket addresses they point to (`process_vm_readv`, bounded), resolves paths against the
//! process's cwd or dirfd (`/proc/<tid>/cwd`, `/proc/<tid>/fd/<n>`, which are in the
//! sandbox's view because the tracer lives there), then lets the syscall run to its exit
//! stop to record the result. Every read is bounded and every failure (a process that died
//! in between, an unmapped pointer) degrades to a shorter event, never a panic: the tracee
//! is hostile and may race us.

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::io::IoSliceMut;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

use crate::decode;
use crate::event::{Event, EventKind, ExitStatus, FileOp, NetOp};
use crate::sys::{self, SyscallInfo, Waited};
use crate::wire::{Wire, send};

/// Longest path or argument string read from a tracee.
const MAX_STRING: usize = 4096;
/// Most argv/envp entries read.
const MAX_ARGS: usize = 256;
/// Most bytes of a socket address read.
const MAX_SOCKADDR: usize = 128;

const PTRACE_EVENT_FORK: i32 = libc::PTRACE_EVENT_FORK;
const PTRACE_EVENT_VFORK: i32 = libc::PTRACE_EVENT_VFORK;
const PTRACE_EVENT_CLONE: i32 = libc::PTRACE_EVENT_CLONE;
const PTRACE_EVENT_EXEC: i32 = libc::PTRACE_EVENT_EXEC;
const PTRACE_EVENT_SECCOMP: i32 = libc::PTRACE_EVENT_SECCOMP;

/// The tracer's state.
pub(crate) struct Tracer<'a> {
    out: BorrowedFd<'a>,
    start: Instant,
    main: Pid,
    capture: &'a [String],
    /// Known processes (thread-group leaders).
    procs: HashMap<i32, ()>,
    /// Threads that are not leaders: tid -> tgid.
    threads: HashMap<i32, i32>,
    /// Events waiting for their syscall's exit stop, by tid.
    pending: HashMap<i32, Event>,
    /// Pids whose end was seen before anything else about them (a child can be reaped
    /// before its parent's fork event is reported): their exit, to report once the fork
    /// event names them.
    gone: HashMap<i32, (Option<i32>, Option<i32>)>,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(
        out: BorrowedFd<'a>,
        start: Instant,
        main: Pid,
        capture: &'a [String],
    ) -> Self {
        Tracer {
            out,
            start,
            main,
            capture,
            procs: HashMap::new(),
            threads: HashMap::new(),
            pending: HashMap::new(),
            gone: HashMap::new(),
        }
    }

    fn emit(&self, pid: i32, kind: EventKind) {
        let event = Event {
            time_ms: self.start.elapsed().as_millis() as u64,
            pid,
            kind,
        };
        let _ = send(self.out, &Wire::Event(event));
    }

    /// Record the main process with the command line it is about to exec.
    pub(crate) fn announce_main(&mut self, argv: &[CString], cwd: &Path) {
        self.procs.insert(self.main.as_raw(), ());
        self.emit(
            self.main.as_raw(),
            EventKind::ProcessStart {
                ppid: 1,
                argv: argv
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
                cwd: cwd.display().to_string(),
            },
        );
    }

    /// Trace until every process of the sandbox has ended.
    pub(crate) fn run(&mut self) {
        loop {
            let waited = match sys::wait_any() {
                Ok(w) => w,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break, // ECHILD: nothing left
            };
            match waited {
                Waited::Exited(pid, code) => self.ended(pid, Some(code), None),
                Waited::Signaled(pid, sig) => self.ended(pid, None, Some(sig)),
                Waited::Stopped { pid, sig, event } => self.stopped(pid, sig, event),
                Waited::Other => {}
            }
        }
    }

    fn stopped(&mut self, pid: Pid, sig: i32, event: i32) {
        self.ensure_known(pid);
        if sig == (libc::SIGTRAP | 0x80) {
            // Syscall-exit stop of a syscall we stopped at its seccomp stop.
            if let Some(mut ev) = self.pending.remove(&pid.as_raw())
                && let Ok(SyscallInfo::Exit { rval }) = sys::syscall_info(pid)
            {
                set_result(&mut ev.kind, rval);
                let _ = send(self.out, &Wire::Event(ev));
            }
            let _ = sys::ptrace_resume(pid, 0, false);
            return;
        }
        match event {
            0 => {
                // Signal-delivery stop: deliver the signal.
                let _ = sys::ptrace_resume(pid, sig, false);
            }
            PTRACE_EVENT_SECCOMP => {
                let ev = match sys::syscall_info(pid) {
                    Ok(SyscallInfo::Entry { nr, args }) => self.decode(pid, nr, args),
                    _ => None,
                };
                match ev {
                    Some(kind) => {
                        let event = Event {
                            time_ms: self.start.elapsed().as_millis() as u64,
                            pid: self.tgid(pid),
                            kind,
                        };
                        self.pending.insert(pid.as_raw(), event);
                        let _ = sys::ptrace_resume(pid, 0, true);
                    }
                    None => {
                        let _ = sys::ptrace_resume(pid, 0, false);
                    }
                }
            }
            PTRACE_EVENT_FORK | PTRACE_EVENT_VFORK | PTRACE_EVENT_CLONE => {
                if let Ok(child) = nix::sys::ptrace::getevent(pid) {
                    let child = child as i32;
                    if let Some((code, signal)) = self.gone.remove(&child) {
                        // Already ended and reaped: a process unless it was a clone we can
                        // no longer classify (then most likely a thread).
                        if event != PTRACE_EVENT_CLONE {
                            self.announce(child, self.tgid(pid), Vec::new(), String::new());
                            self.emit(child, EventKind::ProcessExit { code, signal });
                            self.procs.remove(&child);
                        }
                    } else {
                        self.ensure_known(Pid::from_raw(child));
                    }
                }
                let _ = sys::ptrace_resume(pid, 0, false);
            }
            PTRACE_EVENT_EXEC => {
                // A multi-threaded exec: the execing thread took over the leader's pid.
                if let Ok(former) = nix::sys::ptrace::getevent(pid) {
                    let former = former as i32;
                    if former != pid.as_raw() {
                        if let Some(ev) = self.pending.remove(&former) {
                            self.pending.insert(pid.as_raw(), ev);
                        }
                        self.threads.remove(&former);
                    }
                }
                // The exec succeeded; its exit stop follows, but the result is known now.
                if let Some(mut ev) = self.pending.remove(&pid.as_raw()) {
                    set_result(&mut ev.kind, 0);
                    let _ = send(self.out, &Wire::Event(ev));
                }
                let _ = sys::ptrace_resume(pid, 0, false);
            }
            _ => {
                // PTRACE_EVENT_STOP (a new tracee's first stop, or a group stop): resume.
                // Sandboxed processes cannot stop themselves; that is fine.
                let _ = sys::ptrace_resume(pid, 0, false);
            }
        }
    }

    fn ended(&mut self, pid: Pid, code: Option<i32>, signal: Option<i32>) {
        let raw = pid.as_raw();
        if let Some(ev) = self.pending.remove(&raw) {
            let _ = send(self.out, &Wire::Event(ev));
        }
        if self.threads.remove(&raw).is_some() {
            return;
        }
        if self.procs.remove(&raw).is_some() {
            self.emit(raw, EventKind::ProcessExit { code, signal });
        } else if pid != self.main && self.gone.len() < 4096 {
            self.gone.insert(raw, (code, signal));
        }
        if pid == self.main {
            let _ = send(
                self.out,
                &Wire::MainExited {
                    pid: raw,
                    status: ExitStatus { code, signal },
                },
            );
        }
    }

    fn tgid(&self, pid: Pid) -> i32 {
        self.threads
            .get(&pid.as_raw())
            .copied()
            .unwrap_or(pid.as_raw())
    }

    /// Register a pid seen for the first time: a thread, or a new process (event).
    fn ensure_known(&mut self, pid: Pid) {
        let raw = pid.as_raw();
        if self.procs.contains_key(&raw) || self.threads.contains_key(&raw) {
            return;
        }
        let status = std::fs::read_to_string(format!("/proc/{raw}/status")).unwrap_or_default();
        let field = |name: &str| -> Option<i32> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        let tgid = field("Tgid:").unwrap_or(raw);
        if tgid != raw {
            self.threads.insert(raw, tgid);
            return;
        }
        let argv = read_cmdline(raw);
        let cwd = std::fs::read_link(format!("/proc/{raw}/cwd"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.announce(raw, field("PPid:").unwrap_or(0), argv, cwd);
    }

    fn announce(&mut self, pid: i32, ppid: i32, argv: Vec<String>, cwd: String) {
        self.procs.insert(pid, ());
        self.emit(pid, EventKind::ProcessStart { ppid, argv, cwd });
    }

    /// Turn a traced syscall into an event (result still unknown).
    fn decode(&self, pid: Pid, nr: i64, a: [u64; 6]) -> Option<EventKind> {
        let at = |dirfd: u64, ptr: u64| -> Option<String> {
            let path = read_string(pid, ptr)?;
            Some(decode::resolve(&base_dir(pid, dirfd as i32), &path))
        };
        let cwd = libc::AT_FDCWD as u64;
        let file = |op: FileOp, path: String, target: Option<String>, mode: Option<u32>| {
            let create = matches!(op, FileOp::Mkdir | FileOp::Symlink | FileOp::Link);
            EventKind::File {
                op,
                path,
                read: false,
                write: true,
                create,
                target,
                mode,
                result: None,
            }
        };
        let open = |path: String, flags: u64, mode: u64| {
            let (read, write, create, _trunc) = decode::open_intent(flags);
            EventKind::File {
                op: FileOp::Open,
                path,
                read,
                write,
                create,
                target: None,
                mode: create.then_some(mode as u32),
                result: None,
            }
        };
        #[cfg(target_arch = "x86_64")]
        match nr {
            libc::SYS_open => return Some(open(at(cwd, a[0])?, a[1], a[2])),
            libc::SYS_creat => {
                let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
                return Some(open(at(cwd, a[0])?, flags, a[1]));
            }
            libc::SYS_unlink | libc::SYS_rmdir => {
                return Some(file(FileOp::Delete, at(cwd, a[0])?, None, None));
            }
            libc::SYS_rename => {
                return Some(file(FileOp::Rename, at(cwd, a[0])?, at(cwd, a[1]), None));
            }
            libc::SYS_chmod => {
                return Some(file(FileOp::Chmod, at(cwd, a[0])?, None, Some(a[1] as u32)));
            }
            libc::SYS_mkdir => {
                return Some(file(FileOp::Mkdir, at(cwd, a[0])?, None, Some(a[1] as u32)));
            }
            libc::SYS_symlink => {
                return Some(file(
                    FileOp::Symlink,
                    at(cwd, a[1])?,
                    read_string(pid, a[0]),
                    None,
                ));
            }
            libc::SYS_link => {
                return Some(file(FileOp::Link, at(cwd, a[1])?, at(cwd, a[0]), None));
            }
            _ => {}
        }
        match nr {
            libc::SYS_openat => Some(open(at(a[0], a[1])?, a[2], a[3])),
            libc::SYS_openat2 => {
                // struct open_how { u64 flags; u64 mode; u64 resolve; }
                let how = read_bytes(pid, a[2], 16);
                let word = |i: usize| {
                    how.get(i * 8..i * 8 + 8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_ne_bytes)
                        .unwrap_or(0)
                };
                Some(open(at(a[0], a[1])?, word(0), word(1)))
            }
            libc::SYS_unlinkat => Some(file(FileOp::Delete, at(a[0], a[1])?, None, None)),
            libc::SYS_renameat | libc::SYS_renameat2 => {
                Some(file(FileOp::Rename, at(a[0], a[1])?, at(a[2], a[3]), None))
            }
            libc::SYS_fchmod => {
                let path = std::fs::read_link(format!("/proc/{pid}/fd/{}", a[0] as i32))
                    .ok()?
                    .display()
                    .to_string();
                Some(file(FileOp::Chmod, path, None, Some(a[1] as u32)))
            }
            libc::SYS_fchmodat | crate::seccomp::SYS_FCHMODAT2 => Some(file(
                FileOp::Chmod,
                at(a[0], a[1])?,
                None,
                Some(a[2] as u32),
            )),
            libc::SYS_mkdirat => Some(file(
                FileOp::Mkdir,
                at(a[0], a[1])?,
                None,
                Some(a[2] as u32),
            )),
            libc::SYS_symlinkat => Some(file(
                FileOp::Symlink,
                at(a[1], a[2])?,
                read_string(pid, a[0]),
                None,
            )),
            libc::SYS_linkat => Some(file(FileOp::Link, at(a[2], a[3])?, at(a[0], a[1]), None)),
            libc::SYS_execve => Some(self.exec(pid, at(cwd, a[0])?, a[1], a[2])),
            libc::SYS_execveat => {
                let path = if a[4] as i32 & libc::AT_EMPTY_PATH != 0
                    && read_string(pid, a[1]).unwrap_or_default().is_empty()
                {
                    base_dir(pid, a[0] as i32).display().to_string()
                } else {
                    at(a[0], a[1])?
                };
                Some(self.exec(pid, path, a[2], a[3]))
            }
            libc::SYS_socket => Some(EventKind::Socket {
                family: decode::family_name(a[0] as i32),
                socket_type: decode::socket_type_name(a[1] as i32),
                protocol: a[2] as i32,
                result: None,
            }),
            libc::SYS_connect | libc::SYS_bind => {
                let len = (a[2] as usize).min(MAX_SOCKADDR);
                let address = decode::sockaddr(&read_bytes(pid, a[1], len))?;
                let op = if nr == libc::SYS_connect {
                    NetOp::Connect
                } else {
                    NetOp::Bind
                };
                Some(EventKind::Network {
                    op,
                    fd: a[0] as i32,
                    address,
                    result: None,
                })
            }
            libc::SYS_listen => Some(EventKind::Listen {
                fd: a[0] as i32,
                result: None,
            }),
            libc::SYS_sendto => {
                let len = (a[5] as usize).min(MAX_SOCKADDR);
                let address = decode::sockaddr(&read_bytes(pid, a[4], len))?;
                Some(EventKind::Network {
                    op: NetOp::Send,
                    fd: a[0] as i32,
                    address,
                    result: None,
                })
            }
            libc::SYS_sendmsg | libc::SYS_sendmmsg => {
                // struct msghdr starts with { void *msg_name; socklen_t msg_namelen; }, and
                // struct mmsghdr with a msghdr: the first message's destination.
                let hdr = read_bytes(pid, a[1], 16);
                let name = u64::from_ne_bytes(hdr.get(0..8)?.try_into().ok()?);
                let len = u32::from_ne_bytes(hdr.get(8..12)?.try_into().ok()?) as usize;
                if name == 0 || len == 0 {
                    return None;
                }
                let address = decode::sockaddr(&read_bytes(pid, name, len.min(MAX_SOCKADDR)))?;
                Some(EventKind::Network {
                    op: NetOp::Send,
                    fd: a[0] as i32,
                    address,
                    result: None,
                })
            }
            _ => None,
        }
    }

    fn exec(&self, pid: Pid, path: String, argv_ptr: u64, envp_ptr: u64) -> EventKind {
        let argv = read_string_array(pid, argv_ptr);
        let mut env = BTreeMap::new();
        for entry in read_string_array(pid, envp_ptr) {
            if let Some((name, value)) = entry.split_once('=')
                && self.captures(name)
            {
                env.insert(name.to_owned(), value.to_owned());
            }
        }
        EventKind::Exec {
            path,
            argv,
            env,
            result: None,
        }
    }

    fn captures(&self, name: &str) -> bool {
        self.capture.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        })
    }
}

fn set_result(kind: &mut EventKind, rval: i64) {
    match kind {
        EventKind::Exec { result, .. }
        | EventKind::File { result, .. }
        | EventKind::Socket { result, .. }
        | EventKind::Network { result, .. }
        | EventKind::Listen { result, .. } => *result = Some(rval),
        EventKind::ProcessStart { .. } | EventKind::ProcessExit { .. } => {}
    }
}

/// The directory a relative path of `pid` is resolved against.
fn base_dir(pid: Pid, dirfd: i32) -> PathBuf {
    let link = if dirfd == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{dirfd}")
    };
    std::fs::read_link(link).unwrap_or_else(|_| PathBuf::from("/"))
}

fn read_cmdline(pid: i32) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .take(MAX_ARGS)
        .map(|s| String::from_utf8_lossy(&s[..s.len().min(MAX_STRING)]).into_owned())
        .collect()
}

/// Read up to `len` bytes at `addr` of the tracee; fewer if part is unmapped.
fn read_bytes(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    if addr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let n = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote).unwrap_or(0);
    buf.truncate(n);
    buf
}

/// Read a NUL-terminated string (at most [`MAX_STRING`] bytes), page by page so that a
/// string ending just before an unmapped page is still read.
fn read_string(pid: Pid, addr: u64) -> Option<String> {
    if addr == 0 {
        return None;
    }
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut cur = addr;
    while out.len() < MAX_STRING {
        let chunk = (PAGE - cur % PAGE).min((MAX_STRING - out.len()) as u64) as usize;
        let bytes = read_bytes(pid, cur, chunk);
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            out.extend_from_slice(&bytes[..end]);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        if bytes.len() < chunk {
            break;
        }
        out.extend_from_slice(&bytes);
        cur += chunk as u64;
    }
    (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
}

/// Read a NULL-terminated array of string pointers (argv, envp), bounded.
fn read_string_array(pid: Pid, addr: u64) -> Vec<String> {
    let mut out = Vec::new();
    if addr == 0 {
        return out;
    }
    let ptrs = read_bytes(pid, addr, MAX_ARGS * 8);
    let mut total = 0usize;
    for chunk in ptrs.chunks_exact(8) {
        let p = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
        if p == 0 || total > 64 * 1024 {
            break;
        }
        let s = read_string(pid, p).unwrap_or_default();
        total += s.len();
        out.push(s);
    }
    out
}
