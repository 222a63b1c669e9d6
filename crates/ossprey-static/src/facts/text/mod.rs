//! The tolerant, parser-free pass that runs on every text file: source that parsed,
//! source that did not, configs, manifests, `.pth`, shell, anything text.
//!
//! It reads indicators that need no syntax tree: URLs and the kind of service they
//! point at, IPv4 literals, mentions of credential stores, long base64/hex blobs,
//! obfuscator and packer signatures, and suspicious Unicode (bidi controls,
//! zero-width characters, mixed-script identifiers).
//!
//! It must stay linear in the input (a 50 MB single-line bundle is an ordinary input)
//! and bounded in output: every list is capped at [`MAX_ENTRIES`] and
//! [`TextFacts::truncated`] says when a cap was hit. It never decodes more than a
//! short prefix of a blob and never executes anything.

mod tables;

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Serialize;

pub use tables::{MarkerKind, SecretClass, ServiceClass};

/// Most entries kept in any one list of [`TextFacts`].
pub const MAX_ENTRIES: usize = 200;
/// Shortest run of base64 or hex characters reported as a blob.
pub const MIN_BLOB_LEN: usize = 200;
/// Lines longer than this count as long lines.
pub const LONG_LINE: usize = 1000;
/// Longest URL kept verbatim (longer ones are truncated; the host is always kept).
const MAX_URL_CHARS: usize = 512;
/// How far past `://` a URL is followed; bounds the work per URL.
const MAX_URL_SCAN: usize = 4096;
/// How much of a blob is decoded to classify it.
const BLOB_DECODE_CHARS: usize = 480;
const BLOB_PREVIEW_CHARS: usize = 120;
/// Consecutive escapes (gaps of at most [`ESCAPE_GAP`] plain bytes) that make a span escape-heavy.
const ESCAPE_HEAVY_RUN: u32 = 10;
const ESCAPE_GAP: usize = 2;

/// Every indicator the text pass found in one file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TextFacts {
    pub urls: Vec<UrlRef>,
    /// Public (routable) IPv4 literals.
    pub ips: Vec<IpRef>,
    /// Private, loopback, link-local, documentation and reserved IPv4 literals.
    pub local_ips: Vec<IpRef>,
    /// Distinct hosts (not IP literals) of the URLs, lowercased, in order of appearance.
    pub domains: Vec<String>,
    /// Mentions of services malware favours, from URLs and bare host names.
    pub services: Vec<ServiceHit>,
    /// Mentions of credential and secret stores.
    pub sensitive_paths: Vec<SecretPathHit>,
    pub blobs: Vec<Blob>,
    pub obfuscation: Obfuscation,
    pub unicode: UnicodeFacts,
    /// Some list reached [`MAX_ENTRIES`]; later indicators of that kind were dropped.
    pub truncated: bool,
}

/// A URL with a scheme malware uses (http, https, ftp, ws, wss, tcp).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UrlRef {
    /// The URL as written, truncated to 512 characters.
    pub url: String,
    pub scheme: String,
    /// Lowercased host without userinfo or port.
    pub host: String,
    /// The service class of the host, when it is one of the tabled services.
    pub service: Option<ServiceClass>,
    pub line: u32,
}

/// An IPv4 literal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpRef {
    pub ip: String,
    pub scope: IpScope,
    pub line: u32,
}

/// Where an IPv4 address routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpScope {
    Public,
    /// RFC 1918 and carrier-grade NAT (100.64/10).
    Private,
    Loopback,
    LinkLocal,
    /// TEST-NET ranges from RFC 5737, used in documentation.
    Documentation,
    /// 0/8, multicast, 240/4 and broadcast.
    Reserved,
}

/// A mention of a tabled service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceHit {
    pub class: ServiceClass,
    /// The table entry that matched (`discord.com/api/webhooks`, `ngrok.io`).
    pub domain: &'static str,
    pub line: u32,
}

/// A mention of a credential or secret store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretPathHit {
    pub class: SecretClass,
    /// The path fragment as it appears in the file.
    pub matched: String,
    pub line: u32,
}

/// Which alphabet a blob is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    Base64,
    Hex,
}

/// What a decoded blob starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Magic {
    Gzip,
    Zlib,
    Bzip2,
    Xz,
    Zip,
    Elf,
    /// Windows PE (`MZ`).
    Pe,
    MachO,
    Wasm,
    /// A compiled Python file (`.pyc` header).
    Pyc,
    /// A bare `marshal`-serialised Python code object.
    Marshal,
    Png,
    Jpeg,
    Gif,
    Pdf,
    Woff,
}

/// A long run of base64 or hex characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blob {
    pub kind: BlobKind,
    /// Length of the run in characters.
    pub len: usize,
    pub line: u32,
    /// The decoded prefix is mostly printable text.
    pub printable: bool,
    pub magic: Option<Magic>,
    /// Up to 120 characters of the decoded prefix, when it is printable.
    pub preview: Option<String>,
}

/// Obfuscation and packing markers, and the shape of the file's lines.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Obfuscation {
    pub max_line_len: usize,
    /// Lines longer than [`LONG_LINE`] bytes.
    pub long_lines: u32,
    pub lines: u32,
    /// Very long lines and few of them: a minified bundle. Benign by itself; kept apart
    /// from the encoding markers so rules can require both.
    pub minified: bool,
    /// Occurrences of javascript-obfuscator style identifiers (`_0x1a2b`).
    pub hex_identifiers: u32,
    /// Packer and obfuscator signatures, first [`MAX_ENTRIES`].
    pub markers: Vec<MarkerHit>,
    /// `\xHH`, `\uHHHH`, `\u{…}` and `\NNN` escape sequences in the file.
    pub escapes: u32,
    /// Bytes taken by those escapes, per thousand bytes of file.
    pub escape_permille: u32,
    /// Spans of at least ten nearly consecutive escapes (a string written in escapes).
    pub escape_heavy_spans: u32,
}

/// One packer or obfuscator signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarkerHit {
    pub kind: MarkerKind,
    pub line: u32,
}

/// Unicode that hides what code does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnicodeFacts {
    /// Bidirectional controls (Trojan Source), first [`MAX_ENTRIES`].
    pub bidi: Vec<CharHit>,
    /// Zero-width characters (a byte-order mark at offset 0 is not counted).
    pub zero_width: Vec<CharHit>,
    /// Identifiers mixing ASCII letters with Cyrillic or Greek look-alikes.
    pub homoglyph_identifiers: Vec<TokenHit>,
}

/// A character of interest, as `U+202E`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CharHit {
    pub codepoint: String,
    pub line: u32,
}

/// A suspicious token, truncated to 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenHit {
    pub token: String,
    pub line: u32,
}

/// Reads every text indicator from `source`. Linear time, bounded output.
pub fn scan(source: &str) -> TextFacts {
    let mut facts = TextFacts::default();
    scan_patterns(source, &mut facts);
    scan_bytes(source, &mut facts);
    scan_lines(source, &mut facts.obfuscation);
    if !source.is_ascii() {
        scan_unicode(source, &mut facts);
    }
    facts
}

/// Pushes `item` unless `list` is full, noting truncation.
fn push_capped<T>(list: &mut Vec<T>, item: T, truncated: &mut bool) {
    if list.len() < MAX_ENTRIES {
        list.push(item);
    } else {
        *truncated = true;
    }
}

/// Maps increasing byte offsets to 1-based lines without materialising a line table
/// (which for a file of short lines would cost more memory than the file).
struct LineCursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> LineCursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCursor {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, offset: usize) -> u32 {
        let offset = offset.min(self.bytes.len());
        if offset < self.pos {
            // Out of order (should not happen): recount from the start.
            self.pos = 0;
            self.line = 1;
        }
        let newlines = self
            .bytes
            .get(self.pos..offset)
            .map_or(0, |s| memchr::memchr_iter(b'\n', s).count());
        self.line = self
            .line
            .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.pos = offset;
        self.line
    }
}

// ---------------------------------------------------------------------------------------
// Fixed-string pass: services, secret paths, markers, URL schemes, `_0x` identifiers.

#[derive(Clone, Copy, Debug)]
enum Pattern {
    Service(usize),
    /// Index into `SECRET_PATHS`.
    Secret(usize),
    Marker(usize),
    /// `://`, the anchor of a URL.
    Scheme,
    /// `_0x`, the start of an obfuscator identifier.
    HexIdent,
}

struct PatternSet {
    automaton: AhoCorasick,
    patterns: Vec<(String, Pattern)>,
}

static PATTERNS: LazyLock<Option<PatternSet>> = LazyLock::new(build_patterns);

/// Backslash variants of a path fragment: `/` written as `\` (raw strings, batch files)
/// and as `\\` (escaped inside string literals). The single-backslash form is skipped
/// when it would read as a C escape (`\t`, `\n`, …), which ordinary text is full of.
fn separator_variants(fragment: &str) -> Vec<String> {
    let mut out = vec![fragment.to_owned()];
    if fragment.contains('/') {
        out.push(fragment.replace('/', "\\\\"));
        let single = fragment.replace('/', "\\");
        let looks_like_escape = single.match_indices('\\').any(|(i, _)| {
            single[i + 1..].starts_with(['t', 'n', 'r', 'b', 'f', 'v', 'a', 'u', 'x', '0', 'e'])
        });
        if !looks_like_escape {
            out.push(single);
        }
    }
    out
}

fn build_patterns() -> Option<PatternSet> {
    let mut patterns: Vec<(String, Pattern)> = Vec::new();
    for (i, (domain, _)) in tables::SERVICES.iter().enumerate() {
        patterns.push(((*domain).to_owned(), Pattern::Service(i)));
    }
    for (i, (fragment, _, _)) in tables::SECRET_PATHS.iter().enumerate() {
        for variant in separator_variants(fragment) {
            patterns.push((variant, Pattern::Secret(i)));
        }
    }
    for (i, (marker, _)) in tables::MARKERS.iter().enumerate() {
        patterns.push(((*marker).to_owned(), Pattern::Marker(i)));
    }
    patterns.push(("://".to_owned(), Pattern::Scheme));
    patterns.push(("_0x".to_owned(), Pattern::HexIdent));
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(patterns.iter().map(|(p, _)| p.as_str()))
        .ok()?;
    Some(PatternSet {
        automaton,
        patterns,
    })
}

const fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn scan_patterns(source: &str, facts: &mut TextFacts) {
    let Some(set) = PATTERNS.as_ref() else { return };
    let bytes = source.as_bytes();
    let mut lines = LineCursor::new(bytes);
    let mut domains_seen: HashSet<String> = HashSet::new();
    let mut services_seen: HashSet<(&'static str, u32)> = HashSet::new();
    let mut secrets_seen: HashSet<(usize, u32)> = HashSet::new();
    let mut markers_seen: HashSet<(MarkerKind, u32)> = HashSet::new();
    let truncated = &mut facts.truncated;
    // End of the last URL read: a `://` inside it (a URL in a query string) is part of it,
    // and skipping it keeps URL reading linear on URL-dense input.
    let mut url_end = 0;

    for m in set.automaton.find_iter(bytes) {
        let Some((text, pattern)) = set.patterns.get(m.pattern().as_usize()) else {
            continue;
        };
        let (start, end) = (m.start(), m.end());
        let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(end).copied();
        match *pattern {
            Pattern::Scheme => {
                if start < url_end {
                    continue;
                }
                if facts.urls.len() >= MAX_ENTRIES {
                    *truncated = true;
                    continue;
                }
                if let Some(url) = read_url(source, start) {
                    url_end = url.end;
                    let line = lines.line_at(start);
                    if !url.host_is_ip
                        && domains_seen.len() < MAX_ENTRIES
                        && domains_seen.insert(url.host.clone())
                    {
                        facts.domains.push(url.host.clone());
                    }
                    let service = service_of_url(&url.host, &url.rest);
                    push_capped(
                        &mut facts.urls,
                        UrlRef {
                            url: url.url,
                            scheme: url.scheme,
                            host: url.host,
                            service,
                            line,
                        },
                        truncated,
                    );
                }
            }
            Pattern::HexIdent => {
                if before.is_some_and(is_word) || &bytes[start..end] != b"_0x" {
                    continue;
                }
                let digits = bytes
                    .get(end..)
                    .unwrap_or_default()
                    .iter()
                    .take(7)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                let next = bytes.get(end + digits).copied();
                if (4..=6).contains(&digits) && !next.is_some_and(is_word) {
                    facts.obfuscation.hex_identifiers =
                        facts.obfuscation.hex_identifiers.saturating_add(1);
                }
            }
            Pattern::Service(i) => {
                let Some(&(domain, class)) = tables::SERVICES.get(i) else {
                    continue;
                };
                if !service_context(bytes, start, end, domain) {
                    continue;
                }
                if facts.services.len() >= MAX_ENTRIES {
                    *truncated = true;
                    continue;
                }
                let line = lines.line_at(start);
                if services_seen.insert((domain, line)) {
                    push_capped(
                        &mut facts.services,
                        ServiceHit {
                            class,
                            domain,
                            line,
                        },
                        truncated,
                    );
                }
            }
            Pattern::Secret(i) => {
                let Some(&(fragment, class, case_sensitive)) = tables::SECRET_PATHS.get(i) else {
                    continue;
                };
                let matched = &bytes[start..end];
                if case_sensitive && matched != text.as_bytes() {
                    continue;
                }
                let first = text.as_bytes().first().copied().unwrap_or(b'/');
                let last = text.as_bytes().last().copied().unwrap_or(b'/');
                if (first.is_ascii_alphanumeric() || first == b'.') && before.is_some_and(is_word) {
                    continue;
                }
                if last.is_ascii_alphanumeric() && after.is_some_and(is_word) {
                    continue;
                }
                // A public key is not a secret: `id_rsa.pub` is not reported.
                if fragment.starts_with("id_")
                    && bytes
                        .get(end..end + 4)
                        .is_some_and(|s| s.eq_ignore_ascii_case(b".pub"))
                {
                    continue;
                }
                if facts.sensitive_paths.len() >= MAX_ENTRIES {
                    *truncated = true;
                    continue;
                }
                let line = lines.line_at(start);
                if secrets_seen.insert((i, line)) {
                    let matched = String::from_utf8_lossy(matched).into_owned();
                    push_capped(
                        &mut facts.sensitive_paths,
                        SecretPathHit {
                            class,
                            matched,
                            line,
                        },
                        truncated,
                    );
                }
            }
            Pattern::Marker(i) => {
                let Some(&(_, kind)) = tables::MARKERS.get(i) else {
                    continue;
                };
                // Markers are case-sensitive idioms; the automaton is not.
                if &bytes[start..end] != text.as_bytes() {
                    continue;
                }
                if facts.obfuscation.markers.len() >= MAX_ENTRIES {
                    *truncated = true;
                    continue;
                }
                let line = lines.line_at(start);
                if markers_seen.insert((kind, line)) {
                    push_capped(
                        &mut facts.obfuscation.markers,
                        MarkerHit { kind, line },
                        truncated,
                    );
                }
            }
        }
    }
}

/// A bare service name counts only where it reads as a host: after `//`, `.` (a
/// subdomain) or `@`, or quoted and followed by a path or port. `/tmp/temp.sh` and
/// `open("temp.sh")` are file names, not hosts.
fn service_context(bytes: &[u8], start: usize, end: usize, domain: &str) -> bool {
    let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
    let after = bytes.get(end).copied();
    if !domain.contains('/') && after.is_some_and(is_host_byte) {
        return false;
    }
    match before {
        Some(b'.' | b'@') => start >= 2 && bytes.get(start - 2).is_some_and(|&b| is_host_byte(b)),
        Some(b'/') => start >= 2 && bytes.get(start - 2) == Some(&b'/'),
        Some(b'"' | b'\'' | b'`') | None => {
            domain.contains('/') || matches!(after, Some(b'/' | b':'))
        }
        Some(b) => !is_host_byte(b) && matches!(after, Some(b'/' | b':')),
    }
}

/// The service class of a URL's host (and path, for entries that include one).
fn service_of_url(host: &str, rest: &str) -> Option<ServiceClass> {
    tables::SERVICES.iter().find_map(|&(entry, class)| {
        let (entry_host, entry_path) = entry.split_once('/').unwrap_or((entry, ""));
        let host_matches = host == entry_host
            || host
                .strip_suffix(entry_host)
                .is_some_and(|p| p.ends_with('.'));
        let path_matches = entry_path.is_empty()
            || rest.strip_prefix('/').is_some_and(|r| {
                r.get(..entry_path.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(entry_path))
            });
        (host_matches && path_matches).then_some(class)
    })
}

struct ParsedUrl {
    url: String,
    scheme: String,
    host: String,
    /// Everything after the host (path, query), as written.
    rest: String,
    host_is_ip: bool,
    /// Byte offset just past the URL.
    end: usize,
}

/// Reads the URL whose `://` starts at `sep`.
fn read_url(source: &str, sep: usize) -> Option<ParsedUrl> {
    let bytes = source.as_bytes();
    let scheme_start = (sep.saturating_sub(5)..sep)
        .rev()
        .take_while(|&i| bytes.get(i).is_some_and(u8::is_ascii_alphabetic))
        .last()?;
    if scheme_start > 0 && bytes.get(scheme_start - 1).is_some_and(|&b| is_word(b)) {
        return None;
    }
    let scheme = source.get(scheme_start..sep)?.to_ascii_lowercase();
    if !matches!(
        scheme.as_str(),
        "http" | "https" | "ftp" | "ws" | "wss" | "tcp"
    ) {
        return None;
    }
    let body_start = sep + 3;
    let mut end = body_start;
    let limit = (body_start + MAX_URL_SCAN).min(bytes.len());
    while end < limit {
        let b = bytes[end];
        if b <= b' '
            || matches!(
                b,
                b'"' | b'\''
                    | b'`'
                    | b'<'
                    | b'>'
                    | b'\\'
                    | b'('
                    | b')'
                    | b'{'
                    | b'}'
                    | b'['
                    | b']'
                    | b'|'
                    | b'^'
                    | 0x7f
            )
        {
            break;
        }
        end += 1;
    }
    while end > body_start && matches!(bytes[end - 1], b'.' | b',' | b';' | b':' | b'!' | b'?') {
        end -= 1;
    }
    let body = source.get(body_start..end)?;
    let authority_end = body.find(['/', '?', '#']).unwrap_or(body.len());
    let authority = &body[..authority_end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port
        .split_once(':')
        .map_or(host_port, |(h, _)| h)
        .to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && (host.contains('.') || host == "localhost")
        && !host.starts_with('.');
    if !valid {
        return None;
    }
    let host_is_ip = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let full = source.get(scheme_start..end)?;
    let url = match full.char_indices().nth(MAX_URL_CHARS) {
        Some((i, _)) => full[..i].to_owned(),
        None => full.to_owned(),
    };
    let rest: String = body[authority_end..].chars().take(64).collect();
    Some(ParsedUrl {
        url,
        scheme,
        host,
        rest,
        host_is_ip,
        end,
    })
}

// ---------------------------------------------------------------------------------------
// Byte pass: base64/hex blobs, IPv4 literals, escape sequences.

const B64: u8 = 1;
const HEX: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'-' || b == b'_' {
            t[i] |= B64;
        }
        if b.is_ascii_hexdigit() {
            t[i] |= HEX;
        }
        i += 1;
    }
    t
};

fn scan_bytes(source: &str, facts: &mut TextFacts) {
    let bytes = source.as_bytes();
    let mut lines = LineCursor::new(bytes);
    let mut escapes = EscapeRuns::default();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if CLASS[usize::from(b)] & B64 != 0 {
            let mut j = i;
            while j < bytes.len() && CLASS[usize::from(bytes[j])] & B64 != 0 {
                j += 1;
            }
            // Up to two `=` of padding end a base64 run.
            let mut k = j;
            while k < bytes.len() && k < j + 2 && bytes[k] == b'=' {
                k += 1;
            }
            if k - i >= MIN_BLOB_LEN {
                if let Some(mut blob) = classify_blob(&bytes[i..k]) {
                    blob.line = lines.line_at(i);
                    push_capped(&mut facts.blobs, blob, &mut facts.truncated);
                }
            } else if j - i <= 3
                && bytes.get(j) == Some(&b'.')
                && bytes[i..j].iter().all(u8::is_ascii_digit)
            {
                read_ipv4(bytes, i, &mut lines, facts);
            }
            i = k.max(i + 1);
        } else if b == b'\\' {
            let len = escape_len(bytes.get(i + 1..).unwrap_or_default());
            if len > 0 {
                escapes.record(i, len);
                i += len + 1;
            } else {
                i += 2;
            }
        } else {
            i += 1;
        }
    }
    escapes.finish();
    let obf = &mut facts.obfuscation;
    obf.escapes = escapes.count;
    obf.escape_heavy_spans = escapes.heavy_spans;
    obf.escape_permille =
        u32::try_from(escapes.bytes.saturating_mul(1000) / bytes.len().max(1)).unwrap_or(u32::MAX);
}

/// Length of the escape sequence after a backslash (`x41`, `u0041`, `u{41}`, `101`), or 0.
fn escape_len(rest: &[u8]) -> usize {
    let hex_run = |from: usize, max: usize| {
        rest.iter()
            .skip(from)
            .take(max)
            .take_while(|b| b.is_ascii_hexdigit())
            .count()
    };
    match rest.first() {
        Some(b'x') if hex_run(1, 2) == 2 => 3,
        Some(b'u') if rest.get(1) == Some(&b'{') => {
            let n = hex_run(2, 6);
            if n > 0 && rest.get(2 + n) == Some(&b'}') {
                n + 3
            } else {
                0
            }
        }
        Some(b'u') if hex_run(1, 4) == 4 => 5,
        Some(b'0'..=b'7')
            if rest
                .iter()
                .take(3)
                .filter(|b| matches!(b, b'0'..=b'7'))
                .count()
                == 3 =>
        {
            3
        }
        _ => 0,
    }
}

/// Groups escapes into runs to find strings written mostly in escapes.
#[derive(Default)]
struct EscapeRuns {
    count: u32,
    bytes: usize,
    heavy_spans: u32,
    run: u32,
    last_end: usize,
}

impl EscapeRuns {
    fn record(&mut self, start: usize, len: usize) {
        self.count = self.count.saturating_add(1);
        self.bytes += len + 1;
        if self.run > 0 && start.saturating_sub(self.last_end) <= ESCAPE_GAP {
            self.run += 1;
        } else {
            self.finish();
            self.run = 1;
        }
        self.last_end = start + len + 1;
    }

    fn finish(&mut self) {
        if self.run >= ESCAPE_HEAVY_RUN {
            self.heavy_spans = self.heavy_spans.saturating_add(1);
        }
        self.run = 0;
    }
}

/// Reads a dotted quad starting at `start` (a 1–3 digit run followed by `.`).
fn read_ipv4(bytes: &[u8], start: usize, lines: &mut LineCursor<'_>, facts: &mut TextFacts) {
    if facts.ips.len() >= MAX_ENTRIES && facts.local_ips.len() >= MAX_ENTRIES {
        facts.truncated = true;
        return;
    }
    if start > 0
        && bytes
            .get(start - 1)
            .is_some_and(|&b| is_word(b) || b == b'.')
    {
        return;
    }
    let mut octets = [0u8; 4];
    let mut pos = start;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if bytes.get(pos) != Some(&b'.') {
                return;
            }
            pos += 1;
        }
        let digits = bytes
            .get(pos..)
            .unwrap_or_default()
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if !(1..=3).contains(&digits) || (digits > 1 && bytes.get(pos) == Some(&b'0')) {
            return;
        }
        let value = bytes[pos..pos + digits]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
        let Ok(value) = u8::try_from(value) else {
            return;
        };
        *octet = value;
        pos += digits;
    }
    // A fifth component, a word character or a pre-release suffix make it a version.
    let after = bytes.get(pos).copied();
    if after.is_some_and(is_word)
        || (after == Some(b'.') && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit))
    {
        return;
    }
    if after == Some(b'-') && bytes.get(pos + 1).is_some_and(u8::is_ascii_alphabetic) {
        return;
    }
    if in_version_context(bytes, start) {
        return;
    }
    let scope = ip_scope(octets);
    let ip = format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], octets[3]);
    let hit = IpRef {
        ip,
        scope,
        line: lines.line_at(start),
    };
    if scope == IpScope::Public {
        push_capped(&mut facts.ips, hit, &mut facts.truncated);
    } else {
        push_capped(&mut facts.local_ips, hit, &mut facts.truncated);
    }
}

/// `version = "1.2.3.4"`, `pkg@1.2.3.4`, `>=1.2.3.4`: a version, not an address.
fn in_version_context(bytes: &[u8], start: usize) -> bool {
    let from = start.saturating_sub(24);
    let window = &bytes[from..start];
    let window = match window.iter().rposition(|&b| b == b'\n') {
        Some(nl) => &window[nl + 1..],
        None => window,
    };
    let trimmed = window
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'"' | b'\'' | b'\t'))
        .map_or(&[][..], |p| &window[..=p]);
    // Comparison operators and `@` precede versions; a lone `=` is an assignment, which
    // could hold either, so it is left to the `version` word check below.
    let operator = matches!(trimmed.last(), Some(b'@' | b'>' | b'<' | b'~' | b'^'))
        || [&b"=="[..], b">=", b"<=", b"~=", b"!="]
            .iter()
            .any(|op| trimmed.ends_with(op));
    if operator {
        return true;
    }
    window
        .windows(7)
        .any(|w| w.eq_ignore_ascii_case(b"version"))
}

fn ip_scope([a, b, c, _]: [u8; 4]) -> IpScope {
    match (a, b, c) {
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => IpScope::Private,
        (100, 64..=127, _) => IpScope::Private,
        (127, _, _) => IpScope::Loopback,
        (169, 254, _) => IpScope::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => IpScope::Documentation,
        (0, _, _) | (224..=255, _, _) => IpScope::Reserved,
        _ => IpScope::Public,
    }
}

/// Decides whether a long run is a blob, and what it decodes to.
fn classify_blob(run: &[u8]) -> Option<Blob> {
    if run.iter().all(|&b| CLASS[usize::from(b)] & HEX != 0) {
        let decoded = decode_hex(run.get(..BLOB_DECODE_CHARS).unwrap_or(run));
        return Some(describe(BlobKind::Hex, run.len(), &decoded));
    }
    let (mut upper, mut lower, mut digit) = (0usize, 0usize, 0usize);
    let (mut std_sym, mut url_sym) = (false, false);
    for &b in run {
        match b {
            b'A'..=b'Z' => upper += 1,
            b'a'..=b'z' => lower += 1,
            b'0'..=b'9' => digit += 1,
            b'+' | b'/' => std_sym = true,
            b'-' | b'_' => url_sym = true,
            _ => {}
        }
    }
    // Real base64 draws evenly from its alphabet; identifiers, paths and prose runs do not.
    let n = run.len();
    let plausible = !(std_sym && url_sym) && upper * 10 >= n && lower * 10 >= n && digit * 50 >= n;
    if !plausible {
        return None;
    }
    let decoded = decode_base64(run.get(..BLOB_DECODE_CHARS).unwrap_or(run));
    Some(describe(BlobKind::Base64, n, &decoded))
}

fn describe(kind: BlobKind, len: usize, decoded: &[u8]) -> Blob {
    let printable_count = decoded
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    let printable = !decoded.is_empty() && printable_count * 100 >= decoded.len() * 95;
    let magic = magic_of(decoded);
    let preview = printable.then(|| {
        String::from_utf8_lossy(decoded)
            .chars()
            .take(BLOB_PREVIEW_CHARS)
            .collect()
    });
    Blob {
        kind,
        len,
        line: 0,
        printable,
        magic,
        preview,
    }
}

fn magic_of(d: &[u8]) -> Option<Magic> {
    let starts = |p: &[u8]| d.starts_with(p);
    Some(match d {
        _ if starts(b"\x1f\x8b") => Magic::Gzip,
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Magic::Zlib,
        _ if starts(b"BZh") => Magic::Bzip2,
        _ if starts(b"\xfd7zXZ\x00") => Magic::Xz,
        _ if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") => Magic::Zip,
        _ if starts(b"\x7fELF") => Magic::Elf,
        _ if starts(b"MZ") => Magic::Pe,
        _ if starts(b"\xcf\xfa\xed\xfe")
            || starts(b"\xce\xfa\xed\xfe")
            || starts(b"\xca\xfe\xba\xbe") =>
        {
            Magic::MachO
        }
        _ if starts(b"\x00asm") => Magic::Wasm,
        [_, _, b'\r', b'\n', ..] => Magic::Pyc,
        [0xe3, ..] => Magic::Marshal,
        _ if starts(b"\x89PNG") => Magic::Png,
        _ if starts(b"\xff\xd8\xff") => Magic::Jpeg,
        _ if starts(b"GIF8") => Magic::Gif,
        _ if starts(b"%PDF") => Magic::Pdf,
        _ if starts(b"wOFF") || starts(b"wOF2") => Magic::Woff,
        _ => return None,
    })
}

fn decode_hex(text: &[u8]) -> Vec<u8> {
    let nibble = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.chunks_exact(2)
        .map_while(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// Decodes standard or URL-safe base64, stopping at padding or the first foreign byte.
fn decode_base64(text: &[u8]) -> Vec<u8> {
    let value = |b: u8| -> Option<u32> {
        Some(u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in text {
        let Some(v) = value(b) else { break };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Line shape.

fn scan_lines(source: &str, obf: &mut Obfuscation) {
    let mut lines = 0u32;
    for line in source.split('\n') {
        lines = lines.saturating_add(1);
        obf.max_line_len = obf.max_line_len.max(line.len());
        if line.len() > LONG_LINE {
            obf.long_lines = obf.long_lines.saturating_add(1);
        }
    }
    obf.lines = lines;
    let avg = source.len() / usize::try_from(lines.max(1)).unwrap_or(1);
    obf.minified = obf.max_line_len > 5 * LONG_LINE || (obf.long_lines > 0 && avg > 300);
}

// ---------------------------------------------------------------------------------------
// Unicode.

const fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

const fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Cyrillic and Greek letters drawn like Latin ones.
const fn is_latin_lookalike(c: char) -> bool {
    matches!(
        c,
        'а' | 'е'
            | 'о'
            | 'р'
            | 'с'
            | 'у'
            | 'х'
            | 'і'
            | 'ј'
            | 'ѕ'
            | 'ԁ'
            | 'һ'
            | 'ӏ'
            | 'ԛ'
            | 'ԝ'
            | 'А'
            | 'В'
            | 'Е'
            | 'К'
            | 'М'
            | 'Н'
            | 'О'
            | 'Р'
            | 'С'
            | 'Т'
            | 'Х'
            | 'І'
            | 'Ј'
            | 'Ѕ'
            | 'ο'
            | 'α'
            | 'ν'
            | 'ι'
            | 'ρ'
            | 'κ'
            | 'τ'
            | 'υ'
            | 'Α'
            | 'Β'
            | 'Ε'
            | 'Ζ'
            | 'Η'
            | 'Ι'
            | 'Κ'
            | 'Μ'
            | 'Ν'
            | 'Ο'
            | 'Ρ'
            | 'Τ'
            | 'Υ'
            | 'Χ'
    )
}

fn scan_unicode(source: &str, facts: &mut TextFacts) {
    let mut lines = LineCursor::new(source.as_bytes());
    // Tokens never span a newline, and an all-ASCII line has no look-alike,
    // bidi or zero-width character: only lines with non-ASCII bytes are
    // decoded, which in a file with one accented comment is almost none.
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', source.as_bytes()).chain(std::iter::once(source.len()));
    for end in ends {
        if let Some(line) = source.get(start..end)
            && !line.is_ascii()
        {
            scan_unicode_line(line, start, &mut lines, facts);
        }
        start = end + 1;
    }
}

/// [`scan_unicode`] on one line starting at byte `offset` of the file.
fn scan_unicode_line(line: &str, offset: usize, lines: &mut LineCursor<'_>, facts: &mut TextFacts) {
    let uni = &mut facts.unicode;
    let truncated = &mut facts.truncated;
    let mut token_start: Option<usize> = None;
    let (mut has_ascii, mut has_lookalike) = (false, false);
    let chars = line.char_indices().map(|(i, c)| (i + offset, c));
    // The newline (or end of file) after the line ends its last token.
    for (i, c) in chars.chain(std::iter::once((offset + line.len(), ' '))) {
        // Any non-ASCII character other than spaces, punctuation and format controls
        // continues a token: cheaper than Unicode letter tables, and a token that spans
        // a rare symbol is harmless here.
        let in_token = if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_' || c == '$'
        } else {
            !matches!(c, '\u{00A0}'..='\u{00BF}' | '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{303F}' | '\u{FEFF}' | '\u{061C}')
        };
        if in_token {
            if token_start.is_none() {
                token_start = Some(i);
                has_ascii = false;
                has_lookalike = false;
            }
            has_ascii |= c.is_ascii_alphabetic();
            has_lookalike |= is_latin_lookalike(c);
            continue;
        }
        if let Some(start) = token_start.take()
            && has_ascii
            && has_lookalike
        {
            let token: String = line
                .get(start - offset..i - offset)
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect();
            let line = lines.line_at(start);
            push_capped(
                &mut uni.homoglyph_identifiers,
                TokenHit { token, line },
                truncated,
            );
        }
        if c.is_ascii() {
            continue;
        }
        let list = if is_bidi(c) {
            &mut uni.bidi
        } else if is_zero_width(c) && !(c == '\u{FEFF}' && i == 0) {
            &mut uni.zero_width
        } else {
            continue;
        };
        let line = lines.line_at(i);
        push_capped(
            list,
            CharHit {
                codepoint: format!("U+{:04X}", u32::from(c)),
                line,
            },
            truncated,
        );
    }
}

#[cfg(test)]
mod tests;
