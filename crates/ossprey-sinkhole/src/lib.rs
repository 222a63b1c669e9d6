//! The sandbox's sealed network: nothing leaves, everything is answered and recorded.
//!
//! A package under analysis runs in its own network namespace. This crate makes that
//! namespace a dead end that looks alive: every DNS name resolves, every TCP
//! connection to any address and port is accepted, every UDP datagram is received —
//! and all of it lands in the sinkhole, which keeps what the package *sends*.
//!
//! # Two halves, two processes
//!
//! - [`configure`] runs in the sandbox's child, inside the fresh namespace, before any
//!   package code: `lo` up, a `local default` route (every IPv4 address is local), an
//!   nftables rule redirecting every non-loopback TCP connection to one port, and the
//!   sinkhole's sockets. It ends with [`verify_sealed`]: only `lo` exists.
//! - [`Sinkhole::serve`] runs in the supervisor, outside the namespace, on those same
//!   sockets passed out with [`send_fds`]/[`recv_fds`] (`SCM_RIGHTS`). A socket keeps
//!   the namespace it was created in, so the server answers the namespace without
//!   its code ever running where the package runs, and it outlives the package's
//!   processes, which die when the phase ends.
//!
//! ```no_run
//! use std::os::fd::AsFd;
//! use std::os::unix::net::UnixStream;
//! use ossprey_sinkhole::{configure, recv_fds, send_fds, Sinkhole, SinkholeConfig, SinkholeSockets};
//!
//! # fn main() -> Result<(), ossprey_sinkhole::SinkholeError> {
//! let (supervisor_end, child_end) = UnixStream::pair().expect("socketpair");
//! // In the child, after unshare(CLONE_NEWUSER | CLONE_NEWNET):
//! let fds = configure(&SinkholeConfig::default())?.into_fds();
//! send_fds(&child_end, &fds.iter().map(|f| f.as_fd()).collect::<Vec<_>>())?;
//! drop(fds); // the package must not inherit the listeners
//! // In the supervisor:
//! let sockets = SinkholeSockets::from_fds(recv_fds(&supervisor_end)?)?;
//! let running = Sinkhole::default().spawn(sockets)?;
//! // ... run the phase; then:
//! let log = running.stop();
//! # let _ = log; Ok(()) }
//! ```
//!
//! # Why redirect + `SO_ORIGINAL_DST`
//!
//! A listener per port is impossible (65 535 ports, and addresses are unknown in
//! advance), and TPROXY only works on forwarded traffic, not on connections made
//! locally. A `nat output` redirect applies to locally made connections, and conntrack
//! remembers where each one was going: `getsockopt(SOL_IP, SO_ORIGINAL_DST)` on the
//! accepted socket returns the address and port the package asked for. UDP is
//! different: nothing needs accepting, so a raw `IPPROTO_UDP` socket simply receives
//! a copy of every datagram with its true header (see [`configure`]'s module docs).
//!
//! # How names map to addresses
//!
//! The DNS hands each new name the next address of 198.18.0.0/15, so every later
//! connection or datagram to that address is linked to exactly that name
//! ([`Connection::hostname`]), even when the package then speaks raw TCP. See [`dns`].
//!
//! # What this crate must never do
//!
//! Open a socket to anything but the namespace it configured, or act on the package's
//! bytes beyond parsing them into records. Every buffer is bounded
//! ([`SinkholeLimits`]); no input makes the server panic or hang.

mod configure;
pub mod dns;
mod error;
mod fdpass;
pub mod http;
mod netlink;
mod record;
mod serve;
pub mod tls;

pub use configure::{
    SOCKET_COUNT, SinkholeConfig, SinkholeSockets, configure, interfaces, verify_sealed,
};
pub use error::SinkholeError;
pub use fdpass::{MAX_FDS, recv_fds, send_fds};
pub use netlink::NFT_TABLE;
pub use record::{
    Connection, ConnectionKind, Datagram, DnsQuery, DnsTransport, Dropped, HttpHeader, HttpRequest,
    NetworkLog, Payload, ResolvedName,
};
pub use serve::{RunningSinkhole, Sinkhole, SinkholeLimits, StopSignal};
