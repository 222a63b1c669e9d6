//! The tracer: file, process and socket events with resolved paths and argv.

mod common;

use std::time::Duration;

use ossprey_sandbox::{Event, EventKind, FileOp, NetOp, Phase, PhaseResult, SocketAddress};

fn file_event<'a>(r: &'a PhaseResult, op: FileOp, path: &str) -> &'a EventKind {
    r.events
        .iter()
        .map(|e: &Event| &e.kind)
        .find(|k| matches!(k, EventKind::File { op: o, path: p, .. } if *o == op && p == path))
        .unwrap_or_else(|| panic!("no {op:?} of {path} in {:#?}", r.events))
}

#[test]
fn file_operations_and_child_processes_are_recorded_with_resolved_paths() {
    require_sandbox!();
    let script = "cd /tmp && echo data > f1 && mv f1 f2 && chmod 600 f2 && mkdir d \
                  && ln -s f2 d/link && cat /etc/hostname > /dev/null && rm f2 && exit 7";
    let r = common::run(&common::policy(), &common::sh(script, 10));
    assert_eq!(r.exit.unwrap().code, Some(7));

    match file_event(&r, FileOp::Open, "/tmp/f1") {
        EventKind::File {
            read,
            write,
            create,
            result,
            ..
        } => {
            assert!(!read && *write && *create);
            assert!(result.unwrap() >= 0);
        }
        _ => unreachable!(),
    }
    match file_event(&r, FileOp::Rename, "/tmp/f1") {
        EventKind::File { target, result, .. } => {
            assert_eq!(target.as_deref(), Some("/tmp/f2"));
            assert_eq!(*result, Some(0));
        }
        _ => unreachable!(),
    }
    match file_event(&r, FileOp::Chmod, "/tmp/f2") {
        EventKind::File { mode, .. } => assert_eq!(*mode, Some(0o600)),
        _ => unreachable!(),
    }
    file_event(&r, FileOp::Mkdir, "/tmp/d");
    match file_event(&r, FileOp::Symlink, "/tmp/d/link") {
        EventKind::File { target, .. } => assert_eq!(target.as_deref(), Some("f2")),
        _ => unreachable!(),
    }
    match file_event(&r, FileOp::Open, "/etc/hostname") {
        EventKind::File { read, write, .. } => assert!(*read && !*write),
        _ => unreachable!(),
    }
    file_event(&r, FileOp::Delete, "/tmp/f2");

    // `mv` ran as a child of the shell, with its argv, and exited 0.
    let sh = r.processes[0].pid;
    let mv = r
        .processes
        .iter()
        .find(|p| p.argv == ["mv", "f1", "f2"])
        .expect("mv process");
    assert_eq!(mv.ppid, sh);
    assert_eq!(mv.exit.unwrap().code, Some(0));
    assert!(r.events.iter().any(|e| e.pid == mv.pid
        && matches!(&e.kind, EventKind::Exec { path, argv, result: Some(0), .. }
            if path == "/usr/bin/mv" && argv == &["mv", "f1", "f2"])));
    assert!(r.events.iter().any(|e| e.pid == mv.pid
        && matches!(&e.kind, EventKind::ProcessStart { cwd, .. } if cwd == "/tmp")));
}

#[test]
fn relative_paths_resolve_against_dirfds() {
    require_sandbox!();
    if !std::path::Path::new("/usr/bin/python3").exists() {
        eprintln!("skipped: /usr/bin/python3 is needed to call openat() with a dirfd");
        return;
    }
    // mkdirat() and openat() relative to a directory fd that is not the cwd (home).
    let py = "import os; d = os.open('/tmp', os.O_RDONLY); os.mkdir('sub', dir_fd=d); \
              os.close(os.open('sub/../sub/x.txt', os.O_WRONLY | os.O_CREAT, dir_fd=d))";
    let r = common::run(
        &common::policy(),
        &Phase::new(["/usr/bin/python3", "-I", "-c", py]).timeout(Duration::from_secs(10)),
    );
    assert_eq!(r.exit.unwrap().code, Some(0), "{}", r.stderr.text);
    file_event(&r, FileOp::Mkdir, "/tmp/sub");
    file_event(&r, FileOp::Open, "/tmp/sub/x.txt");
}

#[test]
fn sockets_connects_binds_and_sends_are_recorded() {
    require_sandbox!();
    let perl = r#"
        use IO::Socket::INET; use Socket;
        my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1:7777', Listen => 5, ReuseAddr => 1) or die $!;
        my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1:7777') or die $!;
        my $refused = IO::Socket::INET->new(PeerAddr => '127.0.0.1:9');
        socket(my $u, PF_INET, SOCK_DGRAM, 0) or die;
        send($u, "ping", 0, sockaddr_in(5353, inet_aton('127.0.0.1')));
        print "done\n";
    "#;
    let r = common::run(
        &common::policy(),
        &Phase::new(["perl", "-e", perl]).timeout(Duration::from_secs(10)),
    );
    assert_eq!(r.stdout.text, "done\n", "{}", r.stderr.text);
    let net = |op: NetOp, port: u16| {
        r.events.iter().find_map(|e| match &e.kind {
            EventKind::Network {
                op: o,
                address: SocketAddress::Inet { address, port: p },
                result,
                ..
            } if *o == op && *p == port && address.to_string() == "127.0.0.1" => Some(*result),
            _ => None,
        })
    };
    assert_eq!(net(NetOp::Bind, 7777), Some(Some(0)));
    assert_eq!(net(NetOp::Connect, 7777), Some(Some(0)));
    assert_eq!(net(NetOp::Connect, 9), Some(Some(-111)), "ECONNREFUSED");
    assert!(net(NetOp::Send, 5353).is_some());
    assert!(r.events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Listen {
            result: Some(0),
            ..
        }
    )));
    assert!(r.events.iter().any(|e| matches!(&e.kind,
        EventKind::Socket { family, socket_type, .. } if family == "inet" && socket_type == "dgram")));
}

#[test]
fn exec_records_selected_environment_only() {
    require_sandbox!();
    let phase = common::sh("env > /dev/null", 10)
        .env("AWS_SECRET_ACCESS_KEY", "fake")
        .env("TERM", "xterm");
    let r = common::run(&common::policy(), &phase);
    let env = r
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Exec { path, env, .. } if path == "/usr/bin/env" => Some(env.clone()),
            _ => None,
        })
        .expect("env exec");
    assert_eq!(
        env.get("AWS_SECRET_ACCESS_KEY").map(String::as_str),
        Some("fake")
    );
    assert!(!env.contains_key("TERM"));
}

#[test]
fn missing_program_is_an_error_not_a_panic() {
    require_sandbox!();
    let r = common::run(
        &common::policy(),
        &Phase::new(["no-such-program-here"]).timeout(Duration::from_secs(5)),
    );
    assert_eq!(r.status, ossprey_sandbox::PhaseStatus::Error);
    assert!(r.error.unwrap().contains("no-such-program-here"));
}
