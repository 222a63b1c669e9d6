//! Inside the namespace: seal the network and open the sinkhole's sockets.
//!
//! Runs in the sandbox's child after it unshared its user and network namespaces and
//! before it executes any package code. What it leaves behind:
//!
//! - `lo` up, nothing else (checked by [`verify_sealed`]);
//! - `local default dev lo` in table `local`: every IPv4 address is this namespace's
//!   own, so a datagram or SYN to any address is delivered here instead of failing
//!   with "network unreachable" (a failure malware would notice and adapt to);
//! - an nftables `nat output` rule redirecting every TCP connection whose destination
//!   is not in 127.0.0.0/8 to the sinkhole's port; the kernel's conntrack entry keeps
//!   the original destination, which the server reads back with `SO_ORIGINAL_DST`;
//! - a UDP socket on `0.0.0.0:53` with `IP_PKTINFO`: thanks to the local default route
//!   it receives DNS queries sent to *any* resolver address, and learns which address
//!   was asked so the answer can come from it;
//! - a raw `IPPROTO_UDP` socket: a raw socket gets a copy of every UDP datagram the
//!   namespace delivers, with its unmodified IP header, so datagrams to any address and
//!   port are logged with their true destination without NAT (a `redirect` would
//!   rewrite the header, and `IP_ORIGDSTADDR` then reports the rewritten address).
//!
//! IPv6: no IPv6 route is added, so an IPv6 connection to anything but `::1` fails
//! with "network unreachable" — sealed, but not observed. Clients resolve names to
//! IPv4 because the sinkhole's DNS answers AAAA with an empty NOERROR.
//!
//! The sockets are created here, inside the namespace, because a socket belongs to
//! the namespace it was created in for its whole life: passed to the supervisor over
//! a unix socket ([`crate::send_fds`]), they keep serving this namespace from outside
//! it, so the server's code never runs where the package runs.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, SockFlag, SockProtocol, SockType, getsockopt, setsockopt, socket, sockopt,
};

use crate::error::SinkholeError;
use crate::netlink;

/// Where the sinkhole listens inside the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkholeConfig {
    /// The port every redirected TCP connection lands on. Port 1 (tcpmux) is the
    /// default because no package has a reason to listen on it itself.
    pub tcp_port: u16,
    /// The DNS port; 53 unless a test needs otherwise.
    pub dns_port: u16,
}

impl Default for SinkholeConfig {
    fn default() -> Self {
        Self {
            tcp_port: 1,
            dns_port: 53,
        }
    }
}

/// The sinkhole's listening sockets, created inside the sealed namespace.
#[derive(Debug)]
pub struct SinkholeSockets {
    /// Receives every redirected TCP connection.
    pub tcp: TcpListener,
    /// Receives DNS queries to any address on the DNS port.
    pub dns: UdpSocket,
    /// Raw `IPPROTO_UDP` socket: a copy of every UDP datagram, headers included.
    pub udp: OwnedFd,
}

/// How many descriptors [`SinkholeSockets::into_fds`] yields.
pub const SOCKET_COUNT: usize = 3;

impl SinkholeSockets {
    /// The descriptors in the fixed order `[tcp, dns, udp]`, ready for
    /// [`crate::send_fds`].
    pub fn into_fds(self) -> [OwnedFd; SOCKET_COUNT] {
        [OwnedFd::from(self.tcp), OwnedFd::from(self.dns), self.udp]
    }

    /// Rebuilds the sockets from descriptors received with [`crate::recv_fds`],
    /// checking that each one is the kind of socket expected in its position.
    pub fn from_fds(fds: Vec<OwnedFd>) -> Result<Self, SinkholeError> {
        let [tcp, dns, udp]: [OwnedFd; SOCKET_COUNT] = fds.try_into().map_err(|v: Vec<_>| {
            SinkholeError::BadFds(format!(
                "expected {SOCKET_COUNT} descriptors, got {}",
                v.len()
            ))
        })?;
        expect_socket(&tcp, "tcp", SockType::Stream)?;
        if !getsockopt(&tcp, sockopt::AcceptConn).unwrap_or(false) {
            return Err(SinkholeError::BadFds(
                "the tcp socket is not listening".into(),
            ));
        }
        expect_socket(&dns, "dns", SockType::Datagram)?;
        expect_socket(&udp, "udp", SockType::Raw)?;
        Ok(Self {
            tcp: TcpListener::from(tcp),
            dns: UdpSocket::from(dns),
            udp,
        })
    }
}

fn expect_socket(fd: &OwnedFd, name: &str, kind: SockType) -> Result<(), SinkholeError> {
    match getsockopt(fd, sockopt::SockType) {
        Ok(k) if k == kind => Ok(()),
        Ok(k) => Err(SinkholeError::BadFds(format!(
            "the {name} descriptor is a {k:?} socket, expected {kind:?}"
        ))),
        Err(e) => Err(SinkholeError::BadFds(format!(
            "the {name} descriptor is not a socket: {e}"
        ))),
    }
}

/// Seals the calling thread's network namespace and opens the sinkhole's sockets in it.
///
/// Call it inside a freshly unshared network namespace in which the caller has
/// `CAP_NET_ADMIN` and `CAP_NET_RAW` (root of the user namespace owning it). It
/// refuses to touch a namespace that has any interface besides `lo` (so a mistaken
/// call in the host's namespace changes nothing), and refuses to return sockets
/// unless [`verify_sealed`] passes afterwards.
pub fn configure(config: &SinkholeConfig) -> Result<SinkholeSockets, SinkholeError> {
    // First, before changing anything: a namespace with a real interface is not one
    // the sandbox made (it would be the host's), and must not get our routes and rules.
    verify_sealed()?;
    let lo = nix::net::if_::if_nametoindex("lo")
        .map_err(|e| SinkholeError::sys("find the loopback interface", e))?;
    netlink::link_up(lo)?;
    netlink::route_local_default(lo)?;
    netlink::install_tcp_redirect(config.tcp_port, false)?;

    let tcp = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, config.tcp_port))
        .map_err(|e| SinkholeError::io("listen on the sinkhole's TCP port", &e))?;
    let dns = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, config.dns_port))
        .map_err(|e| SinkholeError::io("bind the sinkhole's DNS port", &e))?;
    setsockopt(&dns.as_fd(), sockopt::Ipv4PacketInfo, &true)
        .map_err(|e| SinkholeError::sys("enable IP_PKTINFO on the DNS socket", e))?;
    let udp = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Udp,
    )
    .map_err(|e| SinkholeError::sys("open the raw UDP socket", e))?;
    debug_assert!(udp.as_raw_fd() >= 0);

    verify_sealed()?;
    Ok(SinkholeSockets { tcp, dns, udp })
}

const NET_DEV: &str = "/proc/thread-self/net/dev";

/// The interfaces of the calling thread's network namespace.
///
/// Read from `/proc/thread-self/net/dev`, which shows the namespace of the reading
/// thread (`/proc/self` would show the main thread's, which can differ).
pub fn interfaces() -> Result<Vec<String>, SinkholeError> {
    let text = std::fs::read_to_string(NET_DEV).map_err(|source| SinkholeError::InterfaceList {
        path: NET_DEV,
        source,
    })?;
    Ok(parse_net_dev(&text))
}

fn parse_net_dev(text: &str) -> Vec<String> {
    text.lines()
        .skip(2) // two header lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

/// Fails unless the calling thread's network namespace has no interface but `lo`.
///
/// The harness calls this inside the namespace before any sandboxed code may try a
/// non-loopback address: with only `lo`, no packet has a way out.
pub fn verify_sealed() -> Result<(), SinkholeError> {
    let others: Vec<String> = interfaces()?.into_iter().filter(|i| i != "lo").collect();
    if others.is_empty() {
        Ok(())
    } else {
        Err(SinkholeError::NotSealed { interfaces: others })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_lists_every_interface() {
        let text = "Inter-|   Receive                 |  Transmit\n face |bytes    packets\n    lo:       0       0    0    0\n  eth0: 1 2 3\nveth-x1:1 2\n";
        assert_eq!(parse_net_dev(text), ["lo", "eth0", "veth-x1"]);
    }

    #[test]
    fn configure_refuses_the_host_namespace_before_changing_it() {
        let ifaces = interfaces().expect("read /proc/thread-self/net/dev");
        if !ifaces.iter().any(|i| i != "lo") {
            // Running configure here would change this namespace's routes for real.
            eprintln!(
                "skip: the test host has only lo ({ifaces:?}); cannot show the refusal safely"
            );
            return;
        }
        let err = configure(&SinkholeConfig::default()).expect_err("must refuse");
        assert!(matches!(err, SinkholeError::NotSealed { .. }), "{err}");
        assert!(err.to_string().contains("not sealed"), "{err}");
    }

    #[test]
    fn the_host_namespace_is_not_sealed_when_it_has_a_real_interface() {
        let ifaces = interfaces().expect("read /proc/thread-self/net/dev");
        let sealed = verify_sealed();
        if ifaces.iter().any(|i| i != "lo") {
            assert!(
                matches!(sealed, Err(SinkholeError::NotSealed { .. })),
                "{sealed:?}"
            );
        } else {
            eprintln!("skip: the test host itself has only lo ({ifaces:?})");
            assert!(sealed.is_ok());
        }
    }
}
