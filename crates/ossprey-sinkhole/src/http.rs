//! HTTP/1.x request heads: recognising and parsing them.
//!
//! Parsing is `httparse` (zero-copy, no allocation until we keep a field); this module
//! turns its result into a record and reads the few headers that decide framing.

use crate::record::{HttpHeader, HttpRequest, Payload};

/// The most headers one request may have; more make it unparsable (kept as raw bytes).
const MAX_HEADERS: usize = 128;

const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// `Some(true)` when `buf` starts with an HTTP method, `None` when it is too short to
/// tell, `Some(false)` otherwise.
pub fn looks_like_http(buf: &[u8]) -> Option<bool> {
    let mut undecided = false;
    for m in METHODS {
        let n = m.len().min(buf.len());
        if buf[..n] == m[..n] {
            if n == m.len() {
                return Some(true);
            }
            undecided = true;
        }
    }
    if undecided { None } else { Some(false) }
}

/// How the request's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request, body still empty.
    pub request: HttpRequest,
    /// Bytes the head took in the buffer.
    pub len: usize,
    /// How the body follows.
    pub framing: BodyFraming,
    /// Whether the client asked to keep the connection open.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// The head at the start of `buf`: `Ok(None)` if incomplete, `Err(())` if not HTTP.
#[allow(clippy::result_unit_err)]
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let version = req.version.unwrap_or(1);
    let mut framing = BodyFraming::None;
    let mut keep_alive = version >= 1;
    let mut expect_continue = false;
    let mut host = None;
    let mut kept = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_owned();
        if h.name.eq_ignore_ascii_case("host") && host.is_none() {
            host = Some(value.clone());
        } else if h.name.eq_ignore_ascii_case("content-length") {
            if let (Ok(n), BodyFraming::None) = (value.parse::<u64>(), framing) {
                framing = BodyFraming::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().contains("chunked") {
                framing = BodyFraming::Chunked; // chunked wins over a length (RFC 9112 6.3)
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
        kept.push(HttpHeader {
            name: h.name.to_owned(),
            value,
        });
    }
    Ok(Some(Head {
        request: HttpRequest {
            method: req.method.unwrap_or_default().to_owned(),
            host,
            path: req.path.unwrap_or_default().to_owned(),
            headers: kept,
            body_prefix: Payload::default(),
            body_len: 0,
            body_truncated: false,
        },
        len,
        framing,
        keep_alive,
        expect_continue,
    }))
}

/// The size in a chunk-size line (`1a;ext=x`), or `None` if it is not hex.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let hex = text.split(';').next()?.trim();
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The bland answer every request gets.
pub fn ok_response(head_only: bool, keep_alive: bool) -> Vec<u8> {
    const BODY: &str = "OK\n";
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        BODY.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(BODY.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_head_is_parsed() {
        let raw = b"POST /collect?id=1 HTTP/1.1\r\nHost: 203.0.113.7:8080\r\nContent-Length: 5\r\nX-Token: abc\r\n\r\nhello";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.request.method, "POST");
        assert_eq!(head.request.path, "/collect?id=1");
        assert_eq!(head.request.host.as_deref(), Some("203.0.113.7:8080"));
        assert_eq!(head.framing, BodyFraming::Length(5));
        assert_eq!(&raw[head.len..], b"hello");
        assert!(head.keep_alive);
        assert_eq!(head.request.headers.len(), 3);
    }

    #[test]
    fn incomplete_and_non_http_are_told_apart() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        assert_eq!(parse_head(b"\x16\x03\x01garbage\r\n\r\n"), Err(()));
        assert_eq!(looks_like_http(b"PO"), None);
        assert_eq!(looks_like_http(b"POST /"), Some(true));
        assert_eq!(looks_like_http(b"SSH-2.0"), Some(false));
    }

    #[test]
    fn chunked_beats_length_and_close_is_honoured() {
        let raw = b"PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.framing, BodyFraming::Chunked);
        assert!(!head.keep_alive);
        assert_eq!(chunk_size(b"1A;name=v"), Some(26));
        assert_eq!(chunk_size(b"zz"), None);
    }
}
