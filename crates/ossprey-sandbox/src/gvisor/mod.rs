//! The gVisor backend: the same [`Policy`] and [`Phase`] run under `runsc` (a second,
//! user-space kernel between the package and the host), recorded from runsc's own
//! syscall log into the same [`Event`]s as the native tracer.
//!
//! One run: a private staging directory holds an empty root (top-level symlinks of the
//! rootfs recreated in it), the generated `/etc`, the OCI bundle (`config.json`, written
//! here from the native backend's mount plan, so both backends see the same files), the
//! runsc state directory and the debug log. `runsc run` boots the container
//! with `--strace` limited to [`strace::TRACED_SYSCALLS`] and a first process that only
//! waits ([`bundle::INIT_ARGV`]: runsc ends the whole sandbox when its first process
//! exits); `runsc exec` then runs the phase's command beside it. When that ends, the
//! processes it left behind may linger (as on the native backend: until none is left
//! in the syscall log, `phase.linger` or the deadline), then `runsc kill --all` ends
//! everything. The log is parsed (the init's own calls dropped) and fed to the native
//! backend's collector, which builds the process table and the [`PhaseResult`] exactly
//! as for a native run.
//!
//! Network: without a [`crate::NetnsHook`], `--network=none` (gVisor's own loopback
//! only). With one (the sinkhole), see [`net`]: the same sealed namespace as the native
//! backend, used through `--network=host`. See `docs/sandbox-gvisor.md`.
//!
//! Requires root (runsc creates namespaces and its gofer serves the binds).

mod bundle;
mod net;
pub(crate) mod strace;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::SandboxError;
use crate::event::{EventKind, ExitStatus, IsolationReport, PhaseResult};
use crate::policy::{Phase, Policy};
use crate::wire::Wire;
use crate::{Collector, MAX_EVENTS, NetnsHook, Outcome};

/// The platform runsc uses: ptrace works everywhere (KVM hangs on the machines we
/// measured, and systrap is newer than Debian's build).
const PLATFORM: &str = "ptrace";

/// How long a runsc control command (`kill`, `delete`) or the last output may take
/// after the run before it is given up on.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of each string argument runsc prints (paths, argv entries).
const STRACE_LOG_SIZE: u32 = 4096;

/// Most bytes of the debug log read back (a package that makes millions of calls must
/// not exhaust memory; events past [`MAX_EVENTS`] are counted anyway).
const MAX_LOG_BYTES: u64 = 512 << 20;

/// What `ossprey sandbox check` reports about gVisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GvisorInfo {
    /// The runsc binary used.
    pub path: PathBuf,
    /// First line of `runsc --version`.
    pub version: String,
}

/// The runsc binary: `OSSPREY_RUNSC`, else `runsc` on `PATH` (or `/usr/sbin`, `/usr/bin`).
pub fn runsc_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OSSPREY_RUNSC") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join("runsc"))
        .find(|p| p.is_file())
}

/// Whether the gVisor backend can run here, and runsc's version. The error says what is
/// missing (runsc, root) in words a user can act on.
pub fn probe() -> Result<GvisorInfo, String> {
    let path = runsc_path()
        .ok_or("runsc not found (install Debian's `runsc` package, or set OSSPREY_RUNSC)")?;
    let out = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {} --version: {e}", path.display()))?;
    let version = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !out.status.success() || version.is_empty() {
        return Err(format!(
            "{} --version failed ({})",
            path.display(),
            out.status
        ));
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(format!(
            "{version} found, but the gVisor backend needs root (runsc's namespaces and gofer)"
        ));
    }
    Ok(GvisorInfo { path, version })
}

/// A private directory for one run, removed on drop.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn new() -> Result<Self, SandboxError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ossprey-gvisor-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Staging { dir })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run `phase` under runsc. Errors are host problems (runsc missing, staging failed);
/// the sandboxed command's fate is in the result, as with the native backend.
pub(crate) fn run(
    hook: Option<&dyn NetnsHook>,
    policy: &Policy,
    phase: &Phase,
) -> Result<PhaseResult, SandboxError> {
    let info = probe().map_err(SandboxError::Backend)?;
    let staging = Staging::new()?;
    let mut notes = vec![format!("gvisor: {} (platform {PLATFORM})", info.version)];
    let env = crate::phase_env(policy, phase);
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let id = format!(
        "ossprey-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    // runsc puts the sandbox in a cgroup of its own under each v1 controller.
    let cgroup_path = format!("/ossprey-gvisor/{id}");
    let cgroup = (policy.limits.cgroup_memory_bytes.is_some()
        && Path::new("/sys/fs/cgroup/memory").is_dir())
    .then_some(cgroup_path.as_str());
    let bundle_dir = bundle::write(&staging.dir, policy, phase, &env, cgroup, &mut notes)?;

    // The network: the hook's sealed namespace, built before runsc starts and held
    // until it ended; without a hook, gVisor's own loopback only.
    let network = match hook {
        Some(hook) => Some(net::Network::create(hook)?),
        None => None,
    };
    let interfaces = match &network {
        Some(n) => n.interfaces.clone(),
        None => vec!["lo".to_owned()],
    };
    if network.is_some() {
        bundle::use_current_netns(&bundle_dir)?;
    }
    let state = staging.dir.join("state");
    let log_dir = staging.dir.join("log");
    std::fs::create_dir_all(&state)?;
    std::fs::create_dir_all(&log_dir)?;
    let global = |cmd: &mut Command| {
        cmd.arg(format!("--root={}", state.display()))
            .arg(format!("--platform={PLATFORM}"));
        if cgroup.is_none() {
            cmd.arg("--ignore-cgroups");
        }
    };
    // Every runsc command of the run starts in the sandbox's network namespace: runsc
    // reaches a running sandbox through a socket only visible there (from outside,
    // `runsc exec` finds the container "stopped" and `kill`/`delete` cannot reach it).
    let runsc = || match &network {
        Some(n) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", n.netns_path().display()))
                .arg("--")
                .arg(&info.path);
            c
        }
        None => Command::new(&info.path),
    };
    let mut cmd = runsc();
    global(&mut cmd);
    cmd.arg(match &network {
        Some(_) => "--network=host",
        None => "--network=none",
    })
    .arg("--strace")
    .arg(format!(
        "--strace-syscalls={}",
        strace::TRACED_SYSCALLS.join(",")
    ))
    .arg(format!("--strace-log-size={STRACE_LOG_SIZE}"))
    .arg(format!("--debug-log={}/", log_dir.display()))
    .arg("run")
    .arg("--bundle")
    .arg(&bundle_dir)
    .arg(&id);

    let start = Instant::now();
    let start_tod_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_micros() % 86_400_000_000) as u64)
        .unwrap_or(0);
    let deadline = start + phase.timeout;
    let cap = policy.limits.output_capture_bytes;
    let pid_file = staging.dir.join("main.pid");
    // The run: boot the container (its waiting init), `runsc exec` the phase's command
    // beside it, wait for that, let what it left behind linger, then kill everything.
    let mut outcome = Outcome::Ended;
    let mut exec_status = None;
    let mut main_pid = None;
    let mut kill_at = None;
    let mut ended_at = None;
    let mut out_reader = None;
    let mut err_reader = None;
    let state = || {
        let mut c = runsc();
        global(&mut c);
        c.args(["state", &id]);
        c
    };
    match boot(cmd, &state, deadline) {
        Boot::Running(mut run_child) => {
            let mut exec = runsc();
            global(&mut exec);
            exec.arg(format!("--debug-log={}/", log_dir.display()))
                .arg("exec")
                .arg("--process")
                .arg(bundle_dir.join(bundle::PROCESS_FILE))
                .arg("--internal-pid-file")
                .arg(&pid_file)
                .arg(&id)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            match exec.spawn() {
                Ok(mut child) => {
                    out_reader = child.stdout.take().map(|s| capture_thread(s, cap));
                    err_reader = child.stderr.take().map(|s| capture_thread(s, cap));
                    match wait_child(&mut child, deadline) {
                        Waited::Exited(s) => exec_status = Some(s),
                        Waited::Deadline => outcome = Outcome::Deadline,
                        Waited::Failed(e) => {
                            notes.push(format!("waiting for runsc exec: {e}"));
                            outcome = Outcome::Stuck;
                        }
                    }
                    main_pid = read_pid(&pid_file);
                    if exec_status.is_some() {
                        let linger_end = deadline.min(Instant::now() + phase.linger);
                        linger(&log_dir, main_pid, linger_end);
                    }
                    kill_at = Some(start.elapsed());
                    let mut kill = runsc();
                    global(&mut kill);
                    kill.args(["kill", "--all", &id, "KILL"]);
                    run_bounded(kill, CONTROL_TIMEOUT);
                    // The phase ends here; tearing the sandbox down is not its time.
                    ended_at = Some(start.elapsed());
                    if exec_status.is_none() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                }
                Err(e) => {
                    notes.push(format!("starting runsc exec: {e}"));
                    let mut kill = runsc();
                    global(&mut kill);
                    kill.args(["kill", "--all", &id, "KILL"]);
                    run_bounded(kill, CONTROL_TIMEOUT);
                }
            }
            // With its init killed the container ends and `runsc run` returns, having
            // reaped the sandbox (which keeps `delete` quick); never wait forever.
            if let Waited::Deadline = wait_child(&mut run_child, Instant::now() + CONTROL_TIMEOUT) {
                notes.push("gvisor: `runsc run` did not end after `kill --all`".into());
            }
        }
        Boot::Exited(s) => notes.push(format!(
            "gvisor: `runsc run` ended before the container ran ({s})"
        )),
        Boot::Deadline => outcome = Outcome::Deadline,
        Boot::Failed(e) => {
            notes.push(format!("gvisor: starting runsc run: {e}"));
            outcome = Outcome::Stuck;
        }
    }
    // Always remove the container's state (a killed runsc leaves it behind).
    let mut delete = runsc();
    global(&mut delete);
    delete.args(["delete", "--force", &id]);
    if !run_bounded(delete, CONTROL_TIMEOUT) {
        notes.push(format!(
            "gvisor: `runsc delete --force {id}` did not finish"
        ));
    }
    let elapsed = ended_at.unwrap_or_else(|| start.elapsed());
    drop(network);
    if cgroup.is_some() {
        remove_cgroups(&cgroup_path);
    }

    let mut collector = Collector::new(cap);
    collector.notes = notes;
    // The pipes close when the sandbox's last process is gone; never wait forever.
    let give_up = Instant::now() + CONTROL_TIMEOUT;
    for (reader, capture) in [
        (out_reader, &mut collector.stdout),
        (err_reader, &mut collector.stderr),
    ] {
        let Some(rx) = reader else { continue };
        match rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
            Ok((kept, total)) => {
                capture.kept = kept;
                capture.total = total;
            }
            Err(_) => collector
                .notes
                .push("gvisor: sandbox output did not close; gave up reading".into()),
        }
    }
    collector.handle(Wire::Interfaces(interfaces));
    let boot_log = read_boot_log(&log_dir, &mut collector.notes);
    let cwd = phase
        .cwd
        .clone()
        .unwrap_or_else(|| policy.identity.home.clone());
    let mut dropped = 0;
    let mut main_ended = false;
    if let Some(main_pid) = main_pid {
        let (events, lost) = strace::parse_log(
            boot_log.lines(),
            &|name| policy.captures_env(name),
            main_pid,
            &phase.argv,
            &cwd.display().to_string(),
            start_tod_us,
            MAX_EVENTS,
        );
        dropped = lost;
        let main_status = exec_status.and_then(|_| exit_status_of(&read_exec_log(&log_dir)));
        // Exits by SIGKILL from here on are ours (linger's end or the deadline; timing
        // slack for the log's clock): the native backend records those as killed at the
        // end, not as exits.
        let killed_after_ms = kill_at
            .map(|t| (t.as_millis() as u64).saturating_sub(100))
            .unwrap_or(u64::MAX);
        for ev in events {
            // The waiting init is not the package's.
            if ev.pid == INIT_PID {
                continue;
            }
            let killed = matches!(
                ev.kind,
                EventKind::ProcessExit {
                    signal: Some(9),
                    ..
                }
            );
            if killed && ev.time_ms >= killed_after_ms {
                continue;
            }
            let is_main_exit =
                ev.pid == main_pid && matches!(ev.kind, EventKind::ProcessExit { .. });
            let status = match &ev.kind {
                EventKind::ProcessExit { code, signal } => ExitStatus {
                    code: *code,
                    signal: *signal,
                },
                _ => ExitStatus {
                    code: None,
                    signal: None,
                },
            };
            collector.handle(Wire::Event(ev));
            if is_main_exit && !main_ended && exec_status.is_some() {
                main_ended = true;
                collector.handle(Wire::MainExited {
                    pid: main_pid,
                    status: main_status.unwrap_or(status),
                });
            }
        }
        if !main_ended
            && exec_status.is_some()
            && let Some(status) = main_status
        {
            main_ended = true;
            collector.handle(Wire::MainExited {
                pid: main_pid,
                status,
            });
        }
        // `runsc exec` started the command (it wrote its pid) but ended without its
        // status or a logged exit: the sandbox went away under it, i.e. the kernel
        // killed the whole sandbox when it reached its memory cgroup.
        if !main_ended && exec_status.is_some() {
            main_ended = true;
            if let Some(err) = boot_error(&boot_log, &log_dir) {
                collector.notes.push(err);
            }
            collector.notes.push(
                "gvisor: the whole sandbox was killed by SIGKILL (its memory cgroup limit)".into(),
            );
            collector.handle(Wire::MainExited {
                pid: main_pid,
                status: ExitStatus {
                    code: None,
                    signal: Some(libc::SIGKILL),
                },
            });
        }
    }
    if !main_ended && outcome == Outcome::Ended {
        let err = boot_error(&boot_log, &log_dir)
            .unwrap_or_else(|| "gvisor: the sandbox ended without running the command".into());
        collector.handle(Wire::SetupError(err));
    }
    let mut isolation = IsolationReport {
        interfaces: collector.interfaces.clone(),
        landlock: "not_applicable_gvisor".into(),
        cgroup: cgroup.is_some(),
        peak_memory_bytes: None,
        notes: std::mem::take(&mut collector.notes),
    };
    if dropped > 0 {
        isolation.notes.push(format!(
            "{dropped} events dropped beyond the limit of {MAX_EVENTS}"
        ));
    }
    Ok(collector.finish(outcome, elapsed, isolation))
}

/// The container's waiting init (see [`bundle::INIT_ARGV`]).
const INIT_PID: i32 = 1;

/// How a waited-for runsc command ended.
enum Waited {
    Exited(std::process::ExitStatus),
    Deadline,
    Failed(std::io::Error),
}

/// How booting the container ended.
enum Boot {
    /// The container runs; `runsc run` (attached: it returns when the container ends).
    Running(std::process::Child),
    /// `runsc run` ended before the container was running.
    Exited(std::process::ExitStatus),
    Deadline,
    Failed(std::io::Error),
}

/// Start `runsc run` (attached, output discarded) and wait until `runsc state` says the
/// container is running, `runsc run` ended, or `deadline`.
fn boot(mut run: Command, state: &dyn Fn() -> Command, deadline: Instant) -> Boot {
    let mut child = match run
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Boot::Failed(e),
    };
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Boot::Exited(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Boot::Deadline;
            }
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Boot::Failed(e);
            }
        }
        if is_running(state()) {
            return Boot::Running(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `runsc state` reports the container `running` (bounded; its JSON is small).
fn is_running(mut cmd: Command) -> bool {
    let Ok(mut child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let reader = child.stdout.take().map(|s| capture_thread(s, 64 * 1024));
    if !matches!(
        wait_child(&mut child, Instant::now() + CONTROL_TIMEOUT),
        Waited::Exited(s) if s.success()
    ) {
        return false;
    }
    let Some((out, _)) = reader.and_then(|rx| rx.recv_timeout(CONTROL_TIMEOUT).ok()) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&out)
        .ok()
        .and_then(|v| {
            v.get("status")
                .and_then(|s| s.as_str())
                .map(|s| s == "running")
        })
        .unwrap_or(false)
}

/// Wait for `child` until `deadline`; past it, kill it.
fn wait_child(child: &mut std::process::Child, deadline: Instant) -> Waited {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Waited::Exited(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Waited::Deadline;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Waited::Failed(e);
            }
        }
    }
}

/// The sandbox-internal pid `runsc exec --internal-pid-file` wrote.
fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&p: &i32| p > 0)
}

/// After the main process ended: wait while processes it left behind still run (they
/// started in the syscall log and have no exit there), until `until`. The log is read
/// incrementally: only the lines appended since the last look are parsed.
fn linger(log_dir: &Path, main_pid: Option<i32>, until: Instant) {
    use std::io::{Seek, SeekFrom};
    let Some(main_pid) = main_pid else { return };
    let Some(path) = boot_log_path(log_dir) else {
        return;
    };
    let mut offset = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut alive = std::collections::HashSet::new();
    while Instant::now() < until {
        if let Ok(mut file) = std::fs::File::open(&path)
            && file.seek(SeekFrom::Start(offset)).is_ok()
        {
            let mut chunk = Vec::new();
            let n = file
                .take(MAX_LOG_BYTES.saturating_sub(offset))
                .read_to_end(&mut chunk)
                .unwrap_or(0);
            offset += n as u64;
            pending.extend_from_slice(&chunk);
            // Only complete lines: the sentry may be writing the last one.
            if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
                let lines: Vec<u8> = pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&lines);
                let (events, _) =
                    strace::parse_log(text.lines(), &|_| false, main_pid, &[], "/", 0, usize::MAX);
                for ev in events {
                    match ev.kind {
                        EventKind::ProcessStart { .. } => {
                            alive.insert(ev.pid);
                        }
                        EventKind::ProcessExit { .. } => {
                            alive.remove(&ev.pid);
                        }
                        _ => {}
                    }
                }
            }
        }
        // The init waits by design; the main process has ended.
        alive.remove(&INIT_PID);
        alive.remove(&main_pid);
        if alive.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `runsc exec`'s own log (`runsc.log.*.exec.txt`), which ends with the command's wait
/// status; empty if there is none.
fn read_exec_log(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".exec.txt"))
        })
        .and_then(|p| {
            let mut text = String::new();
            std::fs::File::open(p)
                .ok()?
                .take(MAX_LOG_BYTES)
                .read_to_string(&mut text)
                .ok()?;
            Some(text)
        })
        .unwrap_or_default()
}

/// Remove the run's cgroup under every v1 controller (a runsc killed at the deadline
/// leaves it behind). `rmdir` only removes empty cgroups: nothing else can go.
fn remove_cgroups(path: &str) {
    let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let dirs: Vec<PathBuf> = controllers
        .filter_map(|e| e.ok())
        .map(|c| c.path().join(path.trim_start_matches('/')))
        .collect();
    // The sentry may still be exiting after a forced delete: retry for a moment.
    for _ in 0..20 {
        let mut left = false;
        for dir in &dirs {
            if dir.is_dir() && std::fs::remove_dir(dir).is_err() {
                left = true;
            }
        }
        if !left {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run a runsc control command, killing it after `timeout`. Returns whether it ended
/// by itself.
fn run_bounded(mut cmd: Command, timeout: Duration) -> bool {
    let Ok(mut child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let until = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// Read a pipe to its end on a thread, keeping the first `cap` bytes and counting the
/// rest; the result arrives on the returned channel.
fn capture_thread(
    mut r: impl Read + Send + 'static,
    cap: usize,
) -> std::sync::mpsc::Receiver<(Vec<u8>, u64)> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut total = 0u64;
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
            let room = cap.saturating_sub(kept.len());
            kept.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
        }
        let _ = tx.send((kept, total));
    });
    rx
}

/// Where the sentry's log (`runsc.log.*.boot.txt`) is, once written.
fn boot_log_path(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".boot.txt"))
    })
}

/// The sentry's log (`runsc.log.*.boot.txt`), bounded, lossily decoded.
fn read_boot_log(dir: &Path, notes: &mut Vec<String>) -> String {
    let Some(path) = boot_log_path(dir) else {
        notes.push("gvisor: no sentry log was written".into());
        return String::new();
    };
    let Ok(file) = std::fs::File::open(&path) else {
        return String::new();
    };
    let mut out = String::new();
    let mut reader = BufReader::new(file.take(MAX_LOG_BYTES));
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        out.push_str(&String::from_utf8_lossy(&line));
        line.clear();
    }
    if out.len() as u64 >= MAX_LOG_BYTES {
        notes.push(format!(
            "gvisor: syscall log truncated at {MAX_LOG_BYTES} bytes"
        ));
    }
    out
}

/// The container's wait status from `main.go] Exiting with status: 768`.
fn exit_status_of(log: &str) -> Option<ExitStatus> {
    let raw: i32 = log
        .lines()
        .rev()
        .find_map(|l| l.split_once("] Exiting with status: "))
        .and_then(|(_, s)| s.trim().parse().ok())?;
    let signal = raw & 0x7f;
    Some(if signal == 0 {
        ExitStatus {
            code: Some((raw >> 8) & 0xff),
            signal: None,
        }
    } else {
        ExitStatus {
            code: None,
            signal: Some(signal),
        }
    })
}

/// Why runsc could not start the command: the sentry's or runsc's fatal message, if one
/// was logged.
fn boot_error(boot_log: &str, dir: &Path) -> Option<String> {
    let fatal = |text: &str| {
        text.lines()
            .find_map(|l| l.split_once("FATAL ERROR: ").map(|(_, m)| m.to_owned()))
    };
    if let Some(m) = fatal(boot_log) {
        return Some(format!("gvisor: {m}"));
    }
    for entry in std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()) {
        if let Ok(text) = std::fs::read_to_string(entry.path())
            && let Some(m) = fatal(&text)
        {
            return Some(format!("gvisor: {m}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wait_status() {
        let log = "I1125 18:33:44.838152   16174 main.go:266] Exiting with status: 768\n";
        assert_eq!(
            exit_status_of(log),
            Some(ExitStatus {
                code: Some(3),
                signal: None
            })
        );
        let log = "I1125 18:33:44.838152   16174 main.go:266] Exiting with status: 9\n";
        assert_eq!(
            exit_status_of(log),
            Some(ExitStatus {
                code: None,
                signal: Some(9)
            })
        );
        assert_eq!(exit_status_of("nothing"), None);
    }

    /// Under gVisor the phase's command is `runsc exec`'d beside a waiting init, so a
    /// daemon it leaves behind keeps running for the linger and is seen acting after
    /// the main process ended (with runsc's own first process as the command, runsc
    /// killed it at once and the late write was missed). The init is not reported.
    #[test]
    fn daemon_acts_during_the_linger_and_init_is_hidden() {
        if let Err(why) = probe() {
            eprintln!("SKIP: {why}");
            return;
        }
        let mut policy = Policy::new(crate::RootFs::host_system());
        policy.limits.output_capture_bytes = 64 * 1024;
        let phase = Phase::new([
            "sh",
            "-c",
            "(setsid sh -c 'sleep 0.5; echo late > /tmp/late; sleep 30' </dev/null >/dev/null 2>&1 &); echo started",
        ])
        .timeout(Duration::from_secs(10))
        .linger(Duration::from_secs(3));
        let r = run(None, &policy, &phase).expect("gvisor run");
        assert_eq!(r.exit.map(|e| e.code), Some(Some(0)), "{r:#?}");
        assert_eq!(r.stdout.text, "started\n");
        assert!(r.file_events("/tmp/late").next().is_some(), "{r:#?}");
        let main: Vec<_> = r.processes.iter().filter(|p| p.ppid == 0).collect();
        assert_eq!(main.len(), 1, "{:#?}", r.processes);
        assert_eq!(main.first().map(|p| &p.argv), Some(&phase.argv));
        assert!(
            r.processes.iter().all(|p| p.pid != INIT_PID
                && p.argv.first().is_none_or(
                    |a| a != "sleep" || p.argv.get(1).is_none_or(|s| s != "2147483647")
                )),
            "{:#?}",
            r.processes
        );
        assert!(
            r.processes
                .iter()
                .any(|p| p.argv == ["sleep", "30"] && p.outlived_main && p.killed_at_end),
            "{:#?}",
            r.processes
        );
        // Linger ended at its bound, not at the deadline.
        assert!(r.duration_ms < 8_000, "{}", r.duration_ms);
    }
}
