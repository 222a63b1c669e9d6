//! `ossprey sandbox check` and the gate in front of `analyze`: the sandbox's own layer
//! probes (`ossprey_sandbox::check`), plus what only this binary knows how to put
//! together: the sinkhole sealing a fresh network namespace with nftables over netlink,
//! and the provisioned runtime.

use std::path::Path;
use std::sync::Arc;

use ossprey_dynamic::SinkholeHook;
use ossprey_sandbox::check::{HostCheck, LayerCheck};

/// Probe this host. `with_runtime` adds the runtime and `debootstrap` (for the
/// `sandbox check` command; `analyze` provisions the runtime itself).
pub fn host_check(with_runtime: bool) -> HostCheck {
    let hook = Arc::new(SinkholeHook::new());
    let mut check = HostCheck::probe(Some(("nftables_netns", hook.clone())));
    // The hook's configure ran inside the namespace (nftables redirect via netlink,
    // sealed check); its serve ran here. Both must have worked for the sinkhole.
    let sinkhole = match hook.finish() {
        Ok(log) => Ok(format!(
            "served the sandbox's namespace ({} connections, {} DNS queries recorded)",
            log.connections.len(),
            log.dns.len()
        )),
        Err(why) => Err(why),
    };
    check.push(LayerCheck::required("sinkhole", sinkhole));
    if with_runtime {
        let debootstrap = ossprey_runtime::find_tool("debootstrap");
        let options = ossprey_runtime::Options::from_env();
        let runtime = match ossprey_runtime::Runtime::open(&options) {
            Ok(Some(rt)) => Ok(format!(
                "{} at {} ({:.1} MiB)",
                rt.key(),
                rt.dir().display(),
                dir_size(rt.dir()) as f64 / f64::from(1u32 << 20)
            )),
            Ok(None) => Err(format!(
                "not built yet at {} (built on first use{})",
                options.runtime_path().display(),
                if debootstrap.is_some() {
                    ", with debootstrap"
                } else {
                    "; needs debootstrap"
                }
            )),
            Err(e) => Err(e.to_string()),
        };
        // A missing runtime only blocks analysis when it cannot be built.
        let required = runtime.is_ok() || debootstrap.is_none();
        check.push(if required {
            LayerCheck::required("runtime", runtime)
        } else {
            LayerCheck::optional("runtime", runtime)
        });
        // Only `analyze --sandbox gvisor` needs it.
        check.push(LayerCheck::optional(
            "gvisor",
            ossprey_sandbox::gvisor::probe()
                .map(|g| format!("{} at {}", g.version, g.path.display())),
        ));
        check.push(LayerCheck::optional(
            "debootstrap",
            debootstrap
                .map(|p| p.display().to_string())
                .ok_or_else(|| "not installed (apt-get install debootstrap)".into()),
        ));
    }
    check
}

/// Bytes of the regular files under `dir` (symlinks not followed).
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}
