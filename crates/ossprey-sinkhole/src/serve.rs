//! The sinkhole server: runs in the supervisor, outside the namespace, on the
//! sockets [`crate::configure`] made inside it.
//!
//! Plain threads, no async runtime: one for DNS over UDP, one for the raw UDP log, one
//! accepting TCP, and one per live connection (capped). Every blocking call wakes at
//! least every [`TICK`] to look at the stop signal, so [`Sinkhole::serve`] returns
//! within a tick or two of [`StopSignal::stop`] however the package behaves.
//!
//! Everything a package can send is bounded ([`SinkholeLimits`]): concurrent and
//! recorded connections, bytes kept per connection and in total, connection idle time
//! and lifetime, datagrams, DNS queries, distinct names. What the bounds drop is
//! counted in [`Dropped`]. Nothing here panics on the package's bytes: parsers are
//! bounds-checked, and a failed write or read just ends that connection.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, getsockopt, recv, recvmsg, sendmsg,
    setsockopt, sockopt,
};
use nix::sys::time::TimeVal;

use crate::configure::SinkholeSockets;
use crate::dns::{self, NameTable, Rejected};
use crate::error::SinkholeError;
use crate::http::{self, BodyFraming};
use crate::record::{
    Connection, ConnectionKind, Datagram, DnsQuery, DnsTransport, HttpRequest, NetworkLog, Payload,
    ResolvedName,
};
use crate::tls::{self, ClientHello};

/// How often blocked threads look at the stop signal. Every phase pays about one
/// tick when it stops the sinkhole (the last empty read after the stop), so it is
/// short; a handful of threads waking 100 times a second costs nothing measurable.
const TICK: Duration = Duration::from_millis(10);
/// How long after a stop queued bytes are still read.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// How many queued datagrams or connections are still taken after a stop.
const STOP_DRAIN: usize = 10_000;
/// The longest HTTP request head accepted; a longer one is kept as raw bytes.
const MAX_HTTP_HEAD: usize = 64 * 1024;
/// The longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// Bounds on what a package can make the sinkhole hold or do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkholeLimits {
    /// Bytes kept from the start of each connection and each datagram.
    pub max_prefix: usize,
    /// Bytes kept of each HTTP request's body.
    pub max_http_body_prefix: usize,
    /// Bytes kept across all connections and datagrams; past it, only counts are kept.
    pub capture_budget: usize,
    /// Connections recorded; later ones are accepted and closed at once.
    pub max_connections: usize,
    /// Connections served at the same time; more are accepted and closed at once.
    pub max_concurrent: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// No connection lasts longer than this.
    pub connection_lifetime: Duration,
    /// A connection is closed after it sent this many bytes.
    pub max_connection_bytes: u64,
    /// HTTP requests served on one keep-alive connection.
    pub max_http_requests: usize,
    /// Datagrams recorded.
    pub max_datagrams: usize,
    /// DNS queries recorded (all are still answered).
    pub max_dns_queries: usize,
    /// Distinct names given their own address.
    pub max_names: usize,
}

impl Default for SinkholeLimits {
    fn default() -> Self {
        Self {
            max_prefix: 64 * 1024,
            max_http_body_prefix: 16 * 1024,
            capture_budget: 32 * 1024 * 1024,
            max_connections: 1024,
            max_concurrent: 64,
            idle_timeout: Duration::from_secs(2),
            connection_lifetime: Duration::from_secs(30),
            max_connection_bytes: 64 * 1024 * 1024,
            max_http_requests: 64,
            max_datagrams: 4096,
            max_dns_queries: 4096,
            max_names: 65_536,
        }
    }
}

/// Tells a serving sinkhole to finish. Cheap to clone; any clone stops it.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    stopped: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl StopSignal {
    /// A signal that fires only when [`StopSignal::stop`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that also fires by itself at `deadline` (a phase's end).
    pub fn with_deadline(deadline: Instant) -> Self {
        Self {
            stopped: Arc::default(),
            deadline: Some(deadline),
        }
    }

    /// Fires the signal.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Whether the signal fired (or the deadline passed).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The sinkhole server.
#[derive(Debug, Clone, Default)]
pub struct Sinkhole {
    limits: SinkholeLimits,
}

/// A sinkhole serving on its own thread; [`RunningSinkhole::stop`] ends it.
#[derive(Debug)]
pub struct RunningSinkhole {
    stop: StopSignal,
    handle: thread::JoinHandle<NetworkLog>,
}

impl RunningSinkhole {
    /// Stops serving and returns everything recorded.
    pub fn stop(self) -> NetworkLog {
        self.stop.stop();
        // The server thread catches nothing the package sends by panicking; if it did
        // panic anyway, an empty log is the honest answer rather than a supervisor crash.
        self.handle.join().unwrap_or_default()
    }
}

impl Sinkhole {
    /// A sinkhole with these limits.
    pub fn new(limits: SinkholeLimits) -> Self {
        Self { limits }
    }

    /// Serves on a new thread until [`RunningSinkhole::stop`].
    pub fn spawn(self, sockets: SinkholeSockets) -> Result<RunningSinkhole, SinkholeError> {
        let stop = StopSignal::new();
        let signal = stop.clone();
        let handle = thread::Builder::new()
            .name("sinkhole".into())
            .spawn(move || self.serve(sockets, &signal))
            .map_err(|e| SinkholeError::io("start the sinkhole's thread", &e))?;
        Ok(RunningSinkhole { stop, handle })
    }

    /// Serves until `stop` fires, then returns the log. Blocks the calling thread.
    pub fn serve(&self, sockets: SinkholeSockets, stop: &StopSignal) -> NetworkLog {
        let shared = Shared {
            started: Instant::now(),
            limits: self.limits.clone(),
            names: Mutex::new(NameTable::new(self.limits.max_names)),
            log: Mutex::new(NetworkLog::default()),
            budget: AtomicUsize::new(self.limits.capture_budget),
            stop: stop.clone(),
        };
        let SinkholeSockets { tcp, dns, udp } = sockets;
        thread::scope(|scope| {
            let shared = &shared;
            let _ = thread::Builder::new()
                .name("sinkhole-dns".into())
                .spawn_scoped(scope, move || serve_dns_udp(&dns, shared));
            let _ = thread::Builder::new()
                .name("sinkhole-udp".into())
                .spawn_scoped(scope, move || serve_raw_udp(&udp, shared));
            serve_tcp(&tcp, shared, scope);
        });
        let mut log = shared.log.into_inner().unwrap_or_else(|e| e.into_inner());
        let names = shared.names.into_inner().unwrap_or_else(|e| e.into_inner());
        log.names = names
            .entries()
            .into_iter()
            .map(|(hostname, address)| ResolvedName { hostname, address })
            .collect();
        log
    }
}

/// State shared by the server's threads.
struct Shared {
    started: Instant,
    limits: SinkholeLimits,
    names: Mutex<NameTable>,
    log: Mutex<NetworkLog>,
    budget: AtomicUsize,
    stop: StopSignal,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn log(&self) -> MutexGuard<'_, NetworkLog> {
        // A poisoned lock only means another server thread panicked mid-push; the log
        // is still a list of complete records.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn names(&self) -> MutexGuard<'_, NameTable> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hostname_of(&self, ip: IpAddr) -> Option<String> {
        match ip {
            IpAddr::V4(v4) => self.names().name_of(v4).map(str::to_owned),
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .and_then(|v4| self.names().name_of(v4).map(str::to_owned)),
        }
    }

    /// Takes up to `want` bytes from the global capture budget.
    fn reserve(&self, want: usize) -> usize {
        let mut granted = 0;
        let _ = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                granted = want.min(left);
                Some(left - granted)
            });
        granted
    }

    fn keep(&self, bytes: &[u8], prefix: &mut Vec<u8>, max: usize) -> bool {
        let room = max.saturating_sub(prefix.len());
        let granted = self.reserve(room.min(bytes.len()));
        prefix.extend_from_slice(&bytes[..granted]);
        granted < bytes.len()
    }

    /// Answers one DNS message and logs its question; `None` means send nothing.
    fn dns_answer(&self, pkt: &[u8], resolver: IpAddr, transport: DnsTransport) -> Option<Vec<u8>> {
        match dns::parse_query(pkt) {
            Ok(q) => {
                let answer = dns::wants_address(q.qtype).then(|| self.names().address_for(&q.name));
                let response = dns::answer(pkt, &q, answer.unwrap_or(dns::OVERFLOW_ADDRESS));
                let mut log = self.log();
                if log.dns.len() < self.limits.max_dns_queries {
                    log.dns.push(DnsQuery {
                        hostname: q.name,
                        qtype: dns::type_name(q.qtype),
                        resolver,
                        transport,
                        answer,
                        time_ms: self.now_ms(),
                    });
                } else {
                    log.dropped.dns_queries += 1;
                }
                Some(response)
            }
            Err(rejected) => {
                self.log().dropped.malformed_dns += 1;
                match rejected {
                    Rejected::Ignore => None,
                    Rejected::Error(resp) => Some(resp),
                }
            }
        }
    }
}

fn set_receive_timeout<F: AsFd>(fd: &F) {
    let micros = i64::try_from(TICK.as_micros()).unwrap_or(10_000);
    // Failing leaves the socket blocking; the loops then only end on traffic, which
    // the tests would catch. Nothing the package does can make this fail.
    let _ = setsockopt(fd, sockopt::ReceiveTimeout, &TimeVal::new(0, micros));
}

/// How a UDP receive loop ends: it blocks (one tick at a time) until the stop, then
/// reads what is still queued without blocking, at most [`STOP_DRAIN`] more datagrams.
#[derive(Default)]
struct Drain {
    after_stop: usize,
}

impl Drain {
    /// Whether the loop has been stopped and the flags of its next receive, or `None`
    /// once it has drained its share and must end.
    fn next(&mut self, stop: &StopSignal) -> Option<(bool, MsgFlags)> {
        if !stop.is_stopped() {
            return Some((false, MsgFlags::empty()));
        }
        self.after_stop += 1;
        (self.after_stop <= STOP_DRAIN).then_some((true, MsgFlags::MSG_DONTWAIT))
    }
}

fn serve_dns_udp(sock: &UdpSocket, shared: &Shared) {
    set_receive_timeout(sock);
    let mut buf = vec![0u8; 4096];
    let mut drain = Drain::default();
    loop {
        let Some((stopped, flags)) = drain.next(&shared.stop) else {
            return;
        };
        let mut space = nix::cmsg_space!(libc::in_pktinfo);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<SockaddrIn>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Ok(msg) => msg,
            Err(_) if stopped => return, // queue empty
            Err(_) => continue,          // timeout tick, or a transient error
        };
        let Some(from) = msg.address else { continue };
        let n = msg.bytes;
        // The address the package asked (its resolver), so the answer comes from it.
        let mut asked = None;
        for c in msg.cmsgs().into_iter().flatten() {
            if let ControlMessageOwned::Ipv4PacketInfo(info) = c {
                asked = Some(info);
            }
        }
        let resolver = asked.map_or(Ipv4Addr::UNSPECIFIED, |i| {
            Ipv4Addr::from(u32::from_be(i.ipi_addr.s_addr))
        });
        let Some(resp) = shared.dns_answer(&buf[..n], IpAddr::V4(resolver), DnsTransport::Udp)
        else {
            continue;
        };
        let reply_from = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(resolver).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let cmsgs = [ControlMessage::Ipv4PacketInfo(&reply_from)];
        let _ = sendmsg(
            sock.as_raw_fd(),
            &[IoSlice::new(&resp)],
            if asked.is_some() { &cmsgs[..] } else { &[] },
            MsgFlags::MSG_DONTWAIT,
            Some(&from),
        );
    }
}

/// Reads the raw UDP socket: each read is one IPv4 packet, header included.
fn serve_raw_udp(sock: &OwnedFd, shared: &Shared) {
    set_receive_timeout(sock);
    let mut buf = vec![0u8; 65_536];
    let mut drain = Drain::default();
    loop {
        let Some((stopped, flags)) = drain.next(&shared.stop) else {
            return;
        };
        let n = match recv(sock.as_raw_fd(), &mut buf, flags) {
            Ok(n) => n,
            Err(_) if stopped => return, // queue empty
            Err(_) => continue,          // timeout tick, or a transient error
        };
        let Some(d) = parse_ipv4_udp(&buf[..n]) else {
            continue;
        };
        // DNS is logged by the DNS thread; datagrams *from* the DNS port are its answers.
        if d.dst_port == 53 || d.src_port == 53 {
            continue;
        }
        let mut prefix = Vec::new();
        let truncated = shared.keep(d.payload, &mut prefix, shared.limits.max_prefix);
        let hostname = shared.hostname_of(IpAddr::V4(d.dst));
        let record = Datagram {
            dst_ip: IpAddr::V4(d.dst),
            dst_port: d.dst_port,
            src_port: d.src_port,
            hostname,
            time_ms: shared.now_ms(),
            bytes_total: d.payload.len() as u64,
            bytes_prefix: Payload(prefix),
            truncated,
        };
        let mut log = shared.log();
        if log.datagrams.len() < shared.limits.max_datagrams {
            log.datagrams.push(record);
        } else {
            log.dropped.datagrams += 1;
        }
    }
}

struct UdpPacket<'a> {
    dst: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    payload: &'a [u8],
}

fn parse_ipv4_udp(pkt: &[u8]) -> Option<UdpPacket<'_>> {
    let first = *pkt.first()?;
    if first >> 4 != 4 || pkt.get(9) != Some(&17) {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    let dst = pkt.get(16..20)?;
    let udp = pkt.get(ihl..ihl + 8)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    let end = (ihl + udp_len.max(8)).min(pkt.len());
    Some(UdpPacket {
        dst: Ipv4Addr::new(dst[0], dst[1], dst[2], dst[3]),
        src_port: u16::from_be_bytes([udp[0], udp[1]]),
        dst_port: u16::from_be_bytes([udp[2], udp[3]]),
        payload: pkt.get(ihl + 8..end).unwrap_or(&[]),
    })
}

fn serve_tcp<'scope>(
    listener: &'scope TcpListener,
    shared: &'scope Shared,
    scope: &'scope thread::Scope<'scope, '_>,
) {
    let _ = listener.set_nonblocking(true);
    let active = Arc::new(AtomicUsize::new(0));
    let mut started = 0usize;
    let timeout = PollTimeout::try_from(TICK).unwrap_or(PollTimeout::ZERO);
    let mut after_stop = 0usize;
    loop {
        if shared.stop.is_stopped() {
            // Take what is already queued (non-blocking), then stop accepting.
            after_stop += 1;
            if after_stop > STOP_DRAIN {
                return;
            }
        } else {
            let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            if !matches!(poll(&mut fds, timeout), Ok(n) if n > 0) {
                continue;
            }
        }
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(_) if after_stop > 0 => return,
            Err(_) => continue,
        };
        if started >= shared.limits.max_connections
            || active.load(Ordering::SeqCst) >= shared.limits.max_concurrent
        {
            shared.log().dropped.connections += 1;
            continue; // dropping `stream` closes it
        }
        active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(Arc::clone(&active));
        let spawned = thread::Builder::new()
            .name("sinkhole-conn".into())
            .stack_size(256 * 1024)
            .spawn_scoped(scope, move || {
                let _guard = guard;
                let record = handle_connection(stream, shared);
                shared.log().connections.push(record);
            });
        match spawned {
            Ok(_) => started += 1,
            Err(_) => shared.log().dropped.connections += 1,
        }
    }
}

/// Decrements the live-connection count however the connection's thread ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The destination the package connected to: `SO_ORIGINAL_DST` for a redirected
/// connection, the socket's own address for one that reached the port directly.
fn original_destination(stream: &TcpStream) -> Option<SocketAddr> {
    if let Ok(sin) = getsockopt(&stream.as_fd(), sockopt::OriginalDst) {
        let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
        return Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)));
    }
    stream.local_addr().ok()
}

/// One connection's reading side, with its capture and its bounds.
struct Wire<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    accepted: Instant,
    /// Received and not yet consumed by a parser.
    pending: Vec<u8>,
    prefix: Vec<u8>,
    truncated: bool,
    total: u64,
    closed: bool,
    stopped_at: Option<Instant>,
}

impl Wire<'_> {
    /// Reads once more; `false` once the connection is over for any reason (end of
    /// stream, idle, lifetime, byte cap, stop).
    fn fill(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let limits = &self.shared.limits;
        let idle_since = Instant::now();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            // After a stop, bytes already queued are still read (the package's
            // processes are usually dead by then and their last words are in the
            // socket), for at most STOP_GRACE; only an empty read ends the connection.
            let stopped = self.shared.stop.is_stopped();
            if stopped && self.stopped_at.is_none() {
                self.stopped_at = Some(Instant::now());
            }
            if self.stopped_at.is_some_and(|t| t.elapsed() >= STOP_GRACE)
                || self.accepted.elapsed() >= limits.connection_lifetime
                || idle_since.elapsed() >= limits.idle_timeout
                || self.total >= limits.max_connection_bytes
            {
                self.closed = true;
                return false;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    return false;
                }
                Ok(n) => {
                    let bytes = &chunk[..n];
                    self.total += n as u64;
                    if self.shared.keep(bytes, &mut self.prefix, limits.max_prefix) {
                        self.truncated = true;
                    }
                    self.pending.extend_from_slice(bytes);
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if stopped {
                        self.closed = true;
                        return false;
                    }
                }
                Err(_) => {
                    self.closed = true;
                    return false;
                }
            }
        }
    }

    /// Fills until at least `n` bytes are pending.
    fn fill_to(&mut self, n: usize) -> bool {
        while self.pending.len() < n {
            if !self.fill() {
                return false;
            }
        }
        true
    }

    fn consume(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.pending.len());
        self.pending.drain(..n).collect()
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads and discards until the connection ends (raw protocols).
    fn drain(&mut self) {
        while self.fill() {
            self.pending.clear();
        }
    }
}

fn handle_connection(stream: TcpStream, shared: &Shared) -> Connection {
    let accepted = Instant::now();
    let time_ms = shared.now_ms();
    let dst = original_destination(&stream)
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(TICK));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let mut wire = Wire {
        stream,
        shared,
        accepted,
        pending: Vec::new(),
        prefix: Vec::new(),
        truncated: false,
        total: 0,
        closed: false,
        stopped_at: None,
    };
    let mut http_requests = Vec::new();
    let mut sni = None;
    let mut alpn = Vec::new();

    let kind = if !wire.fill() {
        ConnectionKind::Empty
    } else if dst.port() == 53 {
        serve_dns_tcp(&mut wire, dst.ip());
        ConnectionKind::Dns
    } else if wire.pending[0] == 0x16 {
        loop {
            match tls::parse(&wire.pending) {
                ClientHello::Incomplete if wire.fill() => {}
                ClientHello::Parsed { sni: s, alpn: a } => {
                    sni = s;
                    alpn = a;
                    break ConnectionKind::Tls;
                }
                _ => {
                    wire.drain();
                    break ConnectionKind::Raw;
                }
            }
        }
    } else {
        let mut is_http = http::looks_like_http(&wire.pending);
        while is_http.is_none() && wire.fill() {
            is_http = http::looks_like_http(&wire.pending);
        }
        if is_http == Some(true) {
            serve_http(&mut wire, &mut http_requests);
            ConnectionKind::Http
        } else {
            wire.drain();
            ConnectionKind::Raw
        }
    };

    Connection {
        protocol: "tcp".into(),
        dst_ip: dst.ip(),
        dst_port: dst.port(),
        hostname: shared.hostname_of(dst.ip()),
        kind,
        time_ms,
        duration_ms: u64::try_from(accepted.elapsed().as_millis()).unwrap_or(u64::MAX),
        bytes_total: wire.total,
        bytes_prefix: Payload(std::mem::take(&mut wire.prefix)),
        truncated: wire.truncated,
        http: http_requests,
        tls_sni: sni,
        tls_alpn: alpn,
    }
}

/// DNS over TCP: two-byte length, message; as many as the client sends.
fn serve_dns_tcp(wire: &mut Wire<'_>, resolver: IpAddr) {
    while wire.fill_to(2) {
        let len = usize::from(u16::from_be_bytes([wire.pending[0], wire.pending[1]]));
        if !wire.fill_to(2 + len) {
            return;
        }
        let msg = wire.consume(2 + len);
        if let Some(resp) = wire
            .shared
            .dns_answer(&msg[2..], resolver, DnsTransport::Tcp)
        {
            let mut framed = u16::try_from(resp.len())
                .unwrap_or(0)
                .to_be_bytes()
                .to_vec();
            framed.extend_from_slice(&resp);
            if !wire.send(&framed) {
                return;
            }
        }
    }
}

/// HTTP/1.x: parse each request, keep its body prefix, answer `200 OK`.
fn serve_http(wire: &mut Wire<'_>, requests: &mut Vec<HttpRequest>) {
    let limits = wire.shared.limits.clone();
    while requests.len() < limits.max_http_requests {
        let head = loop {
            match http::parse_head(&wire.pending) {
                Ok(Some(head)) => break head,
                Ok(None) if wire.pending.len() < MAX_HTTP_HEAD && wire.fill() => {}
                _ => {
                    // Not HTTP (any more), or a head too big: keep what comes as raw bytes.
                    wire.drain();
                    return;
                }
            }
        };
        wire.consume(head.len);
        let mut request = head.request;
        if head.expect_continue && !wire.send(b"HTTP/1.1 100 Continue\r\n\r\n") {
            requests.push(request);
            return;
        }
        let mut body = BodyCapture {
            prefix: Vec::new(),
            max: limits.max_http_body_prefix,
            len: 0,
            truncated: false,
        };
        let complete = match head.framing {
            BodyFraming::None => true,
            BodyFraming::Length(n) => read_body_exact(wire, n, &mut body),
            BodyFraming::Chunked => read_body_chunked(wire, &mut body),
        };
        request.body_prefix = Payload(body.prefix);
        request.body_len = body.len;
        request.body_truncated = body.truncated;
        let head_only = request.method.eq_ignore_ascii_case("HEAD");
        requests.push(request);
        if !complete {
            return;
        }
        if !wire.send(&http::ok_response(head_only, head.keep_alive)) || !head.keep_alive {
            return;
        }
        if wire.pending.is_empty() && !wire.fill() {
            return;
        }
    }
    wire.drain();
}

struct BodyCapture {
    prefix: Vec<u8>,
    max: usize,
    len: u64,
    truncated: bool,
}

impl BodyCapture {
    fn push(&mut self, shared: &Shared, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if shared.keep(bytes, &mut self.prefix, self.max) {
            self.truncated = true;
        }
    }
}

fn read_body_exact(wire: &mut Wire<'_>, mut left: u64, body: &mut BodyCapture) -> bool {
    while left > 0 {
        if wire.pending.is_empty() && !wire.fill() {
            return false;
        }
        let take = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(wire.pending.len());
        let bytes = wire.consume(take);
        body.push(wire.shared, &bytes);
        left -= take as u64;
    }
    true
}

fn read_line(wire: &mut Wire<'_>) -> Option<Vec<u8>> {
    loop {
        if let Some(i) = wire.pending.windows(2).position(|w| w == b"\r\n") {
            let mut line = wire.consume(i + 2);
            line.truncate(i);
            return Some(line);
        }
        if wire.pending.len() > MAX_CHUNK_LINE || !wire.fill() {
            return None;
        }
    }
}

fn read_body_chunked(wire: &mut Wire<'_>, body: &mut BodyCapture) -> bool {
    loop {
        let Some(size) = read_line(wire).and_then(|l| http::chunk_size(&l)) else {
            return false;
        };
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                match read_line(wire) {
                    Some(l) if l.is_empty() => return true,
                    Some(_) => {}
                    None => return false,
                }
            }
        }
        if !read_body_exact(wire, size, body) || read_line(wire).is_none() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_headers_are_read_from_raw_packets() {
        let mut pkt = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 198, 51, 100, 9,
        ];
        pkt.extend_from_slice(&[0x30, 0x39, 0x27, 0x0f, 0, 12, 0, 0]);
        pkt.extend_from_slice(b"ping");
        let d = parse_ipv4_udp(&pkt).unwrap();
        assert_eq!(d.dst, Ipv4Addr::new(198, 51, 100, 9));
        assert_eq!((d.src_port, d.dst_port), (12345, 9999));
        assert_eq!(d.payload, b"ping");
        for cut in 0..pkt.len() {
            let _ = parse_ipv4_udp(&pkt[..cut]);
        }
        pkt[9] = 6;
        assert!(parse_ipv4_udp(&pkt).is_none());
    }

    #[test]
    fn the_capture_budget_is_shared_and_bounded() {
        let shared = Shared {
            started: Instant::now(),
            limits: SinkholeLimits::default(),
            names: Mutex::new(NameTable::new(1)),
            log: Mutex::new(NetworkLog::default()),
            budget: AtomicUsize::new(5),
            stop: StopSignal::new(),
        };
        let mut a = Vec::new();
        assert!(shared.keep(b"abcdefgh", &mut a, 100));
        assert_eq!(a, b"abcde");
        let mut b = Vec::new();
        assert!(shared.keep(b"x", &mut b, 100));
        assert!(b.is_empty());
    }

    #[test]
    fn a_deadline_stops_by_itself() {
        let s = StopSignal::with_deadline(Instant::now());
        assert!(s.is_stopped());
        let t = StopSignal::new();
        assert!(!t.is_stopped());
        t.clone().stop();
        assert!(t.is_stopped());
    }
}
