//! TLS ClientHello parsing: the server name (SNI) and ALPN a package asks for.
//!
//! The sinkhole has no certificate a package would trust, so it does not complete
//! handshakes; the ClientHello alone names the host the package meant to reach, even
//! when it connected to a raw IP. The hello may span several TLS records; fragments
//! are joined up to a bound. Every read is bounds-checked: hostile bytes yield
//! `NotTls`, never a panic.

/// The outcome of looking at the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHello {
    /// More bytes are needed.
    Incomplete,
    /// Not a TLS ClientHello.
    NotTls,
    /// A complete ClientHello.
    Parsed {
        /// The `server_name` extension's host name.
        sni: Option<String>,
        /// The `application_layer_protocol_negotiation` extension's protocols.
        alpn: Vec<String>,
    },
}

/// Whether `buf` starts like a TLS handshake record.
pub fn looks_like_tls(buf: &[u8]) -> bool {
    buf.len() >= 3 && buf[0] == 0x16 && buf[1] == 0x03 && buf[2] <= 0x04
}

/// Largest handshake message accepted (real hellos are under 2 KiB; post-quantum
/// key shares stay well under this).
const MAX_HELLO: usize = 64 * 1024;

/// Parses the ClientHello at the start of `buf`.
pub fn parse(buf: &[u8]) -> ClientHello {
    // Join the handshake fragments of consecutive handshake records.
    let mut handshake = Vec::new();
    let mut pos = 0;
    loop {
        let Some(header) = buf.get(pos..pos + 5) else {
            return ClientHello::Incomplete;
        };
        if !looks_like_tls(header) {
            return ClientHello::NotTls;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(fragment) = buf.get(pos + 5..pos + 5 + len) else {
            return ClientHello::Incomplete;
        };
        handshake.extend_from_slice(fragment);
        pos += 5 + len;
        if handshake.len() >= 4 {
            if handshake[0] != 1 {
                return ClientHello::NotTls;
            }
            let need = 4
                + (usize::from(handshake[1]) << 16
                    | usize::from(handshake[2]) << 8
                    | usize::from(handshake[3]));
            if need > MAX_HELLO {
                return ClientHello::NotTls;
            }
            if handshake.len() >= need {
                return parse_body(&handshake[4..need]).unwrap_or(ClientHello::NotTls);
            }
        }
        if handshake.len() > MAX_HELLO {
            return ClientHello::NotTls;
        }
    }
}

/// A bounds-checked reader.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

fn parse_body(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    r.vec8()?; // session id
    r.vec16()?; // cipher suites
    r.vec8()?; // compression methods
    let mut sni = None;
    let mut alpn = Vec::new();
    if r.0.is_empty() {
        return Some(ClientHello::Parsed { sni, alpn }); // SSLv3-style hello: no extensions
    }
    let mut exts = Reader(r.vec16()?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let mut data = Reader(exts.vec16()?);
        match kind {
            0 => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    let name_type = list.u8()?;
                    let name = list.vec16()?;
                    if name_type == 0 && sni.is_none() {
                        sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            16 => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    alpn.push(String::from_utf8_lossy(list.vec8()?).into_owned());
                }
            }
            _ => {}
        }
    }
    Some(ClientHello::Parsed { sni, alpn })
}

/// Builds a minimal but well-formed TLS 1.2/1.3 ClientHello record with `sni` and
/// `alpn` (tests use it to play a package opening an HTTPS connection).
pub fn build_client_hello(sni: &str, alpn: &[&str]) -> Vec<u8> {
    fn u16be(n: usize) -> [u8; 2] {
        u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
    }
    let mut exts = Vec::new();
    let name = sni.as_bytes();
    exts.extend_from_slice(&[0, 0]);
    exts.extend_from_slice(&u16be(name.len() + 5));
    exts.extend_from_slice(&u16be(name.len() + 3));
    exts.push(0);
    exts.extend_from_slice(&u16be(name.len()));
    exts.extend_from_slice(name);
    if !alpn.is_empty() {
        let list: Vec<u8> = alpn
            .iter()
            .flat_map(|p| {
                let mut v = vec![u8::try_from(p.len()).unwrap_or(0)];
                v.extend_from_slice(p.as_bytes());
                v
            })
            .collect();
        exts.extend_from_slice(&[0, 16]);
        exts.extend_from_slice(&u16be(list.len() + 2));
        exts.extend_from_slice(&u16be(list.len()));
        exts.extend_from_slice(&list);
    }
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&u16be(exts.len()));
    body.extend_from_slice(&exts);
    let mut hs = vec![1];
    hs.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&u16be(hs.len()));
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_and_alpn_are_read() {
        let hello = build_client_hello("api.example.net", &["h2", "http/1.1"]);
        assert_eq!(
            parse(&hello),
            ClientHello::Parsed {
                sni: Some("api.example.net".into()),
                alpn: vec!["h2".into(), "http/1.1".into()]
            }
        );
        for cut in 0..hello.len() {
            assert_eq!(parse(&hello[..cut]), ClientHello::Incomplete, "cut {cut}");
        }
    }

    #[test]
    fn a_hello_split_over_two_records_is_joined() {
        let hello = build_client_hello("split.example", &[]);
        let hs = &hello[5..];
        let (a, b) = hs.split_at(10);
        let mut two = vec![0x16, 3, 1, 0, u8::try_from(a.len()).unwrap()];
        two.extend_from_slice(a);
        two.extend_from_slice(&[0x16, 3, 1]);
        two.extend_from_slice(&u16::try_from(b.len()).unwrap().to_be_bytes());
        two.extend_from_slice(b);
        assert!(
            matches!(parse(&two), ClientHello::Parsed { sni: Some(s), .. } if s == "split.example")
        );
    }

    #[test]
    fn garbage_is_not_tls_and_never_panics() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), ClientHello::NotTls);
        let hello = build_client_hello("x.example", &["h2"]);
        let mut x: u32 = 9;
        for _ in 0..3000 {
            let mut h = hello.clone();
            for b in h.iter_mut().skip(5) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(7) {
                    *b = x.to_le_bytes()[2];
                }
            }
            let _ = parse(&h);
        }
    }
}
