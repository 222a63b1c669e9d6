use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ossprey_sandbox::{Captured, Event, IsolationReport, PhaseStatus, ProcessRecord};
use ossprey_sinkhole::{
    Connection, Datagram, DnsQuery, DnsTransport, HttpHeader, HttpRequest, Payload,
};

use super::*;

const TOKEN: &[u8] = b"ghp_Zq81mKx0Pf3RvT6wYbN2cL9sD4hJ7aE5uG1o";
const OTHER: &[u8] = b"AKIAQWERTYUIOPASDFGH";

fn matcher() -> Matcher {
    Matcher::new([TOKEN, OTHER])
}

fn url_encode_all(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| {
            if b.is_ascii_alphanumeric() {
                vec![*b]
            } else {
                format!("%{b:02X}").into_bytes()
            }
        })
        .collect()
}

fn identity() -> HostIdentity {
    HostIdentity {
        hostname: "maya-thinkpad".into(),
        user: "maya".into(),
        uid: 1000,
        gid: 1000,
        home: PathBuf::from("/home/maya"),
        machine_id: "0123456789abcdef0123456789abcdef".into(),
    }
}

#[test]
fn raw_token_is_found_and_only_its_own() {
    let m = matcher();
    let hay = [b"POST /x HTTP/1.1\r\n\r\ntoken=".as_slice(), TOKEN, b"&x=1"].concat();
    assert_eq!(m.find(&hay), vec![(0, "raw")]);
    let hay = [b"id=".as_slice(), OTHER].concat();
    assert_eq!(m.find(&hay), vec![(1, "raw")]);
}

#[test]
fn base64_is_found_at_every_alignment_inside_a_larger_blob() {
    let m = matcher();
    for prefix in ["", "k", "ke", "key", "user:"] {
        let blob = [prefix.as_bytes(), TOKEN, b"\n trailing data"].concat();
        let std = STANDARD.encode(&blob);
        assert!(
            m.find(std.as_bytes()).contains(&(0, "base64")),
            "prefix {prefix:?}: {std}"
        );
        // URL-safe needs bytes that encode to + or / to differ; either way it is found.
        let url = URL_SAFE_NO_PAD.encode(&blob);
        let found = m.find(url.as_bytes());
        assert!(
            found.contains(&(0, "base64url")) || found.contains(&(0, "base64")),
            "prefix {prefix:?}: {found:?}"
        );
    }
}

#[test]
fn base64url_differs_from_standard_when_the_alphabet_matters() {
    // Bytes 0xfb 0xff encode to "+/" in standard base64 and "-_" in URL-safe.
    let token: &[u8] = b"\xfb\xff\xfe secret-token-with-binary \xfb\xff";
    let m = Matcher::new([token]);
    let url = URL_SAFE_NO_PAD.encode(token);
    assert!(url.contains('-') || url.contains('_'), "{url}");
    assert_eq!(m.find(url.as_bytes()), vec![(0, "base64url")]);
    let std = STANDARD.encode(token);
    assert_eq!(m.find(std.as_bytes()), vec![(0, "base64")]);
}

#[test]
fn hex_is_found_in_either_case() {
    let m = matcher();
    let lower = hex(TOKEN);
    assert_eq!(m.find(&lower), vec![(0, "hex")]);
    let upper = String::from_utf8(lower).unwrap().to_uppercase();
    assert_eq!(m.find(upper.as_bytes()), vec![(0, "hex")]);
}

#[test]
fn base32_is_found_at_every_alignment_and_case() {
    let m = matcher();
    for prefix in ["", "a", "ab", "abc", "abcd"] {
        let blob = [prefix.as_bytes(), TOKEN].concat();
        let enc = String::from_utf8(base32(&blob)).unwrap();
        assert!(
            m.find(enc.as_bytes()).contains(&(0, "base32")),
            "{prefix:?}"
        );
        let lower = enc.to_lowercase();
        assert!(
            m.find(lower.as_bytes()).contains(&(0, "base32")),
            "{prefix:?}"
        );
    }
}

#[test]
fn percent_encoded_token_and_percent_encoded_base64_are_found() {
    let m = matcher();
    let hay = [b"q=".as_slice(), &url_encode_all(TOKEN)].concat();
    assert_eq!(m.find(&hay), vec![(0, "url")]);
    // A base64 blob with + / = escaped (as encodeURIComponent does).
    let blob = STANDARD.encode([b"\xfb\xff\xfe".as_slice(), TOKEN].concat());
    let hay = url_encode_all(blob.as_bytes());
    assert!(hay.contains(&b'%'));
    assert!(
        m.find(&hay).contains(&(0, "url+base64")),
        "{:?}",
        m.find(&hay)
    );
}

#[test]
fn wrapped_base64_is_found() {
    let m = matcher();
    let blob = STANDARD.encode([b"-----BEGIN-----\n".as_slice(), TOKEN, TOKEN].concat());
    let wrapped: Vec<u8> = blob
        .as_bytes()
        .chunks(20)
        .flat_map(|c| [c, b"\n"].concat())
        .collect();
    assert!(m.find(&wrapped).contains(&(0, "base64")));
}

#[test]
fn unrelated_bytes_never_hit() {
    let m = matcher();
    // Near misses: the token with one character changed, a truncated token, the other
    // token's prefix, and lots of random-looking text in every alphabet.
    let mut changed = TOKEN.to_vec();
    changed[20] ^= 1;
    assert!(m.find(&changed).is_empty());
    assert!(m.find(&TOKEN[..TOKEN.len() - 1]).is_empty());
    assert!(m.find(&hex(&changed)).is_empty());
    assert!(m.find(STANDARD.encode(&changed).as_bytes()).is_empty());
    let mut rng = Rng::new().unwrap();
    let noise = rng.bytes(64 * 1024).unwrap();
    assert!(m.find(&noise).is_empty());
    assert!(m.find(STANDARD.encode(&noise).as_bytes()).is_empty());
    assert!(m.find(&hex(&noise)).is_empty());
    assert!(m.find(&base32(&noise)).is_empty());
    assert!(
        m.find(b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
            .is_empty()
    );
}

#[test]
fn aligned_keeps_only_characters_the_token_determines() {
    // "abc" at offset 0 is exactly "YWJj"; at offset 1 the first char mixes the filler.
    assert_eq!(
        aligned(b"abc", 0, 6, |b| STANDARD_NO_PAD.encode(b).into_bytes()),
        b"YWJj"
    );
    let one = aligned(b"abcdef", 1, 6, |b| STANDARD_NO_PAD.encode(b).into_bytes());
    let full = STANDARD_NO_PAD.encode(b"xabcdef");
    assert!(full.contains(std::str::from_utf8(&one).unwrap()));
    // Bits 8..56 of the blob: characters 2..9 (ceil(8/6) to floor(56/6)).
    assert_eq!(one, &full.as_bytes()[2..9]);
    assert_eq!(base32(b"foobar"), b"MZXW6YTBOI");
}

#[test]
fn generated_tokens_have_real_formats_and_are_unique_per_run() {
    let a = Honeytokens::generate(&identity()).unwrap();
    let b = Honeytokens::generate(&identity()).unwrap();
    let mut all: Vec<&str> = a.tokens().iter().map(|t| t.value.as_str()).collect();
    all.extend(b.tokens().iter().map(|t| t.value.as_str()));
    let unique: HashSet<&str> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "every token differs, within and across runs"
    );
    for t in a.tokens() {
        let v = t.value.as_str();
        match t.kind {
            TokenKind::AwsAccessKeyId => {
                assert!(v.starts_with("AKIA") && v.len() == 20);
                assert!(v[4..].bytes().all(|c| AWS_ID_CHARS.contains(&c)));
            }
            TokenKind::AwsSecretAccessKey => assert_eq!(v.len(), 40),
            TokenKind::GithubToken | TokenKind::NpmToken => {
                assert!(v.starts_with("ghp_") || v.starts_with("npm_"));
                assert_eq!(v.len(), 40);
                assert_eq!(&v[34..], base62_6(crc32(&v.as_bytes()[4..34])));
            }
            TokenKind::PypiToken => assert!(v.starts_with("pypi-AgEIcHlwaS5vcmc")),
            TokenKind::DockerToken => assert!(v.starts_with("dckr_pat_")),
            TokenKind::KubeToken => assert_eq!(v.split('.').count(), 3),
            TokenKind::SshPrivateKey => assert_eq!(v.len(), 70),
            TokenKind::BrowserPassword | TokenKind::BrowserCookie => assert!(v.len() >= 20),
        }
    }
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

#[test]
fn phase_env_adds_tokens_without_overriding_the_driver() {
    let h = Honeytokens::generate(&identity()).unwrap();
    let base = vec![
        ("HOME".to_owned(), "/home/maya".to_owned()),
        ("NPM_TOKEN".to_owned(), "driver".to_owned()),
    ];
    let env = h.phase_env(&base);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("NPM_TOKEN"), Some("driver"));
    assert_eq!(get("HOME"), Some("/home/maya"));
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "PYPI_TOKEN",
    ] {
        let value = get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(
            h.tokens()
                .iter()
                .any(|t| t.value == value && t.source == Source::Env(name.into()))
        );
    }
}

#[test]
fn planted_files_hold_their_tokens_with_private_modes() {
    let h = Honeytokens::generate(&identity()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    h.plant(dir.path()).unwrap();
    for rel in [
        ".ssh/id_rsa",
        ".aws/credentials",
        ".npmrc",
        ".pypirc",
        ".git-credentials",
        ".docker/config.json",
        ".kube/config",
        ".config/google-chrome/Default/Login Data",
        ".config/google-chrome/Default/Cookies",
    ] {
        let path = dir.path().join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{rel}");
        let sandbox_path = format!("/home/maya/{rel}");
        let found = h.matcher().find(&bytes);
        let mine: Vec<&Token> = found.iter().map(|(i, _)| &h.tokens()[*i]).collect();
        assert!(
            !mine.is_empty()
                && mine
                    .iter()
                    .all(|t| t.source == Source::File(sandbox_path.clone())),
            "{rel}: {found:?}"
        );
    }
    let ssh = dir.path().join(".ssh");
    assert_eq!(
        std::fs::metadata(&ssh).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let key = std::fs::read_to_string(ssh.join("id_rsa")).unwrap();
    assert!(key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"));
    // The docker token is stored base64-encoded, as docker does.
    let docker = std::fs::read(dir.path().join(".docker/config.json")).unwrap();
    assert!(
        h.matcher()
            .find(&docker)
            .iter()
            .all(|(_, e)| *e == "base64")
    );
    // The key's needle is private: the public half does not contain it.
    let public = std::fs::read(ssh.join("id_rsa.pub")).unwrap();
    assert!(h.matcher().find(&public).is_empty());
    assert!(
        h.planted()
            .iter()
            .all(|p| p.prefix.chars().count() <= PREFIX_CHARS),
        "the report shows prefixes only"
    );
}

fn run_with(events: Vec<Event>, processes: Vec<ProcessRecord>) -> PhaseResult {
    PhaseResult {
        status: PhaseStatus::Completed,
        error: None,
        exit: None,
        duration_ms: 1,
        stdout: Captured::default(),
        stderr: Captured::default(),
        events,
        processes,
        isolation: IsolationReport::default(),
    }
}

fn open(pid: i32, path: &str, read: bool) -> Event {
    Event {
        time_ms: 7,
        pid,
        kind: EventKind::File {
            op: FileOp::Open,
            path: path.into(),
            read,
            write: !read,
            create: false,
            target: None,
            mode: None,
            result: Some(3),
        },
    }
}

fn process(pid: i32, argv: &[&str]) -> ProcessRecord {
    ProcessRecord {
        pid,
        ppid: 1,
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        exit: None,
        outlived_main: false,
        killed_at_end: false,
    }
}

#[test]
fn reads_of_planted_files_are_hits_except_the_drivers_own_config() {
    let h = Honeytokens::generate(&identity()).unwrap();
    // The install driver `exec`s npm in the main process (pid 2); a lifecycle script
    // running npm (pid 7) is the package's doing.
    let npm = ["node", "/usr/bin/npm", "rebuild", "x", "--offline"];
    let run = run_with(
        vec![
            open(2, "/home/maya/.npmrc", true),
            open(5, "/home/maya/.npmrc", true),
            open(5, "/home/maya/.npmrc", true),
            open(5, "/home/maya/.aws/credentials", true),
            open(5, "/home/maya/.ssh/id_rsa.pub", true),
            open(5, "/home/maya/.bashrc", true),
            open(5, "/home/maya/.gitconfig", true),
            open(5, "/home/maya/.pypirc", false),
            open(7, "/home/maya/.npmrc", true),
        ],
        vec![
            process(2, &npm),
            process(5, &["node", "-e", "steal()"]),
            process(7, &["node", "/usr/bin/npm", "config", "get", "_authToken"]),
        ],
    );
    let mut out = ReportHoneytokens::default();
    h.record("install", &run, None, &mut out);
    let hits: Vec<(&str, Option<&str>, Option<i32>)> = out
        .hits
        .iter()
        .map(|x| (x.kind.as_str(), x.path.as_deref(), x.pid))
        .collect();
    assert_eq!(
        hits,
        vec![
            ("npm_token", Some("/home/maya/.npmrc"), Some(5)),
            (
                "aws_access_key_id",
                Some("/home/maya/.aws/credentials"),
                Some(5)
            ),
            (
                "ssh_private_key",
                Some("/home/maya/.ssh/id_rsa.pub"),
                Some(5)
            ),
            ("npm_token", Some("/home/maya/.npmrc"), Some(7)),
        ]
    );
    assert!(out.hits[..3].iter().all(|x| x.how == HitHow::Read
        && x.phase == "install"
        && x.process.as_deref() == Some("node -e steal()")
        && x.succeeded == Some(true)));
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    assert!(out.notes[0].contains(".npmrc") && out.notes[0].contains("pid 2"));
}

fn connection(bytes: &[u8], http: Vec<HttpRequest>) -> Connection {
    Connection {
        protocol: "tcp".into(),
        dst_ip: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 7)),
        dst_port: 80,
        hostname: Some("collect.example.test".into()),
        kind: if http.is_empty() {
            ConnectionKind::Raw
        } else {
            ConnectionKind::Http
        },
        time_ms: 11,
        duration_ms: 1,
        bytes_total: bytes.len() as u64,
        bytes_prefix: Payload(bytes.to_vec()),
        truncated: false,
        http,
        tls_sni: None,
        tls_alpn: Vec::new(),
    }
}

#[test]
fn egress_names_the_token_encoding_and_carrier() {
    let h = Honeytokens::generate(&identity()).unwrap();
    let token = |kind: TokenKind, env: bool| {
        h.tokens()
            .iter()
            .find(|t| t.kind == kind && matches!(t.source, Source::Env(_)) == env)
            .unwrap()
            .value
            .clone()
    };
    let npmrc_token = token(TokenKind::NpmToken, false);
    let github_env = token(TokenKind::GithubToken, true);
    let aws_env = token(TokenKind::AwsSecretAccessKey, true);

    let body = STANDARD.encode(format!("//registry.npmjs.org/:_authToken={npmrc_token}\n"));
    let request = format!("POST /u HTTP/1.1\r\nHost: collect.example.test\r\n\r\n{body}");
    let http = HttpRequest {
        method: "POST".into(),
        host: Some("collect.example.test".into()),
        path: "/u".into(),
        headers: vec![HttpHeader {
            name: "X-Trace".into(),
            // Every byte escaped, so the raw token is surely absent.
            value: aws_env.bytes().map(|b| format!("%{b:02x}")).collect(),
        }],
        body_prefix: Payload(body.clone().into_bytes()),
        body_len: body.len() as u64,
        body_truncated: false,
    };
    let hexed = String::from_utf8(hex(github_env.as_bytes())).unwrap();
    let (a, b) = hexed.split_at(hexed.len() / 2);
    let log = NetworkLog {
        dns: vec![DnsQuery {
            hostname: format!("{a}.{}.exfil.test", b.to_uppercase()),
            qtype: "A".into(),
            resolver: IpAddr::V4(Ipv4Addr::new(10, 0, 2, 3)),
            transport: DnsTransport::Udp,
            answer: None,
            time_ms: 3,
        }],
        connections: vec![
            connection(request.as_bytes(), vec![http]),
            connection(b"nothing to see", Vec::new()),
        ],
        datagrams: vec![Datagram {
            dst_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
            dst_port: 9999,
            src_port: 40000,
            hostname: None,
            time_ms: 5,
            bytes_total: 4,
            bytes_prefix: Payload(github_env.clone().into_bytes()),
            truncated: false,
        }],
        ..NetworkLog::default()
    };
    let hits = h.egress("install", &log);
    let summary: Vec<(&str, &str, &str, &str, Option<&str>)> = hits
        .iter()
        .map(|x| {
            (
                x.kind.as_str(),
                x.encoding.as_deref().unwrap(),
                x.channel.as_deref().unwrap(),
                x.location.as_deref().unwrap(),
                x.hostname.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "aws_secret_access_key",
                "url",
                "http",
                "header x-trace",
                Some("collect.example.test")
            ),
            (
                "npm_token",
                "base64",
                "http",
                "body",
                Some("collect.example.test")
            ),
            (
                "github_token",
                "hex",
                "dns",
                "query name, labels joined",
                Some(log.dns[0].hostname.as_str())
            ),
            ("github_token", "raw", "udp", "bytes", None),
        ]
    );
    assert_eq!(hits[0].destination.as_deref(), Some("198.18.0.7:80"));
    assert_eq!(hits[0].env.as_deref(), Some("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(hits[1].path.as_deref(), Some("/home/maya/.npmrc"));
    assert_eq!(hits[3].destination.as_deref(), Some("203.0.113.9:9999"));
    assert!(
        hits.iter()
            .all(|x| x.how == HitHow::Egress && x.phase == "install")
    );
    assert!(
        hits.iter()
            .all(|x| !x.token_prefix.is_empty() && x.token_prefix.len() <= PREFIX_CHARS)
    );
}

#[test]
fn redact_replaces_token_values_in_exec_environments() {
    let h = Honeytokens::generate(&identity()).unwrap();
    let github = h
        .tokens()
        .iter()
        .find(|t| t.source == Source::Env("GITHUB_TOKEN".into()))
        .unwrap()
        .value
        .clone();
    let mut report: PhaseReport = serde_json::from_value(serde_json::json!({
        "status": "completed", "duration_ms": 1, "command": ["x"],
        "processes": [{"pid": 2, "ppid": 1, "command": ["x"], "outlived_main": false,
            "killed_at_end": false, "execs": [{"path": "/x", "argv": ["x"], "ok": true,
            "environment": {"GITHUB_TOKEN": github, "HOME": "/home/maya"}}]}],
        "files": [], "sockets": [], "network": {"dns": [], "connections": [], "datagrams": []},
        "stdout": {"text": "", "total_bytes": 0, "truncated": false},
        "stderr": {"text": "", "total_bytes": 0, "truncated": false},
        "isolation": {"interfaces": ["lo"], "landlock": "full", "cgroup": false}
    }))
    .unwrap();
    h.redact(&mut report);
    let env = &report.processes[0].execs[0].environment;
    assert_eq!(env["HOME"], "/home/maya");
    assert!(env["GITHUB_TOKEN"].starts_with("<honeytoken github_token ghp_"));
    assert!(!serde_json::to_string(&report).unwrap().contains(&github));
}
