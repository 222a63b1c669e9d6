//! The OCI bundle of one gVisor run, written from the native backend's mount plan so
//! that both backends show the package the same files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

use crate::error::SandboxError;
use crate::plan::{MountStep, mount_plan};
use crate::policy::{Phase, Policy};

/// The container's first process (pid 1): it waits for the sandbox to be killed. Its
/// events are not the package's and are dropped.
pub(super) const INIT_ARGV: [&str; 2] = ["sleep", "2147483647"];

/// The phase's command, as an OCI process for `runsc exec --process`, in the bundle.
pub(super) const PROCESS_FILE: &str = "process.json";

/// Write `<staging>/bundle/config.json` and `process.json` (and the root and `/etc` it names); returns the
/// bundle directory.
pub(super) fn write(
    staging: &Path,
    policy: &Policy,
    phase: &Phase,
    env: &[(String, String)],
    cgroup: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<PathBuf, SandboxError> {
    let root = staging.join("root");
    let etc = staging.join("etc");
    let bundle = staging.join("bundle");
    for d in [&root, &etc, &bundle] {
        std::fs::create_dir_all(d)?;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    let id = &policy.identity;
    let mut mounts: Vec<Value> = Vec::new();
    let plan = mount_plan(policy)?;
    for step in plan {
        match step {
            MountStep::Bind {
                source,
                target,
                writable,
                ..
            } => {
                // gVisor brings its own /dev (null, zero, full, random, urandom, tty).
                if target.starts_with("/dev") {
                    continue;
                }
                if writable {
                    // The package runs as the identity's uid without a user namespace
                    // mapping it to root: hand it its writable directories.
                    chown_tree(&source, id.uid, id.gid)?;
                }
                mounts.push(json!({
                    "destination": target,
                    "type": "bind",
                    "source": source,
                    "options": ["rbind", if writable { "rw" } else { "ro" }],
                }));
            }
            MountStep::Symlink { target, to } => {
                // Top-level links (`/bin -> usr/bin`) live in the root directory itself;
                // gVisor's /dev already has fd, stdin, stdout, stderr.
                if let Some(name) = top_level(&target) {
                    let link = root.join(name);
                    let _ = std::fs::remove_file(&link);
                    std::os::unix::fs::symlink(&to, &link)?;
                }
            }
            MountStep::Tmpfs {
                target,
                size_bytes,
                mode,
            } => {
                if target == Path::new("/etc") || target == Path::new("/dev") {
                    continue;
                }
                let mut options = vec![
                    "nosuid".to_owned(),
                    "nodev".to_owned(),
                    format!("mode={mode:o}"),
                    format!("size={size_bytes}"),
                ];
                // The home belongs to the package's user (the native backend's user
                // namespace maps it so); shared ones like /tmp stay root's, mode 1777.
                if target == id.home {
                    options.push(format!("uid={}", id.uid));
                    options.push(format!("gid={}", id.gid));
                }
                mounts.push(json!({
                    "destination": target,
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": options,
                }));
            }
            MountStep::File { target, contents } => {
                if let Ok(rel) = target.strip_prefix("/etc")
                    && rel.components().all(|c| matches!(c, Component::Normal(_)))
                {
                    let dest = etc.join(rel);
                    std::fs::write(&dest, contents)?;
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644))?;
                }
            }
            MountStep::Proc { target } => mounts.push(json!({
                "destination": target,
                "type": "proc",
                "source": "proc",
            })),
            MountStep::ReadOnly { .. } => {}
        }
    }
    // Natively, a later mount on the same target hides the earlier one (the writable
    // /work bind over the rootfs's empty /work, the home bind over the home tmpfs);
    // runsc keeps the first, so only the last mount of each target is given to it.
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Value> = Vec::new();
    for m in mounts.into_iter().rev() {
        let target = m
            .get("destination")
            .map(Value::to_string)
            .unwrap_or_default();
        if seen.insert(target) {
            kept.push(m);
        }
    }
    kept.reverse();
    let mut mounts = kept;
    // /etc first (the passthrough binds of the plan land inside it), then the rest in
    // plan order.
    mounts.insert(
        0,
        json!({"destination": "/etc", "type": "bind", "source": etc, "options": ["rbind", "ro"]}),
    );
    let mut rlimits = Vec::new();
    let l = &policy.limits;
    for (ty, v) in [
        ("RLIMIT_AS", l.address_space_bytes),
        ("RLIMIT_NPROC", l.max_processes),
        ("RLIMIT_FSIZE", l.max_file_size_bytes),
        ("RLIMIT_NOFILE", l.max_open_files),
        ("RLIMIT_CPU", l.cpu_seconds),
    ] {
        if let Some(v) = v {
            rlimits.push(json!({"type": ty, "hard": v, "soft": v}));
        }
    }
    // The memory cgroup bounds the whole sandbox (sentry included): reaching it kills
    // the sandbox, not one process. No pids limit: the sentry's own threads would count,
    // and processes inside are the sentry's tasks, bounded by RLIMIT_NPROC above.
    let mut linux = json!({
        "namespaces": [
            {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
            {"type": "uts"}, {"type": "mount"},
        ],
    });
    match (cgroup, l.cgroup_memory_bytes) {
        (Some(path), Some(limit)) => {
            linux["cgroupsPath"] = json!(path);
            linux["resources"] = json!({"memory": {"limit": limit}});
        }
        (None, Some(_)) => notes.push(
            "gvisor: memory cgroup not applied (no cgroup v1 memory controller); rlimits are"
                .into(),
        ),
        _ => {}
    }
    let cwd = phase.cwd.clone().unwrap_or_else(|| id.home.clone());
    let process = |args: &[String]| {
        json!({
            "terminal": false,
            "user": {"uid": id.uid, "gid": id.gid},
            "args": args,
            "env": env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "cwd": cwd,
            "rlimits": rlimits,
            "noNewPrivileges": true,
            "capabilities": {"bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []},
        })
    };
    // The container's first process only waits: runsc ends the whole sandbox when it
    // exits, so the phase's command is `runsc exec`'d beside it (`process.json`) and
    // what it leaves behind can linger after it ended.
    let init: Vec<String> = INIT_ARGV.iter().map(|&a| a.to_owned()).collect();
    std::fs::write(
        bundle.join(PROCESS_FILE),
        serde_json::to_vec_pretty(&process(&phase.argv))
            .map_err(|e| SandboxError::Backend(e.to_string()))?,
    )?;
    let config = json!({
        "ociVersion": "1.0.0",
        "process": process(&init),
        "root": {"path": root, "readonly": true},
        "hostname": id.hostname,
        "mounts": mounts,
        "linux": linux,
    });
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&config).map_err(|e| SandboxError::Backend(e.to_string()))?,
    )?;
    Ok(bundle)
}

/// Make the container use the network namespace runsc is started in (the sealed one of
/// [`super::net`], entered with `nsenter`) instead of a new one.
pub(super) fn use_current_netns(bundle: &Path) -> Result<(), SandboxError> {
    let file = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&file)?)
        .map_err(|e| SandboxError::Backend(e.to_string()))?;
    if let Some(ns) = config
        .pointer_mut("/linux/namespaces")
        .and_then(Value::as_array_mut)
    {
        ns.retain(|n| n.get("type").and_then(Value::as_str) != Some("network"));
    }
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(&config).map_err(|e| SandboxError::Backend(e.to_string()))?,
    )?;
    Ok(())
}

/// `/bin` → `bin`; `None` for deeper paths.
fn top_level(path: &Path) -> Option<&std::ffi::OsStr> {
    let mut c = path.components();
    match (c.next(), c.next(), c.next()) {
        (Some(Component::RootDir), Some(Component::Normal(n)), None) => Some(n),
        _ => None,
    }
}

/// `chown -R` without following symlinks (the tree is the package's scratch).
fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), SandboxError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(path)?;
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
