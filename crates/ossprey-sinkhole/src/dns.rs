//! The sinkhole's DNS: every name resolves, each to its own address.
//!
//! Each new name gets the next address of 198.18.0.0/15 (RFC 2544 benchmarking space:
//! never a real host, and 131 070 addresses), so a later connection or datagram to
//! that address maps back to exactly the name it came from. Names compare
//! case-insensitively (resolvers randomise case), but the query log keeps the case
//! as sent because data smuggled in labels is often case-sensitive.
//!
//! Answers: `A` (and `ANY`) get the name's address with a 60 s TTL; `AAAA` gets an
//! empty NOERROR so clients fall back to IPv4, the only family the sealed namespace
//! routes; every other type gets an empty NOERROR. Packets that are not queries get
//! no answer; queries we cannot parse get FORMERR when their header is readable.
//! Parsing never panics and never reads out of bounds: every index is checked.

use std::collections::HashMap;
use std::net::Ipv4Addr;

const HEADER_LEN: usize = 12;
const FIRST_ADDRESS: u32 = u32::from_be_bytes([198, 18, 0, 1]);
const LAST_ADDRESS: u32 = u32::from_be_bytes([198, 19, 255, 254]);
/// Handed out to every name once the range is used up; such names cannot be told apart.
pub const OVERFLOW_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 255);
const TTL_SECONDS: u32 = 60;

/// Record types.
pub const TYPE_A: u16 = 1;
/// IPv6 address record.
pub const TYPE_AAAA: u16 = 28;
const TYPE_ANY: u16 = 255;

const RCODE_FORMERR: u16 = 1;
const RCODE_NOTIMP: u16 = 4;

/// The name ↔ sinkhole-address table.
#[derive(Debug)]
pub struct NameTable {
    by_name: HashMap<String, Ipv4Addr>,
    by_addr: HashMap<Ipv4Addr, String>,
    next: u32,
    max_names: usize,
}

impl NameTable {
    /// A table that hands out at most `max_names` distinct addresses (more names share
    /// [`OVERFLOW_ADDRESS`]), so a package resolving endless names costs bounded memory.
    pub fn new(max_names: usize) -> Self {
        Self {
            by_name: HashMap::new(),
            by_addr: HashMap::new(),
            next: FIRST_ADDRESS,
            max_names,
        }
    }

    /// The address of `name`, allocating one on first sight.
    pub fn address_for(&mut self, name: &str) -> Ipv4Addr {
        let key = name.to_ascii_lowercase();
        if let Some(addr) = self.by_name.get(&key) {
            return *addr;
        }
        if self.next > LAST_ADDRESS || self.by_name.len() >= self.max_names {
            return OVERFLOW_ADDRESS;
        }
        let addr = Ipv4Addr::from(self.next);
        self.next += 1;
        self.by_name.insert(key.clone(), addr);
        self.by_addr.insert(addr, key);
        addr
    }

    /// The name `addr` was handed to, if any.
    pub fn name_of(&self, addr: Ipv4Addr) -> Option<&str> {
        self.by_addr.get(&addr).map(String::as_str)
    }

    /// Every (name, address) pair, in allocation order.
    pub fn entries(&self) -> Vec<(String, Ipv4Addr)> {
        let mut all: Vec<_> = self.by_addr.iter().map(|(a, n)| (n.clone(), *a)).collect();
        all.sort_by_key(|(_, a)| *a);
        all
    }
}

/// A parsed question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name in presentation form (`\DDD` escapes for unusual bytes).
    pub name: String,
    /// The record type asked for.
    pub qtype: u16,
    /// Offset just past the question in the packet.
    end: usize,
}

/// Why a packet got no normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Not even a header, or a response rather than a query: send nothing.
    Ignore,
    /// A query we do not serve: send this error response.
    Error(Vec<u8>),
}

/// Parses a DNS query message (without the TCP length prefix).
pub fn parse_query(pkt: &[u8]) -> Result<Question, Rejected> {
    if pkt.len() < HEADER_LEN {
        return Err(Rejected::Ignore);
    }
    let flags = u16::from_be_bytes([pkt[2], pkt[3]]);
    if flags & 0x8000 != 0 {
        return Err(Rejected::Ignore); // a response: answering it could loop
    }
    let opcode = (flags >> 11) & 0xf;
    if opcode != 0 {
        return Err(Rejected::Error(header_only(pkt, RCODE_NOTIMP)));
    }
    let qdcount = u16::from_be_bytes([pkt[4], pkt[5]]);
    if qdcount == 0 {
        return Err(Rejected::Error(header_only(pkt, RCODE_FORMERR)));
    }
    let (name, mut pos) = read_name(pkt, HEADER_LEN)
        .ok_or_else(|| Rejected::Error(header_only(pkt, RCODE_FORMERR)))?;
    let fixed = pkt
        .get(pos..pos + 4)
        .ok_or_else(|| Rejected::Error(header_only(pkt, RCODE_FORMERR)))?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    pos += 4;
    Ok(Question {
        name,
        qtype,
        end: pos,
    })
}

/// Reads an uncompressed name (queries never need compression) in presentation form.
fn read_name(pkt: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut wire_len = 0usize;
    loop {
        let len = usize::from(*pkt.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // compression pointer or reserved label type
        }
        wire_len += len + 1;
        if wire_len > 255 {
            return None;
        }
        let label = pkt.get(pos..pos + len)?;
        pos += len;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            match b {
                b'.' | b'\\' => {
                    name.push('\\');
                    name.push(char::from(b));
                }
                0x21..=0x7e => name.push(char::from(b)),
                _ => name.push_str(&format!("\\{b:03}")),
            }
        }
    }
    if name.is_empty() {
        name.push('.');
    }
    Some((name, pos))
}

fn response_flags(pkt: &[u8], rcode: u16) -> u16 {
    let query = u16::from_be_bytes([pkt[2], pkt[3]]);
    // QR, the query's opcode, AA, the query's RD, RA, rcode.
    0x8000 | (query & 0x7800) | 0x0400 | (query & 0x0100) | 0x0080 | rcode
}

fn header_only(pkt: &[u8], rcode: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&pkt[0..2]);
    out.extend_from_slice(&response_flags(pkt, rcode).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    out
}

/// The answer to `pkt` whose question is `q`; `address` is the name's sinkhole
/// address, used when the type asks for IPv4.
pub fn answer(pkt: &[u8], q: &Question, address: Ipv4Addr) -> Vec<u8> {
    let with_a = matches!(q.qtype, TYPE_A | TYPE_ANY);
    let mut out = Vec::with_capacity(q.end + 16);
    out.extend_from_slice(&pkt[0..2]);
    out.extend_from_slice(&response_flags(pkt, 0).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT: only the first question
    out.extend_from_slice(&u16::from(with_a).to_be_bytes()); // ANCOUNT
    out.extend_from_slice(&[0; 4]); // NSCOUNT, ARCOUNT
    out.extend_from_slice(&pkt[HEADER_LEN..q.end]);
    if with_a {
        out.extend_from_slice(&[0xc0, 0x0c]); // pointer to the question's name
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // IN
        out.extend_from_slice(&TTL_SECONDS.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&address.octets());
    }
    out
}

/// Whether a question of this type gets an address (and so allocates one).
pub fn wants_address(qtype: u16) -> bool {
    matches!(qtype, TYPE_A | TYPE_ANY)
}

/// The mnemonic of a record type.
pub fn type_name(qtype: u16) -> String {
    let name = match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        43 => "DS",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        _ => return format!("TYPE{qtype}"),
    };
    name.to_owned()
}

/// Builds a query for `name` and `qtype` (tests and tools use it to talk to the sinkhole).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        out.push(u8::try_from(bytes.len()).unwrap_or(63));
        out.extend_from_slice(bytes);
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// The IPv4 addresses in a response's answer section (for tests and tools).
pub fn answer_addresses(resp: &[u8]) -> Option<Vec<Ipv4Addr>> {
    if resp.len() < HEADER_LEN {
        return None;
    }
    let qd = u16::from_be_bytes([resp[4], resp[5]]);
    let an = u16::from_be_bytes([resp[6], resp[7]]);
    let mut pos = HEADER_LEN;
    for _ in 0..qd {
        pos = skip_name(resp, pos)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        pos = skip_name(resp, pos)?;
        let fixed = resp.get(pos..pos + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        pos += 10;
        let rdata = resp.get(pos..pos + rdlen)?;
        if rtype == TYPE_A && rdlen == 4 {
            out.push(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]));
        }
        pos += rdlen;
    }
    Some(out)
}

fn skip_name(pkt: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *pkt.get(pos)?;
        if len & 0xc0 == 0xc0 {
            return Some(pos + 2);
        }
        pos += 1 + usize::from(len);
        if len == 0 {
            return Some(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_gets_its_own_address_and_maps_back() {
        let mut t = NameTable::new(10);
        let a = t.address_for("evil.example.com");
        let b = t.address_for("other.example.com");
        assert_ne!(a, b);
        assert_eq!(t.address_for("EVIL.example.COM"), a);
        assert_eq!(t.name_of(a), Some("evil.example.com"));
        assert_eq!(a, Ipv4Addr::new(198, 18, 0, 1));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = NameTable::new(2);
        t.address_for("a");
        t.address_for("b");
        assert_eq!(t.address_for("c"), OVERFLOW_ADDRESS);
        assert_eq!(t.entries().len(), 2);
    }

    #[test]
    fn an_a_query_is_answered_with_the_address() {
        let q = build_query(0x1234, "x.example.org", TYPE_A);
        let parsed = parse_query(&q).unwrap();
        assert_eq!(parsed.name, "x.example.org");
        let resp = answer(&q, &parsed, Ipv4Addr::new(198, 18, 0, 9));
        assert_eq!(&resp[0..2], &[0x12, 0x34]);
        assert_eq!(resp[2] & 0x80, 0x80, "QR set");
        assert_eq!(
            answer_addresses(&resp).unwrap(),
            [Ipv4Addr::new(198, 18, 0, 9)]
        );
    }

    #[test]
    fn aaaa_gets_an_empty_noerror() {
        let q = build_query(1, "x.example.org", TYPE_AAAA);
        let parsed = parse_query(&q).unwrap();
        let resp = answer(&q, &parsed, Ipv4Addr::new(198, 18, 0, 9));
        assert_eq!(resp[3] & 0x0f, 0);
        assert!(answer_addresses(&resp).unwrap().is_empty());
    }

    #[test]
    fn odd_label_bytes_are_escaped() {
        let mut q = build_query(1, "ab.example", TYPE_A);
        q[13] = 0x00; // first label "ab" -> "\000b"
        assert_eq!(parse_query(&q).unwrap().name, "\\000b.example");
    }

    #[test]
    fn malformed_packets_never_panic() {
        let good = build_query(7, "a.b.c", TYPE_A);
        for cut in 0..good.len() {
            let _ = parse_query(&good[..cut]);
        }
        // A compression pointer loop, an oversized label, a response.
        let mut ptr = good[..HEADER_LEN].to_vec();
        ptr.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert!(matches!(parse_query(&ptr), Err(Rejected::Error(_))));
        let mut resp = good.clone();
        resp[2] |= 0x80;
        assert_eq!(parse_query(&resp), Err(Rejected::Ignore));
        let mut x: u32 = 1;
        for _ in 0..2000 {
            let mut pkt = good.clone();
            for b in &mut pkt {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(3) {
                    *b = x.to_le_bytes()[1];
                }
            }
            if let Ok(q) = parse_query(&pkt) {
                let _ = answer(&pkt, &q, OVERFLOW_ADDRESS);
            }
            let _ = answer_addresses(&pkt);
        }
    }
}
