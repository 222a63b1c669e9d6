//! Detonation sandbox: Linux namespaces, seccomp, landlock and rlimits around a command,
//! with a ptrace-based tracer that records what it does, and a phase runner that bounds it
//! in time and output.
//!
//! ```no_run
//! use ossprey_sandbox::{Phase, Policy, RootFs, Sandbox};
//! use std::time::Duration;
//!
//! let policy = Policy::new(RootFs::from_dir("/var/cache/ossprey/rootfs"));
//! let phase = Phase::new(["sh", "-c", "echo hi > /tmp/x"]).timeout(Duration::from_secs(10));
//! let result = Sandbox::new().run(&policy, &phase)?;
//! println!("{:?} {}", result.status, result.stdout.text);
//! # Ok::<(), ossprey_sandbox::SandboxError>(())
//! ```
//!
//! # Design
//!
//! *Policy* ([`Policy`], [`Phase`]: what is visible, writable, how much of each resource,
//! how long) is plain data; the *mechanism* lives in the private modules: `plan` turns
//! the policy into mount steps before forking, `child` runs the bridge / init / command
//! processes (see its docs for the process tree and why the tracer is the sandbox's pid 1),
//! `tracer` records syscalls, `seccomp` lists what is denied and traced, `cgroup` applies
//! cgroup v1 limits, `netns` seals the network and hands sockets to a [`NetnsHook`], and
//! `sys` holds the crate's only `unsafe` code.
//!
//! The supervisor (the caller's thread) only reads pipes and enforces the deadline: it
//! kills the bridge process, init dies with it (`PR_SET_PDEATHSIG`), and the kernel kills
//! every process of the pid namespace. Nothing the sandboxed code does can make
//! [`Sandbox::run`] panic or hang past the deadline plus a few seconds.
//!
//! **Must never**: give the sandbox a network interface other than `lo` (init checks from
//! inside and refuses to run), bind a host path the policy did not name, or run package
//! code outside the sandbox.

mod cgroup;
pub mod check;
mod child;
mod decode;
mod error;
mod event;
pub mod gvisor;
mod netns;
mod plan;
mod policy;
mod seccomp;
mod sys;
mod tracer;
mod wire;

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::unistd::{ForkResult, pipe2};

pub use error::SandboxError;
pub use event::{
    Captured, Event, EventKind, ExitStatus, FileOp, IsolationReport, NetOp, PhaseResult,
    PhaseStatus, ProcessRecord, SocketAddress,
};
pub use netns::{NetnsHook, interfaces_of_current_netns};
pub use policy::{Bind, HostIdentity, Limits, Phase, Policy, RootFs, TmpfsMount};

use crate::error::sys as sys_err;
use crate::wire::Wire;

/// How long the supervisor waits for the sandbox's processes to vanish after killing it
/// before giving up on the rest of their output.
const TEARDOWN_GRACE: Duration = Duration::from_secs(5);

/// Most events kept per phase; more are counted in a note. A package that opens a million
/// files must not exhaust the analyser's memory.
const MAX_EVENTS: usize = 200_000;

/// Which isolation runs the phases: the same policy, phases and events either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    /// Namespaces, seccomp, landlock and the ptrace tracer on the host kernel.
    #[default]
    Native,
    /// gVisor's `runsc` (a user-space kernel in between), recorded from its syscall log.
    Gvisor,
}

impl Backend {
    /// Both backends, native first.
    pub const ALL: [Backend; 2] = [Backend::Native, Backend::Gvisor];

    /// `native` or `gvisor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Native => "native",
            Backend::Gvisor => "gvisor",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" => Ok(Backend::Native),
            "gvisor" => Ok(Backend::Gvisor),
            other => Err(format!(
                "unknown sandbox backend {other:?} (native or gvisor)"
            )),
        }
    }
}

/// Runs phases in fresh sandboxes.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    hook: Option<Arc<dyn NetnsHook>>,
    backend: Backend,
}

impl Sandbox {
    /// A sandbox whose network namespace has only `lo`.
    pub fn new() -> Self {
        Sandbox::default()
    }

    /// Let `hook` configure each run's network namespace and serve its sockets
    /// (the sinkhole).
    pub fn with_netns_hook(mut self, hook: Arc<dyn NetnsHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Run phases with `backend` instead of the native one.
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// The backend phases run with.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Run `phase` in a fresh sandbox built from `policy`, until its main process ends
    /// (plus `phase.linger`) or its deadline, whichever comes first; then kill everything
    /// left.
    ///
    /// Errors are problems of the host (bad policy, a failing kernel call of the
    /// supervisor). Everything about the sandboxed command — including failing to start —
    /// is in the [`PhaseResult`].
    pub fn run(&self, policy: &Policy, phase: &Phase) -> Result<PhaseResult, SandboxError> {
        if phase.argv.is_empty() {
            return Err(SandboxError::Policy("empty command".into()));
        }
        if self.backend == Backend::Gvisor {
            return gvisor::run(self.hook.as_deref(), policy, phase);
        }
        let cstr = |s: &str| {
            CString::new(s).map_err(|_| SandboxError::Policy(format!("NUL byte in {s:?}")))
        };
        let argv = phase
            .argv
            .iter()
            .map(|a| cstr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let env_pairs = phase_env(policy, phase);
        let env = env_pairs
            .iter()
            .map(|(k, v)| cstr(&format!("{k}={v}")))
            .collect::<Result<Vec<_>, _>>()?;
        let path_var = phase
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "/usr/bin:/bin".into());

        let plan = plan::mount_plan(policy)?;
        let filters = seccomp::filters()?;
        let mut notes = Vec::new();
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let run_name = format!(
            "{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let cgroups = cgroup::RunCgroups::create(
            &run_name,
            policy.limits.cgroup_memory_bytes,
            policy.limits.cgroup_max_pids,
            &mut notes,
        );
        let mut writable = policy.writable_paths();
        writable.push("/dev/shm".into());

        let (events_r, events_w) = pipe2(OFlag::O_CLOEXEC).map_err(sys_err("pipe"))?;
        let (stdout_r, stdout_w) = pipe2(OFlag::O_CLOEXEC).map_err(sys_err("pipe"))?;
        let (stderr_r, stderr_w) = pipe2(OFlag::O_CLOEXEC).map_err(sys_err("pipe"))?;
        let (pass_parent, pass_child) = match &self.hook {
            Some(_) => {
                let (a, b) = socketpair(
                    AddressFamily::Unix,
                    SockType::SeqPacket,
                    None,
                    SockFlag::SOCK_CLOEXEC,
                )
                .map_err(sys_err("socketpair"))?;
                (Some(a), Some(b))
            }
            None => (None, None),
        };

        let launch = child::Launch {
            plan,
            hostname: policy.identity.hostname.clone(),
            uid_inside: policy.identity.uid,
            gid_inside: policy.identity.gid,
            uid_outside: nix::unistd::getuid().as_raw(),
            gid_outside: nix::unistd::getgid().as_raw(),
            cgroup_procs: cgroups.procs_files.clone(),
            argv,
            env,
            path_var,
            cwd: phase
                .cwd
                .clone()
                .unwrap_or_else(|| policy.identity.home.clone()),
            limits: policy.limits.clone(),
            filters,
            writable,
            env_capture: policy.env_capture.clone(),
            start: Instant::now(),
            hook: self.hook.clone(),
            supervisor: nix::unistd::getpid(),
        };
        let start = launch.start;
        let bridge = match sys::fork().map_err(sys_err("fork"))? {
            ForkResult::Child => {
                drop((events_r, stdout_r, stderr_r, pass_parent));
                child::bridge(
                    &launch,
                    child::ChildFds {
                        events: events_w,
                        stdout: stdout_w,
                        stderr: stderr_w,
                        fdpass: pass_child,
                    },
                )
            }
            ForkResult::Parent { child } => child,
        };
        drop((events_w, stdout_w, stderr_w, pass_child));

        let mut collector = Collector::new(policy.limits.output_capture_bytes);
        collector.notes = notes;
        let outcome = collector.collect(
            &Streams {
                events: events_r,
                stdout: stdout_r,
                stderr: stderr_r,
                pass: pass_parent,
            },
            self.hook.as_deref(),
            start,
            phase,
            bridge,
        );
        // The bridge is our child: reap it (it is dead or dying; see `collect`).
        let _ = kill(bridge, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(bridge, None);

        let mut isolation = IsolationReport {
            interfaces: collector.interfaces.clone(),
            landlock: collector
                .landlock
                .clone()
                .unwrap_or_else(|| "not_reached".into()),
            cgroup: cgroups.active(),
            peak_memory_bytes: cgroups.peak_memory(),
            notes: std::mem::take(&mut collector.notes),
        };
        if collector.dropped_events > 0 {
            isolation.notes.push(format!(
                "{} events dropped beyond the limit of {MAX_EVENTS}",
                collector.dropped_events
            ));
        }
        drop(cgroups);
        Ok(collector.finish(outcome, start.elapsed(), isolation))
    }
}

/// The phase's environment plus the identity's variables, unless the phase sets its own.
pub(crate) fn phase_env(policy: &Policy, phase: &Phase) -> Vec<(String, String)> {
    let mut env_pairs = phase.env.clone();
    let id = &policy.identity;
    for (name, value) in [
        ("HOME", id.home.display().to_string()),
        ("USER", id.user.clone()),
        ("LOGNAME", id.user.clone()),
        ("HOSTNAME", id.hostname.clone()),
    ] {
        if !env_pairs.iter().any(|(k, _)| k == name) {
            env_pairs.push((name.to_owned(), value));
        }
    }
    env_pairs
}

/// The supervisor's ends of the pipes.
struct Streams {
    events: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
    pass: Option<OwnedFd>,
}

/// How the run ended, as seen by the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The sandbox ended by itself or was ended after its main process.
    Ended,
    /// The deadline hit while the main process was running.
    Deadline,
    /// The sandbox's processes did not vanish after the kill.
    Stuck,
}

/// Bounded capture of one output stream.
struct Capture {
    kept: Vec<u8>,
    total: u64,
    limit: usize,
}

impl Capture {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.limit.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn finish(&self) -> Captured {
        Captured {
            text: String::from_utf8_lossy(&self.kept).into_owned(),
            total_bytes: self.total,
            truncated: self.total > self.kept.len() as u64,
        }
    }
}

/// The supervisor's reading side: turns the sandbox's messages into a [`PhaseResult`].
struct Collector {
    line: Vec<u8>,
    stdout: Capture,
    stderr: Capture,
    events: Vec<Event>,
    dropped_events: u64,
    interfaces: Vec<String>,
    landlock: Option<String>,
    notes: Vec<String>,
    setup_error: Option<String>,
    main_exit: Option<(i32, ExitStatus)>,
    /// Per entry of `processes`: whether it had ended when the main process ended
    /// (entries added later had not).
    ended_before_main: Vec<bool>,
    /// The main process's pid, once it ended.
    main_pid: Option<i32>,
    processes: Vec<ProcessRecord>,
}

impl Collector {
    fn new(capture: usize) -> Self {
        Collector {
            line: Vec::new(),
            stdout: Capture {
                kept: Vec::new(),
                total: 0,
                limit: capture,
            },
            stderr: Capture {
                kept: Vec::new(),
                total: 0,
                limit: capture,
            },
            events: Vec::new(),
            dropped_events: 0,
            interfaces: Vec::new(),
            landlock: None,
            notes: Vec::new(),
            setup_error: None,
            main_exit: None,
            ended_before_main: Vec::new(),
            main_pid: None,
            processes: Vec::new(),
        }
    }

    /// Read everything the sandbox sends until it is gone, enforcing deadline and linger.
    fn collect(
        &mut self,
        streams: &Streams,
        hook: Option<&dyn NetnsHook>,
        start: Instant,
        phase: &Phase,
        bridge: nix::unistd::Pid,
    ) -> Outcome {
        let deadline = start + phase.timeout;
        let mut end_at = deadline;
        let mut killed_at: Option<Instant> = None;
        let mut outcome = Outcome::Ended;
        // events, stdout, stderr, fd passing
        let mut open = [true, true, true, streams.pass.is_some()];
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let now = Instant::now();
            if killed_at.is_none() && now >= end_at {
                let _ = kill(bridge, Signal::SIGKILL);
                killed_at = Some(now);
                if self.main_exit.is_none() && self.setup_error.is_none() {
                    outcome = Outcome::Deadline;
                }
            }
            if let Some(k) = killed_at
                && now >= k + TEARDOWN_GRACE
            {
                self.notes
                    .push("sandbox output did not close after the kill; gave up reading".into());
                return Outcome::Stuck;
            }
            if !open[..3].iter().any(|o| *o) {
                return outcome;
            }
            let wait = match killed_at {
                Some(_) => Duration::from_millis(100),
                None => end_at.saturating_duration_since(now),
            };
            let timeout = PollTimeout::try_from(wait.as_millis().min(60_000) as i32 + 1)
                .unwrap_or(PollTimeout::MAX);
            let fds = [
                streams.events.as_fd(),
                streams.stdout.as_fd(),
                streams.stderr.as_fd(),
                streams
                    .pass
                    .as_ref()
                    .map(AsFd::as_fd)
                    .unwrap_or(streams.events.as_fd()),
            ];
            let indices: Vec<usize> = (0..4).filter(|i| open[*i]).collect();
            let mut raw: Vec<PollFd<'_>> = indices
                .iter()
                .map(|&i| PollFd::new(fds[i], PollFlags::POLLIN))
                .collect();
            match poll(&mut raw, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    self.notes.push(format!("poll: {e}"));
                    return Outcome::Stuck;
                }
            }
            let ready: Vec<usize> = indices
                .iter()
                .zip(raw.iter())
                .filter(|(_, p)| {
                    p.revents().is_some_and(|r| {
                        r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                    })
                })
                .map(|(i, _)| *i)
                .collect();
            drop(raw);
            for i in ready {
                if i == 3 {
                    match netns::recv_fds(fds[3]) {
                        Ok(sockets) if !sockets.is_empty() => {
                            if let Some(hook) = hook {
                                hook.serve(sockets);
                            }
                        }
                        _ => {}
                    }
                    open[3] = false;
                    continue;
                }
                match nix::unistd::read(fds[i], &mut buf) {
                    Ok(0) => open[i] = false,
                    Ok(n) => match i {
                        0 => {
                            let chunk = buf[..n].to_vec();
                            let ended_main = self.take_lines(&chunk);
                            if ended_main {
                                let now = Instant::now();
                                end_at = end_at.min(now + phase.linger);
                            }
                        }
                        1 => self.stdout.push(&buf[..n]),
                        _ => self.stderr.push(&buf[..n]),
                    },
                    Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                    Err(_) => open[i] = false,
                }
            }
        }
    }

    /// Parse complete lines of the event stream. Returns whether the main process ended.
    fn take_lines(&mut self, chunk: &[u8]) -> bool {
        self.line.extend_from_slice(chunk);
        let mut ended_main = false;
        while let Some(pos) = self.line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.line.drain(..=pos).collect();
            match serde_json::from_slice::<Wire>(&line) {
                Ok(msg) => ended_main |= self.handle(msg),
                Err(e) => self.notes.push(format!("unreadable sandbox message: {e}")),
            }
        }
        ended_main
    }

    fn handle(&mut self, msg: Wire) -> bool {
        match msg {
            Wire::Interfaces(i) => self.interfaces = i,
            Wire::Landlock(l) => self.landlock = Some(l),
            Wire::Note(n) => self.notes.push(n),
            Wire::SetupError(e) => {
                self.setup_error.get_or_insert(e);
            }
            Wire::Done => {}
            Wire::MainExited { pid, status } => {
                self.main_exit = Some((pid, status));
                self.main_pid = Some(pid);
                self.ended_before_main = self.processes.iter().map(|p| p.exit.is_some()).collect();
                return true;
            }
            Wire::Event(ev) => {
                self.track(&ev);
                if self.events.len() < MAX_EVENTS {
                    self.events.push(ev);
                } else {
                    self.dropped_events += 1;
                }
            }
        }
        false
    }

    /// Keep the process table up to date.
    fn track(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::ProcessStart { ppid, argv, .. } => self.processes.push(ProcessRecord {
                pid: ev.pid,
                ppid: *ppid,
                argv: argv.clone(),
                exit: None,
                outlived_main: false,
                killed_at_end: false,
            }),
            EventKind::Exec {
                argv,
                result: Some(0),
                ..
            } => {
                if let Some(p) = self.current(ev.pid) {
                    p.argv = argv.clone();
                }
            }
            EventKind::ProcessExit { code, signal } => {
                if let Some(p) = self.current(ev.pid) {
                    p.exit = Some(ExitStatus {
                        code: *code,
                        signal: *signal,
                    });
                }
            }
            _ => {}
        }
    }

    fn current(&mut self, pid: i32) -> Option<&mut ProcessRecord> {
        self.processes
            .iter_mut()
            .rev()
            .find(|p| p.pid == pid && p.exit.is_none())
    }

    fn finish(
        mut self,
        outcome: Outcome,
        elapsed: Duration,
        isolation: IsolationReport,
    ) -> PhaseResult {
        for (i, p) in self.processes.iter_mut().enumerate() {
            // A process outlived the main one if it had not ended when the main one did,
            // including processes started afterwards (by a daemon, during the linger).
            p.outlived_main = self.main_pid.is_some_and(|main| main != p.pid)
                && !self.ended_before_main.get(i).copied().unwrap_or(false);
            p.killed_at_end = p.exit.is_none();
        }
        let (status, error) = match (&self.setup_error, outcome, self.main_exit) {
            (Some(e), _, _) => (PhaseStatus::Error, Some(e.clone())),
            (None, Outcome::Deadline, _) => (PhaseStatus::Timeout, None),
            (None, _, Some(_)) => (PhaseStatus::Completed, None),
            (None, Outcome::Stuck, None) => (
                PhaseStatus::Error,
                Some("the sandbox did not end after being killed".into()),
            ),
            (None, Outcome::Ended, None) => (
                PhaseStatus::Error,
                Some("the sandbox ended before its command did".into()),
            ),
        };
        PhaseResult {
            status,
            error,
            exit: self.main_exit.map(|(_, s)| s),
            duration_ms: elapsed.as_millis() as u64,
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
            events: self.events,
            processes: self.processes,
            isolation,
        }
    }
}
