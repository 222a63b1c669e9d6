//! The few kernel calls that have no safe wrapper in `nix`, each behind a safe function.
//!
//! This is the only module of the crate allowed to use `unsafe`. Every block states why it
//! is sound; everything else in the crate goes through `nix`, `landlock` and `seccompiler`.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::unistd::{ForkResult, Pid};

/// `fork(2)`.
///
/// The callers (the supervisor and the sandbox's own init) only fork to run code of this
/// crate that never returns into the caller's stack: the child ends in [`exit_now`] or
/// `execve`. glibc's `fork` resets the allocator's locks in the child, so allocating there
/// is fine even when the parent is multi-threaded; the child never touches other locks
/// (stdio, the test harness) that another thread could have held.
pub(crate) fn fork() -> nix::Result<ForkResult> {
    // SAFETY: see the function's documentation: the child only runs this crate's setup code
    // and leaves through `_exit` or `execve`.
    unsafe { nix::unistd::fork() }
}

/// `_exit(2)`: leave a forked child without running the parent's atexit handlers or
/// flushing stdio buffers that were copied from the parent.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions.
    unsafe { libc::_exit(code) }
}

/// What `PTRACE_GET_SYSCALL_INFO` reported about the stop of a tracee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyscallInfo {
    /// A seccomp stop (`SECCOMP_RET_TRACE`) or syscall-entry stop: number and arguments.
    Entry { nr: i64, args: [u64; 6] },
    /// A syscall-exit stop: the return value (negative errno on failure).
    Exit { rval: i64 },
    /// Not stopped at a syscall.
    None,
}

const PTRACE_SYSCALL_INFO_NONE: u8 = 0;
const PTRACE_SYSCALL_INFO_ENTRY: u8 = 1;
const PTRACE_SYSCALL_INFO_EXIT: u8 = 2;
const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

/// `ptrace(PTRACE_GET_SYSCALL_INFO)`. Our own zero-initialised buffer, rather than nix's
/// `syscall_info`, because the kernel only fills the part of the union that applies and
/// reading the rest of an uninitialised `MaybeUninit` would be undefined behaviour.
pub(crate) fn syscall_info(pid: Pid) -> nix::Result<SyscallInfo> {
    // Layout (include/uapi/linux/ptrace.h): op u8, reserved u8, flags u16, arch u32,
    // instruction_pointer u64, stack_pointer u64, then the union: entry/seccomp
    // {nr u64, args [u64; 6], ret_data u32}, exit {rval s64, is_error u8}. 88 bytes.
    let mut buf = [0u64; 11];
    // SAFETY: the kernel writes at most `size_of_val(&buf)` bytes (passed as `addr`) into
    // `buf`, which is valid, aligned and lives across the call.
    let res = unsafe {
        libc::ptrace(
            libc::PTRACE_GET_SYSCALL_INFO,
            pid.as_raw(),
            size_of_val(&buf),
            buf.as_mut_ptr(),
        )
    };
    Errno::result(res)?;
    let op = buf[0].to_ne_bytes()[0];
    Ok(match op {
        PTRACE_SYSCALL_INFO_ENTRY | PTRACE_SYSCALL_INFO_SECCOMP => SyscallInfo::Entry {
            nr: buf[3] as i64,
            args: [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]],
        },
        PTRACE_SYSCALL_INFO_EXIT => SyscallInfo::Exit {
            rval: buf[3] as i64,
        },
        PTRACE_SYSCALL_INFO_NONE => SyscallInfo::None,
        _ => SyscallInfo::None,
    })
}

/// Close every descriptor of this process except `keep` (and 0, 1, 2).
///
/// Run first thing in a freshly forked child of the supervisor: a multi-threaded caller
/// (the test harness, a worker pool) may have pipes of *other* sandboxes open at fork time;
/// holding their write ends would delay those sandboxes' end-of-file.
pub(crate) fn close_fds_except(keep: &[RawFd]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd > 2)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut next = 3u32;
    for fd in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if fd > next {
            let last = if fd == u32::MAX { u32::MAX } else { fd - 1 };
            // SAFETY: closes descriptors this process owns and no Rust object in the child
            // uses afterwards (the child only uses the descriptors in `keep`).
            unsafe {
                libc::syscall(libc::SYS_close_range, next, last, 0u32);
            }
        }
        next = fd.saturating_add(1);
    }
}

/// Mark every descriptor from 3 up close-on-exec, so the sandboxed program inherits only
/// its stdio.
pub(crate) fn cloexec_from_3() -> nix::Result<()> {
    // SAFETY: `close_range` with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors.
    let res = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(res).map(drop)
}

/// Bring the loopback interface of the current network namespace up (`ip link set lo up`).
pub(crate) fn loopback_up() -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into `req`, a valid
    // `ifreq` owned by this frame; `sock` is an open socket.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: reading the `ifru_flags` member that SIOCGIFFLAGS just wrote.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS reads `req`.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })?;
    Ok(())
}

/// Drop every capability from the bounding set, so nothing the sandboxed program executes
/// can gain a capability again, even as uid 0 of the sandbox's user namespace.
pub(crate) fn drop_bounding_set(last_cap: u32) -> nix::Result<()> {
    for cap in 0..=last_cap {
        // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
        let res = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        // EINVAL: a capability this kernel does not know; nothing to drop.
        if let Err(e) = Errno::result(res)
            && e != Errno::EINVAL
        {
            return Err(e);
        }
    }
    Ok(())
}

/// Clear the ambient capability set (`PR_CAP_AMBIENT_CLEAR_ALL`).
pub(crate) fn clear_ambient_caps() -> nix::Result<()> {
    // SAFETY: no pointers are passed.
    let res = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Errno::result(res).map(drop)
}

/// Take ownership of a descriptor the kernel installed in this process for us (received
/// with `SCM_RIGHTS`), so it is closed exactly once.
pub(crate) fn own_fd(fd: RawFd) -> nix::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    // SAFETY: `fd` was just created by the kernel in `recvmsg` for this process and nothing
    // else refers to it; the `OwnedFd` becomes its only owner.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// How a waited-for child changed state, decoded from the raw status word. Raw rather than
/// nix's `WaitStatus`, which cannot represent real-time signals: a tracee stopped by one
/// would otherwise be lost and hang forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    Exited(Pid, i32),
    Signaled(Pid, i32),
    /// Stopped with `WSTOPSIG` and the ptrace event (`status >> 16`).
    Stopped {
        pid: Pid,
        sig: i32,
        event: i32,
    },
    Other,
}

/// `waitpid(-1, &status, __WALL)`: any child or tracee, threads included.
pub(crate) fn wait_any() -> nix::Result<Waited> {
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid out-pointer for the duration of the call.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
    let pid = Pid::from_raw(Errno::result(pid)?);
    Ok(if libc::WIFEXITED(status) {
        Waited::Exited(pid, libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Waited::Signaled(pid, libc::WTERMSIG(status))
    } else if libc::WIFSTOPPED(status) {
        Waited::Stopped {
            pid,
            sig: libc::WSTOPSIG(status),
            event: (status >> 16) & 0xffff,
        }
    } else {
        Waited::Other
    })
}

/// `ptrace(PTRACE_CONT)` or `ptrace(PTRACE_SYSCALL)` with a raw signal number (0: none).
pub(crate) fn ptrace_resume(pid: Pid, sig: i32, to_syscall_exit: bool) -> nix::Result<()> {
    let req = if to_syscall_exit {
        libc::PTRACE_SYSCALL
    } else {
        libc::PTRACE_CONT
    };
    // SAFETY: PTRACE_CONT/PTRACE_SYSCALL take no pointers; `data` is the signal number.
    let res = unsafe {
        libc::ptrace(
            req,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    };
    Errno::result(res).map(drop)
}

/// Give the command default signal dispositions and an empty signal mask. The caller may
/// ignore signals (Rust ignores `SIGPIPE`) and ignored dispositions survive `execve`:
/// left alone, `yes | head` would spin and `RLIMIT_FSIZE` would not stop a writer.
pub(crate) fn reset_signals() -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no code of ours in signal context.
        unsafe { nix::sys::signal::sigaction(sig, &default) }?;
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}
