//! Honeytokens: unique fake secrets planted where stealers look, and the evidence that
//! a package took them.
//!
//! Every run of [`crate::analyze`] gets its own set ([`Honeytokens::generate`]): an
//! OpenSSH private key, AWS keys, npm/PyPI/GitHub/Docker/Kubernetes tokens and a
//! browser-like profile in the sandbox user's home, plus the environment variables CI
//! systems and developers set (`AWS_ACCESS_KEY_ID`, `GITHUB_TOKEN`, `NPM_TOKEN`, …).
//! Each location holds a *different* token, so a hit says where the package found it.
//! Values follow the real formats (prefixes, alphabets, lengths, GitHub's CRC32
//! checksum) because stealers filter with the same regular expressions secret scanners
//! use; they are random per run, so a hit cannot be a coincidence or a stale replay.
//!
//! Two kinds of evidence:
//!
//! - **read**: a traced `open` for reading of a planted file. Reads are suspicious, not
//!   proof (a tool may read its own configuration: npm loads `~/.npmrc`; those reads by
//!   the phase's own driver are noted, not flagged).
//! - **egress**: a token inside what the sealed network captured: TCP prefixes, HTTP
//!   request targets, headers and bodies, TLS hellos, UDP datagrams and DNS query names.
//!   That is proof of exfiltration. Exfiltrators encode, so [`Matcher`] searches every
//!   token raw, as base64 (standard and URL-safe, at each of the three byte
//!   alignments a token can have inside a larger encoded blob), as base32 (five
//!   alignments) and hex (case-insensitively: DNS may change case), inside
//!   percent-decoded text (`url`, `url+base64`, …), with line breaks of wrapped base64
//!   removed, and in DNS names with the dots between labels removed (data split across
//!   labels).
//!
//! Matching is one Aho-Corasick pass per haystack over precomputed needles (a few
//! hundred for ~15 tokens), linear in the captured bytes.
//!
//! The report never holds a full token: planted entries and hits carry a short prefix,
//! and [`Honeytokens::redact`] replaces token values in recorded exec environments.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use ossprey_model::dynamic::{
    HitHow, HoneytokenHit, Honeytokens as ReportHoneytokens, PhaseReport, PlantedToken,
};
use ossprey_sandbox::{EventKind, FileOp, HostIdentity, PhaseResult};
use ossprey_sinkhole::{ConnectionKind, NetworkLog};

/// How many characters of a token the report shows.
const PREFIX_CHARS: usize = 8;

/// What a token imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A line of an OpenSSH private key's private section.
    SshPrivateKey,
    /// `AKIA…`
    AwsAccessKeyId,
    /// 40 base64-alphabet characters.
    AwsSecretAccessKey,
    /// `npm_…`
    NpmToken,
    /// `pypi-…` (a macaroon).
    PypiToken,
    /// `ghp_…`
    GithubToken,
    /// `dckr_pat_…`, stored base64-encoded with the user name in `~/.docker/config.json`.
    DockerToken,
    /// A service-account bearer JWT in `~/.kube/config`.
    KubeToken,
    /// A saved password in the browser profile's `Login Data`.
    BrowserPassword,
    /// A session cookie in the browser profile's `Cookies`.
    BrowserCookie,
}

impl TokenKind {
    /// The report's name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::SshPrivateKey => "ssh_private_key",
            TokenKind::AwsAccessKeyId => "aws_access_key_id",
            TokenKind::AwsSecretAccessKey => "aws_secret_access_key",
            TokenKind::NpmToken => "npm_token",
            TokenKind::PypiToken => "pypi_token",
            TokenKind::GithubToken => "github_token",
            TokenKind::DockerToken => "docker_token",
            TokenKind::KubeToken => "kube_token",
            TokenKind::BrowserPassword => "browser_password",
            TokenKind::BrowserCookie => "browser_cookie",
        }
    }
}

/// Where a token was planted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file (absolute path inside the sandbox).
    File(String),
    /// An environment variable of every phase.
    Env(String),
}

impl Source {
    /// The file's path, for the report's `path` field.
    fn path(&self) -> Option<String> {
        match self {
            Source::File(p) => Some(p.clone()),
            Source::Env(_) => None,
        }
    }

    /// The variable's name, for the report's `env` field.
    fn env(&self) -> Option<String> {
        match self {
            Source::Env(e) => Some(e.clone()),
            Source::File(_) => None,
        }
    }
}

/// One planted fake secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it imitates.
    pub kind: TokenKind,
    /// Where it is.
    pub source: Source,
    /// The exact characters searched for in egress.
    pub value: String,
}

impl Token {
    fn prefix(&self) -> String {
        self.value.chars().take(PREFIX_CHARS).collect()
    }
}

/// A file to place in the home directory.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PlantedFile {
    /// Relative to the home directory.
    rel: &'static str,
    contents: Vec<u8>,
    mode: u32,
}

/// Adds a private (0600) file at `rel` under `home` holding `contents`, and the token
/// `value` of `kind` it contains.
fn secret_file(
    files: &mut Vec<PlantedFile>,
    tokens: &mut Vec<Token>,
    home: &Path,
    rel: &'static str,
    contents: Vec<u8>,
    kind: TokenKind,
    value: String,
) {
    files.push(PlantedFile {
        rel,
        contents,
        mode: 0o600,
    });
    tokens.push(Token {
        kind,
        source: Source::File(home.join(rel).display().to_string()),
        value,
    });
}

/// One run's fake secrets: what to plant, and how to recognise them.
#[derive(Debug)]
pub struct Honeytokens {
    home: PathBuf,
    tokens: Vec<Token>,
    files: Vec<PlantedFile>,
    env: Vec<(String, String)>,
    /// Built on first use: most packages send nothing to search.
    matcher: OnceLock<Matcher>,
}

impl Honeytokens {
    /// A fresh random set for a user with `identity` (file contents mention its user and
    /// host names, as real ones do). Fails only when the kernel's random source does.
    pub fn generate(identity: &HostIdentity) -> io::Result<Self> {
        let mut rng = Rng::new()?;
        let home = identity.home.clone();
        let user = identity.user.as_str();
        let mut tokens = Vec::new();
        let mut files = Vec::new();
        let mut env = Vec::new();
        let at = |rel: &str| home.join(rel).display().to_string();

        // ~/.ssh/id_rsa and its public half.
        let key = ssh_rsa_key(&mut rng, &format!("{user}@{}", identity.hostname))?;
        tokens.push(Token {
            kind: TokenKind::SshPrivateKey,
            source: Source::File(at(".ssh/id_rsa")),
            value: key.needle,
        });
        files.push(PlantedFile {
            rel: ".ssh/id_rsa",
            contents: key.private.into_bytes(),
            mode: 0o600,
        });
        files.push(PlantedFile {
            rel: ".ssh/id_rsa.pub",
            contents: key.public.into_bytes(),
            mode: 0o644,
        });

        // ~/.aws/credentials
        let (key_id, secret) = (aws_key_id(&mut rng)?, aws_secret(&mut rng)?);
        files.push(PlantedFile {
            rel: ".aws/credentials",
            contents: format!(
                "[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
            )
            .into_bytes(),
            mode: 0o600,
        });
        files.push(PlantedFile {
            rel: ".aws/config",
            contents: b"[default]\nregion = us-east-1\noutput = json\n".to_vec(),
            mode: 0o644,
        });
        for (kind, value) in [
            (TokenKind::AwsAccessKeyId, key_id),
            (TokenKind::AwsSecretAccessKey, secret),
        ] {
            tokens.push(Token {
                kind,
                source: Source::File(at(".aws/credentials")),
                value,
            });
        }

        // ~/.npmrc
        let npm = checksummed(&mut rng, "npm_")?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".npmrc",
            format!("//registry.npmjs.org/:_authToken={npm}\n").into_bytes(),
            TokenKind::NpmToken,
            npm,
        );

        // ~/.pypirc
        let pypi = pypi_token(&mut rng)?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".pypirc",
            format!(
                "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = {pypi}\n"
            )
            .into_bytes(),
            TokenKind::PypiToken,
            pypi,
        );

        // ~/.git-credentials (with the ~/.gitconfig that makes git use it).
        let gh = checksummed(&mut rng, "ghp_")?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".git-credentials",
            format!("https://{user}:{gh}@github.com\n").into_bytes(),
            TokenKind::GithubToken,
            gh,
        );
        files.push(PlantedFile {
            rel: ".gitconfig",
            contents: format!(
                "[user]\n\tname = {user}\n\temail = {user}@users.noreply.github.com\n[credential]\n\thelper = store\n"
            )
            .into_bytes(),
            mode: 0o644,
        });

        // ~/.docker/config.json: the token only appears base64-encoded with the user
        // name, as docker stores it; the matcher's alignments find it in the file's
        // bytes sent as they are.
        let docker = format!("dckr_pat_{}", rng.chars(BASE64URL, 27)?);
        let auth = STANDARD.encode(format!("{user}:{docker}"));
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".docker/config.json",
            format!(
                "{{\n\t\"auths\": {{\n\t\t\"https://index.docker.io/v1/\": {{\n\t\t\t\"auth\": \"{auth}\"\n\t\t}}\n\t}}\n}}\n"
            )
            .into_bytes(),
            TokenKind::DockerToken,
            docker,
        );

        // ~/.kube/config
        let jwt = kube_jwt(&mut rng)?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".kube/config",
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.96.0.1:6443\n    insecure-skip-tls-verify: true\n  name: prod\ncontexts:\n- context:\n    cluster: prod\n    user: deployer\n  name: prod\ncurrent-context: prod\nusers:\n- name: deployer\n  user:\n    token: {jwt}\n"
            )
            .into_bytes(),
            TokenKind::KubeToken,
            jwt,
        );

        // A Chrome profile. Placeholders: an SQLite header and the row's text, not a
        // database sqlite3 can open; enough for stealers that copy the files out.
        let password = rng.chars(ALNUM, 20)?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".config/google-chrome/Default/Login Data",
            sqlite_placeholder(&format!(
                "https://accounts.google.com/\u{1}{user}@gmail.com\u{1}{password}"
            )),
            TokenKind::BrowserPassword,
            password,
        );
        let cookie = rng.chars(BASE64URL, 48)?;
        secret_file(
            &mut files,
            &mut tokens,
            &home,
            ".config/google-chrome/Default/Cookies",
            sqlite_placeholder(&format!(".github.com\u{1}user_session\u{1}{cookie}")),
            TokenKind::BrowserCookie,
            cookie,
        );

        // Environment: different values than the files, so a hit names its source.
        let env_tokens = [
            (
                TokenKind::AwsAccessKeyId,
                "AWS_ACCESS_KEY_ID",
                aws_key_id(&mut rng)?,
            ),
            (
                TokenKind::AwsSecretAccessKey,
                "AWS_SECRET_ACCESS_KEY",
                aws_secret(&mut rng)?,
            ),
            (
                TokenKind::GithubToken,
                "GITHUB_TOKEN",
                checksummed(&mut rng, "ghp_")?,
            ),
            (
                TokenKind::NpmToken,
                "NPM_TOKEN",
                checksummed(&mut rng, "npm_")?,
            ),
            (TokenKind::PypiToken, "PYPI_TOKEN", pypi_token(&mut rng)?),
        ];
        // A logged-in developer's session has these too; malware reads them for the
        // victim's name (the drivers do not set them).
        env.push(("USER".to_owned(), user.to_owned()));
        env.push(("LOGNAME".to_owned(), user.to_owned()));
        env.push(("AWS_DEFAULT_REGION".to_owned(), "us-east-1".to_owned()));
        for (kind, name, value) in env_tokens {
            env.push((name.to_owned(), value.clone()));
            tokens.push(Token {
                kind,
                source: Source::Env(name.to_owned()),
                value,
            });
        }

        Ok(Self {
            home,
            tokens,
            files,
            env,
            matcher: OnceLock::new(),
        })
    }

    fn matcher(&self) -> &Matcher {
        self.matcher
            .get_or_init(|| Matcher::new(self.tokens.iter().map(|t| t.value.as_bytes())))
    }

    /// The tokens.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Writes the files into `host_home`, the host directory bound as the sandbox
    /// user's home (which persists across phases, so planting once suffices).
    pub fn plant(&self, host_home: &Path) -> io::Result<()> {
        for f in &self.files {
            let path = host_home.join(f.rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
                // ~/.ssh and the like are private, as ssh insists.
                if parent != host_home {
                    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
                }
            }
            std::fs::write(&path, &f.contents)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))?;
        }
        Ok(())
    }

    /// `base` with the honeytoken variables added (a variable the driver already sets
    /// keeps its value).
    pub fn phase_env(&self, base: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = base.to_vec();
        for (k, v) in &self.env {
            if !env.iter().any(|(b, _)| b == k) {
                env.push((k.clone(), v.clone()));
            }
        }
        env
    }

    /// What was planted, for the report.
    pub fn planted(&self) -> Vec<PlantedToken> {
        self.tokens
            .iter()
            .map(|t| PlantedToken {
                kind: t.kind.as_str().to_owned(),
                path: t.source.path(),
                env: t.source.env(),
                prefix: t.prefix(),
            })
            .collect()
    }

    /// Adds one phase's hits to `into`: reads of planted files among `run`'s events and
    /// tokens in `network`'s captures. The phase's main process (the driver) reading its
    /// tool's configuration (npm loading `~/.npmrc`) is noted, not flagged.
    pub fn record(
        &self,
        phase: &str,
        run: &PhaseResult,
        network: Option<&NetworkLog>,
        into: &mut ReportHoneytokens,
    ) {
        self.reads(phase, run, into);
        if let Some(log) = network {
            into.hits.extend(self.egress(phase, log));
        }
    }

    fn file_paths(&self) -> HashMap<String, &'static str> {
        self.files
            .iter()
            .map(|f| (self.home.join(f.rel).display().to_string(), f.rel))
            .collect()
    }

    fn reads(&self, phase: &str, run: &PhaseResult, into: &mut ReportHoneytokens) {
        let paths = self.file_paths();
        // The tracer is pid 1 of the sandbox's pid namespace; the driver's process is
        // the first it starts, so the lowest pid of the phase.
        let main_pid = run.processes.iter().map(|p| p.pid).min();
        let commands: HashMap<i32, &[String]> = run
            .processes
            .iter()
            .map(|p| (p.pid, p.argv.as_slice()))
            .collect();
        let mut seen: HashSet<(i32, &str)> = HashSet::new();
        for e in &run.events {
            let EventKind::File {
                op: FileOp::Open,
                path,
                read: true,
                result,
                ..
            } = &e.kind
            else {
                continue;
            };
            let Some(&rel) = paths.get(path.as_str()) else {
                continue;
            };
            if !seen.insert((e.pid, rel)) {
                continue;
            }
            let command = commands.get(&e.pid).copied().unwrap_or_default();
            if Some(e.pid) == main_pid && is_tool_config_read(rel, command) {
                into.notes.push(format!(
                    "{phase}: {path} read by the phase's own driver (pid {}), its configuration file; not flagged",
                    e.pid
                ));
                continue;
            }
            // A file may hold several tokens (AWS id and secret): one hit per file read,
            // named after its first token. A token-less file beside a secret
            // (id_rsa.pub, .aws/config) is reported as what it belongs to; top-level
            // configs (.gitconfig, read by every git command) are not hits.
            let Some(token) = self
                .tokens
                .iter()
                .find(|t| t.source == Source::File(path.clone()))
                .or_else(|| self.token_near(rel))
            else {
                continue;
            };
            let (kind, prefix) = (token.kind.as_str(), token.prefix());
            into.hits.push(HoneytokenHit {
                kind: kind.to_owned(),
                how: HitHow::Read,
                phase: phase.to_owned(),
                path: Some(path.clone()),
                env: None,
                encoding: None,
                channel: None,
                location: None,
                destination: None,
                hostname: None,
                pid: Some(e.pid),
                process: Some(command_line(command)),
                succeeded: Some(result.is_some_and(|r| r >= 0)),
                time_ms: e.time_ms,
                token_prefix: prefix,
            });
        }
    }

    /// The token a token-less planted file belongs with (`.ssh/id_rsa.pub` → the key).
    fn token_near(&self, rel: &str) -> Option<&Token> {
        let dir = Path::new(rel)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())?;
        self.tokens.iter().find(|t| match &t.source {
            Source::File(p) => Path::new(p).starts_with(self.home.join(dir)),
            Source::Env(_) => false,
        })
    }

    /// Tokens in one phase's captured traffic.
    pub fn egress(&self, phase: &str, log: &NetworkLog) -> Vec<HoneytokenHit> {
        let mut hits = Vec::new();
        let mut seen: HashSet<(usize, &'static str, String)> = HashSet::new();
        let mut push = |hits: &mut Vec<HoneytokenHit>,
                        found: Vec<(usize, &'static str)>,
                        carrier: &Carrier<'_>,
                        location: &str| {
            for (i, encoding) in found {
                if !seen.insert((i, encoding, carrier.key.clone())) {
                    continue;
                }
                let t = &self.tokens[i];
                hits.push(HoneytokenHit {
                    kind: t.kind.as_str().to_owned(),
                    how: HitHow::Egress,
                    phase: phase.to_owned(),
                    path: t.source.path(),
                    env: t.source.env(),
                    encoding: Some(encoding.to_owned()),
                    channel: Some(carrier.channel.to_owned()),
                    location: Some(location.to_owned()),
                    destination: carrier.destination.clone(),
                    hostname: carrier.hostname.map(str::to_owned),
                    pid: None,
                    process: None,
                    succeeded: None,
                    time_ms: carrier.time_ms,
                    token_prefix: t.prefix(),
                });
            }
        };
        for (n, c) in log.connections.iter().enumerate() {
            let carrier = Carrier {
                key: format!("tcp#{n}"),
                channel: match c.kind {
                    ConnectionKind::Http => "http",
                    ConnectionKind::Tls => "tls",
                    ConnectionKind::Dns => "dns",
                    ConnectionKind::Raw | ConnectionKind::Empty => "tcp",
                },
                destination: Some(format!("{}:{}", c.dst_ip, c.dst_port)),
                hostname: c.hostname.as_deref(),
                time_ms: c.time_ms,
            };
            // Parsed parts first (they name where the token was, and the body is
            // de-chunked), then the raw bytes for whatever they hold besides.
            for r in &c.http {
                push(
                    &mut hits,
                    self.matcher().find(r.path.as_bytes()),
                    &carrier,
                    "path",
                );
                for h in &r.headers {
                    push(
                        &mut hits,
                        self.matcher().find(h.value.as_bytes()),
                        &carrier,
                        &format!("header {}", h.name.to_ascii_lowercase()),
                    );
                }
                push(
                    &mut hits,
                    self.matcher().find(&r.body_prefix.0),
                    &carrier,
                    "body",
                );
            }
            push(
                &mut hits,
                self.matcher().find(&c.bytes_prefix.0),
                &carrier,
                "bytes",
            );
        }
        for q in &log.dns {
            let carrier = Carrier {
                key: format!("dns:{}", q.hostname.to_ascii_lowercase()),
                channel: "dns",
                destination: Some(format!("{}:53", q.resolver)),
                hostname: Some(&q.hostname),
                time_ms: q.time_ms,
            };
            push(
                &mut hits,
                self.matcher().find(q.hostname.as_bytes()),
                &carrier,
                "query name",
            );
            let joined: String = q.hostname.split('.').collect();
            push(
                &mut hits,
                self.matcher().find(joined.as_bytes()),
                &carrier,
                "query name, labels joined",
            );
        }
        for (n, d) in log.datagrams.iter().enumerate() {
            let carrier = Carrier {
                key: format!("udp#{n}"),
                channel: "udp",
                destination: Some(format!("{}:{}", d.dst_ip, d.dst_port)),
                hostname: d.hostname.as_deref(),
                time_ms: d.time_ms,
            };
            push(
                &mut hits,
                self.matcher().find(&d.bytes_prefix.0),
                &carrier,
                "bytes",
            );
        }
        hits
    }

    /// Replaces token values in the exec environments recorded in `report` (the tracer
    /// records `AWS_*`, `GITHUB_*`, `NPM_*`) so the report never holds a full token.
    pub fn redact(&self, report: &mut PhaseReport) {
        let by_value: HashMap<&str, &Token> =
            self.tokens.iter().map(|t| (t.value.as_str(), t)).collect();
        for p in &mut report.processes {
            for e in &mut p.execs {
                for v in e.environment.values_mut() {
                    if let Some(t) = by_value.get(v.as_str()) {
                        *v = format!("<honeytoken {} {}…>", t.kind.as_str(), t.prefix());
                    }
                }
            }
        }
    }
}

/// What carried bytes: the identity used to report a token once per carrier.
struct Carrier<'a> {
    key: String,
    channel: &'static str,
    destination: Option<String>,
    hostname: Option<&'a str>,
    time_ms: u64,
}

/// Whether a read of the planted file `rel` by the phase's main process, now running
/// `command`, is the driver's tool loading its own configuration: npm reads `~/.npmrc`
/// at start. Only the main process qualifies (the install driver `exec`s npm), so a
/// package running `npm config get` in a lifecycle script is flagged.
fn is_tool_config_read(rel: &str, command: &[String]) -> bool {
    rel == ".npmrc"
        && command
            .iter()
            .take(2)
            .any(|a| a.ends_with("/npm") || a.ends_with("npm-cli.js") || a == "npm")
}

fn command_line(argv: &[String]) -> String {
    let joined = argv.join(" ");
    if joined.chars().count() > 200 {
        let mut s: String = joined.chars().take(200).collect();
        s.push('…');
        s
    } else {
        joined
    }
}

/// Finds any of a set of tokens, encoded in any of the supported ways, in bytes.
#[derive(Debug)]
pub struct Matcher {
    /// Case-sensitive needles: raw, base64, base64url.
    exact: Option<AhoCorasick>,
    exact_ids: Vec<(usize, &'static str)>,
    /// Case-insensitive needles: hex, base32.
    folded: Option<AhoCorasick>,
    folded_ids: Vec<(usize, &'static str)>,
}

impl Matcher {
    /// Precomputes every token's needles.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut exact: Vec<Vec<u8>> = Vec::new();
        let mut exact_ids = Vec::new();
        let mut folded: Vec<Vec<u8>> = Vec::new();
        let mut folded_ids = Vec::new();
        for (i, token) in tokens.into_iter().enumerate() {
            let mut mine: HashSet<Vec<u8>> = HashSet::new();
            let mut add = |set: &mut Vec<Vec<u8>>,
                           ids: &mut Vec<(usize, &'static str)>,
                           needle: Vec<u8>,
                           encoding: &'static str| {
                // A needle too short to be specific would hit unrelated bytes; tokens
                // are long enough that this only drops degenerate input.
                if needle.len() >= 12 && mine.insert(needle.to_ascii_lowercase()) {
                    set.push(needle);
                    ids.push((i, encoding));
                }
            };
            add(&mut exact, &mut exact_ids, token.to_vec(), "raw");
            for a in 0..3 {
                let std = aligned(token, a, 6, |b| STANDARD_NO_PAD.encode(b).into_bytes());
                add(&mut exact, &mut exact_ids, std, "base64");
                let url = aligned(token, a, 6, |b| URL_SAFE_NO_PAD.encode(b).into_bytes());
                add(&mut exact, &mut exact_ids, url, "base64url");
            }
            add(&mut folded, &mut folded_ids, hex(token), "hex");
            for a in 0..5 {
                let b32 = aligned(token, a, 5, base32);
                add(&mut folded, &mut folded_ids, b32, "base32");
            }
        }
        let build = |needles: &[Vec<u8>], fold: bool| {
            if needles.is_empty() {
                return None;
            }
            // The default picks a DFA for this few patterns: ~35 ms to build (release),
            // ~8 ms per MiB scanned, against ~11 ms and ~21 ms/MiB for a contiguous NFA.
            // Built lazily (see `Honeytokens::matcher`), so runs without traffic skip it.
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(fold)
                .build(needles)
                .ok()
        };
        Self {
            exact: build(&exact, false),
            exact_ids,
            folded: build(&folded, true),
            folded_ids,
        }
    }

    /// `(token index, encoding)` of every token found in `haystack`, each pair once.
    /// Also searches the haystack percent-decoded (encodings `url`, `url+base64`, …) and
    /// with line breaks removed (wrapped base64).
    pub fn find(&self, haystack: &[u8]) -> Vec<(usize, &'static str)> {
        let mut out = BTreeSet::new();
        self.scan(haystack, false, &mut out);
        let unwrapped = strip_line_breaks(haystack);
        if let Some(u) = &unwrapped {
            self.scan(u, false, &mut out);
        }
        if let Some(decoded) = percent_decode(haystack) {
            self.scan(&decoded, true, &mut out);
            if let Some(u) = strip_line_breaks(&decoded) {
                self.scan(&u, true, &mut out);
            }
        }
        out.into_iter().collect()
    }

    fn scan(&self, hay: &[u8], url: bool, out: &mut BTreeSet<(usize, &'static str)>) {
        for (ac, ids) in [
            (&self.exact, &self.exact_ids),
            (&self.folded, &self.folded_ids),
        ] {
            let Some(ac) = ac else { continue };
            for m in ac.find_overlapping_iter(hay) {
                let (token, encoding) = ids[m.pattern().as_usize()];
                out.insert((
                    token,
                    if url {
                        url_encoding(encoding)
                    } else {
                        encoding
                    },
                ));
            }
        }
    }
}

fn url_encoding(inner: &'static str) -> &'static str {
    match inner {
        "raw" => "url",
        "base64" => "url+base64",
        "base64url" => "url+base64url",
        "hex" => "url+hex",
        "base32" => "url+base32",
        other => other,
    }
}

/// The characters of `encode([0; align] ++ token)` that depend on the token's bytes
/// only: what any blob holding the token at byte offset ≡ `align` encodes it as.
/// `bits` is the encoding's bits per character (6 for base64, 5 for base32).
fn aligned(token: &[u8], align: usize, bits: usize, encode: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut buf = vec![0u8; align];
    buf.extend_from_slice(token);
    let encoded = encode(&buf);
    let start = (8 * align).div_ceil(bits);
    let end = (8 * (align + token.len()) / bits).min(encoded.len());
    encoded
        .get(start..end)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| format!("{b:02x}").into_bytes())
        .collect()
}

/// RFC 4648 base32, upper case, no padding.
fn base32(bytes: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut nbits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(ALPHABET[((acc >> nbits) & 31) as usize]);
        }
        acc &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        out.push(ALPHABET[((acc << (5 - nbits)) & 31) as usize]);
    }
    out
}

/// `%XX` sequences decoded, when there are any.
fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn strip_line_breaks(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.iter().any(|b| *b == b'\n' || *b == b'\r') {
        return None;
    }
    Some(
        bytes
            .iter()
            .copied()
            .filter(|b| *b != b'\n' && *b != b'\r')
            .collect(),
    )
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const AWS_ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The kernel's random bytes.
struct Rng(io::BufReader<File>);

impl Rng {
    fn new() -> io::Result<Self> {
        Ok(Self(io::BufReader::with_capacity(
            4096,
            File::open("/dev/urandom")?,
        )))
    }

    fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; n];
        self.0.read_exact(&mut out)?;
        Ok(out)
    }

    /// `n` characters drawn uniformly from `alphabet` (rejection sampling).
    fn chars(&mut self, alphabet: &[u8], n: usize) -> io::Result<String> {
        let limit = 256 - 256 % alphabet.len();
        let mut out = String::with_capacity(n);
        while out.len() < n {
            for b in self.bytes(n)? {
                if (b as usize) < limit && out.len() < n {
                    out.push(alphabet[b as usize % alphabet.len()] as char);
                }
            }
        }
        Ok(out)
    }
}

fn aws_key_id(rng: &mut Rng) -> io::Result<String> {
    Ok(format!("AKIA{}", rng.chars(AWS_ID_CHARS, 16)?))
}

fn aws_secret(rng: &mut Rng) -> io::Result<String> {
    rng.chars(BASE64_CHARS, 40)
}

/// GitHub's token format (also npm's): prefix, 30 random base62 characters and the
/// CRC32 of those in 6 base62 digits, which scanners verify.
fn checksummed(rng: &mut Rng, prefix: &str) -> io::Result<String> {
    let body = rng.chars(ALNUM, 30)?;
    Ok(format!(
        "{prefix}{body}{}",
        base62_6(crc32(body.as_bytes()))
    ))
}

fn base62_6(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PyPI API token: `pypi-` and a base64url macaroon whose first bytes name pypi.org,
/// as real ones do.
fn pypi_token(rng: &mut Rng) -> io::Result<String> {
    let mut macaroon = b"\x02\x01\x08pypi.org\x02\x25\x01\x08".to_vec();
    macaroon.extend(rng.bytes(120)?);
    Ok(format!("pypi-{}", URL_SAFE_NO_PAD.encode(macaroon)))
}

fn kube_jwt(rng: &mut Rng) -> io::Result<String> {
    let header = format!(
        "{{\"alg\":\"RS256\",\"kid\":\"{}\"}}",
        rng.chars(BASE64URL, 43)?
    );
    let payload = "{\"iss\":\"kubernetes/serviceaccount\",\"kubernetes.io/serviceaccount/namespace\":\"default\",\"sub\":\"system:serviceaccount:default:deployer\"}";
    let signature = rng.bytes(256)?;
    Ok(format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn sqlite_placeholder(row: &str) -> Vec<u8> {
    let mut out = b"SQLite format 3\0".to_vec();
    out.extend_from_slice(&[0x10, 0x00, 0x01, 0x01, 0x00, 0x40, 0x20, 0x20]);
    out.resize(4096 - row.len() - 1, 0);
    out.extend_from_slice(row.as_bytes());
    out.push(0);
    out
}

struct SshKey {
    private: String,
    public: String,
    /// A whole base64 line of the private section.
    needle: String,
}

/// An OpenSSH-format (`openssh-key-v1`) unencrypted RSA-3072-shaped key: the real
/// structure and sizes, random numbers (no one will compute with it).
fn ssh_rsa_key(rng: &mut Rng, comment: &str) -> io::Result<SshKey> {
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(s);
    }
    fn mpint(out: &mut Vec<u8>, mut n: Vec<u8>, top_bit: bool) {
        if top_bit {
            n[0] |= 0x80;
        }
        if n[0] & 0x80 != 0 {
            n.insert(0, 0);
        }
        string(out, &n);
    }
    let n = rng.bytes(384)?;
    let e = vec![0x01, 0x00, 0x01];
    let mut public_blob = Vec::new();
    string(&mut public_blob, b"ssh-rsa");
    mpint(&mut public_blob, e.clone(), false);
    mpint(&mut public_blob, n.clone(), true);

    let check = rng.bytes(4)?;
    let mut private = Vec::new();
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    string(&mut private, b"ssh-rsa");
    mpint(&mut private, n, true);
    mpint(&mut private, e, false);
    mpint(&mut private, rng.bytes(384)?, false); // d
    mpint(&mut private, rng.bytes(192)?, false); // iqmp
    mpint(&mut private, rng.bytes(192)?, true); // p
    mpint(&mut private, rng.bytes(192)?, true); // q
    string(&mut private, comment.as_bytes());
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }

    let mut blob = b"openssh-key-v1\0".to_vec();
    string(&mut blob, b"none");
    string(&mut blob, b"none");
    string(&mut blob, b"");
    blob.extend_from_slice(&1u32.to_be_bytes());
    string(&mut blob, &public_blob);
    string(&mut blob, &private);

    let body = STANDARD.encode(&blob);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    // Three lines from the end lie in p/q: private, random, and a full 70 characters.
    let needle = lines
        .get(lines.len().saturating_sub(3))
        .copied()
        .unwrap_or_default()
        .to_owned();
    let mut text = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    Ok(SshKey {
        private: text,
        public: format!("ssh-rsa {} {comment}\n", STANDARD.encode(&public_blob)),
        needle,
    })
}

#[cfg(test)]
mod tests;
