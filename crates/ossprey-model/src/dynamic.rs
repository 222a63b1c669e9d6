//! The report's `dynamic` object: what a package did when it ran in the sandbox.
//!
//! Keyed by phase (`install`, `import`, `execute`; SPEC capability 5 and the CLI
//! contract), each phase with its `status`, `duration_ms` and events: processes, file
//! accesses, sockets, and what the sealed network saw (DNS queries, connections with
//! their HTTP/TLS details, datagrams). Field names follow the SPEC and, where it has
//! one, the reference system's schema (OpenSSF package-analysis: `Files{Path,Read,
//! Write,Delete}`, `Sockets{Address,Port,Hostnames}`, `Commands{Command,Environment}`,
//! `DNS{Queries{Hostname,Types}}`).
//!
//! Plain data: the sandbox and the sinkhole produce their own records, and the crate
//! that runs them (`ossprey-dynamic`) converts them into these. Bytes the package sent
//! are kept as standard base64 (`*_base64`) because exfiltrated data is often binary,
//! with a UTF-8 rendering (`*_text`) when the bytes are valid UTF-8.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Dynamic analysis of one package: one entry per phase that ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamicResult {
    /// Installing the package (setup.py, npm lifecycle scripts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<PhaseReport>,
    /// Importing / requiring the installed package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<PhaseReport>,
    /// Calling what the package exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute: Option<PhaseReport>,
    /// The runtime the phases ran with (its cache key), when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Remarks for people: phases not run and why, dependencies not installed, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Fake secrets planted for the run and where they turned up.
    #[serde(default, skip_serializing_if = "Honeytokens::is_empty")]
    pub honeytokens: Honeytokens,
}

impl DynamicResult {
    /// The slot of a phase by its key (`install`, `import`, `execute`).
    pub fn phase_mut(&mut self, key: &str) -> Option<&mut Option<PhaseReport>> {
        match key {
            "install" => Some(&mut self.install),
            "import" => Some(&mut self.import),
            "execute" => Some(&mut self.execute),
            _ => None,
        }
    }
}

/// How a phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseStatus {
    /// The phase's main process ended before the deadline (whatever its exit code).
    Completed,
    /// The deadline killed it.
    Timeout,
    /// The sandbox could not run it.
    Error,
}

/// One phase in the sandbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    pub status: PhaseStatus,
    /// Why, when `status` is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The command the phase ran (the driver's, not the package's).
    pub command: Vec<String>,
    /// Exit code of the main process, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Signal that killed the main process, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<i32>,
    pub processes: Vec<Process>,
    pub files: Vec<FileAccess>,
    pub sockets: Vec<Socket>,
    pub network: Network,
    pub stdout: Output,
    pub stderr: Output,
    /// Isolation layers in force and their remarks.
    pub isolation: Isolation,
}

/// A process of the phase (OpenSSF `Commands{Command,Environment}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Pid inside the sandbox.
    pub pid: i32,
    /// Parent pid inside the sandbox.
    pub ppid: i32,
    /// Last command line (after its last exec).
    pub command: Vec<String>,
    /// Programs it executed, in order, with their recorded environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub execs: Vec<Exec>,
    /// Working directory when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<i32>,
    /// Still running when the phase's main process ended (a daemon or background job).
    pub outlived_main: bool,
    /// Killed by the end of the phase.
    pub killed_at_end: bool,
}

/// One `execve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    pub path: String,
    pub argv: Vec<String>,
    /// The recorded subset of the environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// Whether the exec succeeded.
    pub ok: bool,
}

/// Everything done to one path, aggregated (OpenSSF `Files{Path,Read,Write,Delete}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAccess {
    pub path: String,
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub delete: bool,
    /// Other operations seen (`rename`, `chmod`, `mkdir`, `symlink`, `link`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<String>,
    /// Rename destinations, symlink and link targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Whether at least one operation succeeded (failed probes are common: module search).
    pub succeeded: bool,
    /// Pids that touched it.
    pub pids: Vec<i32>,
}

/// A socket operation with an address (OpenSSF `Sockets{Address,Port,Hostnames}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socket {
    pub pid: i32,
    /// `connect`, `bind` or `send`.
    pub op: String,
    /// `inet`, `inet6`, `unix` or `other`.
    pub family: String,
    /// IP address or Unix socket path.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Names the sandbox's DNS resolved to this address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Syscall result (0 or a negative errno), when it returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<i64>,
    pub time_ms: u64,
}

/// What the sealed network saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub dns: Vec<DnsQuery>,
    pub connections: Vec<Connection>,
    pub datagrams: Vec<Datagram>,
    /// What bounds made the sinkhole drop (connections, datagrams, queries).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
}

/// One DNS question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuery {
    pub hostname: String,
    /// `A`, `AAAA`, `TXT`, …
    #[serde(rename = "type")]
    pub qtype: String,
    /// The resolver address it was sent to.
    pub resolver: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// The sinkhole address answered (A queries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    pub time_ms: u64,
}

/// One TCP connection, with its original destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// The DNS name `address` was handed out for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `http`, `tls`, `dns`, `raw` or `empty`.
    pub kind: String,
    pub time_ms: u64,
    pub duration_ms: u64,
    pub bytes_total: u64,
    pub bytes_prefix_base64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_prefix_text: Option<String>,
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_sni: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_alpn: Vec<String>,
}

/// One HTTP request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub path: String,
    /// `(name, value)` pairs in order.
    pub headers: Vec<(String, String)>,
    pub body_base64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    pub body_len: u64,
    pub body_truncated: bool,
}

/// One UDP datagram (DNS queries are in [`DnsQuery`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    pub address: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub time_ms: u64,
    pub bytes_total: u64,
    pub bytes_prefix_base64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_prefix_text: Option<String>,
    pub truncated: bool,
}

/// A bounded capture of an output stream (its head).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub text: String,
    pub total_bytes: u64,
    pub truncated: bool,
}

/// Which isolation layers held during the phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// Interfaces of the sandbox's network namespace, read from inside (only `lo`).
    pub interfaces: Vec<String>,
    pub landlock: String,
    pub cgroup: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Honeytokens: unique fake secrets planted in the sandbox's home and environment for
/// one run, and every place they turned up. Token values are never reported in full
/// (a short prefix identifies them); they are fake and differ per run anyway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Honeytokens {
    /// What was planted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planted: Vec<PlantedToken>,
    /// Reads of planted files and tokens seen in egress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<HoneytokenHit>,
    /// Remarks: reads that were the tools' own (npm loading `~/.npmrc`), …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Honeytokens {
    /// Nothing planted, nothing seen.
    pub fn is_empty(&self) -> bool {
        self.planted.is_empty() && self.hits.is_empty() && self.notes.is_empty()
    }
}

/// One planted fake secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedToken {
    /// `ssh_private_key`, `aws_access_key_id`, `github_token`, …
    pub kind: String,
    /// The file it is in (absolute, inside the sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The environment variable it is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The first characters of the value.
    pub prefix: String,
}

/// How a honeytoken was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HitHow {
    /// A process opened a honeytoken file for reading.
    Read,
    /// The token left in captured traffic: proof of exfiltration.
    Egress,
}

/// One honeytoken hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoneytokenHit {
    /// The token's kind (as in [`PlantedToken::kind`]).
    pub kind: String,
    pub how: HitHow,
    /// The phase (`install`, `import`, `execute`).
    pub phase: String,
    /// The planted file the token came from (or the file read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The environment variable the token came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Egress: how the token was encoded (`raw`, `base64`, `base64url`, `hex`, `base32`,
    /// `url`, `url+base64`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Egress: what carried it (`http`, `tls`, `tcp`, `dns`, `udp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Egress: where in what was carried (`body`, `path`, `header user-agent`,
    /// `bytes`, `query name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Egress: the destination the package asked for (`address:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Egress: the DNS name of the destination, or the query name that carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Read: the process that opened the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Read: its command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Read: whether the open succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<bool>,
    /// Milliseconds since the phase (read) or the phase's sinkhole (egress) started.
    pub time_ms: u64,
    /// The first characters of the token.
    pub token_prefix: String,
}
