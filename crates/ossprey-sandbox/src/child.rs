//! The three processes of a sandbox run, from the supervisor's fork onwards.
//!
//! ```text
//! supervisor ── fork ──▶ bridge (host pid ns; joins cgroups, unshares every namespace,
//!                        │       writes the uid/gid maps, waits for init)
//!                        └─ fork ──▶ init (pid 1 of the new pid ns: lo up, sinkhole hook,
//!                                    │     hostname, new root, then the tracer)
//!                                    └─ fork ──▶ command (stdio, cwd, rlimits, caps dropped,
//!                                                no_new_privs, landlock, seccomp, execve)
//! ```
//!
//! The tracer runs in init, inside the sandbox, for three reasons: pids, paths and
//! `/proc/<pid>/cwd` are then in the sandbox's own view (the events say what the package
//! saw); orphaned daemons are re-parented to init, so the tracer sees every process end;
//! and when init dies the kernel kills the whole pid namespace, which is what makes the
//! deadline absolute. Init is our code and runs before any package code; the package runs
//! with no capabilities (non-root uid, empty bounding set, `no_new_privs`) and a seccomp
//! filter that denies `ptrace`/`process_vm_*`, so it cannot touch init.
//!
//! Every setup failure is sent to the supervisor as a message, never a panic.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::ptrace;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::Signal;
use nix::sys::statvfs::{FsFlags, statvfs};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};
use seccompiler::BpfProgram;

use crate::netns::{self, NetnsHook};
use crate::plan::MountStep;
use crate::policy::Limits;
use crate::sys;
use crate::wire::{Wire, send};

/// Everything the children need, computed by the supervisor before forking.
pub(crate) struct Launch {
    pub(crate) plan: Vec<MountStep>,
    pub(crate) hostname: String,
    pub(crate) uid_inside: u32,
    pub(crate) gid_inside: u32,
    pub(crate) uid_outside: u32,
    pub(crate) gid_outside: u32,
    pub(crate) cgroup_procs: Vec<PathBuf>,
    pub(crate) argv: Vec<CString>,
    pub(crate) env: Vec<CString>,
    pub(crate) path_var: String,
    pub(crate) cwd: PathBuf,
    pub(crate) limits: Limits,
    pub(crate) filters: Vec<BpfProgram>,
    pub(crate) writable: Vec<PathBuf>,
    pub(crate) env_capture: Vec<String>,
    pub(crate) start: Instant,
    pub(crate) hook: Option<Arc<dyn NetnsHook>>,
    pub(crate) supervisor: Pid,
}

/// The child ends of the supervisor's pipes.
pub(crate) struct ChildFds {
    pub(crate) events: OwnedFd,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
    pub(crate) fdpass: Option<OwnedFd>,
}

/// The bridge: first child of the supervisor. Never returns.
pub(crate) fn bridge(launch: &Launch, fds: ChildFds) -> ! {
    use std::os::fd::AsRawFd;
    let mut keep = vec![
        fds.events.as_raw_fd(),
        fds.stdout.as_raw_fd(),
        fds.stderr.as_raw_fd(),
    ];
    keep.extend(fds.fdpass.as_ref().map(AsRawFd::as_raw_fd));
    sys::close_fds_except(&keep);
    // Die with the supervisor; if it already died, the check below catches the race.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err()
        || nix::unistd::getppid() != launch.supervisor
    {
        sys::exit_now(1);
    }
    match bridge_inner(launch, fds) {
        Ok(never) => match never {},
        Err((events, msg)) => {
            let _ = send(events.as_fd(), &Wire::SetupError(msg));
            sys::exit_now(1)
        }
    }
}

type SetupResult = Result<Infallible, (OwnedFd, String)>;

fn bridge_inner(launch: &Launch, fds: ChildFds) -> SetupResult {
    macro_rules! tryx {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err((fds.events, format!("{}: {}", $what, e))),
            }
        };
    }
    let me = nix::unistd::getpid();
    for procs in &launch.cgroup_procs {
        tryx!(
            std::fs::write(procs, me.as_raw().to_string()),
            format!("joining {}", procs.display())
        );
    }
    tryx!(
        unshare(
            CloneFlags::CLONE_NEWUSER
                | CloneFlags::CLONE_NEWNS
                | CloneFlags::CLONE_NEWPID
                | CloneFlags::CLONE_NEWNET
                | CloneFlags::CLONE_NEWIPC
                | CloneFlags::CLONE_NEWUTS
                | CloneFlags::CLONE_NEWCGROUP
        ),
        "unshare namespaces"
    );
    // One uid and one gid, the invoker's, so this works without privileges too.
    tryx!(std::fs::write("/proc/self/setgroups", "deny"), "setgroups");
    tryx!(
        std::fs::write(
            "/proc/self/uid_map",
            format!("{} {} 1", launch.uid_inside, launch.uid_outside)
        ),
        "uid_map"
    );
    tryx!(
        std::fs::write(
            "/proc/self/gid_map",
            format!("{} {} 1", launch.gid_inside, launch.gid_outside)
        ),
        "gid_map"
    );
    match tryx!(sys::fork(), "fork init") {
        ForkResult::Child => init(launch, fds, me),
        ForkResult::Parent { child } => {
            drop(fds);
            loop {
                match waitpid(child, None) {
                    Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => sys::exit_now(code),
                    Ok(nix::sys::wait::WaitStatus::Signaled(..)) => sys::exit_now(125),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => sys::exit_now(124),
                }
            }
        }
    }
}

/// Init: pid 1 of the sandbox's pid namespace. Never returns.
fn init(launch: &Launch, fds: ChildFds, bridge: Pid) -> ! {
    // If the bridge dies (the supervisor's deadline kill), init dies, and with it the
    // namespace. Check the bridge is still alive after arming, to close the race.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || !alive(bridge) {
        sys::exit_now(1);
    }
    match init_inner(launch, fds) {
        Ok(never) => match never {},
        Err((events, msg)) => {
            let _ = send(events.as_fd(), &Wire::SetupError(msg));
            sys::exit_now(1)
        }
    }
}

/// Whether `pid` (of the host pid namespace, read through the host's /proc still mounted)
/// exists and is not a zombie.
fn alive(pid: Pid) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn init_inner(launch: &Launch, fds: ChildFds) -> SetupResult {
    let ChildFds {
        events,
        stdout,
        stderr,
        fdpass,
    } = fds;
    macro_rules! tryx {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err((events, format!("{}: {}", $what, e))),
            }
        };
    }
    tryx!(sys::loopback_up(), "bringing lo up");
    if let Some(hook) = &launch.hook {
        let sockets = tryx!(hook.configure(), "network hook");
        if sockets.len() > netns::MAX_PASSED_FDS {
            return Err((events, "network hook returned too many sockets".into()));
        }
        if let Some(pass) = &fdpass {
            tryx!(netns::send_fds(pass.as_fd(), &sockets), "passing sockets");
        }
    }
    drop(fdpass);
    let interfaces = tryx!(netns::interfaces_of_current_netns(), "listing interfaces");
    tryx!(
        send(events.as_fd(), &Wire::Interfaces(interfaces.clone())),
        "event pipe"
    );
    if interfaces != ["lo"] {
        return Err((
            events,
            format!("network namespace is not sealed: interfaces {interfaces:?}"),
        ));
    }
    tryx!(nix::unistd::sethostname(&launch.hostname), "sethostname");
    tryx!(build_root(&launch.plan), "building the root filesystem");

    let devnull = tryx!(
        nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty()
        ),
        "/dev/null"
    );
    let (sync_r, sync_w) = tryx!(
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC),
        "sync pipe"
    );
    match tryx!(sys::fork(), "fork command") {
        ForkResult::Child => {
            drop(sync_w);
            command(launch, events, stdout, stderr, devnull, sync_r)
        }
        ForkResult::Parent { child } => {
            drop((stdout, stderr, devnull, sync_r));
            let opts = ptrace::Options::PTRACE_O_TRACESECCOMP
                | ptrace::Options::PTRACE_O_TRACEFORK
                | ptrace::Options::PTRACE_O_TRACEVFORK
                | ptrace::Options::PTRACE_O_TRACECLONE
                | ptrace::Options::PTRACE_O_TRACEEXEC
                | ptrace::Options::PTRACE_O_TRACESYSGOOD
                | ptrace::Options::PTRACE_O_EXITKILL;
            if let Err(e) = ptrace::seize(child, opts) {
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                return Err((events, format!("ptrace seize: {e}")));
            }
            tryx!(nix::unistd::write(&sync_w, b"g"), "releasing the command");
            drop(sync_w);
            // From here on nothing in the sandbox may read init's memory through /proc.
            let _ = nix::sys::prctl::set_dumpable(false);
            let mut tracer = crate::tracer::Tracer::new(
                events.as_fd(),
                launch.start,
                child,
                &launch.env_capture,
            );
            tracer.announce_main(&launch.argv, &launch.cwd);
            tracer.run();
            let _ = send(events.as_fd(), &Wire::Done);
            sys::exit_now(0)
        }
    }
}

/// The sandboxed command's process, between fork and `execve`. Never returns.
fn command(
    launch: &Launch,
    events: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
    devnull: OwnedFd,
    sync: OwnedFd,
) -> ! {
    let msg = match command_inner(launch, events.as_fd(), stdout, stderr, devnull, sync) {
        Ok(never) => match never {},
        Err(msg) => msg,
    };
    let _ = send(events.as_fd(), &Wire::SetupError(msg));
    sys::exit_now(127)
}

fn command_inner(
    launch: &Launch,
    events: BorrowedFd<'_>,
    stdout: OwnedFd,
    stderr: OwnedFd,
    devnull: OwnedFd,
    sync: OwnedFd,
) -> Result<Infallible, String> {
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: nix::Error| format!("{what}: {err}")
    };
    // A session of its own: no controlling terminal, nothing to signal outside.
    nix::unistd::setsid().map_err(e("setsid"))?;
    sys::reset_signals().map_err(e("resetting signals"))?;
    nix::unistd::dup2_stdin(&devnull).map_err(e("stdin"))?;
    nix::unistd::dup2_stdout(&stdout).map_err(e("stdout"))?;
    nix::unistd::dup2_stderr(&stderr).map_err(e("stderr"))?;
    drop((devnull, stdout, stderr));
    nix::unistd::chdir(&launch.cwd).map_err(e(&format!("cwd {}", launch.cwd.display())))?;
    // Under memory pressure the kernel should kill the package, not the tracer.
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    apply_rlimits(&launch.limits).map_err(e("setrlimit"))?;
    let program = find_program(&launch.argv[0], &launch.path_var)?;

    let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    sys::drop_bounding_set(last_cap).map_err(e("dropping capabilities"))?;
    sys::clear_ambient_caps().map_err(e("clearing ambient capabilities"))?;
    nix::sys::prctl::set_no_new_privs().map_err(e("no_new_privs"))?;
    let landlock = apply_landlock(&launch.writable);
    send(events, &Wire::Landlock(landlock)).map_err(|err| format!("event pipe: {err}"))?;

    // Wait until init has seized us: seccomp's TRACE verdicts need a tracer.
    let mut byte = [0u8; 1];
    match nix::unistd::read(&sync, &mut byte) {
        Ok(1) => {}
        _ => return Err("init did not release the command".into()),
    }
    drop(sync);
    sys::cloexec_from_3().map_err(e("close_range"))?;
    for filter in &launch.filters {
        seccompiler::apply_filter(filter).map_err(|err| format!("seccomp: {err}"))?;
    }
    let err = nix::unistd::execve(&program, &launch.argv, &launch.env).unwrap_err();
    Err(format!("exec {}: {err}", program.to_string_lossy()))
}

fn apply_rlimits(limits: &Limits) -> nix::Result<()> {
    let set = |r: Resource, v: Option<u64>| match v {
        Some(v) => setrlimit(r, v, v),
        None => Ok(()),
    };
    set(Resource::RLIMIT_AS, limits.address_space_bytes)?;
    set(Resource::RLIMIT_NPROC, limits.max_processes)?;
    set(Resource::RLIMIT_FSIZE, limits.max_file_size_bytes)?;
    set(Resource::RLIMIT_NOFILE, limits.max_open_files)?;
    set(Resource::RLIMIT_CPU, limits.cpu_seconds)?;
    set(Resource::RLIMIT_CORE, Some(0))
}

/// `execvp`'s lookup, done here so that the error names the program.
fn find_program(argv0: &CString, path_var: &str) -> Result<CString, String> {
    let name = argv0.to_string_lossy();
    if name.contains('/') {
        return Ok(argv0.clone());
    }
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name.as_ref());
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            && candidate.is_file()
        {
            return CString::new(candidate.into_os_string().into_encoded_bytes())
                .map_err(|_| "program path contains NUL".to_owned());
        }
    }
    Err(format!("program not found in PATH: {name}"))
}

/// Landlock: read-only everywhere, read-write in the writable directories, device files of
/// `/dev` usable. Returns the enforcement status for the report.
fn apply_landlock(writable: &[PathBuf]) -> String {
    use landlock::{
        ABI, Access, AccessFs, PathBeneath, PathFd, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        Scope,
    };
    let abi = ABI::V5;
    let result = (|| -> Result<RulesetStatus, String> {
        let s = |e: landlock::RulesetError| e.to_string();
        let mut created = landlock::Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .map_err(s)?
            .scope(Scope::from_all(ABI::V6))
            .map_err(s)?
            .create()
            .map_err(s)?;
        let fd = |p: &Path| PathFd::new(p).map_err(|e| e.to_string());
        created = created
            .add_rule(PathBeneath::new(
                fd(Path::new("/"))?,
                AccessFs::from_read(abi),
            ))
            .map_err(s)?;
        created = created
            .add_rule(PathBeneath::new(
                fd(Path::new("/dev"))?,
                AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev,
            ))
            .map_err(s)?;
        for dir in writable {
            if dir.exists() {
                created = created
                    .add_rule(PathBeneath::new(fd(dir)?, AccessFs::from_all(abi)))
                    .map_err(s)?;
            }
        }
        Ok(created.restrict_self().map_err(s)?.ruleset)
    })();
    match result {
        Ok(RulesetStatus::FullyEnforced) => "fully_enforced".into(),
        Ok(RulesetStatus::PartiallyEnforced) => "partially_enforced".into(),
        Ok(RulesetStatus::NotEnforced) => "not_enforced".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// Build the new root: a tmpfs, pivoted into, filled by the plan, the old root detached.
fn build_root(plan: &[MountStep]) -> Result<(), String> {
    let e = |what: String| move |err: nix::Error| format!("{what}: {err}");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(e("making / private".into()))?;
    // Staging point: the new root is mounted over /tmp *of this mount namespace* only; after
    // pivot_root the host's /tmp is visible again under the old root.
    mount(
        Some("tmpfs"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755,size=16m"),
    )
    .map_err(e("mounting the new root".into()))?;
    std::fs::create_dir("/tmp/.oldroot").map_err(|err| format!("mkdir .oldroot: {err}"))?;
    nix::unistd::pivot_root("/tmp", "/tmp/.oldroot").map_err(e("pivot_root".into()))?;
    nix::unistd::chdir("/").map_err(e("chdir /".into()))?;
    let old = Path::new("/.oldroot");
    for step in plan {
        run_step(step, old)?;
    }
    umount2(old, MntFlags::MNT_DETACH).map_err(e("detaching the old root".into()))?;
    std::fs::remove_dir(old).map_err(|err| format!("rmdir .oldroot: {err}"))?;
    remount_read_only(Path::new("/"))
}

fn under(old: &Path, host: &Path) -> PathBuf {
    old.join(host.strip_prefix("/").unwrap_or(host))
}

fn run_step(step: &MountStep, old: &Path) -> Result<(), String> {
    let e = |what: &Path| {
        let what = what.display().to_string();
        move |err: nix::Error| format!("{what}: {err}")
    };
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |err: std::io::Error| format!("{what}: {err}")
    };
    match step {
        MountStep::Bind {
            source,
            target,
            writable,
            is_dir,
        } => {
            let src = under(old, source);
            if *is_dir {
                std::fs::create_dir_all(target).map_err(io(target))?;
            } else {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                if !target.exists() {
                    std::fs::write(target, b"").map_err(io(target))?;
                }
            }
            mount(
                Some(&src),
                target,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(e(target))?;
            let mut flags = locked_flags(target)? | MsFlags::MS_NOSUID;
            // Device nodes bound into /dev must stay usable; everything else is nodev.
            if !target.starts_with("/dev") {
                flags |= MsFlags::MS_NODEV;
            }
            if !*writable {
                flags |= MsFlags::MS_RDONLY;
            }
            mount(
                None::<&str>,
                target,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | flags,
                None::<&str>,
            )
            .map_err(e(target))?;
        }
        MountStep::Symlink { target, to } => {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::os::unix::fs::symlink(to, target).map_err(io(target))?;
        }
        MountStep::Tmpfs {
            target,
            size_bytes,
            mode,
        } => {
            std::fs::create_dir_all(target).map_err(io(target))?;
            let opts = format!("size={size_bytes},mode={mode:o}");
            mount(
                Some("tmpfs"),
                target,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(opts.as_str()),
            )
            .map_err(e(target))?;
        }
        MountStep::File { target, contents } => {
            std::fs::write(target, contents).map_err(io(target))?;
        }
        MountStep::Proc { target } => {
            std::fs::create_dir_all(target).map_err(io(target))?;
            mount(
                Some("proc"),
                target,
                Some("proc"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            )
            .map_err(e(target))?;
        }
        MountStep::ReadOnly { target } => remount_read_only(target)?,
    }
    Ok(())
}

fn remount_read_only(target: &Path) -> Result<(), String> {
    let flags = locked_flags(target)?
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID;
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(|err| format!("read-only {}: {err}", target.display()))
}

/// Flags of the mount at `path` that a user namespace may not clear (the kernel locks the
/// flags of mounts inherited from a more privileged namespace): a remount must repeat them.
fn locked_flags(path: &Path) -> Result<MsFlags, String> {
    let st = statvfs(path).map_err(|err| format!("statvfs {}: {err}", path.display()))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    Ok(out)
}
