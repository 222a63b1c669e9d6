//! cgroup v1 limits (memory, pids) for one sandbox run, where the host lets us have them.
//!
//! The supervisor creates `/sys/fs/cgroup/<controller>/ossprey/<run>/`, writes the limits,
//! and the sandbox's first child joins before it creates any namespace, so every sandboxed
//! process is inside. Without permission (an unprivileged user, no v1 hierarchy) the run
//! goes on with rlimits only and a note says so. The sandbox unshares its cgroup namespace
//! after joining, so `/proc/self/cgroup` inside shows nothing revealing.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// The cgroups of one run. Removed on drop.
#[derive(Debug, Default)]
pub(crate) struct RunCgroups {
    /// `cgroup.procs` files the sandbox's first process writes itself into.
    pub(crate) procs_files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    memory_dir: Option<PathBuf>,
}

impl RunCgroups {
    /// Create the cgroups with the given limits. Failures become notes.
    pub(crate) fn create(
        name: &str,
        memory_bytes: Option<u64>,
        max_pids: Option<u64>,
        notes: &mut Vec<String>,
    ) -> RunCgroups {
        let mut out = RunCgroups::default();
        if memory_bytes.is_none() && max_pids.is_none() {
            return out;
        }
        if Path::new(ROOT).join("cgroup.controllers").exists() {
            notes.push(
                "cgroup v2 hierarchy: only v1 is supported yet; cgroup limits not applied".into(),
            );
            return out;
        }
        let wanted = [
            (
                "memory",
                memory_bytes.map(|m| {
                    vec![
                        ("memory.limit_in_bytes", m),
                        ("memory.memsw.limit_in_bytes", m),
                    ]
                }),
            ),
            ("pids", max_pids.map(|p| vec![("pids.max", p)])),
        ];
        for (controller, limits) in wanted {
            let Some(limits) = limits else { continue };
            let dir = Path::new(ROOT).join(controller).join("ossprey").join(name);
            match create_one(&dir, &limits) {
                Ok(()) => {
                    out.procs_files.push(dir.join("cgroup.procs"));
                    if controller == "memory" {
                        out.memory_dir = Some(dir.clone());
                    }
                    out.dirs.push(dir);
                }
                Err(e) => notes.push(format!("cgroup {controller} limit not applied: {e}")),
            }
        }
        out
    }

    /// Whether any cgroup limit is in force.
    pub(crate) fn active(&self) -> bool {
        !self.dirs.is_empty()
    }

    /// Peak memory use of the run.
    pub(crate) fn peak_memory(&self) -> Option<u64> {
        let dir = self.memory_dir.as_ref()?;
        std::fs::read_to_string(dir.join("memory.max_usage_in_bytes"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

fn create_one(dir: &Path, limits: &[(&str, u64)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (file, value) in limits {
        let path = dir.join(file);
        // memsw exists only with swap accounting; its absence is not an error.
        if file.contains("memsw") && !path.exists() {
            continue;
        }
        if let Err(e) = std::fs::write(&path, value.to_string()) {
            let _ = std::fs::remove_dir(dir);
            return Err(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ));
        }
    }
    Ok(())
}

impl Drop for RunCgroups {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // The processes are gone by now, but the kernel may take a moment to notice
            // the last exit; retry briefly rather than leak the directory.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
}
