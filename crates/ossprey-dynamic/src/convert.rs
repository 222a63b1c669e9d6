//! Sandbox and sinkhole records → the report's [`ossprey_model::dynamic`] types.
//!
//! Processes come from the supervisor's process table enriched with the tracer's
//! start/exec events; file events are aggregated per path (as the reference system's
//! `Files` are); socket operations are linked to the DNS names the sinkhole handed
//! their address to.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use ossprey_model::dynamic::{
    Connection, Datagram, DnsQuery, Exec, FileAccess, HttpRequest, Isolation, Network, Output,
    PhaseReport, PhaseStatus, Process, Socket,
};
use ossprey_sandbox::{Captured, EventKind, FileOp, NetOp, PhaseResult, SocketAddress};
use ossprey_sinkhole::NetworkLog;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// One phase's report from what the sandbox and the sinkhole recorded.
pub fn phase_report(
    command: &[String],
    result: &PhaseResult,
    network: Option<&NetworkLog>,
) -> PhaseReport {
    let status = match result.status {
        ossprey_sandbox::PhaseStatus::Completed => PhaseStatus::Completed,
        ossprey_sandbox::PhaseStatus::Timeout => PhaseStatus::Timeout,
        ossprey_sandbox::PhaseStatus::Error => PhaseStatus::Error,
    };
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(log) = network {
        for n in &log.names {
            names
                .entry(n.address.to_string())
                .or_default()
                .push(n.hostname.clone());
        }
    }
    PhaseReport {
        status,
        error: result.error.clone(),
        duration_ms: result.duration_ms,
        command: command.to_vec(),
        exit_code: result.exit.and_then(|e| e.code),
        exit_signal: result.exit.and_then(|e| e.signal),
        processes: processes(result),
        files: files(result),
        sockets: sockets(result, &names),
        network: network.map(network_of).unwrap_or_default(),
        stdout: output(&result.stdout),
        stderr: output(&result.stderr),
        isolation: Isolation {
            interfaces: result.isolation.interfaces.clone(),
            landlock: result.isolation.landlock.clone(),
            cgroup: result.isolation.cgroup,
            notes: result.isolation.notes.clone(),
        },
    }
}

fn output(c: &Captured) -> Output {
    Output {
        text: c.text.clone(),
        total_bytes: c.total_bytes,
        truncated: c.truncated,
    }
}

fn processes(result: &PhaseResult) -> Vec<Process> {
    let mut cwd: HashMap<i32, String> = HashMap::new();
    let mut execs: HashMap<i32, Vec<Exec>> = HashMap::new();
    for e in &result.events {
        match &e.kind {
            EventKind::ProcessStart { cwd: c, .. } => {
                cwd.entry(e.pid).or_insert_with(|| c.clone());
            }
            EventKind::Exec {
                path,
                argv,
                env,
                result,
            } => execs.entry(e.pid).or_default().push(Exec {
                path: path.clone(),
                argv: argv.clone(),
                environment: env.clone(),
                ok: *result == Some(0),
            }),
            _ => {}
        }
    }
    result
        .processes
        .iter()
        .map(|p| Process {
            pid: p.pid,
            ppid: p.ppid,
            command: p.argv.clone(),
            execs: execs.remove(&p.pid).unwrap_or_default(),
            cwd: cwd.remove(&p.pid),
            exit_code: p.exit.and_then(|e| e.code),
            exit_signal: p.exit.and_then(|e| e.signal),
            outlived_main: p.outlived_main,
            killed_at_end: p.killed_at_end,
        })
        .collect()
}

fn files(result: &PhaseResult) -> Vec<FileAccess> {
    let mut out: Vec<FileAccess> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in &result.events {
        let EventKind::File {
            op,
            path,
            read,
            write,
            create,
            target,
            result,
            ..
        } = &e.kind
        else {
            continue;
        };
        let i = *index.entry(path.clone()).or_insert_with(|| {
            out.push(FileAccess {
                path: path.clone(),
                ..FileAccess::default()
            });
            out.len() - 1
        });
        let f = &mut out[i];
        f.read |= read;
        f.write |= write;
        f.create |= create;
        let name = match op {
            FileOp::Open => None,
            FileOp::Delete => {
                f.delete = true;
                None
            }
            FileOp::Rename => Some("rename"),
            FileOp::Chmod => Some("chmod"),
            FileOp::Mkdir => Some("mkdir"),
            FileOp::Symlink => Some("symlink"),
            FileOp::Link => Some("link"),
        };
        if let Some(name) = name
            && !f.ops.iter().any(|o| o == name)
        {
            f.ops.push(name.to_owned());
        }
        if let Some(t) = target
            && !f.targets.contains(t)
        {
            f.targets.push(t.clone());
        }
        f.succeeded |= result.is_some_and(|r| r >= 0);
        if !f.pids.contains(&e.pid) {
            f.pids.push(e.pid);
        }
    }
    out
}

fn sockets(result: &PhaseResult, names: &HashMap<String, Vec<String>>) -> Vec<Socket> {
    result
        .events
        .iter()
        .filter_map(|e| {
            let EventKind::Network {
                op,
                address,
                result,
                ..
            } = &e.kind
            else {
                return None;
            };
            let op = match op {
                NetOp::Connect => "connect",
                NetOp::Bind => "bind",
                NetOp::Send => "send",
            };
            let (family, addr, port) = match address {
                SocketAddress::Inet { address, port } => (
                    if address.is_ipv4() { "inet" } else { "inet6" },
                    address.to_string(),
                    Some(*port),
                ),
                SocketAddress::Unix {
                    path,
                    abstract_name,
                } => (
                    "unix",
                    if *abstract_name {
                        format!("@{path}")
                    } else {
                        path.clone()
                    },
                    None,
                ),
                SocketAddress::Other { family_number } => {
                    ("other", format!("family {family_number}"), None)
                }
            };
            Some(Socket {
                pid: e.pid,
                op: op.to_owned(),
                family: family.to_owned(),
                hostnames: names.get(&addr).cloned().unwrap_or_default(),
                address: addr,
                port,
                result: *result,
                time_ms: e.time_ms,
            })
        })
        .collect()
}

fn network_of(log: &NetworkLog) -> Network {
    let lower = |s: String| s.to_ascii_lowercase();
    let mut dropped = BTreeMap::new();
    for (k, v) in [
        ("connections", log.dropped.connections),
        ("datagrams", log.dropped.datagrams),
        ("dns_queries", log.dropped.dns_queries),
        ("malformed_dns", log.dropped.malformed_dns),
    ] {
        if v > 0 {
            dropped.insert(k.to_owned(), v);
        }
    }
    Network {
        dns: log
            .dns
            .iter()
            .map(|q| DnsQuery {
                hostname: q.hostname.clone(),
                qtype: q.qtype.clone(),
                resolver: q.resolver.to_string(),
                transport: lower(format!("{:?}", q.transport)),
                answer: q.answer.map(|a| a.to_string()),
                time_ms: q.time_ms,
            })
            .collect(),
        connections: log
            .connections
            .iter()
            .map(|c| Connection {
                protocol: c.protocol.clone(),
                address: c.dst_ip.to_string(),
                port: c.dst_port,
                hostname: c.hostname.clone(),
                kind: lower(format!("{:?}", c.kind)),
                time_ms: c.time_ms,
                duration_ms: c.duration_ms,
                bytes_total: c.bytes_total,
                bytes_prefix_base64: b64(&c.bytes_prefix.0),
                bytes_prefix_text: text(&c.bytes_prefix.0),
                truncated: c.truncated,
                http: c
                    .http
                    .iter()
                    .map(|h| HttpRequest {
                        method: h.method.clone(),
                        host: h.host.clone(),
                        path: h.path.clone(),
                        headers: h
                            .headers
                            .iter()
                            .map(|h| (h.name.clone(), h.value.clone()))
                            .collect(),
                        body_base64: b64(&h.body_prefix.0),
                        body_text: text(&h.body_prefix.0),
                        body_len: h.body_len,
                        body_truncated: h.body_truncated,
                    })
                    .collect(),
                tls_sni: c.tls_sni.clone(),
                tls_alpn: c.tls_alpn.clone(),
            })
            .collect(),
        datagrams: log
            .datagrams
            .iter()
            .map(|d| Datagram {
                address: d.dst_ip.to_string(),
                port: d.dst_port,
                hostname: d.hostname.clone(),
                time_ms: d.time_ms,
                bytes_total: d.bytes_total,
                bytes_prefix_base64: b64(&d.bytes_prefix.0),
                bytes_prefix_text: text(&d.bytes_prefix.0),
                truncated: d.truncated,
            })
            .collect(),
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ossprey_sandbox::{Event, IsolationReport, PhaseResult};
    use ossprey_sinkhole::ResolvedName;

    fn file(pid: i32, op: FileOp, path: &str, write: bool, result: i64) -> Event {
        Event {
            time_ms: 1,
            pid,
            kind: EventKind::File {
                op,
                path: path.into(),
                read: !write,
                write,
                create: write,
                target: None,
                mode: None,
                result: Some(result),
            },
        }
    }

    fn result(events: Vec<Event>) -> PhaseResult {
        PhaseResult {
            status: ossprey_sandbox::PhaseStatus::Timeout,
            error: None,
            exit: None,
            duration_ms: 2001,
            stdout: Captured::default(),
            stderr: Captured::default(),
            events,
            processes: Vec::new(),
            isolation: IsolationReport::default(),
        }
    }

    #[test]
    fn file_events_aggregate_per_path_and_failed_probes_stay_failed() {
        let r = result(vec![
            file(3, FileOp::Open, "/home/u/x", false, 3),
            file(4, FileOp::Open, "/home/u/x", true, 4),
            file(4, FileOp::Delete, "/home/u/x", true, 0),
            file(3, FileOp::Open, "/usr/lib/missing.py", false, -2),
        ]);
        let report = phase_report(&["sh".into()], &r, None);
        assert_eq!(report.status, PhaseStatus::Timeout);
        assert_eq!(report.files.len(), 2);
        let x = &report.files[0];
        assert!(x.read && x.write && x.create && x.delete && x.succeeded);
        assert_eq!(x.pids, [3, 4]);
        assert!(!report.files[1].succeeded);
    }

    #[test]
    fn sockets_are_linked_to_the_names_the_sinkhole_handed_out() {
        let r = result(vec![Event {
            time_ms: 5,
            pid: 7,
            kind: EventKind::Network {
                op: NetOp::Connect,
                fd: 3,
                address: SocketAddress::Inet {
                    address: "198.18.0.1".parse().unwrap(),
                    port: 443,
                },
                result: Some(-115),
            },
        }]);
        let log = NetworkLog {
            names: vec![ResolvedName {
                hostname: "exfil.example.test".into(),
                address: "198.18.0.1".parse().unwrap(),
            }],
            ..NetworkLog::default()
        };
        let report = phase_report(&[], &r, Some(&log));
        assert_eq!(report.sockets.len(), 1);
        let s = &report.sockets[0];
        assert_eq!((s.op.as_str(), s.port), ("connect", Some(443)));
        assert_eq!(s.hostnames, ["exfil.example.test"]);
    }
}
