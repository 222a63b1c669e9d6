//! Benchmarks, not tests: `#[ignore]`d, they print numbers and assert nothing about time.
//!
//! ```sh
//! cargo test --release -p ossprey-sandbox --test bench -- --ignored --nocapture
//! ```

mod common;

use std::time::{Duration, Instant};

use ossprey_sandbox::Phase;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn sandbox_start_and_teardown_overhead() {
    require_sandbox!();
    let policy = common::policy();
    let phase = Phase::new(["/bin/true"]).timeout(Duration::from_secs(10));
    let mut sandboxed = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let r = common::run(&policy, &phase);
        sandboxed.push(t.elapsed());
        assert_eq!(r.exit.unwrap().code, Some(0));
        let t = Instant::now();
        std::process::Command::new("/bin/true").status().unwrap();
        plain.push(t.elapsed());
    }
    let (s, p) = (median(sandboxed), median(plain));
    println!(
        "/bin/true: sandboxed median {:.2} ms, plain spawn median {:.2} ms, overhead {:.2} ms",
        s.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        (s.as_secs_f64() - p.as_secs_f64()) * 1e3
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn traced_versus_untraced_syscalls() {
    require_sandbox!();
    let policy = common::policy();
    // 5000 traced syscalls (openat via `: >`) versus 5000 untraced ones (getpid via `$$`
    // expansions cost nothing; `read` of /dev/zero through dd is one untraced syscall each).
    let cases = [
        (
            "traced: 5000 x open+close",
            "i=0; while [ $i -lt 5000 ]; do : > /tmp/f; i=$((i+1)); done",
        ),
        (
            "untraced: 5000 x read+write",
            "dd if=/dev/zero of=/dev/null bs=1 count=5000 2>/dev/null",
        ),
    ];
    for (name, script) in cases {
        let mut boxed = Vec::new();
        let mut host = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = common::run(&policy, &common::sh(script, 60));
            boxed.push(t.elapsed());
            assert_eq!(r.exit.unwrap().code, Some(0), "{}", r.stderr.text);
            let dir = tempfile::tempdir().unwrap();
            let host_script = script.replace("/tmp/f", &dir.path().join("f").display().to_string());
            let t = Instant::now();
            std::process::Command::new("sh")
                .args(["-c", &host_script])
                .status()
                .unwrap();
            host.push(t.elapsed());
        }
        let (b, h) = (median(boxed), median(host));
        println!(
            "{name}: sandboxed {:.1} ms, host {:.1} ms, ratio {:.2}",
            b.as_secs_f64() * 1e3,
            h.as_secs_f64() * 1e3,
            b.as_secs_f64() / h.as_secs_f64()
        );
    }
}
