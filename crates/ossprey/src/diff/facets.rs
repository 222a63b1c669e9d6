//! What one side of a diff is made of: the security-relevant facets of a package,
//! read from its report and from `ossprey-static` facts of its files, with every path
//! and command normalised so that the two sides compare by meaning, not by the bytes
//! that always differ between releases (the `name-1.0/` root of an sdist, the version
//! in `name-1.0.dist-info/`, the sandbox's random home and temporary names).
//!
//! Everything here reads attacker-controlled data: nothing panics on it, and every
//! list is bounded by the inputs' own caps (the static facts and the sandbox's records
//! are bounded where they are produced).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::Ipv4Addr;

use ossprey_model::dynamic::PhaseReport;
use ossprey_model::{Dependency, FileKind, Finding, InstallHook, Report};
use ossprey_rules::rules::catalog;
use ossprey_static::PackageFiles;
use ossprey_static::analysis::{FileAnalysis, MAX_PARSE_BYTES, RunsAt, StaticFacts};
use ossprey_static::facts::{Arg, Language, MAX_STRINGS, StringLit};
use serde::Serialize;

/// Placeholder for the package's own version in normalised paths and commands.
pub const VERSION_PLACEHOLDER: &str = "<version>";
/// Callees whose literal host arguments are network destinations, besides
/// [`catalog::NETWORK`]: methods of socket objects whose origin the parser cannot see.
const SOCKET_METHODS: &[&str] = &[
    "?.connect",
    "?.connect_ex",
    "?.sendto",
    "?.create_connection",
];
/// A file with at least this many `_0x1a2b`-style identifiers was run through
/// javascript-obfuscator (ordinary and minified code has none or a handful).
const HEX_IDENTIFIERS_OBFUSCATED: u32 = 50;

/// One network destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// `domain`, `ip` or `url` (static: literals in code); `dns` or `connection`
    /// (dynamic: what the sandbox's network saw).
    pub kind: &'static str,
    /// The host name, IPv4 address, URL, queried name, or `host:port`.
    pub value: String,
    /// Where it was first seen: a file (static) …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// … or a sandbox phase (dynamic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// A URL to a service class malware favours (paste sites, webhooks, file drops, …).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub service: bool,
    /// Seen only in tests, docs or examples that run neither at install nor at import,
    /// or only in comments or Python docstrings of parsed code.
    #[serde(skip)]
    pub incidental: bool,
}

/// One command the package runs or would run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    /// `code` (a process-execution call site), `hook` (a command of an install hook's
    /// script) or `exec` (a program the sandbox saw executed).
    pub source: &'static str,
    /// The literal command: the call's literal arguments (`<dynamic>` for parts that
    /// are not literals), the hook's simple command, or the executed argv.
    pub command: String,
    /// `child_process.exec`, `subprocess.run`, … for `code`; the hook trigger for `hook`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The call as written (`code` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// In tests, docs or examples that run neither at install nor at import.
    #[serde(skip)]
    pub incidental: bool,
}

/// A path the package wrote to, created, deleted, renamed or chmod-ed in the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileWrite {
    pub phase: String,
    pub path: String,
    /// `write`, `create`, `delete` and the other operations seen.
    pub ops: Vec<String>,
}

/// A file that hides what it does, and how it hides it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObfuscatedFile {
    pub path: String,
    /// `finding:<RULE>`, `marker:<kind>`, `decode-then-eval`, `hex-identifiers`.
    pub reasons: Vec<String>,
}

/// A file of the inventory, for the context counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryFile {
    pub sha256: String,
    pub kind: FileKind,
}

/// The facets of one side, keyed for comparison. Keys are normalised; the values
/// carry where each one was first seen.
#[derive(Debug, Default)]
pub struct Facets {
    pub hooks: Vec<InstallHook>,
    pub destinations: BTreeMap<(&'static str, String), Destination>,
    pub commands: BTreeMap<CommandKey, Command>,
    pub file_writes: BTreeMap<(String, String), FileWrite>,
    pub obfuscated: BTreeMap<String, ObfuscatedFile>,
    pub dependencies: Vec<Dependency>,
    pub findings: Vec<Finding>,
    pub files: BTreeMap<String, InventoryFile>,
}

/// What makes two commands the same: where they come from and what they run — not
/// the line they are on.
pub type CommandKey = (
    &'static str,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

impl Facets {
    /// Keeps the first place a destination was seen, but a place in shipped code over
    /// one in tests or docs.
    fn add_destination(&mut self, d: Destination) {
        match self.destinations.entry((d.kind, d.value.clone())) {
            Entry::Vacant(slot) => {
                slot.insert(d);
            }
            Entry::Occupied(mut slot) => {
                if slot.get().incidental && !d.incidental {
                    slot.insert(d);
                }
            }
        }
    }

    fn add_command(&mut self, c: Command) {
        let key = (
            c.source,
            c.file.clone(),
            c.callee.clone(),
            c.command.clone(),
            c.phase.clone(),
        );
        self.commands.entry(key).or_insert(c);
    }

    fn mark_obfuscated(&mut self, path: &str, reason: String) {
        let entry = self
            .obfuscated
            .entry(path.to_owned())
            .or_insert_with(|| ObfuscatedFile {
                path: path.to_owned(),
                reasons: Vec::new(),
            });
        if !entry.reasons.contains(&reason) {
            entry.reasons.push(reason);
        }
    }
}

/// Normalises the paths of one package so that the same file of two releases has
/// the same name.
#[derive(Clone, Debug, Default)]
pub struct PathNorm {
    /// The package root (`name-1.0/`, `package/`), stripped from every path.
    root: String,
    /// The package's version, replaced by [`VERSION_PLACEHOLDER`] where it follows a
    /// `-` (`name-1.0.dist-info/`, `/pkg/name-1.0.tar.gz`).
    version: Option<String>,
    /// The archive's file name: the sandbox mounts it at `/pkg/<name>`, so it shows up
    /// in the driver's commands; replaced by `<archive>` in sandbox records.
    archive: Option<String>,
}

impl PathNorm {
    pub fn new(root: &str, version: Option<&str>) -> Self {
        Self {
            root: root.to_owned(),
            version: version.filter(|v| !v.is_empty()).map(str::to_owned),
            archive: None,
        }
    }

    /// The same, also masking the archive's file name in sandbox records.
    pub fn with_archive(mut self, archive: Option<&str>) -> Self {
        self.archive = archive.filter(|a| !a.is_empty()).map(str::to_owned);
        self
    }

    /// A path inside the package, without its root and with the version masked.
    pub fn path(&self, path: &str) -> String {
        let rel = path.strip_prefix(self.root.as_str()).unwrap_or(path);
        self.text(rel)
    }

    /// Any text (a path, an argv word) with the version masked.
    pub fn text(&self, text: &str) -> String {
        match &self.version {
            Some(v) => mask_version(text, v),
            None => text.to_owned(),
        }
    }
}

/// Replaces `-VERSION` by `-<version>` where the version is not the prefix of a longer
/// version (`-1.0` in `-1.0.1`) or of a longer word.
pub fn mask_version(text: &str, version: &str) -> String {
    let needle = format!("-{version}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let end = at + needle.len();
        let after = &rest[end..];
        let mut chars = after.chars();
        let continues = match chars.next() {
            None => false,
            Some(c) if c.is_ascii_alphanumeric() => true,
            // `1.0` followed by `.1` is another version; `.tar.gz`, `.dist-info` are not.
            Some('.') => chars.next().is_some_and(|c| c.is_ascii_digit()),
            Some(_) => false,
        };
        out.push_str(&rest[..at]);
        if continues {
            out.push_str(&needle);
        } else {
            out.push('-');
            out.push_str(VERSION_PLACEHOLDER);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Normalises a path or argv word recorded in the sandbox: the archive's name becomes
/// `<archive>`, the random home (`/home/<user>`) becomes `~`, the version is masked,
/// and components that are random by construction (temporary directories, hashes)
/// become `*`.
pub fn normalise_dynamic(text: &str, norm: &PathNorm) -> String {
    let text = match &norm.archive {
        Some(archive) => text.replace(archive.as_str(), "<archive>"),
        None => text.to_owned(),
    };
    let text = norm.text(&text);
    let text = match text.strip_prefix("/home/") {
        Some(rest) => match rest.find('/') {
            Some(slash) => format!("~{}", &rest[slash..]),
            None => "~".to_owned(),
        },
        None => text,
    };
    let mut previous = "";
    let mut out = Vec::new();
    for component in text.split('/') {
        // `mkdtemp` names right below a temporary directory (`/tmp/pip-req-build-…`).
        let under_tmp = previous.ends_with("tmp");
        out.push(mask_random_component(component, under_tmp));
        previous = component;
    }
    out.join("/")
}

/// A path written in the sandbox, normalised like [`normalise_dynamic`] and with every
/// run of two or more digits shown as `#`: tools name logs and caches after the time
/// (`~/.npm/_logs/2026-11-25T18_08_34_940Z-debug-0.log`). Not used for commands, whose
/// numbers (addresses, ports) are what a reader needs to see.
pub fn normalise_written_path(path: &str, norm: &PathNorm) -> String {
    let path = normalise_dynamic(path, norm);
    path.split('/')
        .map(|component| {
            // Cache directories named after a hash (`wheels/4a/1d/…`): the hash is of
            // the archive, which differs between releases.
            let hex = component.len() >= 2
                && component
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && component.bytes().any(|b| b.is_ascii_digit());
            if hex {
                "#".to_owned()
            } else {
                mask_digit_runs(component)
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every run of two or more digits as `#`.
fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() >= 2 { "#" } else { &run });
        run.clear();
        out.push(c);
    }
    out.push_str(if run.len() >= 2 { "#" } else { &run });
    out
}

/// Length of the random part of Python's `tempfile` names (`tmp` + 8 characters of
/// `[a-z0-9_]`, or a given prefix + 8 characters: pip's `pip-req-build-kk2__1fc`).
const TEMPFILE_RANDOM_CHARS: usize = 8;

/// Masks the random parts of one path component: `pip-req-build-kk2__1fc` →
/// `pip-req-build-*`, `tmpab12cd34` → `tmp*`, `RECORD8yplxpat.tmp` → `RECORD*.tmp`,
/// `k2j3h4l5` → `*`, `12345` → `*`.
fn mask_random_component(component: &str, under_tmp: bool) -> String {
    if let Some(masked) = mask_tempfile_name(component, under_tmp) {
        return masked;
    }
    let mut out = String::with_capacity(component.len());
    let mut token = String::new();
    for c in component.chars() {
        if matches!(c, '-' | '_' | '.') {
            out.push_str(&mask_token(&token));
            token.clear();
            out.push(c);
        } else {
            token.push(c);
        }
    }
    out.push_str(&mask_token(&token));
    out
}

/// A `tempfile`-style name with its 8 random characters of `[a-z0-9_]` masked:
/// `PREFIX` + random + `.tmp` (pip's files written beside their final name), or —
/// right below a temporary directory — nothing, `tmp`, or a prefix ending in `-`/`_`
/// followed by the random part. Elsewhere the random part must hold a digit, so that
/// ordinary names (`__init__`, `settings`) stay as they are.
fn mask_tempfile_name(component: &str, under_tmp: bool) -> Option<String> {
    let random = |tail: &str| {
        tail.len() == TEMPFILE_RANDOM_CHARS
            && tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if let Some(stem) = component.strip_suffix(".tmp") {
        let split = stem.len().checked_sub(TEMPFILE_RANDOM_CHARS)?;
        let (prefix, tail) = (stem.get(..split)?, stem.get(split..)?);
        return (!prefix.is_empty() && random(tail)).then(|| format!("{prefix}*.tmp"));
    }
    let split = component.len().checked_sub(TEMPFILE_RANDOM_CHARS)?;
    let (prefix, tail) = (component.get(..split)?, component.get(split..)?);
    let prefix_ok =
        prefix.is_empty() || prefix == "tmp" || prefix.ends_with('-') || prefix.ends_with('_');
    let digit = tail.bytes().any(|b| b.is_ascii_digit());
    (random(tail) && prefix_ok && (under_tmp || digit)).then(|| format!("{prefix}*"))
}

/// A token that is random by construction: letters and digits interleaved (a hash or
/// a random suffix, `k2j3h4l5`; not `python3`, `x86`, `sha256`), or a long number.
fn mask_token(token: &str) -> String {
    let len = token.chars().count();
    let alnum = token.chars().all(|c| c.is_ascii_alphanumeric());
    let digits = token.chars().filter(char::is_ascii_digit).count();
    let switches = token
        .as_bytes()
        .windows(2)
        .filter(|w| match w {
            [a, b] => a.is_ascii_digit() != b.is_ascii_digit(),
            _ => false,
        })
        .count();
    if (len >= 6 && alnum && switches >= 3) || (len >= 5 && digits == len) {
        return "*".to_owned();
    }
    token.to_owned()
}

/// Host names that name no real destination: reserved for documentation and tests
/// (RFC 2606, RFC 6761) or the machine itself.
fn is_placeholder_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    const EXACT: &[&str] = &["localhost", "example.com", "example.net", "example.org"];
    const SUFFIXES: &[&str] = &[
        ".localhost",
        ".example",
        ".test",
        ".invalid",
        ".local",
        ".example.com",
        ".example.net",
        ".example.org",
    ];
    EXACT.contains(&host) || SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// A literal that is a bare DNS name (`evil.com`, `a.b.example`): labels of letters,
/// digits and hyphens, at least two, the last alphabetic.
fn looks_like_hostname(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let valid = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
    });
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    // `os.path`, `setup.py`: a file name is not a destination.
    const FILE_TLDS: &[&str] = &["py", "js", "json", "txt", "sh", "md", "ts", "cfg", "toml"];
    valid && tld_ok && !labels.last().is_some_and(|t| FILE_TLDS.contains(t))
}

/// A routable IPv4 literal.
fn public_ipv4(s: &str) -> Option<Ipv4Addr> {
    let ip: Ipv4Addr = s.parse().ok()?;
    let reserved = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.octets()[0] == 0
        || ip.octets()[0] >= 240;
    (!reserved).then_some(ip)
}

/// Renders a process-execution call's command from its literal arguments: the first
/// argument, and the second when it is a list (`spawn("node", ["x.js"])`).
fn literal_command(args: &[Arg]) -> String {
    fn word(arg: &Arg, out: &mut Vec<String>) {
        match arg {
            Arg::Str(s) => out.push(s.clone()),
            Arg::Const(c) => out.push(c.clone()),
            Arg::List(items) => {
                for item in items {
                    word(item, out);
                }
            }
            _ => out.push("<dynamic>".to_owned()),
        }
    }
    let mut words = Vec::new();
    if let Some(first) = args.first() {
        word(first, &mut words);
    }
    if let Some(second @ Arg::List(_)) = args.get(1) {
        word(second, &mut words);
    }
    if words.is_empty() {
        "<dynamic>".to_owned()
    } else {
        words.join(" ")
    }
}

/// Literal strings of a call's arguments, nested lists included (`("evil.com", 443)`).
fn literal_strings<'a>(args: &'a [Arg], out: &mut Vec<&'a str>) {
    for arg in args {
        match arg {
            Arg::Str(s) => out.push(s),
            Arg::List(items) => literal_strings(items, out),
            _ => {}
        }
    }
}

/// Whether code evaluates something decoded (`exec(base64.b64decode(…))`,
/// `eval(atob(…))`): the classic wrapping of a hidden payload.
fn decode_then_eval(callee: &str, args: &[Arg]) -> bool {
    catalog::is(catalog::CODE_EVAL, callee)
        && args.iter().any(|a| {
            a.nested_callees()
                .iter()
                .any(|c| catalog::is(catalog::DECODE, c))
        })
}

/// The facets of one analysed target: its report and the static facts of its files.
/// `files` are the bytes `facts` were read from (for the docstrings of Python files).
pub fn extract(
    report: &Report,
    facts: &StaticFacts,
    files: &PackageFiles,
    norm: &PathNorm,
) -> Facets {
    let mut out = Facets::default();
    let manifest = report.manifest.clone().unwrap_or_default();

    for hook in &manifest.install_hooks {
        let mut hook = hook.clone();
        hook.path = norm.path(&hook.path);
        if let Some(command) = &hook.command {
            let trigger = serde_json::to_value(hook.trigger)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            for cmd in ossprey_static::facts::shell::parse(command).commands {
                if cmd.argv.is_empty() {
                    continue;
                }
                out.add_command(Command {
                    source: "hook",
                    command: cmd.argv.join(" "),
                    callee: trigger.clone(),
                    file: Some(hook.path.clone()),
                    line: None,
                    phase: None,
                    snippet: None,
                    incidental: false,
                });
            }
            let text = ossprey_static::facts::text::scan(command);
            let place = TextPlace {
                path: &hook.path,
                with_lines: false,
                incidental: false,
                code: CodeView::Opaque,
            };
            add_text_destinations(&mut out, &text, &place);
        }
        out.hooks.push(hook);
    }
    out.dependencies = manifest.dependencies.clone();

    for file in &facts.files {
        let path = norm.path(&file.path);
        let is_code = file.kind.is_source() || file.runs_at != RunsAt::Runtime;
        let incidental = file.runs_at == RunsAt::Runtime && is_test_or_docs(&path);
        if is_code {
            let has_indicators = !file.text.urls.is_empty() || !file.text.ips.is_empty();
            let view = if has_indicators && !incidental {
                code_view(file, files)
            } else {
                CodeView::Opaque
            };
            let place = TextPlace {
                path: &path,
                with_lines: true,
                incidental,
                code: view,
            };
            add_text_destinations(&mut out, &file.text, &place);
        }
        for marker in &file.text.obfuscation.markers {
            let kind = serde_json::to_value(marker.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned());
            out.mark_obfuscated(&path, format!("marker:{kind}"));
        }
        if file.text.obfuscation.hex_identifiers >= HEX_IDENTIFIERS_OBFUSCATED {
            out.mark_obfuscated(&path, "hex-identifiers".to_owned());
        }
        let Some(source) = &file.source else { continue };
        for call in &source.calls {
            if catalog::is(catalog::PROCESS_EXEC, &call.callee) {
                out.add_command(Command {
                    source: "code",
                    command: literal_command(&call.args),
                    callee: Some(call.callee.clone()),
                    file: Some(path.clone()),
                    line: Some(call.line),
                    phase: None,
                    snippet: Some(call.snippet.clone()),
                    incidental,
                });
            }
            if decode_then_eval(&call.callee, &call.args) {
                out.mark_obfuscated(&path, "decode-then-eval".to_owned());
            }
            if catalog::is(catalog::NETWORK, &call.callee)
                || SOCKET_METHODS.contains(&call.callee.as_str())
            {
                let mut literals = Vec::new();
                literal_strings(&call.args, &mut literals);
                for lit in literals {
                    let lit = lit.trim();
                    if let Some(ip) = public_ipv4(lit) {
                        out.add_destination(static_destination(
                            "ip",
                            ip.to_string(),
                            &path,
                            call.line,
                            incidental,
                        ));
                    } else if looks_like_hostname(lit) && !is_placeholder_host(lit) {
                        let host = lit.trim_end_matches('.').to_ascii_lowercase();
                        out.add_destination(static_destination(
                            "domain", host, &path, call.line, incidental,
                        ));
                    }
                }
            }
        }
    }

    for finding in &report.findings {
        let mut finding = finding.clone();
        if let Some(file) = &finding.evidence.file {
            // Behaviour findings name sandbox paths (`/home/<random user>/.bashrc`).
            finding.evidence.file = Some(if file.starts_with('/') {
                normalise_dynamic(file, norm)
            } else {
                norm.path(file)
            });
        }
        if finding.category == ossprey_model::Category::OBFUSCATION
            && let Some(file) = &finding.evidence.file
        {
            let file = file.clone();
            out.mark_obfuscated(&file, format!("finding:{}", finding.rule));
        }
        out.findings.push(finding);
    }

    if let Some(inventory) = &report.inventory {
        for entry in &inventory.files {
            out.files.insert(
                norm.path(&entry.path),
                InventoryFile {
                    sha256: entry.sha256.clone(),
                    kind: entry.kind,
                },
            );
        }
    }

    if let Some(dynamic) = &report.dynamic {
        for (phase, report) in [
            ("install", &dynamic.install),
            ("import", &dynamic.import),
            ("execute", &dynamic.execute),
        ] {
            if let Some(report) = report {
                add_phase(&mut out, phase, report, norm);
            }
        }
    }
    out
}

fn static_destination(
    kind: &'static str,
    value: String,
    file: &str,
    line: u32,
    incidental: bool,
) -> Destination {
    Destination {
        kind,
        value,
        file: Some(file.to_owned()),
        line: Some(line),
        phase: None,
        service: false,
        incidental,
    }
}

/// Directories and file names of tests, documentation, examples and benchmarks: code
/// nobody runs by installing or importing the package.
fn is_test_or_docs(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "test",
        "tests",
        "testing",
        "__tests__",
        "spec",
        "specs",
        "doc",
        "docs",
        "example",
        "examples",
        "benchmark",
        "benchmarks",
        "bench",
    ];
    let mut components = path.split('/').collect::<Vec<_>>();
    let name = components.pop().unwrap_or_default();
    if components.iter().any(|c| DIRS.contains(c)) {
        return true;
    }
    let js_test = [".test.", ".spec."].iter().any(|m| name.contains(m));
    let py_test = name == "conftest.py"
        || (name.starts_with("test_") && name.ends_with(".py"))
        || name.ends_with("_test.py");
    js_test || py_test
}

/// Where a text scan's indicators come from.
struct TextPlace<'a> {
    path: &'a str,
    /// Line numbers mean something (not for a hook's command line).
    with_lines: bool,
    /// The file is tests or docs that run neither at install nor at import.
    incidental: bool,
    /// What a parser says about where in the file code can use a string.
    code: CodeView,
}

/// How much of a code file's structure the diff knows, to tell an indicator that
/// code can use from one it cannot (in a comment or a docstring).
enum CodeView {
    /// Nothing: every indicator counts.
    Opaque,
    /// Python: the source (ASCII-lowercased, so byte offsets are the file's) and the
    /// byte ranges of its comments and docstrings, from the parser's tokens.
    Python {
        lower: String,
        quiet: Vec<std::ops::Range<usize>>,
    },
    /// JavaScript/TypeScript: every string literal, as the parser read them (comments
    /// are not literals).
    Literals(Vec<StringLit>),
}

impl TextPlace<'_> {
    /// Whether `indicator` appears only where code cannot use it: in tests and docs,
    /// or only in comments and docstrings.
    fn incidental(&self, indicator: &str) -> bool {
        if self.incidental {
            return true;
        }
        match &self.code {
            CodeView::Opaque => false,
            CodeView::Python { lower, quiet } => {
                let needle = indicator.to_ascii_lowercase();
                let mut seen = false;
                for (at, _) in lower.match_indices(needle.as_str()) {
                    seen = true;
                    let end = at.saturating_add(needle.len());
                    if !quiet.iter().any(|r| r.start <= at && end <= r.end) {
                        return false;
                    }
                }
                // Not found as written (the text pass normalised it): count it.
                seen
            }
            CodeView::Literals(strings) => {
                // A literal cut short may hold the indicator in its missing part; a
                // capped list may be missing the literal: both count as a use.
                strings.len() < MAX_STRINGS
                    && !strings.iter().any(|s| {
                        s.len > s.value.chars().count()
                            || contains_ignore_ascii_case(&s.value, indicator)
                    })
            }
        }
    }
}

/// What the diff knows of a code file's structure. The static pass may have skipped
/// parsing it (large packages are parsed in tiers) or kept only a sample of its
/// literals (bulk files), so the file is parsed again here, complete.
fn code_view(file: &FileAnalysis, files: &PackageFiles) -> CodeView {
    let Some(text) = files.text(&file.path) else {
        return CodeView::Opaque;
    };
    if text.len() > MAX_PARSE_BYTES {
        return CodeView::Opaque;
    }
    match file.language {
        Some(Language::Python) => {
            // ossprey-static's extractor refuses files nested too deeply to parse
            // safely; only files it parses cleanly are parsed again below.
            let parsed = file.source.as_ref().map_or_else(
                || ossprey_static::facts::python::extract(&file.path, &text).parsed,
                |s| s.parsed,
            );
            match parsed.then(|| python_quiet_ranges(&text)).flatten() {
                Some(quiet) => CodeView::Python {
                    lower: text.to_ascii_lowercase(),
                    quiet,
                },
                None => CodeView::Opaque,
            }
        }
        Some(Language::Javascript | Language::Typescript) => {
            let facts = ossprey_static::facts::js::extract(&file.path, &text);
            if facts.parsed {
                CodeView::Literals(facts.strings)
            } else {
                CodeView::Opaque
            }
        }
        None => CodeView::Opaque,
    }
}

/// Stack for parsing one Python file again: at least what `ossprey-static` gives its
/// own parser thread for the deepest file it accepts. Reserved, not committed.
const PYTHON_PARSE_STACK: usize = 200 << 20;

/// The byte ranges of a Python file's comments and docstrings (string literals,
/// implicitly concatenated runs included, that begin a logical line and end it),
/// from the parser's tokens: strings inside brackets, after `=` or as arguments are
/// never docstrings. `None` when the file does not parse cleanly or no parser thread
/// can start: every indicator then counts, the safe side.
fn python_quiet_ranges(source: &str) -> Option<Vec<std::ops::Range<usize>>> {
    // The parser recurses as deep as the file nests: run it, and drop its tree, on a
    // thread with a stack as large as ossprey-static allows itself.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("ossprey-diff-python".into())
            .stack_size(PYTHON_PARSE_STACK)
            .spawn_scoped(scope, || quiet_ranges_of_tokens(source))
            .ok()
            .and_then(|handle| handle.join().ok())
            .flatten()
    })
}

fn quiet_ranges_of_tokens(source: &str) -> Option<Vec<std::ops::Range<usize>>> {
    use ruff_python_ast::token::TokenKind;
    use ruff_text_size::Ranged as _;

    let parsed =
        ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
    if !parsed.errors().is_empty() {
        return None;
    }
    let range = |t: &ruff_python_ast::token::Token| usize::from(t.start())..usize::from(t.end());
    let mut out: Vec<std::ops::Range<usize>> = parsed
        .tokens()
        .iter()
        .filter(|t| t.kind() == TokenKind::Comment)
        .map(range)
        .collect();
    let tokens: Vec<_> = parsed
        .tokens()
        .iter()
        .filter(|t| !matches!(t.kind(), TokenKind::Comment | TokenKind::NonLogicalNewline))
        .collect();
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        let begins_line = i == 0
            || tokens.get(i - 1).is_some_and(|prev| {
                matches!(
                    prev.kind(),
                    TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Semi
                )
            });
        if token.kind() != TokenKind::String || !begins_line {
            i += 1;
            continue;
        }
        let mut end = i;
        while tokens
            .get(end + 1)
            .is_some_and(|t| t.kind() == TokenKind::String)
        {
            end += 1;
        }
        let ends_line = tokens.get(end + 1).is_none_or(|next| {
            matches!(
                next.kind(),
                TokenKind::Newline | TokenKind::Semi | TokenKind::EndOfFile
            )
        });
        if ends_line && let Some(last) = tokens.get(end) {
            out.push(usize::from(token.start())..usize::from(last.end()));
        }
        i = end + 1;
    }
    Some(out)
}

/// `haystack` contains `needle`, ASCII case ignored (hosts are lowercased by the text
/// pass; literals are as written).
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    !n.is_empty() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// URLs, their hosts and public IPv4 literals of a text scan.
fn add_text_destinations(
    out: &mut Facets,
    text: &ossprey_static::facts::text::TextFacts,
    place: &TextPlace<'_>,
) {
    let path = place.path;
    let line = |l: u32| place.with_lines.then_some(l);
    for url in &text.urls {
        // A URL to a private, loopback or documentation address reaches no one else.
        let private_ip = url.host.parse::<Ipv4Addr>().is_ok() && public_ipv4(&url.host).is_none();
        if is_placeholder_host(&url.host) || private_ip {
            continue;
        }
        let incidental = place.incidental(&url.host);
        out.add_destination(Destination {
            kind: "url",
            value: url.url.clone(),
            file: Some(path.to_owned()),
            line: line(url.line),
            phase: None,
            service: url.service.is_some(),
            incidental,
        });
        // The text pass reports IPs written bare; one inside a URL is a destination too.
        if let Some(ip) = public_ipv4(&url.host) {
            out.add_destination(Destination {
                kind: "ip",
                value: ip.to_string(),
                file: Some(path.to_owned()),
                line: line(url.line),
                phase: None,
                service: false,
                incidental,
            });
        } else if !url.host.is_empty() {
            out.add_destination(Destination {
                kind: "domain",
                value: url.host.clone(),
                file: Some(path.to_owned()),
                line: line(url.line),
                phase: None,
                service: false,
                incidental,
            });
        }
    }
    for ip in &text.ips {
        if public_ipv4(&ip.ip).is_some() {
            let incidental = place.incidental(&ip.ip);
            out.add_destination(Destination {
                kind: "ip",
                value: ip.ip.clone(),
                file: Some(path.to_owned()),
                line: line(ip.line),
                phase: None,
                service: false,
                incidental,
            });
        }
    }
}

/// What the sandbox saw in one phase: DNS names, connections, executed programs and
/// written paths.
fn add_phase(out: &mut Facets, phase: &str, report: &PhaseReport, norm: &PathNorm) {
    let dynamic = |kind: &'static str, value: String| Destination {
        kind,
        value,
        file: None,
        line: None,
        phase: Some(phase.to_owned()),
        service: false,
        incidental: false,
    };
    for q in &report.network.dns {
        let name = q.hostname.trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() {
            out.add_destination(dynamic("dns", name));
        }
    }
    // Sinkhole addresses are handed out per run: the name is the stable identity.
    for c in &report.network.connections {
        let host = c.hostname.clone().unwrap_or_else(|| c.address.clone());
        out.add_destination(dynamic("connection", format!("{host}:{}", c.port)));
    }
    for d in &report.network.datagrams {
        let host = d.hostname.clone().unwrap_or_else(|| d.address.clone());
        out.add_destination(dynamic("connection", format!("udp {host}:{}", d.port)));
    }
    for process in &report.processes {
        for exec in &process.execs {
            // A failed exec is an attempted command too (the runtime lacks `curl`, say);
            // PATH search repeats the same argv, which the key folds.
            let argv: Vec<String> = exec
                .argv
                .iter()
                .map(|w| normalise_dynamic(w, norm))
                .collect();
            if argv.is_empty() {
                continue;
            }
            out.add_command(Command {
                source: "exec",
                command: argv.join(" "),
                callee: None,
                file: None,
                line: None,
                phase: Some(phase.to_owned()),
                snippet: None,
                incidental: false,
            });
        }
    }
    for access in &report.files {
        let changed = access.write
            || access.create
            || access.delete
            || access.ops.iter().any(|o| {
                matches!(
                    o.as_str(),
                    "rename" | "chmod" | "symlink" | "link" | "mkdir"
                )
            });
        if !changed || !access.succeeded {
            continue;
        }
        if access.path.starts_with("/dev/") || access.path.starts_with("/proc/") {
            continue;
        }
        let path = normalise_written_path(&access.path, norm);
        let mut ops = Vec::new();
        for (set, name) in [
            (access.write, "write"),
            (access.create, "create"),
            (access.delete, "delete"),
        ] {
            if set {
                ops.push(name.to_owned());
            }
        }
        ops.extend(access.ops.iter().cloned());
        out.file_writes
            .entry((phase.to_owned(), path.clone()))
            .or_insert(FileWrite {
                phase: phase.to_owned(),
                path,
                ops,
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_masked_only_where_they_are_the_whole_version() {
        assert_eq!(
            mask_version("demo-1.0.dist-info/METADATA", "1.0"),
            "demo-<version>.dist-info/METADATA"
        );
        assert_eq!(
            mask_version("/pkg/demo-1.0.tar.gz", "1.0"),
            "/pkg/demo-<version>.tar.gz"
        );
        // 1.0 is a prefix of 1.0.1 and of 1.0rc1: neither is this version.
        assert_eq!(mask_version("demo-1.0.1/x", "1.0"), "demo-1.0.1/x");
        assert_eq!(mask_version("demo-1.0rc1/x", "1.0"), "demo-1.0rc1/x");
        assert_eq!(mask_version("no version here", "1.0"), "no version here");
    }

    #[test]
    fn paths_lose_the_package_root_and_version() {
        let a = PathNorm::new("demo-1.0/", Some("1.0"));
        let b = PathNorm::new("demo-1.1/", Some("1.1"));
        assert_eq!(
            a.path("demo-1.0/demo/__init__.py"),
            b.path("demo-1.1/demo/__init__.py")
        );
        assert_eq!(
            a.path("demo-1.0.dist-info/RECORD"),
            b.path("demo-1.1.dist-info/RECORD")
        );
    }

    #[test]
    fn sandbox_paths_lose_the_random_home_and_temporary_names() {
        let n = PathNorm::new("", Some("2.0"));
        assert_eq!(
            normalise_dynamic("/home/maya/.cache/pip/x", &n),
            normalise_dynamic("/home/tomas/.cache/pip/x", &n)
        );
        assert_eq!(
            normalise_dynamic("/tmp/pip-build-env-k2j3h4l5/setup.py", &n),
            "/tmp/pip-build-env-*/setup.py"
        );
        assert_eq!(normalise_dynamic("/tmp/tmpab12cd34", &n), "/tmp/tmp*");
        assert_eq!(
            normalise_written_path(
                "/home/sam/.npm/_logs/2026-11-25T18_08_34_940Z-debug-0.log",
                &n
            ),
            "~/.npm/_logs/#-#-#T#_#_#_#Z-debug-0.log"
        );
        let n = n.with_archive(Some("a.tgz"));
        assert_eq!(normalise_dynamic("/pkg/a.tgz", &n), "/pkg/<archive>");
        assert_eq!(
            normalise_dynamic("/work/demo-2.0.tar.gz", &n),
            "/work/demo-<version>.tar.gz"
        );
        // Ordinary names stay readable.
        assert_eq!(
            normalise_dynamic("/usr/bin/python3", &n),
            "/usr/bin/python3"
        );
    }

    #[test]
    fn literal_commands_render_lists_and_mark_dynamic_parts() {
        let args = vec![Arg::List(vec![
            Arg::Str("curl".into()),
            Arg::Name("url".into()),
        ])];
        assert_eq!(literal_command(&args), "curl <dynamic>");
        let args = vec![
            Arg::Str("node".into()),
            Arg::List(vec![Arg::Str("x.js".into())]),
        ];
        assert_eq!(literal_command(&args), "node x.js");
        assert_eq!(literal_command(&[]), "<dynamic>");
    }

    #[test]
    fn tests_docs_and_examples_are_told_from_shipped_code() {
        for path in [
            "tests/test_api.py",
            "pkg/__tests__/a.js",
            "docs/conf.py",
            "src/util.spec.ts",
            "lib/index.test.js",
            "pkg/test_core.py",
            "pkg/core_test.py",
            "conftest.py",
        ] {
            assert!(is_test_or_docs(path), "{path}");
        }
        for path in [
            "pkg/__init__.py",
            "lib/index.js",
            "setup.py",
            "pkg/testing_utils.py",
            "src/contest.py",
        ] {
            assert!(!is_test_or_docs(path), "{path}");
        }
    }

    #[test]
    fn an_indicator_in_no_string_literal_sits_in_a_comment() {
        let strings = vec![StringLit {
            value: "https://API.Evil-C2.net/x".into(),
            len: 25,
            line: 3,
        }];
        let place = TextPlace {
            path: "a.js",
            with_lines: true,
            incidental: false,
            code: CodeView::Literals(strings.clone()),
        };
        assert!(
            !place.incidental("api.evil-c2.net"),
            "in a literal, case aside"
        );
        assert!(place.incidental("docs.example-lib.org"));
        // A literal the parser cut short may hold anything in its missing part.
        let cut = TextPlace {
            code: CodeView::Literals(vec![StringLit {
                value: "x".repeat(10),
                len: 5000,
                line: 1,
            }]),
            ..place
        };
        assert!(!cut.incidental("docs.example-lib.org"));
        let unparsed = TextPlace {
            code: CodeView::Opaque,
            ..cut
        };
        assert!(
            !unparsed.incidental("docs.example-lib.org"),
            "no parser: every URL counts"
        );
    }

    /// A Python file as the diff sees it.
    fn python_place(source: &str) -> TextPlace<'static> {
        TextPlace {
            path: "pkg/mod.py",
            with_lines: true,
            incidental: false,
            code: CodeView::Python {
                lower: source.to_ascii_lowercase(),
                quiet: python_quiet_ranges(source).unwrap(),
            },
        }
    }

    #[test]
    fn a_url_only_in_python_docstrings_or_comments_is_incidental_but_not_in_an_argument() {
        // urllib3 2.2.2 added an RFC link to `HTTPResponse.json`'s docstring.
        let source = r#""Module doc: https://docs.lib.example.net/"
import urllib.request

class R:
    '''Class doc.'''

    def json(self):
        """
        Deserializes the body, encoded in UTF-8 as per
        `RFC 8529 Section 8.1 <https://www.RFC-editor.org/rfc/rfc8259#section-8.1>`_.
        """
        # See https://comments.lib.example.net/why
        return urllib.request.urlopen("https://c2.evil-host.net/x")

URLS = (
    "https://mirror.other-host.org/a"
)
"https://www.rfc-editor.org/x"; urllib.request.urlopen("https://www.rfc-editor.org/x")
"#;
        let place = python_place(source);
        assert!(place.incidental("docs.lib.example.net"), "module docstring");
        assert!(
            place.incidental("www.rfc-editor.org/rfc"),
            "method docstring"
        );
        assert!(place.incidental("comments.lib.example.net"), "comment");
        assert!(!place.incidental("c2.evil-host.net"), "urlopen argument");
        assert!(
            !place.incidental("mirror.other-host.org"),
            "a parenthesised string assigned to a name"
        );
        // The same URL as a docstring and as an argument on one line: the argument
        // is not explained away by the docstring.
        assert!(!place.incidental("www.rfc-editor.org/x"));
        assert!(!place.incidental("never.written.example.net"), "not found");
    }

    #[test]
    fn unparsable_python_has_no_quiet_ranges() {
        assert!(python_quiet_ranges("def f(:\n    \"https://x.evil-host.net\"\n").is_none());
        assert_eq!(python_quiet_ranges(""), Some(Vec::new()));
    }

    #[test]
    fn hostnames_and_ips_are_told_from_file_names_and_private_addresses() {
        assert!(looks_like_hostname("evil.example-c2.com"));
        assert!(!looks_like_hostname("setup.py"));
        assert!(!looks_like_hostname("localhost"));
        assert!(is_placeholder_host("api.example.com"));
        assert!(public_ipv4("203.0.113.9").is_none(), "documentation range");
        assert!(public_ipv4("10.1.2.3").is_none());
        assert!(public_ipv4("45.9.148.1").is_some());
    }
}
