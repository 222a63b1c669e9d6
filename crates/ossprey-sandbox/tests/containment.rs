//! Containment: hostile-but-harmless commands written for these tests (fork bomb, memory
//! hog, disk fill, endless output, daemon, sleeper, escapes) stay inside the sandbox and
//! end by the deadline. Runs as root in CI; skips with a printed reason without namespaces.

mod common;

use std::time::Duration;

use ossprey_sandbox::{EventKind, PhaseStatus, TmpfsMount};

/// How much later than its deadline a phase may end (teardown, reading the rest).
const SLACK_MS: u64 = 5_000;

on_both_backends! {
fn fork_bomb_is_contained_by_the_process_limit() {
    require_sandbox!();
    let mut policy = common::policy();
    // As an unprivileged invoker RLIMIT_NPROC holds the bomb; as root (kuid 0 is exempt
    // from RLIMIT_NPROC) the pids cgroup does. Either way: at most 24.
    policy.limits.max_processes = Some(24);
    policy.limits.cgroup_max_pids = Some(24);
    let r = common::run(&policy, &common::sh("b() { b | b & }; b; sleep 60", 3));
    assert!(r.duration_ms < 3_000 + SLACK_MS, "{}", r.duration_ms);
    // At no moment were more processes alive than the limit allows.
    let mut alive = 0i64;
    let mut peak = 0i64;
    for e in &r.events {
        match e.kind {
            EventKind::ProcessStart { .. } => alive += 1,
            EventKind::ProcessExit { .. } => alive -= 1,
            _ => {}
        }
        peak = peak.max(alive);
    }
    // The tracer learns of an exit (wait status) after the kernel freed the pid, so
    // a child started in that gap is counted while its dead sibling still is: the
    // count from events may exceed the kernel's live count by a few. Unbounded, the
    // bomb reaches thousands in these 3 s. The lag grows when the host is loaded
    // (2 cores running other sandboxes in parallel tests; it failed there at 4), so allow more
    // than the quiet-host figure of 4; still two orders of magnitude below unbounded.
    const EXIT_OBSERVATION_LAG: i64 = 16;
    assert!(peak <= 24 + EXIT_OBSERVATION_LAG, "peak {peak} processes");
    assert!(peak >= 10, "the bomb did fork (peak {peak})");
    assert!(
        r.stderr.text.contains("fork"),
        "forks failed: {}",
        r.stderr.text
    );
    // The host can still fork.
    assert!(
        std::process::Command::new("true")
            .status()
            .unwrap()
            .success()
    );
}
}

on_both_backends! {
fn memory_hog_is_stopped_by_the_address_space_limit() {
    require_sandbox!();
    let mut policy = common::policy();
    policy.limits.address_space_bytes = Some(256 << 20);
    let r = common::run(
        &policy,
        &common::sh("perl -e '$x = \"a\" x (1 << 30); print length $x'", 10),
    );
    assert_eq!(r.status, PhaseStatus::Completed, "{r:#?}");
    assert_ne!(r.exit.unwrap().code, Some(0));
    assert!(r.stderr.text.contains("Out of memory"), "{}", r.stderr.text);
}
}

on_both_backends! {
fn memory_hog_is_killed_by_the_memory_cgroup() {
    require_sandbox!();
    let mut policy = common::policy();
    policy.limits.address_space_bytes = None;
    policy.limits.cgroup_memory_bytes = Some(64 << 20);
    let r = common::run(
        &policy,
        &common::sh("perl -e '$x = \"a\" x (512 << 20); print length $x'", 10),
    );
    if !r.isolation.cgroup {
        eprintln!("skipped: cgroups unusable here: {:?}", r.isolation.notes);
        return;
    }
    if common::backend() == ossprey_sandbox::Backend::Gvisor {
        // The cgroup holds the whole sandbox (sentry included): it is killed as a whole.
        assert_eq!(r.exit.unwrap().signal, Some(9), "{r:#?}");
        assert!(!r.stdout.text.contains("536870912"), "{}", r.stdout.text);
        return;
    }
    let perl = r
        .processes
        .iter()
        .find(|p| p.argv.first().is_some_and(|a| a == "perl"))
        .expect("perl ran");
    assert_eq!(perl.exit.unwrap().signal, Some(9), "{r:#?}");
    assert!(r.isolation.peak_memory_bytes.unwrap() <= 64 << 20);
}
}

on_both_backends! {
fn disk_fill_hits_the_tmpfs_size() {
    require_sandbox!();
    let mut policy = common::policy();
    policy.tmpfs = vec![TmpfsMount {
        target: "/tmp".into(),
        size_bytes: 8 << 20,
        mode: 0o1777,
    }];
    let r = common::run(
        &policy,
        &common::sh(
            "dd if=/dev/zero of=/tmp/fill bs=1M count=100; echo rc=$?",
            10,
        ),
    );
    assert!(r.stderr.text.contains("No space left"), "{}", r.stderr.text);
    assert!(r.stdout.text.contains("rc=1"), "{}", r.stdout.text);
}
}

on_both_backends! {
fn big_file_hits_the_file_size_limit() {
    require_sandbox!();
    let mut policy = common::policy();
    policy.limits.max_file_size_bytes = Some(1 << 20);
    let r = common::run(
        &policy,
        &common::sh("dd if=/dev/zero of=$HOME/big bs=1M count=4 2>/dev/null", 10),
    );
    let dd = r
        .processes
        .iter()
        .find(|p| p.argv.first().is_some_and(|a| a == "dd"))
        .expect("dd ran");
    assert_eq!(dd.exit.unwrap().signal, Some(libc_sigxfsz()), "{r:#?}");
}
}

fn libc_sigxfsz() -> i32 {
    25
}

on_both_backends! {
fn endless_output_is_truncated_and_the_deadline_ends_it() {
    require_sandbox!();
    let policy = common::policy();
    let r = common::run(&policy, &common::sh("yes", 2));
    assert_eq!(r.status, PhaseStatus::Timeout);
    assert!(r.stdout.truncated);
    assert_eq!(r.stdout.text.len(), 64 * 1024);
    assert!(r.stdout.total_bytes > 64 * 1024);
    assert!(r.duration_ms < 2_000 + SLACK_MS, "{}", r.duration_ms);
}
}

on_both_backends! {
fn sleeper_hits_the_deadline() {
    require_sandbox!();
    let r = common::run(&common::policy(), &common::sh("sleep 100", 1));
    assert_eq!(r.status, PhaseStatus::Timeout);
    assert_eq!(r.exit, None);
    assert!(r.duration_ms >= 1_000);
    assert!(r.duration_ms < 1_000 + SLACK_MS, "{}", r.duration_ms);
    let sleep = r.processes.iter().find(|p| p.argv[0] == "sleep").unwrap();
    assert!(sleep.killed_at_end);
}
}

on_both_backends! {
fn daemon_dies_at_phase_end_and_is_reported() {
    require_sandbox!();
    // One daemon per backend: the two variants run in parallel and each checks that no
    // process with its daemon's command line is left on the host.
    let secs = match common::backend() {
        ossprey_sandbox::Backend::Native => "31.25",
        ossprey_sandbox::Backend::Gvisor => "31.26",
    };
    let phase = common::sh(
        &format!("(setsid sh -c 'sleep {secs}' </dev/null >/dev/null 2>&1 &); echo started"),
        10,
    )
    .linger(Duration::from_millis(300));
    let r = common::run(&common::policy(), &phase);
    assert_eq!(r.status, PhaseStatus::Completed, "{r:#?}");
    assert_eq!(r.exit.unwrap().code, Some(0));
    let daemon: Vec<_> = r.outlived_main().collect();
    assert!(
        daemon
            .iter()
            .any(|p| p.argv == ["sleep", secs] && p.killed_at_end),
        "{:#?}",
        r.processes
    );
    assert!(r.duration_ms < 5_000, "linger, not the deadline, ended it");
    // Nothing of it is left on the host.
    assert!(!host_has_process(&["sleep", secs]));
}
}

fn host_has_process(argv: &[&str]) -> bool {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want))
}

on_both_backends! {
fn root_filesystem_is_read_only_and_scratch_is_writable() {
    require_sandbox!();
    let r = common::run(
        &common::policy(),
        &common::sh(
            "for f in /usr/x /etc/x /x /proc/x /dev/x /tmp/x $HOME/x /var/tmp/x /dev/shm/x; do \
               if touch $f 2>/dev/null; then echo \"$f ok\"; else echo \"$f denied\"; fi; done",
            10,
        ),
    );
    let out = &r.stdout.text;
    for denied in ["/usr/x", "/etc/x", "/x", "/proc/x", "/dev/x"] {
        assert!(out.contains(&format!("{denied} denied")), "{out}");
    }
    for ok in ["/tmp/x", "/var/tmp/x", "/dev/shm/x"] {
        assert!(out.contains(&format!("{ok} ok")), "{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.ends_with("/x ok") && l.starts_with("/home/")),
        "{out}"
    );
}
}

on_both_backends! {
fn host_files_and_processes_are_invisible() {
    require_sandbox!();
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret.txt");
    std::fs::write(&secret, "host secret").unwrap();
    let script = format!(
        "cat {} 2>&1; ls /root 2>&1; cat /etc/shadow 2>&1; ls /home; ls /proc | grep -c '^[0-9]'",
        secret.display()
    );
    let r = common::run(&common::policy(), &common::sh(&script, 10));
    let out = &r.stdout.text;
    assert!(!out.contains("host secret"), "{out}");
    assert!(out.contains("No such file"), "{out}");
    // /home holds only the sandbox user's home; /proc only the sandbox's few processes.
    let lines: Vec<&str> = out.lines().collect();
    let procs: usize = lines.last().unwrap().trim().parse().unwrap();
    assert!(procs <= 5, "{procs} processes visible");
}
}

#[cfg(target_arch = "x86_64")]
// Native only: this checks the seccomp filter's EPERM. Under gVisor these calls are
// implemented by the sentry against its own emulated kernel, never the host's.
#[test]
fn dangerous_syscalls_fail_with_eperm() {
    require_sandbox!();
    // x86_64 numbers: unshare 272 (CLONE_NEWUSER would succeed unprivileged without the
    // filter), ptrace 101 (PTRACE_TRACEME likewise), mount 165, bpf 321, keyctl 250.
    let perl = r#"
        for my $c ([unshare => 272, 0x10000000], [ptrace => 101, 0, 0, 0, 0],
                   [mount => 165, 0, 0, 0, 0, 0], [bpf => 321, 0, 0, 0], [keyctl => 250, 0, 0]) {
            my ($name, @args) = @$c;
            $! = 0; my $r = syscall($args[0], @args[1 .. $#args]);
            print "$name $r ", 0 + $!, "\n";
        }"#;
    let r = common::run(
        &common::policy(),
        &ossprey_sandbox::Phase::new(["perl", "-e", perl]).timeout(Duration::from_secs(10)),
    );
    for name in ["unshare", "ptrace", "mount", "bpf", "keyctl"] {
        assert!(
            r.stdout.text.contains(&format!("{name} -1 1\n")),
            "{name}: {}",
            r.stdout.text
        );
    }
}

on_both_backends! {
fn raw_sockets_are_refused() {
    require_sandbox!();
    let r = common::run(
        &common::policy(),
        &ossprey_sandbox::Phase::new([
            "perl",
            "-MSocket",
            "-e",
            "socket(my $s, PF_INET, SOCK_RAW, 1) or print \"raw: $!\\n\"",
        ])
        .timeout(Duration::from_secs(10)),
    );
    assert!(
        r.stdout.text.contains("raw: Operation not permitted"),
        "{}",
        r.stdout.text
    );
}
}

on_both_backends! {
fn host_processes_cannot_be_signalled_or_traced_and_host_paths_are_not_written() {
    require_sandbox!();
    // A host process the sandbox must not reach, and a host file at a path the
    // sandboxed script also names (its /tmp is its own tmpfs).
    let mut victim = std::process::Command::new("sleep")
        .arg("30.125")
        .spawn()
        .unwrap();
    let pid = victim.id();
    let host_dir = tempfile::tempdir_in("/tmp").unwrap();
    let host_file = host_dir.path().join("host-owned.txt");
    std::fs::write(&host_file, "untouched").unwrap();
    let script = format!(
        "kill -0 {pid} 2>&1; echo kill0=$?; kill -9 {pid} 2>&1; echo kill9=$?; \
         perl -e 'print \"attach=\", syscall(101, 16, {pid}, 0, 0), \" \", 0 + $!, \"\\n\"'; \
         mkdir -p {dir} 2>&1; echo overwritten > {file} 2>&1; echo write=$?; \
         echo appended >> /etc/hosts 2>&1; echo etc=$?",
        dir = host_dir.path().display(),
        file = host_file.display(),
    );
    let r = common::run(&common::policy(), &common::sh(&script, 10));
    let out = &r.stdout.text;
    println!("{out}");
    assert!(out.contains("kill0=") && out.contains("write="), "{out}");
    // The pid does not exist in the sandbox's pid namespace (or names one of its own
    // few processes, never the host's sleeper): both kills fail or miss.
    assert!(!out.contains("kill9=0") || pid < 10, "{out}");
    match common::backend() {
        // PTRACE_ATTACH is denied by seccomp (EPERM = 1) whatever the pid.
        ossprey_sandbox::Backend::Native => assert!(out.contains("attach=-1 1\n"), "{out}"),
        // gVisor's ptrace only knows the sentry's own tasks: no such process (ESRCH).
        ossprey_sandbox::Backend::Gvisor => assert!(out.contains("attach=-1 3\n"), "{out}"),
    }
    // /etc is read-only.
    assert!(!out.contains("etc=0"), "{out}");
    // The host process is alive and the host file unchanged.
    assert!(
        victim.try_wait().unwrap().is_none(),
        "host process died: {out}"
    );
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "untouched");
    let _ = victim.kill();
    let _ = victim.wait();
}
}
