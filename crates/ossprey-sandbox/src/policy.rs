//! What a sandboxed phase is allowed to do: pure data, no kernel calls.
//!
//! The mechanism ([`crate::Sandbox`]) enforces whatever a [`Policy`] says; the policy never
//! decides *how*. Defaults are chosen so that a package installer (pip, npm) runs normally
//! while a hostile package cannot exhaust the host: bounded memory, processes, file sizes,
//! scratch space and time.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The root filesystem the sandbox sees, built from a host directory.
///
/// Every top-level entry of `dir` (or only those in `entries`) is bind-mounted read-only at
/// the same place in the sandbox; top-level symlinks (`/bin -> usr/bin`) are recreated as
/// symlinks. `/etc`, `/proc`, `/dev`, `/tmp`, `/home`, `/root`, `/run` and `/sys` are never
/// taken from `dir`: the sandbox generates its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFs {
    /// Host directory holding the root filesystem (a debootstrap tree, or `/` for the host's
    /// own system directories).
    pub dir: PathBuf,
    /// Only these top-level entries of `dir` (`None`: all of them).
    pub entries: Option<Vec<String>>,
    /// Entries of `dir/etc` bound read-only into the generated `/etc` when present
    /// (dynamic-linker cache, CA certificates, alternatives symlinks, …).
    pub etc_passthrough: Vec<String>,
}

/// Entries of `/etc` a runtime needs that reveal nothing about the host.
const ETC_PASSTHROUGH: &[&str] = &[
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "os-release",
    "ssl",
];

/// Top-level names the sandbox always provides itself.
pub(crate) const GENERATED_TOP_LEVEL: &[&str] =
    &["etc", "proc", "dev", "tmp", "home", "root", "run", "sys"];

impl RootFs {
    /// A root filesystem taken whole from `dir` (e.g. a Debian tree built by debootstrap).
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        RootFs {
            dir: dir.into(),
            entries: None,
            etc_passthrough: ETC_PASSTHROUGH.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The host's own system directories (`/usr`, `/bin`, `/sbin`, `/lib*`) and nothing else
    /// of the host: for tests and for `sandbox check`, never for detonating packages (the
    /// runtimes inside must not depend on the host).
    pub fn host_system() -> Self {
        let entries = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"]
            .into_iter()
            .filter(|e| Path::new("/").join(e).exists())
            .map(str::to_owned)
            .collect();
        RootFs {
            entries: Some(entries),
            ..RootFs::from_dir("/")
        }
    }
}

/// A host path made visible inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Host path (file or directory). Canonicalised before use.
    pub source: PathBuf,
    /// Absolute path inside the sandbox.
    pub target: PathBuf,
    /// Whether the sandbox may write to it. Read-only unless a caller has a reason.
    pub writable: bool,
}

impl Bind {
    /// A read-only bind.
    pub fn read_only(source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        Bind {
            source: source.into(),
            target: target.into(),
            writable: false,
        }
    }

    /// A writable bind (e.g. a directory that collects artifacts).
    pub fn writable(source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        Bind {
            writable: true,
            ..Bind::read_only(source, target)
        }
    }
}

/// A writable, size-bounded, memory-backed directory of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsMount {
    /// Absolute path inside the sandbox.
    pub target: PathBuf,
    /// Size cap: writes beyond it fail with `ENOSPC`.
    pub size_bytes: u64,
    /// Permission bits of the directory.
    pub mode: u32,
}

/// The identity the sandbox presents: malware checks hostnames and user names to stay
/// quiet in analysis environments, so these look like an ordinary developer machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    /// Hostname (uts namespace and `/etc/hostname`).
    pub hostname: String,
    /// Login name of the user the phase runs as.
    pub user: String,
    /// uid inside the sandbox; mapped to the invoking uid outside.
    pub uid: u32,
    /// gid inside the sandbox; mapped to the invoking gid outside.
    pub gid: u32,
    /// Home directory (a writable tmpfs).
    pub home: PathBuf,
    /// Contents of `/etc/machine-id` (32 lowercase hex digits).
    pub machine_id: String,
}

const FIRST_NAMES: &[&str] = &[
    "alice", "ben", "carla", "dmitri", "elena", "felix", "grace", "hiro", "ines", "jonas", "kate",
    "liam", "maya", "nils", "olga", "pablo", "quinn", "rosa", "sam", "tomas",
];
const MACHINE_KINDS: &[&str] = &["laptop", "desktop", "thinkpad", "xps", "workstation", "dev"];

impl HostIdentity {
    /// A random plausible identity (hostname like `maya-thinkpad`, user `maya`).
    pub fn random() -> Self {
        let bytes = random_bytes::<20>();
        let user = FIRST_NAMES[bytes[0] as usize % FIRST_NAMES.len()];
        let kind = MACHINE_KINDS[bytes[1] as usize % MACHINE_KINDS.len()];
        // Shaped like systemd's (`sd_id128_randomize`): a random UUID v4, version and
        // variant bits set, so the id looks like one `systemd-machine-id-setup` wrote.
        let mut id: [u8; 16] = bytes[2..18].try_into().unwrap_or([0; 16]);
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        let machine_id = id.iter().map(|b| format!("{b:02x}")).collect();
        HostIdentity {
            hostname: format!("{user}-{kind}"),
            user: user.to_owned(),
            uid: 1000,
            gid: 1000,
            home: PathBuf::from(format!("/home/{user}")),
            machine_id,
        }
    }
}

/// Entropy for identities: from the kernel, falling back to the clock (an identity only
/// needs to vary between runs, not to be secret).
fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut out = [0u8; N];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .is_ok();
    if !ok {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in out.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8);
        }
    }
    out
}

/// Resource limits of one phase. `None` leaves a limit unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_AS` of every sandboxed process. Generous by default: V8 and the JVM reserve
    /// large address ranges they never touch; the memory cgroup bounds real use.
    pub address_space_bytes: Option<u64>,
    /// `RLIMIT_NPROC`, counted per user namespace: all processes of the sandbox together.
    pub max_processes: Option<u64>,
    /// `RLIMIT_FSIZE`: the largest file a process may write.
    pub max_file_size_bytes: Option<u64>,
    /// `RLIMIT_NOFILE`.
    pub max_open_files: Option<u64>,
    /// `RLIMIT_CPU` in seconds, per process.
    pub cpu_seconds: Option<u64>,
    /// Memory cgroup limit (resident memory of the whole sandbox), where cgroups are usable.
    pub cgroup_memory_bytes: Option<u64>,
    /// pids cgroup limit, where cgroups are usable.
    pub cgroup_max_pids: Option<u64>,
    /// How many bytes of stdout and of stderr are kept (each); the rest is counted.
    pub output_capture_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            address_space_bytes: Some(8 << 30),
            max_processes: Some(256),
            max_file_size_bytes: Some(256 << 20),
            max_open_files: Some(1024),
            cpu_seconds: Some(300),
            cgroup_memory_bytes: Some(2 << 30),
            cgroup_max_pids: Some(512),
            output_capture_bytes: 1 << 20,
        }
    }
}

/// Everything a sandbox run may see and use.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The root filesystem (read-only).
    pub rootfs: RootFs,
    /// Hostname, user, home, machine id.
    pub identity: HostIdentity,
    /// Extra host paths made visible (e.g. the unpacked package, read-only).
    pub binds: Vec<Bind>,
    /// Writable scratch directories. The home directory is added automatically.
    pub tmpfs: Vec<TmpfsMount>,
    /// Size of the home directory's tmpfs.
    pub home_size_bytes: u64,
    /// Resource limits.
    pub limits: Limits,
    /// The resolver written to `/etc/resolv.conf` (the sinkhole answers there).
    pub resolver: IpAddr,
    /// Names (a trailing `*` makes a prefix) of environment variables recorded with process
    /// and exec events. Values of others are not recorded.
    pub env_capture: Vec<String>,
}

impl Policy {
    /// A policy with default limits, a random identity, `/tmp` and `/var/tmp` scratch space.
    pub fn new(rootfs: RootFs) -> Self {
        Policy {
            rootfs,
            identity: HostIdentity::random(),
            binds: Vec::new(),
            tmpfs: vec![
                TmpfsMount {
                    target: "/tmp".into(),
                    size_bytes: 256 << 20,
                    mode: 0o1777,
                },
                TmpfsMount {
                    target: "/var/tmp".into(),
                    size_bytes: 64 << 20,
                    mode: 0o1777,
                },
            ],
            home_size_bytes: 256 << 20,
            limits: Limits::default(),
            resolver: IpAddr::V4(Ipv4Addr::new(10, 0, 2, 3)),
            env_capture: [
                "PATH",
                "HOME",
                "USER",
                "PWD",
                "SHELL",
                "LD_PRELOAD",
                "LD_LIBRARY_PATH",
                "PYTHON*",
                "NODE_*",
                "npm_*",
                "http_proxy",
                "https_proxy",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "AWS_*",
                "GITHUB_*",
                "NPM_*",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        }
    }

    /// Whether `name` is an environment variable the policy records.
    pub fn captures_env(&self, name: &str) -> bool {
        self.env_capture.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        })
    }

    /// The writable directories inside the sandbox: home, every tmpfs, writable binds.
    pub fn writable_paths(&self) -> Vec<PathBuf> {
        let mut out = vec![self.identity.home.clone()];
        out.extend(self.tmpfs.iter().map(|t| t.target.clone()));
        out.extend(
            self.binds
                .iter()
                .filter(|b| b.writable)
                .map(|b| b.target.clone()),
        );
        out
    }
}

/// One command run in the sandbox: a phase (install, import, execute) of an analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Program and arguments. A program without `/` is looked up in `PATH` of `env`.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited from the host).
    pub env: Vec<(String, String)>,
    /// Working directory inside the sandbox (`None`: the home directory).
    pub cwd: Option<PathBuf>,
    /// Wall-clock deadline, counted from the start of the sandbox.
    pub timeout: Duration,
    /// How long processes that outlived the main process may keep running (still bounded
    /// by `timeout`) before everything is killed. Zero ends the phase with its main process.
    pub linger: Duration,
}

impl Phase {
    /// A phase running `argv` with a minimal environment, a 60 s deadline and no linger.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        Phase {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![
                (
                    "PATH".into(),
                    "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin".into(),
                ),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            cwd: None,
            timeout: Duration::from_secs(60),
            linger: Duration::ZERO,
        }
    }

    /// Set the deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set the linger time after the main process exits.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Set the working directory.
    pub fn cwd(mut self, cwd: impl Into<PathBuf>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Add or replace an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_capture_matches_names_and_prefixes() {
        let policy = Policy::new(RootFs::host_system());
        assert!(policy.captures_env("PATH"));
        assert!(policy.captures_env("AWS_SECRET_ACCESS_KEY"));
        assert!(policy.captures_env("npm_lifecycle_event"));
        assert!(!policy.captures_env("PATHX"));
        assert!(!policy.captures_env("TERM"));
    }

    #[test]
    fn random_identity_is_plausible() {
        // Every name any identity can have: none gives the sandbox away.
        for name in FIRST_NAMES.iter().chain(MACHINE_KINDS) {
            for word in ["sandbox", "box", "analysis", "malware", "vm", "test"] {
                assert!(!name.contains(word), "{name}");
            }
        }
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20 {
            let id = HostIdentity::random();
            let kind = id.hostname.strip_prefix(&format!("{}-", id.user));
            assert!(
                kind.is_some_and(|k| MACHINE_KINDS.contains(&k)),
                "{}",
                id.hostname
            );
            assert_eq!(id.home, PathBuf::from(format!("/home/{}", id.user)));
            assert_eq!(id.machine_id.len(), 32);
            assert!(
                id.machine_id
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            // systemd's shape: UUID version 4, RFC 4122 variant.
            assert_eq!(&id.machine_id[12..13], "4", "{}", id.machine_id);
            assert!("89ab".contains(&id.machine_id[16..17]), "{}", id.machine_id);
            ids.insert(id.machine_id);
        }
        assert_eq!(ids.len(), 20, "machine ids differ per run");
    }

    #[test]
    fn writable_paths_are_home_tmpfs_and_writable_binds() {
        let mut policy = Policy::new(RootFs::host_system());
        policy.binds.push(Bind::read_only("/x", "/pkg"));
        policy.binds.push(Bind::writable("/y", "/out"));
        let w = policy.writable_paths();
        assert_eq!(w[0], policy.identity.home);
        assert!(w.contains(&PathBuf::from("/tmp")));
        assert!(w.contains(&PathBuf::from("/out")));
        assert!(!w.contains(&PathBuf::from("/pkg")));
    }
}
