//! What the sinkhole saw, as serde records.
//!
//! Field names follow the SPEC's `dynamic` section and OpenSSF package-analysis
//! (`Sockets{Address,Port,Hostnames}`, `DNS{Queries{Hostname,Types}}`) so the records
//! can move into `ossprey-model` unchanged. Bytes the package sent are kept raw in
//! memory ([`Payload`]) and serialised as standard base64, because exfiltrated data
//! is often binary and the honeytoken matcher needs the exact bytes.

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes captured from the package, serialised as base64.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload(pub Vec<u8>);

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Payload)
            .map_err(serde::de::Error::custom)
    }
}

/// How a DNS query reached the sinkhole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsTransport {
    /// A datagram to port 53.
    Udp,
    /// A TCP connection to port 53 (length-prefixed messages).
    Tcp,
}

/// One DNS question the package asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuery {
    /// The name exactly as asked (case kept: exfiltrated data rides in labels).
    pub hostname: String,
    /// `A`, `AAAA`, `TXT`, … or `TYPE<n>` for others.
    pub qtype: String,
    /// The resolver address the package sent the query to.
    pub resolver: IpAddr,
    /// UDP or TCP.
    pub transport: DnsTransport,
    /// The sinkhole address the answer carried (A queries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Ipv4Addr>,
    /// Milliseconds since the sinkhole started serving.
    pub time_ms: u64,
}

/// What a TCP connection turned out to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    /// HTTP/1.x requests (answered with `200 OK`).
    Http,
    /// A TLS ClientHello (the connection is closed after it: no certificate to offer).
    Tls,
    /// DNS over TCP.
    Dns,
    /// Anything else: bytes kept until the client went quiet.
    Raw,
    /// The client sent nothing.
    Empty,
}

/// One HTTP request sent on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The `Host` header, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The request target as sent.
    pub path: String,
    /// Headers in order, values decoded lossily as UTF-8.
    pub headers: Vec<HttpHeader>,
    /// The first bytes of the body (de-chunked when chunked).
    pub body_prefix: Payload,
    /// Body bytes received in total (may exceed the prefix).
    pub body_len: u64,
    /// Whether the body was longer than the prefix kept.
    pub body_truncated: bool,
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeader {
    /// Header name as sent.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// One TCP connection the package opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Always `tcp` for now.
    pub protocol: String,
    /// The destination the package asked for (recovered with `SO_ORIGINAL_DST`).
    pub dst_ip: IpAddr,
    /// The destination port the package asked for.
    pub dst_port: u16,
    /// The name whose sinkhole address `dst_ip` is, when the package resolved it here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// What the connection carried.
    pub kind: ConnectionKind,
    /// Milliseconds since the sinkhole started serving, at accept.
    pub time_ms: u64,
    /// How long the connection lasted.
    pub duration_ms: u64,
    /// Every byte the package sent, counted.
    pub bytes_total: u64,
    /// The first bytes the package sent.
    pub bytes_prefix: Payload,
    /// Whether more was sent than `bytes_prefix` holds.
    pub truncated: bool,
    /// Parsed HTTP requests (several on a keep-alive connection).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub http: Vec<HttpRequest>,
    /// Server name from a TLS ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_sni: Option<String>,
    /// ALPN protocols from a TLS ClientHello.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tls_alpn: Vec<String>,
}

/// One UDP datagram the package sent (DNS queries are in [`DnsQuery`] instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    /// The destination address from the datagram's IP header.
    pub dst_ip: IpAddr,
    /// The destination port.
    pub dst_port: u16,
    /// The source port the package used.
    pub src_port: u16,
    /// The name whose sinkhole address `dst_ip` is, if resolved here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Milliseconds since the sinkhole started serving.
    pub time_ms: u64,
    /// UDP payload length.
    pub bytes_total: u64,
    /// The payload's first bytes.
    pub bytes_prefix: Payload,
    /// Whether the payload was longer than the prefix kept.
    pub truncated: bool,
}

/// A name the sinkhole's DNS handed an address to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedName {
    /// The name (lower-cased: DNS names compare case-insensitively).
    pub hostname: String,
    /// Its sinkhole address.
    pub address: Ipv4Addr,
}

/// What the bounds made the sinkhole drop (a hostile package may try to flood it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Connections accepted and closed at once, or not recorded, because of limits.
    pub connections: u64,
    /// Datagrams not recorded because of limits.
    pub datagrams: u64,
    /// DNS queries not recorded because of limits.
    pub dns_queries: u64,
    /// DNS packets that could not be parsed.
    pub malformed_dns: u64,
}

/// Everything the sinkhole recorded during one serve.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkLog {
    /// DNS questions, in arrival order.
    pub dns: Vec<DnsQuery>,
    /// TCP connections, in the order they ended.
    pub connections: Vec<Connection>,
    /// UDP datagrams other than DNS.
    pub datagrams: Vec<Datagram>,
    /// The name-to-address table the DNS built.
    pub names: Vec<ResolvedName>,
    /// What limits dropped.
    pub dropped: Dropped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_through_base64() {
        let p = Payload(vec![0, 255, b'a']);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"AP9h\"");
        assert_eq!(serde_json::from_str::<Payload>(&json).unwrap(), p);
    }
}
