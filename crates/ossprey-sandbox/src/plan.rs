//! The sandbox's filesystem as a list of steps, computed from a [`Policy`] before forking.
//!
//! Turning the policy into concrete steps here (host paths canonicalised, rootfs entries
//! listed, `/etc` files rendered) keeps the child's setup a dumb executor and lets the
//! layout be unit-tested without namespaces. Host paths in the steps are absolute host
//! paths; the executor reads them under the old root after `pivot_root`.

use std::path::{Component, Path, PathBuf};

use crate::error::SandboxError;
use crate::policy::{GENERATED_TOP_LEVEL, Policy};

/// One filesystem operation inside the new root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MountStep {
    /// Bind a host directory or file at `target`, read-only unless `writable`.
    Bind {
        source: PathBuf,
        target: PathBuf,
        writable: bool,
        is_dir: bool,
    },
    /// Create a symlink at `target` pointing to `to`.
    Symlink { target: PathBuf, to: PathBuf },
    /// Mount a fresh tmpfs.
    Tmpfs {
        target: PathBuf,
        size_bytes: u64,
        mode: u32,
    },
    /// Write a generated file (into a tmpfs mounted before).
    File { target: PathBuf, contents: Vec<u8> },
    /// Mount a fresh procfs of the sandbox's pid namespace.
    Proc { target: PathBuf },
    /// Make a mount read-only (after everything below it is in place).
    ReadOnly { target: PathBuf },
}

/// Device nodes of the host bound into the sandbox's `/dev`: only harmless ones.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Compute the steps that build the sandbox's filesystem.
pub(crate) fn mount_plan(policy: &Policy) -> Result<Vec<MountStep>, SandboxError> {
    let mut steps = Vec::new();
    let rootfs = &policy.rootfs;
    let dir = canonical(&rootfs.dir)?;
    let mut names: Vec<String> = match &rootfs.entries {
        Some(entries) => entries.clone(),
        None => std::fs::read_dir(&dir)
            .map_err(|e| SandboxError::Policy(format!("reading rootfs {}: {e}", dir.display())))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
    };
    names.sort();
    for name in names {
        if GENERATED_TOP_LEVEL.contains(&name.as_str()) || name.starts_with('.') {
            continue;
        }
        let source = dir.join(&name);
        let target = Path::new("/").join(&name);
        let meta = match std::fs::symlink_metadata(&source) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.file_type().is_symlink() {
            let to = std::fs::read_link(&source)
                .map_err(|e| SandboxError::Policy(format!("{}: {e}", source.display())))?;
            steps.push(MountStep::Symlink { target, to });
        } else if meta.is_dir() {
            steps.push(MountStep::Bind {
                source,
                target,
                writable: false,
                is_dir: true,
            });
        }
    }

    // /etc: generated files, plus a few harmless entries of the rootfs's own /etc.
    steps.push(MountStep::Tmpfs {
        target: "/etc".into(),
        size_bytes: 1 << 20,
        mode: 0o755,
    });
    for (name, contents) in etc_files(policy) {
        steps.push(MountStep::File {
            target: Path::new("/etc").join(name),
            contents: contents.into_bytes(),
        });
    }
    for name in &rootfs.etc_passthrough {
        let source = dir.join("etc").join(name);
        // A passthrough entry may be a symlink (os-release -> ../usr/lib/os-release):
        // resolve it within the rootfs by canonicalising, and skip what does not exist.
        let Ok(resolved) = std::fs::canonicalize(&source) else {
            continue;
        };
        if !resolved.starts_with(&dir) {
            continue;
        }
        let is_dir = resolved.is_dir();
        steps.push(MountStep::Bind {
            source: resolved,
            target: Path::new("/etc").join(name),
            writable: false,
            is_dir,
        });
    }
    steps.push(MountStep::ReadOnly {
        target: "/etc".into(),
    });

    steps.push(MountStep::Proc {
        target: "/proc".into(),
    });

    // /dev: a tmpfs with the harmless host nodes bound in.
    steps.push(MountStep::Tmpfs {
        target: "/dev".into(),
        size_bytes: 64 << 10,
        mode: 0o755,
    });
    for dev in DEVICES {
        let source = Path::new("/dev").join(dev);
        if source.exists() {
            steps.push(MountStep::Bind {
                source: source.clone(),
                target: source,
                writable: true,
                is_dir: false,
            });
        }
    }
    for (link, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        steps.push(MountStep::Symlink {
            target: Path::new("/dev").join(link),
            to: to.into(),
        });
    }
    steps.push(MountStep::Tmpfs {
        target: "/dev/shm".into(),
        size_bytes: 64 << 20,
        mode: 0o1777,
    });
    steps.push(MountStep::ReadOnly {
        target: "/dev".into(),
    });

    // Writable scratch: home and the policy's tmpfs mounts, then extra binds, parents first
    // so that a bind inside a tmpfs lands on the tmpfs.
    let mut later: Vec<MountStep> = Vec::new();
    later.push(MountStep::Tmpfs {
        target: absolute(&policy.identity.home)?,
        size_bytes: policy.home_size_bytes,
        mode: 0o755,
    });
    for t in &policy.tmpfs {
        later.push(MountStep::Tmpfs {
            target: absolute(&t.target)?,
            size_bytes: t.size_bytes,
            mode: t.mode,
        });
    }
    for b in &policy.binds {
        let source = canonical(&b.source)?;
        let is_dir = source.is_dir();
        later.push(MountStep::Bind {
            source,
            target: absolute(&b.target)?,
            writable: b.writable,
            is_dir,
        });
    }
    later.sort_by_key(|s| match s {
        MountStep::Tmpfs { target, .. } | MountStep::Bind { target, .. } => depth(target),
        _ => 0,
    });
    steps.extend(later);
    Ok(steps)
}

/// The generated `/etc` files: `(name, contents)`.
pub(crate) fn etc_files(policy: &Policy) -> Vec<(&'static str, String)> {
    let id = &policy.identity;
    let home = id.home.display();
    vec![
        (
            "passwd",
            format!(
                "root:x:0:0:root:/root:/bin/bash\n{user}:x:{uid}:{gid}:{user}:{home}:/bin/bash\n\
                 nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                user = id.user,
                uid = id.uid,
                gid = id.gid,
            ),
        ),
        (
            "group",
            format!(
                "root:x:0:\n{user}:x:{gid}:\nnogroup:x:65534:\n",
                user = id.user,
                gid = id.gid
            ),
        ),
        (
            "hosts",
            format!(
                "127.0.0.1\tlocalhost\n127.0.1.1\t{host}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                host = id.hostname
            ),
        ),
        ("hostname", format!("{}\n", id.hostname)),
        ("resolv.conf", format!("nameserver {}\n", policy.resolver)),
        ("machine-id", format!("{}\n", id.machine_id)),
        (
            "nsswitch.conf",
            "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n".to_owned(),
        ),
    ]
}

fn canonical(path: &Path) -> Result<PathBuf, SandboxError> {
    std::fs::canonicalize(path)
        .map_err(|e| SandboxError::Policy(format!("host path {}: {e}", path.display())))
}

/// A sandbox path: absolute, without `..` (it would let a policy escape the new root).
fn absolute(path: &Path) -> Result<PathBuf, SandboxError> {
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(SandboxError::Policy(format!(
            "sandbox path {} must be absolute without `..`",
            path.display()
        )));
    }
    Ok(path.to_path_buf())
}

fn depth(path: &Path) -> usize {
    path.components().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Bind, RootFs};

    fn targets(steps: &[MountStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                MountStep::Bind { target, .. }
                | MountStep::Symlink { target, .. }
                | MountStep::Tmpfs { target, .. }
                | MountStep::File { target, .. }
                | MountStep::Proc { target }
                | MountStep::ReadOnly { target } => target.display().to_string(),
            })
            .collect()
    }

    #[test]
    fn rootfs_dir_entries_are_bound_except_generated_ones() {
        let root = tempfile::tempdir().unwrap();
        for d in ["usr", "etc", "proc", "var", "home", "tmp"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", root.path().join("bin")).unwrap();
        std::fs::create_dir_all(root.path().join("etc/ssl")).unwrap();
        std::fs::write(root.path().join("etc/shadow"), "secret").unwrap();
        let policy = Policy::new(RootFs::from_dir(root.path()));
        let steps = mount_plan(&policy).unwrap();
        let t = targets(&steps);
        assert!(t.contains(&"/usr".to_owned()));
        assert!(t.contains(&"/var".to_owned()));
        assert!(steps.contains(&MountStep::Symlink {
            target: "/bin".into(),
            to: "usr/bin".into()
        }));
        assert!(
            t.contains(&"/etc/ssl".to_owned()),
            "passthrough entry bound"
        );
        assert!(
            !t.contains(&"/etc/shadow".to_owned()),
            "other /etc entries are not"
        );
        // /etc, /proc, /home, /tmp come from the sandbox, never from the rootfs.
        for generated in ["/proc", "/home", "/tmp", "/etc"] {
            assert!(!steps.iter().any(
                |s| matches!(s, MountStep::Bind { target, .. } if target == Path::new(generated))
            ));
        }
    }

    #[test]
    fn binds_inside_tmpfs_come_after_the_tmpfs() {
        let pkg = tempfile::tempdir().unwrap();
        let mut policy = Policy::new(RootFs::host_system());
        policy.binds.push(Bind::read_only(
            pkg.path(),
            policy.identity.home.join("pkg"),
        ));
        let t = targets(&mount_plan(&policy).unwrap());
        let home = t
            .iter()
            .position(|x| *x == policy.identity.home.display().to_string())
            .unwrap();
        let bind = t.iter().position(|x| x.ends_with("/pkg")).unwrap();
        assert!(home < bind);
    }

    #[test]
    fn relative_or_dotdot_targets_are_refused() {
        let mut policy = Policy::new(RootFs::host_system());
        policy.binds.push(Bind::read_only("/usr", "/x/../../etc"));
        assert!(mount_plan(&policy).is_err());
        let mut policy = Policy::new(RootFs::host_system());
        policy.binds.push(Bind::read_only("/usr", "rel"));
        assert!(mount_plan(&policy).is_err());
    }

    #[test]
    fn etc_files_describe_the_identity_and_resolver() {
        let policy = Policy::new(RootFs::host_system());
        let files = etc_files(&policy);
        let get = |n: &str| files.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert!(get("passwd").contains(&format!(
            "{}:x:1000:1000:{}:{}",
            policy.identity.user,
            policy.identity.user,
            policy.identity.home.display()
        )));
        assert_eq!(get("resolv.conf"), "nameserver 10.0.2.3\n");
        assert!(get("hosts").contains(&policy.identity.hostname));
    }
}
