//! Parse runsc's syscall log (`--strace`, written into the sentry's debug log) into the
//! same [`Event`]s the native tracer produces.
//!
//! A line of the log (runsc 0.0~20221219, Debian's build) looks like:
//!
//! ```text
//! I1125 18:33:25.877283   15698 strace.go:608] [   1:   1] sh X openat(AT_FDCWD /, 0x5568e787e6a0 /tmp/x, O_WRONLY|O_CREAT|O_TRUNC, 0o666) = 3 (0x3) (20.24µs)
//! ```
//!
//! `[tgid: tid]` are ids in the sandbox's pid namespace, then the thread's `comm`, `E`
//! (entry) or `X` (exit), and the call as the sentry decoded it: paths and strings are
//! printed after the pointer, dirfds with the directory they name, flags symbolically,
//! socket addresses as `{Family: AF_INET, Addr: 1.2.3.4, Port: 80}`. A failed call ends in
//! `= 0 (0x0) errno=2 (no such file or directory)`. Only exit lines are used (they carry
//! both arguments and result); a process killed by a signal shows up as the sentry's
//! `Uncaught signal: "killed" (9), PID: 10, TID: 10` line.
//!
//! Everything here is text printed about a hostile program: `comm` and paths are chosen
//! by it. Parsing never panics, and the separator after `comm` is looked up where the
//! kernel's 15-byte limit on `comm` puts it, so a process named `x X execve(` cannot
//! forge a call.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use crate::decode;
use crate::event::{Event, EventKind, FileOp, NetOp, SocketAddress};

/// The syscalls worth logging (`--strace-syscalls`): the ones [`parse_log`] turns into
/// events. Everything else would only grow the log.
pub(crate) const TRACED_SYSCALLS: &[&str] = &[
    "execve",
    "execveat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "exit",
    "exit_group",
    "open",
    "openat",
    "creat",
    "unlink",
    "unlinkat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "chmod",
    "fchmodat",
    "mkdir",
    "mkdirat",
    "symlink",
    "symlinkat",
    "link",
    "linkat",
    "socket",
    "connect",
    "bind",
    "listen",
    "sendto",
    "sendmsg",
];

/// One parsed syscall exit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call<'a> {
    /// Microseconds since midnight (the log's time of day).
    pub tod_us: u64,
    pub tgid: i32,
    pub tid: i32,
    pub name: &'a str,
    /// The raw argument list, between the parentheses.
    pub args: &'a str,
    /// The result, or a negative errno.
    pub result: i64,
}

/// Parse one line of the log into a syscall exit, if it is one.
pub(crate) fn parse_line(line: &str) -> Option<Call<'_>> {
    let tod_us = time_of_day(line)?;
    let (_, rest) = line.split_once("strace.go:")?;
    let (_, rest) = rest.split_once("] [")?;
    let (ids, rest) = rest.split_once(']')?;
    let (tgid, tid) = ids.split_once(':')?;
    let tgid: i32 = tgid.trim().parse().ok()?;
    let tid: i32 = tid.trim().parse().ok()?;
    let rest = rest.strip_prefix(' ')?;
    // `comm` is at most 15 bytes: the true " X " separator starts at or before byte 15;
    // separators inside a forged comm come earlier, so take the last candidate.
    let sep = rest
        .match_indices(" X ")
        .map(|(i, _)| i)
        .take_while(|&i| i <= 16)
        .filter(|&i| {
            rest.get(i + 3..)
                .and_then(|s| s.split_once('('))
                .is_some_and(|(n, _)| is_name(n))
        })
        .last()?;
    let call = rest.get(sep + 3..)?;
    let (name, after) = call.split_once('(')?;
    // The tail ` = RET (0xHEX) [errno=N (msg)] (duration)` holds no " = ".
    let eq = after.rfind(") = ")?;
    let args = after.get(..eq)?;
    let tail = after.get(eq + 4..)?;
    let ret: i64 = tail.split(' ').next()?.parse().ok()?;
    let result = match tail.split_once("errno=") {
        Some((_, e)) => -e.split(' ').next()?.parse::<i64>().ok()?,
        None => ret,
    };
    Some(Call {
        tod_us,
        tgid,
        tid,
        name,
        args,
        result,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `I1125 18:33:25.877283 …` → microseconds since midnight.
fn time_of_day(line: &str) -> Option<u64> {
    let tod = line.get(6..21)?;
    let h: u64 = tod.get(0..2)?.parse().ok()?;
    let m: u64 = tod.get(3..5)?.parse().ok()?;
    let s: u64 = tod.get(6..8)?.parse().ok()?;
    let us: u64 = tod.get(9..15)?.parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

/// `Uncaught signal: "killed" (9), PID: 10, TID: 10, …` → `(pid, signal)`.
fn uncaught_signal(line: &str) -> Option<(i32, i32)> {
    let (_, rest) = line.split_once("] Uncaught signal: ")?;
    let (_, rest) = rest.rsplit_once("\" (")?;
    let (sig, rest) = rest.split_once(')')?;
    let (_, rest) = rest.split_once("PID: ")?;
    let pid = rest.split(',').next()?.trim().parse().ok()?;
    Some((pid, sig.parse().ok()?))
}

/// Split an argument list on top-level `, ` (outside `[]`, `{}` and quotes).
fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0usize);
    let bytes = args.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b',' if depth <= 0 && bytes.get(i + 1) == Some(&b' ') => {
                out.push(args.get(start..i).unwrap_or_default());
                start = i + 2;
            }
            _ => {}
        }
    }
    out.push(args.get(start..).unwrap_or_default());
    out
}

/// A path argument: `0x5568e787e6a0 /tmp/x` → `/tmp/x`.
fn path_arg(arg: &str) -> Option<&str> {
    let (ptr, path) = arg.split_once(' ')?;
    ptr.starts_with("0x").then_some(path)
}

/// A dirfd argument: `AT_FDCWD /tmp` or `0x3 /some/dir` → the directory.
fn dir_arg(arg: &str) -> Option<&str> {
    arg.split_once(' ').map(|(_, d)| d)
}

/// Resolve `path` against the directory named by a dirfd argument (or `cwd`).
fn resolve(dir: Option<&str>, cwd: &str, path: &str) -> String {
    decode::resolve(Path::new(dir.unwrap_or(cwd)), path)
}

/// `O_WRONLY|O_CREAT|0x80000` → the numeric flags.
fn open_flags(s: &str) -> u64 {
    s.split('|')
        .map(|f| match f {
            "O_RDONLY" => 0,
            "O_WRONLY" => libc::O_WRONLY as u64,
            "O_RDWR" => libc::O_RDWR as u64,
            "O_CREAT" => libc::O_CREAT as u64,
            "O_TRUNC" => libc::O_TRUNC as u64,
            "O_PATH" => libc::O_PATH as u64,
            "O_TMPFILE" => libc::O_TMPFILE as u64,
            "O_APPEND" => libc::O_APPEND as u64,
            other => other
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or(0),
        })
        .fold(0, |a, b| a | b)
}

/// `0o666` → 0o666.
fn mode_arg(s: &str) -> Option<u32> {
    u32::from_str_radix(s.strip_prefix("0o")?, 8).ok()
}

/// `0x3 socket:[1]` → 3.
fn fd_arg(s: &str) -> i32 {
    let n = s.split(' ').next().unwrap_or_default();
    n.strip_prefix("0x")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .map(|v| v as i32)
        .unwrap_or(-1)
}

/// `0x7f… {Family: AF_INET, Addr: 203.0.113.7, Port: 4444}` → the address.
fn sockaddr_arg(s: &str) -> Option<SocketAddress> {
    let (_, body) = s.split_once('{')?;
    let body = body.strip_suffix('}')?;
    let mut family = None;
    let mut addr = None;
    let mut port = None;
    let mut path = None;
    for field in body.split(", ") {
        match field.split_once(": ") {
            Some(("Family", f)) => family = Some(f),
            Some(("Addr", a)) => addr = Some(a),
            Some(("Port", p)) => port = p.parse::<u16>().ok(),
            Some(("Path", p)) => path = Some(p),
            _ => {}
        }
    }
    match family? {
        "AF_INET" | "AF_INET6" => Some(SocketAddress::Inet {
            address: addr?.trim_matches(['[', ']']).parse::<IpAddr>().ok()?,
            port: port?,
        }),
        "AF_UNIX" => {
            // This runsc prints a Unix path as `Addr: "/tmp/sock"`.
            let p = path.or(addr).unwrap_or_default().trim_matches('"');
            let (abstract_name, p) = match p.strip_prefix('@') {
                Some(rest) => (true, rest),
                None => (false, p),
            };
            Some(SocketAddress::Unix {
                path: p.to_owned(),
                abstract_name,
            })
        }
        "AF_NETLINK" => Some(SocketAddress::Other {
            family_number: libc::AF_NETLINK as u16,
        }),
        _ => None,
    }
}

/// `["a", "b\"c"]` → the strings (Go-quoted; common escapes undone).
fn string_array(s: &str) -> Vec<String> {
    let Some(body) = s.split_once('[').and_then(|(_, b)| b.strip_suffix(']')) else {
        return Vec::new();
    };
    split_args(body)
        .into_iter()
        .filter(|a| !a.is_empty())
        .map(unquote)
        .collect()
}

fn unquote(s: &str) -> String {
    let s = s.strip_prefix('"').unwrap_or(s);
    let s = s.strip_suffix('"').unwrap_or(s);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Family / type names as the native tracer spells them.
fn family_name(s: &str) -> String {
    match s {
        "AF_UNIX" => "unix".into(),
        "AF_INET" => "inet".into(),
        "AF_INET6" => "inet6".into(),
        "AF_NETLINK" => "netlink".into(),
        "AF_PACKET" => "packet".into(),
        other => other.to_owned(),
    }
}

fn socket_type_name(s: &str) -> String {
    let base = s.split('|').next().unwrap_or_default();
    match base {
        "SOCK_STREAM" => "stream".into(),
        "SOCK_DGRAM" => "dgram".into(),
        "SOCK_RAW" => "raw".into(),
        "SOCK_SEQPACKET" => "seqpacket".into(),
        other => other.to_owned(),
    }
}

/// What the parser knows of each process.
#[derive(Debug, Clone, Default)]
struct Proc {
    argv: Vec<String>,
    cwd: String,
}

/// Turn a whole log into events, in log order. `captures(name)` says which environment
/// variables an exec event records; `main_pid`, `initial_argv` and `initial_cwd` are the
/// main process's (`runsc exec` starts it without a logged exec: it is announced at
/// time 0);
/// `start_tod_us` the phase's start as microseconds since midnight (UTC, as runsc logs).
pub(crate) fn parse_log<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    captures: &dyn Fn(&str) -> bool,
    main_pid: i32,
    initial_argv: &[String],
    initial_cwd: &str,
    start_tod_us: u64,
    max_events: usize,
) -> (Vec<Event>, u64) {
    const DAY_US: u64 = 86_400_000_000;
    let mut events = Vec::new();
    let mut dropped = 0u64;
    let mut procs: HashMap<i32, Proc> = HashMap::new();
    procs.insert(
        main_pid,
        Proc {
            argv: initial_argv.to_vec(),
            cwd: initial_cwd.to_owned(),
        },
    );
    if max_events > 0 {
        events.push(Event {
            time_ms: 0,
            pid: main_pid,
            kind: EventKind::ProcessStart {
                ppid: 0,
                argv: initial_argv.to_vec(),
                cwd: initial_cwd.to_owned(),
            },
        });
    }
    let mut push = |events: &mut Vec<Event>, tod: u64, pid: i32, kind: EventKind| {
        if events.len() >= max_events {
            dropped += 1;
            return;
        }
        let time_ms = ((tod + DAY_US - start_tod_us % DAY_US) % DAY_US) / 1000;
        events.push(Event { time_ms, pid, kind });
    };
    for line in lines {
        if let Some((pid, signal)) = uncaught_signal(line)
            && signal != 0
        {
            let tod = time_of_day(line).unwrap_or(start_tod_us);
            push(
                &mut events,
                tod,
                pid,
                EventKind::ProcessExit {
                    code: None,
                    signal: Some(signal),
                },
            );
            continue;
        }
        let Some(call) = parse_line(line) else {
            continue;
        };
        let pid = call.tgid;
        let me = procs.get(&pid).cloned().unwrap_or_else(|| Proc {
            argv: Vec::new(),
            cwd: initial_cwd.to_owned(),
        });
        let a = split_args(call.args);
        let arg = |i: usize| a.get(i).copied().unwrap_or_default();
        // A dirfd argument names the directory: keep the cwd it reveals.
        if let Some(d) = a.first().and_then(|f| f.strip_prefix("AT_FDCWD "))
            && let Some(p) = procs.get_mut(&pid)
        {
            p.cwd = d.to_owned();
        }
        let res = Some(call.result);
        let cwd = me.cwd.clone();
        let file =
            |op: FileOp, path: String, target: Option<String>, mode: Option<u32>| EventKind::File {
                op,
                path,
                read: false,
                write: true,
                create: matches!(op, FileOp::Mkdir | FileOp::Symlink | FileOp::Link),
                target,
                mode,
                result: res,
            };
        let open = |path: String, flags: u64, mode: Option<u32>| {
            let (read, write, create, _) = decode::open_intent(flags);
            EventKind::File {
                op: FileOp::Open,
                path,
                read,
                write,
                create,
                target: None,
                mode: if create { mode } else { None },
                result: res,
            }
        };
        // Paths are printed raw and may contain ", ": take fixed arguments from the
        // ends and the path from what is between.
        let middle = |from: usize, from_end: usize| -> Option<&str> {
            let parts: Vec<&str> = call.args.splitn(from + 1, ", ").collect();
            let rest = parts.get(from)?;
            let mut r: &str = rest;
            for _ in 0..from_end {
                r = r.rsplit_once(", ")?.0;
            }
            Some(r)
        };
        let kind = match call.name {
            "execve" | "execveat" => {
                let (path, argv_i, env_i) = if call.name == "execve" {
                    (path_arg(arg(0)).map(|p| resolve(None, &cwd, p)), 1, 2)
                } else {
                    (
                        path_arg(arg(1)).map(|p| resolve(dir_arg(arg(0)), &cwd, p)),
                        2,
                        3,
                    )
                };
                let argv = string_array(arg(argv_i));
                let env: BTreeMap<String, String> = string_array(arg(env_i))
                    .into_iter()
                    .filter_map(|e| {
                        let (k, v) = e.split_once('=')?;
                        captures(k).then(|| (k.to_owned(), v.to_owned()))
                    })
                    .collect();
                if call.result == 0 {
                    procs.entry(pid).or_default().argv = argv.clone();
                }
                Some(EventKind::Exec {
                    path: path.unwrap_or_default(),
                    argv,
                    env,
                    result: res,
                })
            }
            "clone" | "clone3" | "fork" | "vfork" => {
                let thread = call.name == "clone" && arg(0).contains("CLONE_THREAD");
                if call.result > 0 && !thread {
                    let child = call.result as i32;
                    procs.insert(child, me.clone());
                    push(
                        &mut events,
                        call.tod_us,
                        child,
                        EventKind::ProcessStart {
                            ppid: pid,
                            argv: me.argv.clone(),
                            cwd: me.cwd.clone(),
                        },
                    );
                }
                None
            }
            "exit_group" | "exit" => {
                if call.name == "exit_group" || call.tid == call.tgid {
                    let code = i64::from_str_radix(arg(0).trim_start_matches("0x"), 16)
                        .map(|c| (c & 0xff) as i32)
                        .ok();
                    procs.remove(&pid);
                    Some(EventKind::ProcessExit { code, signal: None })
                } else {
                    None
                }
            }
            "open" => path_arg(middle(0, 2).unwrap_or_default()).map(|p| {
                open(
                    resolve(None, &cwd, p),
                    open_flags(arg(a.len().saturating_sub(2))),
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "openat" | "openat2" => path_arg(middle(1, 2).unwrap_or_default()).map(|p| {
                open(
                    resolve(dir_arg(arg(0)), &cwd, p),
                    open_flags(arg(a.len().saturating_sub(2))),
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "creat" => path_arg(middle(0, 1).unwrap_or_default()).map(|p| {
                let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
                open(
                    resolve(None, &cwd, p),
                    flags,
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "unlink" | "rmdir" => path_arg(call.args)
                .map(|p| file(FileOp::Delete, resolve(None, &cwd, p), None, None)),
            "unlinkat" => path_arg(middle(1, 1).unwrap_or_default()).map(|p| {
                file(
                    FileOp::Delete,
                    resolve(dir_arg(arg(0)), &cwd, p),
                    None,
                    None,
                )
            }),
            "rename" => path_arg(arg(0)).map(|p| {
                file(
                    FileOp::Rename,
                    resolve(None, &cwd, p),
                    path_arg(arg(1)).map(|t| resolve(None, &cwd, t)),
                    None,
                )
            }),
            "renameat" | "renameat2" => path_arg(arg(1)).map(|p| {
                file(
                    FileOp::Rename,
                    resolve(dir_arg(arg(0)), &cwd, p),
                    path_arg(arg(3)).map(|t| resolve(dir_arg(arg(2)), &cwd, t)),
                    None,
                )
            }),
            "chmod" => path_arg(middle(0, 1).unwrap_or_default()).map(|p| {
                file(
                    FileOp::Chmod,
                    resolve(None, &cwd, p),
                    None,
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "fchmodat" => path_arg(middle(1, 1).unwrap_or_default()).map(|p| {
                file(
                    FileOp::Chmod,
                    resolve(dir_arg(arg(0)), &cwd, p),
                    None,
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "mkdir" => path_arg(middle(0, 1).unwrap_or_default()).map(|p| {
                file(
                    FileOp::Mkdir,
                    resolve(None, &cwd, p),
                    None,
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "mkdirat" => path_arg(middle(1, 1).unwrap_or_default()).map(|p| {
                file(
                    FileOp::Mkdir,
                    resolve(dir_arg(arg(0)), &cwd, p),
                    None,
                    mode_arg(arg(a.len().saturating_sub(1))),
                )
            }),
            "symlink" => path_arg(arg(1)).map(|p| {
                file(
                    FileOp::Symlink,
                    resolve(None, &cwd, p),
                    path_arg(arg(0)).map(str::to_owned),
                    None,
                )
            }),
            "symlinkat" => path_arg(arg(2)).map(|p| {
                file(
                    FileOp::Symlink,
                    resolve(dir_arg(arg(1)), &cwd, p),
                    path_arg(arg(0)).map(str::to_owned),
                    None,
                )
            }),
            "link" => path_arg(arg(1)).map(|p| {
                file(
                    FileOp::Link,
                    resolve(None, &cwd, p),
                    path_arg(arg(0)).map(|t| resolve(None, &cwd, t)),
                    None,
                )
            }),
            "linkat" => path_arg(arg(3)).map(|p| {
                file(
                    FileOp::Link,
                    resolve(dir_arg(arg(2)), &cwd, p),
                    path_arg(arg(1)).map(|t| resolve(dir_arg(arg(0)), &cwd, t)),
                    None,
                )
            }),
            "socket" => Some(EventKind::Socket {
                family: family_name(arg(0)),
                socket_type: socket_type_name(arg(1)),
                protocol: match arg(2) {
                    "IPPROTO_IP" => 0,
                    "IPPROTO_TCP" => 6,
                    "IPPROTO_UDP" => 17,
                    "IPPROTO_ICMP" => 1,
                    other => other.parse().unwrap_or(-1),
                },
                result: res,
            }),
            "connect" | "bind" => sockaddr_arg(arg(1)).map(|address| EventKind::Network {
                op: if call.name == "connect" {
                    NetOp::Connect
                } else {
                    NetOp::Bind
                },
                fd: fd_arg(arg(0)),
                address,
                result: res,
            }),
            "sendto" => sockaddr_arg(arg(4)).map(|address| EventKind::Network {
                op: NetOp::Send,
                fd: fd_arg(arg(0)),
                address,
                result: res,
            }),
            "sendmsg" => sockaddr_arg(arg(1)).map(|address| EventKind::Network {
                op: NetOp::Send,
                fd: fd_arg(arg(0)),
                address,
                result: res,
            }),
            "listen" => Some(EventKind::Listen {
                fd: fd_arg(arg(0)),
                result: res,
            }),
            _ => None,
        };
        if let Some(kind) = kind {
            push(&mut events, call.tod_us, pid, kind);
        }
    }
    (events, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real lines from runsc 0.0~20221219 (Debian's build), `--strace --platform=ptrace`.
    const LOG: &str = include_str!("testdata/runsc-strace.log");

    fn events() -> Vec<Event> {
        let start = time_of_day(LOG.lines().next().unwrap()).unwrap();
        parse_log(
            LOG.lines(),
            &|k| k == "SECRET",
            1,
            &["sh".to_owned()],
            "/tmp",
            start,
            10_000,
        )
        .0
    }

    #[test]
    fn parses_an_exit_line() {
        let line = "I1125 18:33:25.877283   15698 strace.go:608] [   1:   1] sh X openat(AT_FDCWD /, 0x5568e787e6a0 /tmp/x, O_WRONLY|O_CREAT|O_TRUNC, 0o666) = 3 (0x3) (20.24µs)";
        let c = parse_line(line).unwrap();
        assert_eq!((c.tgid, c.tid, c.name, c.result), (1, 1, "openat", 3));
        let failed = "I1125 18:33:44.600000   16174 strace.go:611] [   2:   2] mkdir X statfs(0x7f9310be88a3 /selinux, 0x7fdf81f60cb0) = 0 (0x0) errno=2 (no such file or directory) (16.792µs)";
        assert_eq!(parse_line(failed).unwrap().result, -2);
        let entry = line.replace(" X ", " E ");
        assert!(parse_line(&entry).is_none(), "entry lines are not used");
    }

    #[test]
    fn a_forged_comm_does_not_forge_a_call() {
        // comm "x X execve(" then the real call.
        let line = "I1125 18:33:25.877283   15698 strace.go:608] [   5:   5] x X execve( X mkdir(0x7f /tmp/d, 0o777) = 0 (0x0) (1µs)";
        assert_eq!(parse_line(line).unwrap().name, "mkdir");
    }

    #[test]
    fn garbage_never_panics() {
        for line in [
            "",
            "I",
            "I1125 18:33:25.877283 strace.go:1] [",
            "I1125 18:33:25.877283 strace.go:1] [ 1: 1] sh X openat(",
            "I1125 18:33:25.877283 strace.go:1] [ 1: 1] sh X openat() = ",
            "I1125 18:3é:25.877283 strace.go:1] [ 1:",
            "I1125 18:33:25.877283 strace.go:1] [ 1: 1] sh X connect(0x3, 0x1 {Family: AF_INET, Addr: x, Port: 99999}, 0x10) = 0 (0x0) (1µs)",
        ] {
            let _ = parse_line(line);
            let _ = parse_log([line], &|_| true, 1, &[], "/", 0, 10);
        }
    }

    #[test]
    fn turns_the_captured_log_into_native_events() {
        let ev = events();
        let kinds: Vec<&EventKind> = ev.iter().map(|e| &e.kind).collect();
        // fork (vfork) + exec of mkdir, with the captured variable only.
        assert!(ev.iter().any(|e| e.pid == 2
            && matches!(&e.kind, EventKind::ProcessStart { ppid: 1, cwd, argv } if cwd == "/tmp" && argv == &["sh"])));
        let exec = kinds
            .iter()
            .find_map(|k| match k {
                EventKind::Exec {
                    path,
                    argv,
                    env,
                    result,
                } if path == "/usr/bin/mkdir" => Some((argv.clone(), env.clone(), *result)),
                _ => None,
            })
            .unwrap();
        assert_eq!(exec.0, ["mkdir", "/tmp/d"]);
        assert_eq!(exec.1.get("SECRET").map(String::as_str), Some("abc"));
        assert_eq!(exec.1.len(), 1);
        assert_eq!(exec.2, Some(0));
        let has = |op: FileOp, p: &str, t: Option<&str>| {
            kinds.iter().any(|k| {
                matches!(k, EventKind::File { op: o, path, target, .. }
                    if *o == op && path == p && target.as_deref() == t)
            })
        };
        assert!(has(FileOp::Mkdir, "/tmp/d", None));
        assert!(has(FileOp::Rename, "/tmp/d/f", Some("/tmp/d/g")));
        assert!(has(FileOp::Chmod, "/tmp/d/g", None));
        assert!(has(FileOp::Symlink, "/tmp/l", Some("/tmp/d/g")));
        assert!(has(FileOp::Link, "/tmp/h", Some("/tmp/d/g")));
        assert!(has(FileOp::Delete, "/tmp/d/g", None));
        assert!(has(FileOp::Delete, "/tmp/d", None));
        // The shell's redirection: an open for writing that may create.
        assert!(kinds.iter().any(|k| matches!(k,
            EventKind::File { op: FileOp::Open, path, write: true, create: true, read: false, mode: Some(0o666), result: Some(r), .. }
            if path == "/tmp/d/f" && *r >= 0)));
        // A failed open carries the errno.
        assert!(kinds.iter().any(|k| matches!(k,
            EventKind::File { op: FileOp::Open, path, result: Some(-2), .. } if path == "/usr/pyvenv.cfg")));
        // Sockets and a datagram to the resolver.
        assert!(kinds.iter().any(|k| matches!(k,
            EventKind::Socket { family, socket_type, .. } if family == "inet" && socket_type == "dgram")));
        assert!(kinds.iter().any(|k| matches!(k,
            EventKind::Network { op: NetOp::Send, fd: 3, address: SocketAddress::Inet { address, port: 53 }, result: Some(-113) }
            if address.to_string() == "10.0.2.3")));
        assert!(kinds.iter().any(|k| matches!(
            k,
            EventKind::Network {
                op: NetOp::Connect,
                address: SocketAddress::Inet { port: 4444, .. },
                ..
            }
        )));
        // Exits: codes, and the signal that killed pid 10.
        assert!(ev.iter().any(|e| e.pid == 1
            && e.kind
                == EventKind::ProcessExit {
                    code: Some(3),
                    signal: None
                }));
        assert!(ev.iter().any(|e| e.pid == 9
            && e.kind
                == EventKind::ProcessExit {
                    code: None,
                    signal: Some(9)
                }));
        assert!(kinds.iter().any(|k| matches!(k,
            EventKind::Network { op: NetOp::Connect, address: SocketAddress::Unix { path, abstract_name: false }, result: Some(-2), .. }
            if path == "/tmp/sock")));
        assert!(kinds.iter().any(|k| matches!(
            k,
            EventKind::Network {
                op: NetOp::Bind,
                address: SocketAddress::Inet { port: 8080, .. },
                result: Some(0),
                ..
            }
        )));
        assert!(kinds.iter().any(|k| matches!(
            k,
            EventKind::Listen {
                fd: 4,
                result: Some(0)
            }
        )));
        // A thread (CLONE_THREAD) is not a process; python's posix_spawn (CLONE_VFORK) is.
        let starts: Vec<i32> = ev
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ProcessStart { .. }))
            .map(|e| e.pid)
            .collect();
        assert!(starts.contains(&10) && !starts.contains(&11), "{starts:?}");
        // Times are relative to the start and ordered.
        assert!(ev.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        assert!(ev.last().unwrap().time_ms < 10_000);
    }

    #[test]
    fn event_limit_counts_the_rest() {
        let (ev, dropped) = parse_log(LOG.lines(), &|_| false, 1, &[], "/", 0, 3);
        assert_eq!(ev.len(), 3);
        assert!(dropped > 0);
    }
}
