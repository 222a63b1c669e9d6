//! Building a root filesystem: the [`RootfsBuilder`] seam and the real
//! [`DebootstrapBuilder`].
//!
//! The build runs on the host as root, on trusted inputs only (Debian's signed
//! packages): debootstrap creates a minimal bookworm system, then apt installs the
//! interpreters inside it through `chroot`. Every chrooted step runs inside a private
//! mount namespace (`unshare --mount --propagation private`) so the `/proc` that apt's
//! maintainer scripts need is mounted only there and disappears with the step, even
//! if ossprey is killed midway: no stray mount can survive and later turn a
//! directory deletion into a walk through the host's `/proc`.
//!
//! This module must never run package code: it installs Debian packages only.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::{fs, thread};

use crate::error::RuntimeError;
use crate::progress::{Progress, Stage};
use crate::recipe::Recipe;

/// Creates a root filesystem for a recipe in an empty directory. A seam so the cache
/// logic (locking, atomic rename, manifest, verification) can be tested without a
/// five-minute debootstrap.
pub trait RootfsBuilder {
    /// Fills `target` (an existing, empty directory) with a root filesystem built from
    /// `recipe`, fetching packages from `mirror`.
    fn build(
        &self,
        recipe: &Recipe,
        mirror: &str,
        target: &Path,
        progress: &mut dyn Progress,
    ) -> Result<(), RuntimeError>;
}

/// The real builder: debootstrap + apt-get in a chroot.
#[derive(Debug, Default, Clone, Copy)]
pub struct DebootstrapBuilder;

/// The environment every chrooted step gets: nothing from the host leaks in.
const CHROOT_ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND=noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN=true",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "HOME=/root",
];

/// Removes what the sandbox never needs and what would leak the build host into
/// every sandbox (its hostname and resolver).
const SHRINK_SCRIPT: &str = "set -e
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/*
rm -f /var/log/*.log /var/log/apt/* /root/.wget-hsts
rm -f /usr/sbin/policy-rc.d
echo localhost > /etc/hostname
printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n' > /etc/hosts
echo '# generated for each run by the ossprey sandbox' > /etc/resolv.conf
: > /etc/machine-id
";

impl RootfsBuilder for DebootstrapBuilder {
    fn build(
        &self,
        recipe: &Recipe,
        mirror: &str,
        target: &Path,
        progress: &mut dyn Progress,
    ) -> Result<(), RuntimeError> {
        if !running_as_root() {
            return Err(RuntimeError::NotRoot);
        }
        let debootstrap = find_tool("debootstrap").ok_or(RuntimeError::DebootstrapMissing)?;
        let unshare = find_tool("unshare").ok_or(RuntimeError::ToolMissing("unshare"))?;
        find_tool("chroot").ok_or(RuntimeError::ToolMissing("chroot"))?;
        find_tool("mount").ok_or(RuntimeError::ToolMissing("mount"))?;

        progress.stage(Stage::Debootstrap);
        let mut cmd = Command::new(debootstrap);
        cmd.arg(format!("--variant={}", recipe.variant))
            .arg(format!("--arch={}", recipe.arch))
            .arg(&recipe.suite)
            .arg(target)
            .arg(mirror)
            .env("LANG", "C.UTF-8");
        run_streaming("debootstrap", &mut cmd, progress)?;

        // Stop maintainer scripts from starting services inside the chroot.
        let policy = target.join("usr/sbin/policy-rc.d");
        fs::write(&policy, "#!/bin/sh\nexit 101\n")
            .map_err(RuntimeError::io("writing", &policy))?;
        set_mode(&policy, 0o755)?;

        progress.stage(Stage::AptUpdate);
        run_streaming(
            "apt-get update",
            &mut chroot_command(&unshare, target, &["apt-get", "update"]),
            progress,
        )?;

        progress.stage(Stage::AptInstall);
        let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
        install.extend(recipe.packages.iter().map(String::as_str));
        run_streaming(
            "apt-get install",
            &mut chroot_command(&unshare, target, &install),
            progress,
        )?;

        progress.stage(Stage::Shrink);
        run_streaming(
            "cleaning the root",
            &mut chroot_command(&unshare, target, &["/bin/sh", "-c", SHRINK_SCRIPT]),
            progress,
        )?;
        for dir in &recipe.mount_points {
            let path = target.join(dir);
            fs::create_dir_all(&path).map_err(RuntimeError::io("creating", &path))?;
            set_mode(&path, 0o755)?;
        }
        Ok(())
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(RuntimeError::io("chmod", path))
}

/// `unshare --mount --propagation private sh -c 'mount proc; exec chroot ROOT env -i … ARGV'`.
fn chroot_command(unshare: &Path, root: &Path, argv: &[&str]) -> Command {
    let mut cmd = Command::new(unshare);
    cmd.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg(r#"root="$1"; shift; mount -t proc proc "$root/proc" && exec chroot "$root" /usr/bin/env -i "$@""#)
        .arg("ossprey-chroot")
        .arg(root)
        .args(CHROOT_ENV)
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    cmd
}

/// True when the effective uid is 0 (read from `/proc/self/status`, no libc call).
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Finds an executable on PATH, then in the sbin directories a non-login root shell
/// may lack on its PATH.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// How many output lines a failed step's error keeps.
const TAIL_LINES: usize = 30;

/// Runs a command, passing each line of its stdout and stderr to `progress`; on
/// failure the error carries the last lines.
pub(crate) fn run_streaming(
    step: &str,
    cmd: &mut Command,
    progress: &mut dyn Progress,
) -> Result<(), RuntimeError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = PathBuf::from(cmd.get_program());
    let mut child = cmd.spawn().map_err(RuntimeError::io("running", program))?;
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let tx = tx.clone();
        thread::spawn(move || {
            // Lossy line splitting: apt prints progress with `\r` and may print
            // non-UTF-8 bytes; neither may break the build.
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&buf);
                for part in text.split(['\r', '\n']).filter(|p| !p.trim().is_empty()) {
                    if tx.send(part.trim_end().to_owned()).is_err() {
                        return;
                    }
                }
                buf.clear();
            }
        })
    })
    .collect();
    drop(tx);
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    for line in rx {
        progress.line(&line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child
        .wait()
        .map_err(RuntimeError::io("waiting for", step.to_owned()))?;
    if status.success() {
        Ok(())
    } else {
        Err(RuntimeError::StepFailed {
            step: step.to_owned(),
            status: status.to_string(),
            tail: Vec::from(tail).join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Lines(Vec<String>);
    impl Progress for Lines {
        fn stage(&mut self, _: Stage) {}
        fn line(&mut self, line: &str) {
            self.0.push(line.to_owned());
        }
    }

    #[test]
    fn streaming_passes_both_streams_and_splits_carriage_returns() {
        let mut p = Lines::default();
        run_streaming(
            "t",
            Command::new("/bin/sh").args(["-c", "echo one; echo two >&2; printf 'a\\rb\\n'"]),
            &mut p,
        )
        .unwrap();
        for want in ["one", "two", "a", "b"] {
            assert!(
                p.0.iter().any(|l| l == want),
                "{want} missing from {:?}",
                p.0
            );
        }
    }

    #[test]
    fn a_failed_step_reports_its_last_lines() {
        let mut p = Lines::default();
        let err = run_streaming(
            "apt-get install",
            Command::new("/bin/sh")
                .args(["-c", "for i in $(seq 1 100); do echo line$i; done; exit 3"]),
            &mut p,
        )
        .unwrap_err();
        let RuntimeError::StepFailed { step, status, tail } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(step, "apt-get install");
        assert!(status.contains('3'), "{status}");
        assert!(
            tail.ends_with("line100") && !tail.contains("line70\n"),
            "{tail}"
        );
        assert_eq!(tail.lines().count(), TAIL_LINES);
        assert_eq!(err.code(), "runtime-build-failed");
    }

    #[test]
    fn tools_are_found_in_sbin() {
        assert!(find_tool("sh").is_some());
        assert!(find_tool("definitely-not-a-tool-ossprey").is_none());
    }
}
