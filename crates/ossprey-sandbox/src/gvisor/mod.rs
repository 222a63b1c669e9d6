//! The gVisor backend: the same [`Policy`] and [`Phase`] run under `runsc` (a second,
//! user-space kernel between the package and the host), recorded from runsc's own
//! syscall log into the same [`Event`]s as the native tracer.
//!
//! One run: a private staging directory holds an empty root (top-level symlinks of the
//! rootfs recreated in it), the generated `/etc`, the OCI bundle (`config.json`, written
//! here from the native backend's mount plan, so both backends see the same files), the
//! runsc state directory and the debug log. `runsc run` executes the phase's command with
//! `--strace` limited to [`strace::TRACED_SYSCALLS`]; when it ends (or the deadline kills
//! it), the log is parsed and fed to the native backend's collector, which builds the
//! process table and the [`PhaseResult`] exactly as for a native run.
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
    let mut cmd = match &network {
        Some(n) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", n.netns_path().display()))
                .arg("--")
                .arg(&info.path);
            c
        }
        None => Command::new(&info.path),
    };
    global(&mut cmd);
    cmd.arg(match network {
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
    .arg(&id)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());

    let start = Instant::now();
    let start_tod_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_micros() % 86_400_000_000) as u64)
        .unwrap_or(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| SandboxError::Backend(format!("starting {}: {e}", info.path.display())))?;
    let cap = policy.limits.output_capture_bytes;
    let out_reader = child.stdout.take().map(|s| capture_thread(s, cap));
    let err_reader = child.stderr.take().map(|s| capture_thread(s, cap));

    let deadline = start + phase.timeout;
    let mut outcome = Outcome::Ended;
    let mut runsc_status = None;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                runsc_status = Some(s);
                break;
            }
            Ok(None) if Instant::now() >= deadline => {
                outcome = Outcome::Deadline;
                // runsc's own kill takes the whole sandbox down; killing the runsc
                // process then ends the wait.
                let mut kill = Command::new(&info.path);
                global(&mut kill);
                kill.args(["kill", "--all", &id, "KILL"]);
                run_bounded(kill, CONTROL_TIMEOUT);
                std::thread::sleep(Duration::from_millis(200));
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                notes.push(format!("waiting for runsc: {e}"));
                let _ = child.kill();
                let _ = child.wait();
                outcome = Outcome::Stuck;
                break;
            }
        }
    }
    // Always remove the container's state (a killed runsc leaves it behind).
    let mut delete = Command::new(&info.path);
    global(&mut delete);
    delete.args(["delete", "--force", &id]);
    if !run_bounded(delete, CONTROL_TIMEOUT) {
        notes.push(format!(
            "gvisor: `runsc delete --force {id}` did not finish"
        ));
    }
    let elapsed = start.elapsed();
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
    let (events, dropped) = strace::parse_log(
        boot_log.lines(),
        &|name| policy.captures_env(name),
        &phase.argv,
        &cwd.display().to_string(),
        start_tod_us,
        MAX_EVENTS,
    );
    let main_status = exit_status_of(&boot_log);
    // Exits by SIGKILL after this are the deadline's (timing slack for the log's clock).
    let killed_after_ms = (phase.timeout.as_millis() as u64).saturating_sub(100);
    let mut main_ended = false;
    for ev in events {
        let killed = matches!(
            ev.kind,
            EventKind::ProcessExit {
                signal: Some(9),
                ..
            }
        );
        if killed && (main_ended || (outcome == Outcome::Deadline && ev.time_ms >= killed_after_ms))
        {
            // runsc kills what is left when the main process ends, and our deadline kill
            // ends everything: the native backend records those as killed at the end,
            // not as exits.
            continue;
        }
        let is_main_exit = ev.pid == 1 && matches!(ev.kind, EventKind::ProcessExit { .. });
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
        if is_main_exit && !main_ended && outcome != Outcome::Deadline {
            main_ended = true;
            collector.handle(Wire::MainExited {
                pid: 1,
                status: main_status.unwrap_or(status),
            });
        }
    }
    if !main_ended
        && outcome == Outcome::Ended
        && let Some(status) = main_status
    {
        collector.handle(Wire::MainExited { pid: 1, status });
    }
    // runsc killed by SIGKILL (or reporting it, 128 + 9) without the sentry logging an
    // exit: the kernel killed the whole sandbox, i.e. it reached its memory cgroup.
    use std::os::unix::process::ExitStatusExt;
    let sandbox_killed = runsc_status
        .is_some_and(|s| s.signal() == Some(libc::SIGKILL) || s.code() == Some(128 + 9));
    if !main_ended && outcome == Outcome::Ended && main_status.is_none() && sandbox_killed {
        main_ended = true;
        collector.notes.push(
            "gvisor: the whole sandbox was killed by SIGKILL (its memory cgroup limit)".into(),
        );
        collector.handle(Wire::MainExited {
            pid: 1,
            status: ExitStatus {
                code: None,
                signal: Some(libc::SIGKILL),
            },
        });
    }
    if !main_ended
        && outcome == Outcome::Ended
        && main_status.is_none()
        && let Some(err) = boot_error(&boot_log, &log_dir)
    {
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

/// The sentry's log (`runsc.log.*.boot.txt`), bounded, lossily decoded.
fn read_boot_log(dir: &Path, notes: &mut Vec<String>) -> String {
    let Some(path) = std::fs::read_dir(dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".boot.txt"))
    }) else {
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

/// Why runsc could not start the command: the sentry's or runsc's fatal message.
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
    Some("gvisor: the sandbox ended without running the command".into())
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
}
