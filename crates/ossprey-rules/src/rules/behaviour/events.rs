//! Reading the sandbox's events: phases, which processes are the package's own, where
//! traffic went, where a path lies, and building behaviour findings.

use std::collections::BTreeSet;

use ossprey_model::dynamic::{Connection, Exec, FileAccess, PhaseReport, Process};
use ossprey_model::{DynamicResult, Ecosystem, Evidence, Finding, Severity};
use serde_json::{Value, json};

use crate::Rule;

/// The phases that ran, with their keys, in order.
pub(crate) fn phases(d: &DynamicResult) -> impl Iterator<Item = (&'static str, &PhaseReport)> {
    [
        ("install", d.install.as_ref()),
        ("import", d.import.as_ref()),
        ("execute", d.execute.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, p)| Some((k, p?)))
}

/// The last component of a path.
pub(crate) fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The execs of a process that succeeded.
pub(crate) fn ok_execs(p: &Process) -> impl Iterator<Item = &Exec> {
    p.execs.iter().filter(|e| e.ok)
}

/// The program an exec ran: the base name of the file executed.
pub(crate) fn program(e: &Exec) -> &str {
    base(&e.path)
}

/// Shells, as programs.
pub(crate) const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"];

/// Script interpreters, as programs (versioned Pythons match by prefix).
pub(crate) fn is_interpreter(program: &str) -> bool {
    matches!(
        program,
        "node" | "nodejs" | "perl" | "ruby" | "php" | "lua" | "deno" | "bun"
    ) || program.starts_with("python")
}

/// A shell, or an interpreter, given code inline (`sh -c`, `python -c`, `node -e`,
/// `perl -e`): the inline code, when `e` is such an exec.
pub(crate) fn inline_code(e: &Exec) -> Option<&str> {
    let prog = program(e);
    let flags: &[&str] = if SHELLS.contains(&prog) || prog.starts_with("python") {
        &["-c"]
    } else if is_interpreter(prog) {
        &["-e", "-p", "--eval", "--print", "-r"]
    } else {
        return None;
    };
    let at = e.argv.iter().position(|a| flags.contains(&a.as_str()))?;
    e.argv.get(at + 1).map(String::as_str)
}

/// One line for a command: its argv joined, bounded.
pub(crate) fn argv_line(argv: &[String]) -> String {
    ossprey_static::facts::snippet(&argv.join(" "), 160)
}

/// The command line of a process: its last successful exec, else its recorded command.
pub(crate) fn command_line(p: &Process) -> String {
    match ok_execs(p).last() {
        Some(e) => argv_line(&e.argv),
        None => argv_line(&p.command),
    }
}

/// Which processes of a phase run the package's code, as opposed to the driver's
/// (pip, npm and their helpers such as `tar` or pip's own `uname -rs`).
///
/// At install, package code runs only in the hooks the installer starts — npm runs
/// each lifecycle script as `sh -c <script>`, pip runs `setup.py` or the PEP 517
/// backend in a child Python — and in everything those start. At import and execute
/// the driver's only job is to load the package, so every process counts.
///
/// File accesses are aggregated per path with every pid that touched it; a path
/// counts as the package's when any of its pids is. A file the driver wrote and the
/// package only read is then attributed to the package: rules that judge writes check
/// where a path is (the package's own directories are allowed) to keep that harmless.
#[derive(Debug, Default)]
pub(crate) struct PackageProcesses {
    pids: BTreeSet<i32>,
    hook_roots: BTreeSet<i32>,
}

impl PackageProcesses {
    pub(crate) fn of(phase_key: &str, phase: &PhaseReport) -> Self {
        let all: BTreeSet<i32> = phase.processes.iter().map(|p| p.pid).collect();
        if phase_key != "install" {
            return Self {
                pids: all,
                hook_roots: BTreeSet::new(),
            };
        }
        // The driver's main process(es): those whose parent is not in the phase.
        let roots: BTreeSet<i32> = phase
            .processes
            .iter()
            .filter(|p| !all.contains(&p.ppid))
            .map(|p| p.pid)
            .collect();
        let hook_roots: BTreeSet<i32> = phase
            .processes
            .iter()
            .filter(|p| roots.contains(&p.ppid) && ok_execs(p).any(is_hook_exec))
            .map(|p| p.pid)
            .collect();
        let mut pids = hook_roots.clone();
        // Descendants; each pass adds at least one process or ends, so at most
        // `processes.len()` passes.
        loop {
            let before = pids.len();
            for p in &phase.processes {
                if pids.contains(&p.ppid) {
                    pids.insert(p.pid);
                }
            }
            if pids.len() == before {
                break;
            }
        }
        Self { pids, hook_roots }
    }

    pub(crate) fn contains(&self, pid: i32) -> bool {
        self.pids.contains(&pid)
    }

    /// A process the installer started to run a hook (`sh -c <script>`, `setup.py`).
    pub(crate) fn is_hook_root(&self, pid: i32) -> bool {
        self.hook_roots.contains(&pid)
    }

    /// Whether the package touched a file (any of its pids is the package's).
    pub(crate) fn touched(&self, f: &FileAccess) -> bool {
        f.pids.iter().any(|p| self.pids.contains(p))
    }

    /// The package's processes of `phase`.
    pub(crate) fn processes<'p>(
        &self,
        phase: &'p PhaseReport,
    ) -> impl Iterator<Item = &'p Process> {
        phase.processes.iter().filter(|p| self.contains(p.pid))
    }
}

/// An exec by which an installer starts package code: npm's `sh -c <script>`, pip's
/// `setup.py` runner (`<pip-setuptools-caller>`) or its PEP 517 hook runner.
fn is_hook_exec(e: &Exec) -> bool {
    let prog = program(e);
    (SHELLS.contains(&prog) && e.argv.get(1).is_some_and(|a| a == "-c"))
        || e.argv.iter().any(|a| {
            a.contains("pip-setuptools-caller")
                || a.ends_with("_in_process.py")
                || a.ends_with("setup.py")
        })
}

/// The hosts of the package's own registry: installers may talk to them.
pub(crate) fn is_registry_host(host: &str, ecosystem: Option<Ecosystem>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pypi = ["pypi.org", "files.pythonhosted.org"];
    let npm = ["registry.npmjs.org", "registry.yarnpkg.com"];
    match ecosystem {
        Some(Ecosystem::Pypi) => pypi.contains(&host.as_str()),
        Some(Ecosystem::Npm) => npm.contains(&host.as_str()),
        _ => pypi.contains(&host.as_str()) || npm.contains(&host.as_str()),
    }
}

/// Names that never leave the machine: localhost, and single-label names (the
/// machine's own host name, search-list probes) that no Internet resolver answers.
pub(crate) fn is_local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost") || (!h.contains('.') && !is_ip(&h))
}

/// Addresses that never leave the machine.
pub(crate) fn is_local_address(addr: &str) -> bool {
    match addr.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => false,
    }
}

/// Whether `s` is an IP address literal.
pub(crate) fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// Somewhere the package sent something, or asked the DNS about.
#[derive(Debug)]
pub(crate) struct Destination {
    /// The DNS name, or the address when it had none.
    pub host: String,
    pub port: Option<u16>,
    /// Whether `host` is a bare IP address (no DNS name led to it).
    pub raw_ip: bool,
    /// `connection`, `dns` or `datagram`.
    pub kind: &'static str,
    /// A one-line summary: `POST http://host/path`, `tcp 1.2.3.4:4444 (raw, 48 bytes)`.
    pub summary: String,
    /// The event, trimmed for the report.
    pub event: Value,
}

/// Where the phase's traffic went, other than the package's registry and loopback:
/// every connection, every datagram but DNS, and every DNS name no connection used.
pub(crate) fn egress(phase: &PhaseReport, ecosystem: Option<Ecosystem>) -> Vec<Destination> {
    let mut out = Vec::new();
    let mut named = BTreeSet::new();
    for c in &phase.network.connections {
        let host = c.hostname.clone().unwrap_or_else(|| c.address.clone());
        named.insert(host.to_ascii_lowercase());
        if is_registry_host(&host, ecosystem) || is_local_name(&host) || is_local_address(&host) {
            continue;
        }
        out.push(Destination {
            raw_ip: c.hostname.is_none(),
            port: Some(c.port),
            kind: "connection",
            summary: connection_summary(c),
            event: connection_event(c),
            host,
        });
    }
    for d in &phase.network.datagrams {
        let host = d.hostname.clone().unwrap_or_else(|| d.address.clone());
        named.insert(host.to_ascii_lowercase());
        if d.port == 53 || is_registry_host(&host, ecosystem) || is_local_address(&host) {
            continue;
        }
        let mut event = serde_json::to_value(d).unwrap_or(Value::Null);
        trim_event(&mut event);
        out.push(Destination {
            raw_ip: d.hostname.is_none(),
            port: Some(d.port),
            kind: "datagram",
            summary: format!("udp {host}:{} ({} bytes)", d.port, d.bytes_total),
            event,
            host,
        });
    }
    let mut asked = BTreeSet::new();
    for q in &phase.network.dns {
        let host = q.hostname.trim_end_matches('.').to_owned();
        let key = host.to_ascii_lowercase();
        if named.contains(&key)
            || !asked.insert(key)
            || is_registry_host(&host, ecosystem)
            || is_local_name(&host)
            || host.is_empty()
        {
            continue;
        }
        out.push(Destination {
            raw_ip: false,
            port: None,
            kind: "dns",
            summary: format!("DNS {} query for {host}", q.qtype),
            event: serde_json::to_value(q).unwrap_or(Value::Null),
            host,
        });
    }
    out
}

/// `POST http://host/path`, `TLS host:443`, or `tcp host:port (raw, N bytes)`.
pub(crate) fn connection_summary(c: &Connection) -> String {
    let host = c.hostname.as_deref().unwrap_or(&c.address);
    if let Some(req) = c.http.first() {
        let h = req.host.as_deref().unwrap_or(host);
        return ossprey_static::facts::snippet(
            &format!(
                "{} http://{h}{} ({} bytes sent)",
                req.method, req.path, c.bytes_total
            ),
            200,
        );
    }
    if let Some(sni) = &c.tls_sni {
        return format!("TLS to {sni} ({host}:{})", c.port);
    }
    format!(
        "tcp {host}:{} ({}, {} bytes sent)",
        c.port, c.kind, c.bytes_total
    )
}

/// A connection as evidence: without the base64 copies of the bytes (the text
/// rendering stays, bounded) so findings stay readable.
pub(crate) fn connection_event(c: &Connection) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    trim_event(&mut v);
    v
}

/// Drops `*_base64` fields and bounds `*_text` fields, recursively.
pub(crate) fn trim_event(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !k.ends_with("_base64"));
            for (k, val) in map.iter_mut() {
                if k.ends_with("_text")
                    && let Value::String(s) = val
                {
                    *s = ossprey_static::facts::snippet(s, 300);
                } else {
                    trim_event(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(trim_event),
        _ => {}
    }
}

/// A process as evidence: pid, parent, argv of its last exec, cwd, how it ended.
pub(crate) fn process_event(p: &Process) -> Value {
    let argv = ok_execs(p)
        .last()
        .map(|e| e.argv.clone())
        .unwrap_or_else(|| p.command.clone());
    json!({
        "pid": p.pid,
        "ppid": p.ppid,
        "argv": argv,
        "cwd": p.cwd,
        "exit_code": p.exit_code,
        "outlived_main": p.outlived_main,
        "killed_at_end": p.killed_at_end,
    })
}

/// A file access as evidence.
pub(crate) fn file_event(f: &FileAccess) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

/// The path inside a home directory (`/home/<user>/<rest>` or `/root/<rest>`).
pub(crate) fn home_rel(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_prefix("/root/") {
        return Some(rest);
    }
    let rest = path.strip_prefix("/home/")?;
    let (user, rest) = rest.split_once('/')?;
    (!user.is_empty()).then_some(rest)
}

/// A successful write, rename or link of a file (a bare `create` flag also marks
/// directory opens, so it does not count alone; creating a directory is not a write:
/// the files put into it are).
pub(crate) fn written(f: &FileAccess) -> bool {
    f.succeeded
        && !f.ops.iter().any(|o| o == "mkdir")
        && (f.write
            || f.ops
                .iter()
                .any(|o| matches!(o.as_str(), "rename" | "symlink" | "link")))
}

/// Normalises a package name for comparing with directory names (`Foo-Bar` and
/// `foo_bar` are one name to pip).
pub(crate) fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// The first path component below `marker` in `path` (`site-packages/`,
/// `node_modules/`), with npm scopes kept (`@scope/name`).
pub(crate) fn component_after<'p>(path: &'p str, marker: &str) -> Option<&'p str> {
    let at = path.rfind(marker)?;
    let rest = path.get(at + marker.len()..)?;
    if rest.starts_with('@') {
        let mut parts = rest.splitn(3, '/');
        let scope = parts.next()?;
        let name = parts.next()?;
        return rest.get(..scope.len() + 1 + name.len());
    }
    Some(rest.split('/').next().unwrap_or(rest)).filter(|s| !s.is_empty())
}

/// Whether a top-level entry of site-packages (`foo`, `foo.py`, `foo-1.0.dist-info`,
/// `__pycache__/foo.cpython-311.pyc`) belongs to the package named `own`.
pub(crate) fn site_entry_is_own(path: &str, own: Option<&str>) -> bool {
    let Some(own) = own else { return false };
    let Some(entry) = component_after(path, "-packages/") else {
        return false;
    };
    let entry = if entry == "__pycache__" {
        let after = path.rsplit('/').next().unwrap_or_default();
        after.split('.').next().unwrap_or_default()
    } else {
        entry.split(['.', '-']).next().unwrap_or(entry)
    };
    let own = normalise(own);
    let entry = normalise(entry);
    own == entry || own.starts_with(&format!("{entry}_")) || entry.starts_with(&format!("{own}_"))
}

/// Directories a package may write to at install or import: scratch space, the
/// project the installer built (`/work`, except other packages' directories), its own
/// directory in site-packages, and the tools' caches.
pub(crate) fn is_own_or_scratch(path: &str, own: Option<&str>) -> bool {
    const SCRATCH: &[&str] = &[
        "/tmp/",
        "/var/tmp/",
        "/dev/",
        "/proc/self/",
        "/proc/thread-self/",
    ];
    if SCRATCH.iter().any(|p| path.starts_with(p)) || path == "/tmp" || path == "/dev/null" {
        return true;
    }
    if path.starts_with("/proc/")
        && path
            .split('/')
            .nth(2)
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        // `/proc/<pid>/…` of one of its own processes (fd, attributes).
        return true;
    }
    if other_package_dir(path, own).is_some() {
        return false;
    }
    if path == "/work" || path.starts_with("/work/") {
        return true;
    }
    if path.contains("-packages/") {
        return site_entry_is_own(path, own);
    }
    if let Some(rel) = home_rel(path) {
        const CACHES: &[&str] = &[".cache/", ".npm/", ".node-gyp/", ".local/share/pnpm/"];
        return CACHES.iter().any(|c| rel.starts_with(c))
            || [".cache", ".npm", ".node-gyp"].contains(&rel);
    }
    false
}

/// Another package's directory: `node_modules/<other>/…` or
/// `site-packages/<other>…` that is not the package's own. Returns the other name.
pub(crate) fn other_package_dir<'p>(path: &'p str, own: Option<&str>) -> Option<&'p str> {
    let own = own?;
    if let Some(name) = component_after(path, "/node_modules/") {
        // npm's own bookkeeping and tool directories are not packages.
        if name.starts_with('.') || name == own {
            return None;
        }
        // Only files *inside* it: creating `node_modules/` itself is the installer's.
        let rest = path.rsplit_once(&format!("/node_modules/{name}"))?.1;
        return (!rest.is_empty()).then_some(name);
    }
    if path.contains("-packages/") {
        let name = component_after(path, "-packages/")?;
        if site_entry_is_own(path, Some(own)) || name == "__pycache__" {
            return None;
        }
        // Files of other packages (`other/…`), not new top-level entries.
        let rest = path.rsplit_once(&format!("-packages/{name}"))?.1;
        return (rest.starts_with('/') && name != "__pycache__").then_some(name);
    }
    None
}

/// Builds a behaviour finding: the event (with its phase) as evidence and a one-line
/// summary as the snippet.
pub(crate) fn behaviour_finding(
    rule: &dyn Rule,
    severity: Severity,
    message: impl Into<String>,
    phase: &str,
    what: &str,
    event: Value,
    snippet: &str,
) -> Finding {
    Finding {
        rule: rule.id().to_owned(),
        severity,
        category: rule.category(),
        message: message.into(),
        evidence: Evidence {
            file: None,
            line: None,
            snippet: Some(ossprey_static::facts::snippet(snippet, 200)),
            event: Some(json!({ "phase": phase, what: event })),
        },
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_placed() {
        assert_eq!(home_rel("/home/ines/.bashrc"), Some(".bashrc"));
        assert_eq!(home_rel("/root/.ssh/id_rsa"), Some(".ssh/id_rsa"));
        assert_eq!(home_rel("/home//x"), None);
        assert!(is_local_name("ines-workstation") && is_local_name("localhost."));
        assert!(!is_local_name("2001:db8::1") && !is_local_name("c2.example.test"));
        assert_eq!(
            component_after("/work/node_modules/@s/n/index.js", "/node_modules/"),
            Some("@s/n")
        );
        let own = Some("imitation-stealer");
        let sp = "/home/i/.local/lib/python3.11/site-packages";
        assert!(is_own_or_scratch(
            &format!("{sp}/imitation_stealer.py"),
            own
        ));
        assert!(is_own_or_scratch(
            &format!("{sp}/imitation_stealer-0.1.0.dist-info/RECORD"),
            own
        ));
        assert!(is_own_or_scratch(
            &format!("{sp}/__pycache__/imitation_stealer.cpython-311.pyc.1"),
            own
        ));
        assert!(!is_own_or_scratch(&format!("{sp}/requests/api.py"), own));
        assert_eq!(
            other_package_dir(&format!("{sp}/requests/api.py"), own),
            Some("requests")
        );
        assert!(!is_own_or_scratch("/home/i/.imitation-pth-fired", own));
        assert!(is_own_or_scratch("/home/i/.npm/_logs/x.log", own));
        assert!(is_own_or_scratch(
            "/work/node_modules/imitation-stealer/build/x",
            own
        ));
        assert!(!is_own_or_scratch(
            "/work/node_modules/left-pad/index.js",
            own
        ));
        assert!(is_own_or_scratch(
            "/work/node_modules/.package-lock.json",
            own
        ));
        assert!(is_own_or_scratch("/tmp/pip-req-build-x/setup.py", own));
    }
}
