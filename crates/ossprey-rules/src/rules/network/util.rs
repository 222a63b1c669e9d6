//! Helpers shared by the `network` and `credentials` rules: which files count as
//! code, whether a text indicator sits in code (a string literal, a command line)
//! rather than in prose or a comment, and how a file's run context weighs a finding.

use ossprey_model::{FileKind, Severity};
use ossprey_static::analysis::{FileAnalysis, RunsAt};
use ossprey_static::facts::{Arg, Call, SourceFacts};

use crate::Input;
use crate::input::step;
use crate::rules::catalog::{NETWORK, is};

/// File names (lowercased, without directory) that are documentation whatever their kind.
const DOC_NAMES: &[&str] = &[
    "readme",
    "changelog",
    "changes",
    "history",
    "license",
    "licence",
    "notice",
    "authors",
    "contributing",
    "pkg-info",
    "metadata",
    "news",
    "copying",
];

/// The file name of `path`, lowercased.
fn file_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase()
}

/// Whether `file` is documentation (prose), never behaviour.
pub fn is_doc(file: &FileAnalysis) -> bool {
    if matches!(
        file.kind,
        FileKind::Markdown | FileKind::Html | FileKind::Text | FileKind::Xml | FileKind::Css
    ) {
        return true;
    }
    let name = file_name(&file.path);
    let stem = name.split('.').next().unwrap_or(&name);
    if DOC_NAMES.contains(&stem) {
        return true;
    }
    if [".md", ".rst", ".txt", ".adoc", ".ipynb", ".map", ".d.ts"]
        .iter()
        .any(|ext| name.ends_with(ext))
    {
        return true;
    }
    let lower = file.path.to_ascii_lowercase();
    ["/docs/", "/doc/", "/man/", "/site-docs/"]
        .iter()
        .any(|d| lower.contains(d))
}

/// Whether `file` is a test, fixture or example (code nobody installs or imports).
pub fn is_test(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = file_name(path);
    [
        "/test/",
        "/tests/",
        "/testing/",
        "/__tests__/",
        "/spec/",
        "/fixtures/",
        "/examples/",
        "/example/",
        "/samples/",
        "/benchmarks/",
    ]
    .iter()
    .any(|d| lower.contains(d))
        || name.starts_with("test_")
        || name.starts_with("conftest")
        || [
            "_test.py",
            ".test.js",
            ".spec.js",
            ".test.ts",
            ".spec.ts",
            ".test.mjs",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Whether `file` holds code whose strings can be behaviour: source and scripts.
pub fn is_code(file: &FileAnalysis) -> bool {
    matches!(
        file.kind,
        FileKind::Python
            | FileKind::Javascript
            | FileKind::Typescript
            | FileKind::Shell
            | FileKind::Powershell
            | FileKind::Batch
            | FileKind::Ruby
    ) && !is_doc(file)
}

/// Whether `file` is an npm `package.json` (its lifecycle scripts are code).
pub fn is_package_json(file: &FileAnalysis) -> bool {
    file_name(&file.path) == "package.json"
}

/// The text of 1-based `line` of `path`, bounded to 4 KiB.
pub fn line_text(input: &Input<'_>, path: &str, line: u32) -> Option<String> {
    let content = input.files.content(path)?;
    let idx = usize::try_from(line.checked_sub(1)?).ok()?;
    // Newlines are ASCII, so decoding the one line gives what decoding the
    // file and splitting it would, without doing that for each call asked about.
    let l = String::from_utf8_lossy(crate::input::nth_line(content, idx)?);
    let end = l.char_indices().nth(4096).map_or(l.len(), |(i, _)| i);
    Some(l[..end].to_owned())
}

/// Case-insensitive substring test without allocating; `needle` is lowercase ASCII.
/// `/` and `\\` match each other, so a path fragment matches however it is separated.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    let same = |a: u8, b: u8| {
        a.eq_ignore_ascii_case(&b) || (matches!(a, b'/' | b'\\') && matches!(b, b'/' | b'\\'))
    };
    !n.is_empty()
        && hay.len() >= n.len()
        && hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.iter().zip(n).all(|(&a, &b)| same(a, b)))
}

/// A secret-path fragment as matched in the file, with escaped separators (`\\\\`)
/// reduced to one, lowercased: what a string literal's value holds.
pub fn normalize_fragment(matched: &str) -> String {
    matched.replace("\\\\", "/").to_ascii_lowercase()
}

/// Whether a line reads as a comment in any of the languages we scan.
fn is_comment_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#')
        || t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with('*')
        || t.starts_with("<!--")
        || t.to_ascii_lowercase().starts_with("rem ")
        || t.starts_with("::")
}

/// Whether a string literal reads as prose (a docstring, a help text) rather than a
/// value code uses: several lines of mostly plain words.
pub fn is_prose(value: &str) -> bool {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() < 8 {
        return false;
    }
    let plain = words
        .iter()
        .filter(|w| {
            let w = w.trim_end_matches([',', '.', ':', ';', '!', '?', ')']);
            let w = w.trim_start_matches('(');
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        })
        .count();
    plain * 10 >= words.len() * 6
}

/// Whether `needle` (lowercase) appears in code in `file` on or near `line`: in a
/// non-prose string literal for parsed files, in a non-comment line otherwise.
/// Returns the text that holds it (the literal, or the line) when it does.
pub fn in_code(input: &Input<'_>, file: &FileAnalysis, line: u32, needle: &str) -> Option<String> {
    if is_package_json(file) {
        let text = line_text(input, &file.path, line)?;
        let lower = text.to_ascii_lowercase();
        let hook = ["install\"", "\"prepare\"", "\"preinstall", "\"postinstall"]
            .iter()
            .any(|h| lower.contains(h));
        return hook.then_some(text);
    }
    if !is_code(file) {
        return None;
    }
    if let Some(source) = &file.source {
        let hit = source
            .strings
            .iter()
            .filter(|s| contains_ci(&s.value, needle) && !is_prose(&s.value))
            .min_by_key(|s| (s.line > line, s.line.abs_diff(line)));
        if let Some(s) = hit {
            return Some(s.value.clone());
        }
        // A file the parser could not read may still hold the string; trust the line.
        if source.parsed {
            return None;
        }
    }
    let text = line_text(input, &file.path, line)?;
    (!is_comment_line(&text) && text.to_ascii_lowercase().contains(needle)).then_some(text)
}

/// The host (or host+path) token around `entry` in `text`: extends left over host
/// characters and right over URL characters. Lowercased.
pub fn token_around(text: &str, entry: &str) -> Option<(String, String)> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(entry)?;
    let bytes = lower.as_bytes();
    let mut start = at;
    while start > 0 {
        let b = bytes[start - 1];
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
            start -= 1;
        } else {
            break;
        }
    }
    let host_end = at + entry.split('/').next().map_or(entry.len(), str::len);
    let mut end = host_end;
    while end < bytes.len() {
        let b = bytes[end];
        if b <= b' ' || matches!(b, b'"' | b'\'' | b'`' | b')' | b'>' | b'<' | b',' | b'\\') {
            break;
        }
        end += 1;
    }
    let host = lower.get(start..host_end)?.to_owned();
    let rest = text.get(host_end..end)?.to_owned();
    Some((host, rest))
}

/// The label in front of the service suffix `entry` in `host`
/// (`abc` for `abc.ngrok.io`), when the host has one.
pub fn subdomain<'h>(host: &'h str, entry: &str) -> Option<&'h str> {
    let suffix = entry.split('/').next().unwrap_or(entry);
    let prefix = host.strip_suffix(suffix)?.strip_suffix('.')?;
    (!prefix.is_empty()).then_some(prefix)
}

/// Whether a URL remainder is a placeholder rather than a concrete value.
pub fn is_placeholder(rest: &str) -> bool {
    let lower = rest.to_ascii_lowercase();
    [
        "{",
        "}",
        "<",
        "%s",
        "%(",
        "xxx",
        "...",
        "your",
        "example",
        "token_here",
        "$",
        "*",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// `base` for code that runs when called, one step more for code that runs by itself at
/// install or import time, one step less in tests and examples.
pub fn context_severity(base: Severity, file: &FileAnalysis) -> Severity {
    let s = if file.runs_at == RunsAt::Runtime && !is_package_json(file) {
        base
    } else {
        step(base, true)
    };
    if is_test(&file.path) || is_dev_tooling(file) {
        step(s, false)
    } else {
        s
    }
}

/// Whether `file` is the project's own tooling (benchmarks, CI, release scripts) that
/// nothing runs when the package is installed or imported.
pub fn is_dev_tooling(file: &FileAnalysis) -> bool {
    if file.runs_at != RunsAt::Runtime {
        return false;
    }
    let lower = format!("/{}", file.path.to_ascii_lowercase());
    [
        "/benchmarks/",
        "/benchmark/",
        "/cloudbuild/",
        "/.github/",
        "/.circleci/",
        "/ci/",
        "/tasks/",
        "/scripts/",
        "/tools/",
        "/hack/",
        "/dev/",
        "/devtools/",
        "/release/",
    ]
    .iter()
    .any(|d| lower.contains(d))
}

/// Methods and functions that reach the network, beyond the shared catalogue.
const NETWORK_METHODS: &[&str] = &[
    "post",
    "urlopen",
    "sendall",
    "send_message",
    "sendDocument",
    "upload",
    "put",
];

/// Whether `call` talks to the network.
pub fn is_network_call(call: &Call) -> bool {
    if is(NETWORK, &call.callee) {
        return true;
    }
    let method = call.callee.rsplit('.').next().unwrap_or("");
    if NETWORK_METHODS.contains(&method)
        && (call.callee.starts_with("requests.")
            || call.callee.starts_with("httpx.")
            || call.callee.starts_with("urllib")
            || call.callee.starts_with("?."))
    {
        return true;
    }
    // `requests.Session().get(...)`, `session.get("https://…")`, `client.post(...)`.
    (method == "get" || method == "request" || method == "post")
        && call
            .args
            .first()
            .and_then(Arg::as_str)
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
}

/// Whether the parsed file makes any network call.
pub fn has_network_call(source: &SourceFacts) -> bool {
    source.calls.iter().any(is_network_call)
}

/// Whether a shell-ish text fetches or sends over the network (curl, wget, …).
pub fn text_fetches(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "curl ",
        "wget ",
        "invoke-webrequest",
        "invoke-restmethod",
        "iwr ",
        "irm ",
        "downloadstring",
        "downloadfile",
        "net.webclient",
        "certutil",
        "bitsadmin",
        "nc ",
        "/dev/tcp/",
        "urlopen(",
        "requests.get(",
        "requests.post(",
        "fetch(",
        "http.get(",
        "https.get(",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Callees that read files or list directories.
const READ_FUNCS: &[&str] = &[
    "open",
    "io.open",
    "codecs.open",
    "os.open",
    "os.listdir",
    "os.walk",
    "os.scandir",
    "glob.glob",
    "glob.iglob",
    "shutil.copy",
    "shutil.copy2",
    "shutil.copyfile",
    "shutil.copytree",
    "shutil.make_archive",
    "sqlite3.connect",
    "fs.readFileSync",
    "fs.readFile",
    "fs.promises.readFile",
    "fs.createReadStream",
    "fs.readdirSync",
    "fs.readdir",
    "fs.copyFileSync",
    "fs.copyFile",
    "fs.existsSync",
    "fs.promises.readdir",
    "fs-extra.readFileSync",
    "fs-extra.readFile",
    "fs-extra.copySync",
    "fs-extra.copy",
    "File.read",
    "File.open",
    "IO.read",
    "Dir.glob",
];

/// Methods (of any object) that read files.
const READ_METHODS: &[&str] = &[
    "read_text",
    "read_bytes",
    "readlines",
    "readFileSync",
    "readFile",
    "readdirSync",
    "iterdir",
    "rglob",
    "glob",
    "open",
    "listdir",
    "copyfile",
    "copyFileSync",
    "createReadStream",
];

/// Whether `call` reads a file or lists a directory.
pub fn is_read_call(call: &Call) -> bool {
    if READ_FUNCS.contains(&call.callee.as_str()) {
        return true;
    }
    let method = call.callee.rsplit('.').next().unwrap_or("");
    call.callee.contains('.') && READ_METHODS.contains(&method)
}

/// Whether the file reads files (parsed files: a read call; others: a read command).
pub fn reads_files(file: &FileAnalysis, text: Option<&str>) -> bool {
    match &file.source {
        Some(source) => source.calls.iter().any(is_read_call),
        None => text.is_some_and(|t| {
            let lower = t.to_ascii_lowercase();
            [
                "cat ",
                "cp ",
                "tar ",
                "zip ",
                "get-content",
                "copy ",
                "xcopy",
                "type ",
                "base64 ",
                "scp ",
                "@",
            ]
            .iter()
            .any(|p| lower.contains(p))
        }),
    }
}

/// A mention of a tabled service in code.
#[derive(Debug)]
pub struct Mention<'a> {
    pub file: &'a FileAnalysis,
    pub line: u32,
    /// The table entry (`ngrok.io`, `discord.com/api/webhooks`).
    pub entry: &'static str,
    /// The full host around the entry, lowercased (`abc.ngrok.io`).
    pub host: String,
    /// What follows the host (path, query), as written.
    pub rest: String,
    /// The literal or line that holds it.
    pub text: String,
}

/// Every mention of a service of one of `classes` that sits in code (not docs, not
/// comments, not prose), in file order.
pub fn service_mentions<'a>(
    input: &Input<'a>,
    classes: &[ossprey_static::facts::text::ServiceClass],
) -> Vec<Mention<'a>> {
    let mut out = Vec::new();
    for file in &input.facts.files {
        if is_doc(file) || !(is_code(file) || is_package_json(file)) {
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        for hit in &file.text.services {
            if !classes.contains(&hit.class) {
                continue;
            }
            let Some(text) = in_code(input, file, hit.line, hit.domain) else {
                continue;
            };
            let Some((host, rest)) = token_around(&text, hit.domain) else {
                continue;
            };
            if !seen.insert((host.clone(), rest.clone())) {
                continue;
            }
            out.push(Mention {
                file,
                line: hit.line,
                entry: hit.domain,
                host,
                rest,
                text,
            });
        }
    }
    out
}

/// Whether the file that holds a mention also executes something: a process, or code
/// evaluated from a non-literal string.
pub fn executes(file: &FileAnalysis) -> bool {
    use crate::rules::catalog::{CODE_EVAL, PROCESS_EXEC};
    let Some(source) = &file.source else {
        return false;
    };
    source.calls.iter().any(|c| {
        is(PROCESS_EXEC, &c.callee)
            || (is(CODE_EVAL, &c.callee)
                && !matches!(c.callee.as_str(), "setTimeout" | "setInterval")
                && c.args.first().is_some_and(|a| !matches!(a, Arg::Str(_))))
    })
}

/// A mention of a credential store in code.
#[derive(Debug)]
pub struct SecretMention<'a> {
    pub file: &'a FileAnalysis,
    pub line: u32,
    /// The fragment, separators as `/`, lowercased (`local storage/leveldb`).
    pub fragment: String,
    /// The literal or line that holds it.
    pub text: String,
}

/// Every mention of a secret store of one of `classes` that sits in code, in file order.
pub fn secret_mentions<'a>(
    input: &Input<'a>,
    classes: &[ossprey_static::facts::text::SecretClass],
) -> Vec<SecretMention<'a>> {
    let mut out = Vec::new();
    for file in &input.facts.files {
        if is_doc(file) || !(is_code(file) || is_package_json(file)) {
            continue;
        }
        for hit in &file.text.sensitive_paths {
            if !classes.contains(&hit.class) {
                continue;
            }
            let fragment = normalize_fragment(&hit.matched);
            let Some(text) = in_code(input, file, hit.line, &fragment) else {
                continue;
            };
            out.push(SecretMention {
                file,
                line: hit.line,
                fragment,
                text,
            });
        }
    }
    out
}

/// For credential reads: `base` at import time, one step more at install time, one
/// step less for code that runs only when called and in tests. Reading a store is
/// what some tools legitimately do when asked; doing it unprompted is not.
pub fn cred_severity(base: Severity, file: &FileAnalysis) -> Severity {
    let s = match file.runs_at {
        _ if is_package_json(file) => step(base, true),
        RunsAt::Install => step(base, true),
        RunsAt::Import => base,
        RunsAt::Runtime => step(base, false),
    };
    if is_test(&file.path) || is_dev_tooling(file) {
        step(s, false)
    } else {
        s
    }
}

/// Whether the file refers to the user's home directory (`~`, `expanduser`,
/// `os.homedir()`, `Path.home()`, `HOME`/`USERPROFILE`/`APPDATA`).
pub fn refers_home(file: &FileAnalysis) -> bool {
    let Some(source) = &file.source else {
        return true;
    };
    source.calls.iter().any(|c| {
        let m = c.callee.rsplit('.').next().unwrap_or("");
        matches!(m, "expanduser" | "homedir" | "home" | "expandvars")
            || (matches!(
                c.callee.as_str(),
                "os.getenv" | "os.environ" | "os.environ.get" | "process.env"
            ) && c.args.first().and_then(Arg::as_str).is_some_and(|k| {
                matches!(
                    k,
                    "HOME" | "USERPROFILE" | "APPDATA" | "LOCALAPPDATA" | "HOMEPATH"
                )
            }))
    }) || source.strings.iter().any(|s| {
        s.value.starts_with('~')
            || s.value.contains("%USERPROFILE%")
            || s.value.contains("%APPDATA%")
            || s.value.contains("$HOME")
    })
}

/// Groups the mentions by file, keeping file order.
pub fn by_file<'a, 'm>(
    mentions: &'m [SecretMention<'a>],
) -> Vec<(&'a FileAnalysis, Vec<&'m SecretMention<'a>>)> {
    let mut out: Vec<(&'a FileAnalysis, Vec<&'m SecretMention<'a>>)> = Vec::new();
    for m in mentions {
        match out.iter_mut().find(|(f, _)| std::ptr::eq(*f, m.file)) {
            Some((_, list)) => list.push(m),
            None => out.push((m.file, vec![m])),
        }
    }
    out
}

/// Whether a code line or literal writes rather than reads (`writeFileSync`, `open(p, "w")`).
pub fn looks_like_write(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    (lower.contains("write") || lower.contains("append") || lower.contains(">>"))
        && !lower.contains("read")
}

/// How many lines apart a fetch and the code that runs it may be.
const NEAR_LINES: u32 = 25;

/// Whether, within a few lines of `line`, the file runs a process or evaluates code
/// from a non-literal string: what a fetched second stage needs.
pub fn executes_near(file: &FileAnalysis, line: u32) -> bool {
    use crate::rules::catalog::{CODE_EVAL, PROCESS_EXEC};
    let Some(source) = &file.source else {
        return false;
    };
    source.calls.iter().any(|c| {
        c.line.abs_diff(line) <= NEAR_LINES
            && (is(PROCESS_EXEC, &c.callee)
                || (is(CODE_EVAL, &c.callee)
                    && !matches!(c.callee.as_str(), "setTimeout" | "setInterval")
                    && c.args.first().is_some_and(|a| !matches!(a, Arg::Str(_)))))
    })
}
