//! The sealed network: only `lo` inside, nothing reaches listeners on the host, and the
//! hook passes sockets created inside the namespace to the supervisor. Both tests run
//! on both backends (`NAME::native`, `NAME::gvisor`).

mod common;

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use ossprey_sandbox::{EventKind, NetOp, NetnsHook, Phase, Sandbox, SocketAddress};

/// A non-loopback IPv4 address of the host, if it has one.
fn host_interface_address() -> Option<IpAddr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        let addr = ifa.address?;
        let v4 = addr.as_sockaddr_in()?;
        let ip = IpAddr::V4(v4.ip());
        (!ip.is_loopback()).then_some(ip)
    })
}

fn perl_connect(targets: &[SocketAddr]) -> Phase {
    let list = targets
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(",");
    let script = format!(
        "use IO::Socket::INET; for my $t ({list}) {{ \
           my $s = IO::Socket::INET->new(PeerAddr => $t, Timeout => 2); \
           print $s ? \"$t connected\\n\" : \"$t failed: $!\\n\"; }}"
    );
    Phase::new(["perl", "-e", &script]).timeout(Duration::from_secs(15))
}

on_both_backends! {
fn host_listeners_on_loopback_and_interface_are_unreachable() {
    require_sandbox!();
    let policy = common::policy();
    // Safety rule: prove the namespace has only `lo` before trying any other address.
    common::assert_sealed(&policy);

    let mut listeners = vec![TcpListener::bind("127.0.0.1:0").unwrap()];
    match host_interface_address() {
        Some(ip) => listeners.push(TcpListener::bind((ip, 0)).unwrap()),
        None => eprintln!("note: the host has no non-loopback IPv4 address; testing loopback only"),
    }
    let targets: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let r = common::run(&policy, &perl_connect(&targets));
    assert_eq!(r.isolation.interfaces, ["lo"]);
    for t in &targets {
        assert!(
            r.stdout.text.contains(&format!("{t} failed")),
            "{t}: {}",
            r.stdout.text
        );
        // The attempt is recorded, with its failure.
        assert!(
            r.events.iter().any(|e| matches!(&e.kind,
                EventKind::Network { op: NetOp::Connect, address: SocketAddress::Inet { address, port }, result: Some(res), .. }
                if *address == t.ip() && *port == t.port() && *res < 0)),
            "no failed connect event to {t}"
        );
    }
    for l in &listeners {
        l.set_nonblocking(true).unwrap();
        assert_eq!(
            l.accept().unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "the host listener saw a connection"
        );
    }
}
}

/// A hook that configures nothing and opens no socket: the namespace as sealed as it
/// comes.
#[derive(Debug)]
struct NoopHook;

impl NetnsHook for NoopHook {
    fn configure(&self) -> Result<Vec<OwnedFd>, String> {
        Ok(Vec::new())
    }

    fn serve(&self, _sockets: Vec<OwnedFd>) {}
}

on_both_backends! {
fn host_listeners_are_unreachable_with_a_network_hook() {
    require_sandbox!();
    // With a hook the gVisor backend uses the host kernel's stack inside the hook's
    // namespace (`--network=host`): the host must stay out of reach all the same.
    let mut listeners = vec![TcpListener::bind("127.0.0.1:0").unwrap()];
    if let Some(ip) = host_interface_address() {
        listeners.push(TcpListener::bind((ip, 0)).unwrap());
    }
    let targets: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let r = Sandbox::new()
        .with_backend(common::backend())
        .with_netns_hook(Arc::new(NoopHook))
        .run(&common::policy(), &perl_connect(&targets))
        .unwrap();
    assert_eq!(r.isolation.interfaces, ["lo"], "{r:#?}");
    for t in &targets {
        assert!(
            r.stdout.text.contains(&format!("{t} failed")),
            "{t}: {}",
            r.stdout.text
        );
    }
    for l in &listeners {
        l.set_nonblocking(true).unwrap();
        assert_eq!(
            l.accept().unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock,
            "the host listener saw a connection"
        );
    }
}
}

/// A stand-in for the sinkhole: a listener on 127.0.0.1:8080 *inside* the namespace,
/// served by the supervisor.
#[derive(Debug)]
struct EchoSink {
    received: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
}

impl NetnsHook for EchoSink {
    fn configure(&self) -> Result<Vec<OwnedFd>, String> {
        let l = TcpListener::bind("127.0.0.1:8080").map_err(|e| e.to_string())?;
        Ok(vec![OwnedFd::from(l)])
    }

    fn serve(&self, sockets: Vec<OwnedFd>) {
        let tx = self.received.lock().unwrap().take().unwrap();
        let l = TcpListener::from(sockets.into_iter().next().unwrap());
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = l.accept() {
                let mut data = Vec::new();
                let _ = conn.read_to_end(&mut data);
                let _ = tx.send(data);
            }
        });
    }
}

on_both_backends! {
fn hook_sockets_are_served_by_the_supervisor() {
    require_sandbox!();
    let (tx, rx) = mpsc::channel();
    let hook = Arc::new(EchoSink {
        received: Mutex::new(Some(tx)),
    });
    let sandbox = Sandbox::new()
        .with_backend(common::backend())
        .with_netns_hook(hook);
    let script = "use IO::Socket::INET; my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:8080') or die $!; print $s 'exfil=hello'; close $s;";
    let r = sandbox
        .run(
            &common::policy(),
            &Phase::new(["perl", "-e", script]).timeout(Duration::from_secs(10)),
        )
        .unwrap();
    assert_eq!(r.exit.unwrap().code, Some(0), "{r:#?}");
    let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(got, b"exfil=hello");
}
}
