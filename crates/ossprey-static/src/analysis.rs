//! Static analysis of a whole package: parse every source file, scan every text
//! file, and work out **when** each file's code runs.
//!
//! The same call weighs far more in code that runs by itself at install time
//! (`setup.py`, npm lifecycle scripts and the files they run, `.pth` files,
//! `build.rs`, `extconf.rb`) or at import time (`__init__.py`, a top-level
//! module, npm `main`) than in a function nobody calls. [`RunsAt`] records that
//! for every file; rules weigh their findings by it.
//!
//! Large packages are tiered (see [`crate::tier`]): not every file is parsed,
//! and files found to run at install or import time are parsed when found.
//!
//! Nothing here executes package code.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ossprey_model::{Ecosystem, FileKind, HookTrigger, ManifestFacts};
use serde::Serialize;

use crate::PackageFiles;
use crate::facts::text::TextFacts;
use crate::facts::{Language, SourceFacts};

/// Files larger than this are scanned as text (URLs, services, sensitive paths,
/// blobs, obfuscation markers) but not parsed: a parse tree costs three to four
/// times the source (a 50 MB minified bundle needs about 200 MB of AST), and the
/// memory budget is 200 MB for a whole package. Splitting such files into
/// separately parsed top-level segments would close this gap; it is not done yet.
pub const MAX_PARSE_BYTES: usize = 16 << 20;
/// How many `require`/`import` hops install- and import-time marking follows.
const MAX_FOLLOW_DEPTH: usize = 4;

/// When a file's code runs without anyone calling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunsAt {
    /// Only when something calls into it.
    Runtime,
    /// When the package is imported / required (`__init__.py`, npm `main`).
    Import,
    /// When the package is installed or built (setup.py, npm hooks, `.pth`, build.rs, extconf.rb).
    Install,
}

/// What static analysis learned about one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileAnalysis {
    pub path: String,
    pub kind: FileKind,
    /// Set for files a parser read.
    pub language: Option<Language>,
    /// Parser facts (imports, calls, strings), for Python/JavaScript/TypeScript.
    pub source: Option<SourceFacts>,
    /// Parser-free facts: URLs, IPs, blobs, obfuscation markers, Unicode tricks.
    pub text: TextFacts,
    pub runs_at: RunsAt,
    /// Why `runs_at` is what it is (`setup.py`, `npm postinstall: node x.js`, `imported by a/b.py`).
    pub runs_at_reason: Option<String>,
    /// Set when `runs_at` came from a local import: the install- or import-time
    /// file that imports this one. Such a file runs only what its importer calls.
    pub imported_by: Option<String>,
}

/// Static facts about a whole package.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StaticFacts {
    pub files: Vec<FileAnalysis>,
}

impl StaticFacts {
    pub fn file(&self, path: &str) -> Option<&FileAnalysis> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// Parses and scans every readable text file of `files` and marks install- and
/// import-time files.
///
/// Packages over the parse budget are tiered (see [`crate::tier`]): a large
/// runtime-only file whose text shows no signal is scanned but not parsed.
/// Whether a file runs at install or import time is known only once the files
/// importing it are parsed, so marking and parsing alternate until no
/// unparsed file is found to run unprompted.
pub fn analyze(files: &PackageFiles, manifest: &ManifestFacts) -> StaticFacts {
    // JavaScript parses need a deep stack; with more than one JavaScript file,
    // give the whole package one such thread rather than each file its own
    // hand-off (see `facts::js::with_parse_stack`).
    let js_files = files
        .entries()
        .iter()
        .filter(|e| matches!(e.kind, FileKind::Javascript | FileKind::Typescript))
        .take(2)
        .count();
    if js_files > 1
        && let Some(facts) = crate::facts::js::with_parse_stack(|| analyze_here(files, manifest))
    {
        return facts;
    }
    analyze_here(files, manifest)
}

fn analyze_here(files: &PackageFiles, manifest: &ManifestFacts) -> StaticFacts {
    let source_bytes: u64 = files
        .kept()
        .filter(|(e, _)| is_text_kind(e.kind) && language_of(e.kind).is_some())
        .map(|(e, _)| e.size)
        .sum();
    let tiered = source_bytes > crate::tier::PARSE_ALL_BYTES;
    let mut budget = FactBudget::default();
    let mut out = Vec::new();
    // (index into `out`, entry index) of files the tier left unparsed.
    let mut deferred: Vec<(usize, usize)> = Vec::new();
    // Contents already parsed, by sha256: bundles ship the same large file
    // under several paths (`dist/esm`, `dist/cjs`, `dist/collection`).
    let mut parsed_contents: HashSet<&str> = HashSet::new();
    for (index, entry, data, text) in files.kept_text_indexed() {
        if !is_text_kind(entry.kind) {
            continue;
        }
        let language = language_of(entry.kind);
        let text_facts = crate::facts::text::scan(&text);
        let source = match language {
            Some(lang) if data.len() <= MAX_PARSE_BYTES => {
                let wanted = !tiered
                    || crate::tier::wants_parse(lang, &text, &text_facts)
                        && (data.len() <= crate::tier::SMALL_FILE_BYTES
                            || parsed_contents.insert(entry.sha256.as_str()));
                if wanted {
                    Some(budget.parse(lang, &entry.path, &text))
                } else {
                    deferred.push((out.len(), index));
                    None
                }
            }
            _ => None,
        };
        out.push(FileAnalysis {
            path: entry.path.clone(),
            kind: entry.kind,
            language,
            source,
            text: text_facts,
            runs_at: RunsAt::Runtime,
            runs_at_reason: None,
            imported_by: None,
        });
    }
    let mut facts = StaticFacts { files: out };
    loop {
        mark_run_contexts(&mut facts, files, manifest);
        let (due, rest): (Vec<_>, Vec<_>) = deferred.into_iter().partition(|&(i, _)| {
            facts
                .files
                .get(i)
                .is_some_and(|f| f.runs_at != RunsAt::Runtime)
        });
        deferred = rest;
        if due.is_empty() {
            break;
        }
        for (i, index) in due {
            let Some(text) = files.text_at(index) else {
                continue;
            };
            if let Some(f) = facts.files.get_mut(i)
                && let Some(lang) = f.language
            {
                f.source = Some(budget.parse(lang, &f.path, &text));
            }
        }
        // Newly parsed files may import more files: mark again from scratch.
        for f in &mut facts.files {
            f.runs_at = RunsAt::Runtime;
            f.runs_at_reason = None;
            f.imported_by = None;
        }
    }
    facts
}

/// Call and string facts retained so far in one package, see [`PACKAGE_CALLS`].
#[derive(Default)]
struct FactBudget {
    calls: usize,
    strings: usize,
}

impl FactBudget {
    /// Parses one file and cuts its facts to what rules read when the file
    /// or the package is bulky.
    fn parse(&mut self, language: Language, path: &str, text: &str) -> SourceFacts {
        let mut facts = match language {
            Language::Python => crate::facts::python::extract(path, text),
            Language::Javascript | Language::Typescript => crate::facts::js::extract(path, text),
        };
        if facts.calls.len() > BULK_CALLS
            || facts.strings.len() > BULK_STRINGS
            || self.calls > PACKAGE_CALLS
            || self.strings > PACKAGE_STRINGS
        {
            keep_notable(&mut facts);
        }
        facts.shrink_to_fit();
        self.calls += facts.calls.len();
        self.strings += facts.strings.len();
        facts
    }
}

/// A file with more calls than this is a bundle or generated code (a 4 MB
/// icon module has tens of thousands of `createElement` calls). Its facts are
/// cut to what rules can use, see [`keep_notable`]: a package of hundreds of
/// such files otherwise holds several hundred megabytes of call facts.
const BULK_CALLS: usize = 2_000;
/// Once a package's files have this many calls in all, later files keep only
/// their notable facts too: a package of thousands of ordinary modules would
/// otherwise hold a few hundred megabytes of facts no rule reads.
const PACKAGE_CALLS: usize = 100_000;
/// The same for string literals: data packages (Unicode tables, icon sets)
/// are thousands of files of literals.
const PACKAGE_STRINGS: usize = 200_000;
/// A file with more string literals than this is a data table.
const BULK_STRINGS: usize = 10_000;
/// In a bulk file, string literals shorter than this are dropped: rules look
/// for commands, URLs, paths and encoded blobs, all longer.
const BULK_MIN_STRING_CHARS: usize = 12;
/// In a bulk file, at most this many string literals are kept ...
const BULK_MAX_STRINGS: usize = 5_000;
/// ... each cut to this many characters (`StringLit::len` keeps the full length).
const BULK_MAX_STRING_CHARS: usize = 512;

/// Modules and globals whose calls rules read: process execution, code
/// evaluation, network, files, environment, decoding, crypto, native code.
/// Matched against the first dotted component of a resolved callee; names both
/// languages use (`os`, `zlib`) are listed once.
const NOTABLE_ROOTS: &[&str] = &[
    // JavaScript: Node built-ins, globals, common HTTP clients.
    "child_process",
    "fs",
    "fs/promises",
    "http",
    "https",
    "http2",
    "net",
    "tls",
    "dgram",
    "dns",
    "os",
    "crypto",
    "vm",
    "process",
    "Buffer",
    "zlib",
    "module",
    "worker_threads",
    "cluster",
    "eval",
    "Function",
    "require",
    "import",
    "fetch",
    "atob",
    "btoa",
    "unescape",
    "decodeURIComponent",
    "escape",
    "String",
    "setTimeout",
    "setInterval",
    "XMLHttpRequest",
    "WebSocket",
    "axios",
    "request",
    "got",
    "node-fetch",
    "needle",
    "superagent",
    "ws",
    // Python: the standard library's process, network, file, decoding and
    // introspection modules, built-ins, and common clients.
    "subprocess",
    "sys",
    "socket",
    "urllib",
    "urllib2",
    "urllib3",
    "requests",
    "httpx",
    "aiohttp",
    "pycurl",
    "base64",
    "binascii",
    "lzma",
    "bz2",
    "gzip",
    "marshal",
    "pickle",
    "codecs",
    "exec",
    "compile",
    "__import__",
    "getattr",
    "setattr",
    "globals",
    "open",
    "ctypes",
    "shutil",
    "platform",
    "getpass",
    "pty",
    "winreg",
    "tempfile",
    "importlib",
    "builtins",
    "webbrowser",
    "smtplib",
    "ftplib",
    "telnetlib",
    "paramiko",
    "cryptography",
    "Crypto",
    "Cryptodome",
    "pathlib",
    "io",
    "threading",
    "multiprocessing",
    "asyncio",
    "json",
    "sqlite3",
    "uuid",
    "setuptools",
    "distutils",
    "pip",
];
/// In a bulk file, a call kept for its notable root has at most this many
/// dotted parts. Minified bundles alias one short name to many objects, and
/// alias resolution then yields callees such as
/// `process.env.X.next.next.comments.name.length.Y` by the ten thousand (a
/// third of a large npm package's facts); real API paths under a notable root
/// (`fs.promises.readFile`, `process.mainModule.constructor._load`) are far
/// shorter. Calls ending in a notable method are kept at any length.
const BULK_MAX_ROOTED_PARTS: usize = 6;
/// Methods on receivers of unknown origin (`?.write`) that rules read.
const NOTABLE_METHODS: &[&str] = &[
    "exec",
    "execSync",
    "spawn",
    "spawnSync",
    "execFile",
    "execFileSync",
    "fork",
    "system",
    "popen",
    "Popen",
    "run",
    "call",
    "check_output",
    "check_call",
    "write",
    "writeFile",
    "writeFileSync",
    "appendFile",
    "appendFileSync",
    "readFile",
    "readFileSync",
    "read",
    "connect",
    "request",
    "send",
    "sendall",
    "post",
    "get",
    "put",
    "open",
    "urlopen",
    "urlretrieve",
    "lookup",
    "resolve",
    "decode",
    "decompress",
    "b64decode",
    "loads",
    "load",
    "update",
    "final",
    "decrypt",
    "eval",
    "exec_module",
    "unlink",
    "rmSync",
    "rmdir",
    "chmod",
    "chmodSync",
    "copyFile",
    "rename",
    "startfile",
    "setsockopt",
    "bind",
    "listen",
];

/// Cuts a bulk file's facts to what rules read: calls into [`NOTABLE_ROOTS`]
/// or [`NOTABLE_METHODS`], bare calls of local functions (liveness follows
/// them), and string literals of [`BULK_MIN_STRING_CHARS`] or more.
fn keep_notable(facts: &mut SourceFacts) {
    facts.calls.retain(|call| {
        let callee = call.callee.as_str();
        if let Some(method) = callee.strip_prefix("?.") {
            return NOTABLE_METHODS.contains(&method);
        }
        let root = callee.split('.').next().unwrap_or(callee);
        !callee.contains('.') && call.scope.is_none()
            || NOTABLE_ROOTS.contains(&root) && callee.split('.').count() <= BULK_MAX_ROOTED_PARTS
            || callee
                .rsplit('.')
                .next()
                .is_some_and(|last| NOTABLE_METHODS.contains(&last))
    });
    // A bundle reads `process.env.NODE_ENV` thousands of times, each a
    // synthetic call with its snippet. Rules read which variables are read, whether at top level, and
    // the first such read: keep the first read of each name at each of the
    // two levels. Reads of the whole object (`Other`) are all kept, rules
    // look at each one's line.
    let mut env_seen: HashSet<(String, bool)> = HashSet::new();
    facts.calls.retain(|call| {
        if call.callee != crate::facts::js::PROCESS_ENV {
            return true;
        }
        match call.args.first() {
            Some(crate::facts::Arg::Str(name)) => {
                env_seen.insert((name.clone(), call.scope.is_none()))
            }
            _ => true,
        }
    });
    facts.strings.retain(|s| s.len >= BULK_MIN_STRING_CHARS);
    // Generated files hold thousands of long data literals (SVG paths,
    // tables). Encoded payloads and URLs in them are still found by the text
    // scan, which reads the whole file; the parsed literals are cut to a sample.
    facts.strings.truncate(BULK_MAX_STRINGS);
    for lit in &mut facts.strings {
        if let Some((cut, _)) = lit.value.char_indices().nth(BULK_MAX_STRING_CHARS) {
            lit.value.truncate(cut);
        }
    }
}

fn is_text_kind(kind: FileKind) -> bool {
    !matches!(
        kind,
        FileKind::Elf
            | FileKind::Pe
            | FileKind::Macho
            | FileKind::Wasm
            | FileKind::JavaClass
            | FileKind::Archive
            | FileKind::Image
            | FileKind::Font
            | FileKind::Binary
            | FileKind::Empty
            | FileKind::Link
            | FileKind::PythonBytecode
    )
}

fn language_of(kind: FileKind) -> Option<Language> {
    match kind {
        FileKind::Python => Some(Language::Python),
        FileKind::Javascript => Some(Language::Javascript),
        FileKind::Typescript => Some(Language::Typescript),
        _ => None,
    }
}

/// Marks install- and import-time files, following local imports from them.
fn mark_run_contexts(facts: &mut StaticFacts, files: &PackageFiles, manifest: &ManifestFacts) {
    let root = files.root().to_owned();
    let paths: BTreeSet<&str> = facts.files.iter().map(|f| f.path.as_str()).collect();
    // path → (when it runs, why, the file importing it when that is why).
    let mut marks: BTreeMap<String, (RunsAt, String, Option<String>)> = BTreeMap::new();
    let mut mark = |path: &str, at: RunsAt, why: String| {
        let e = marks
            .entry(path.to_owned())
            .or_insert((at, why.clone(), None));
        if at > e.0 {
            *e = (at, why, None);
        }
    };

    for hook in &manifest.install_hooks {
        match hook.trigger {
            HookTrigger::NpmPreinstall
            | HookTrigger::NpmInstall
            | HookTrigger::NpmPostinstall
            | HookTrigger::NpmPrepare => {
                let Some(command) = &hook.command else {
                    continue;
                };
                let trigger = hook_name(hook.trigger);
                for target in script_targets(command) {
                    let path = format!("{root}{}", normalize_rel(&target));
                    if paths.contains(path.as_str()) {
                        mark(
                            &path,
                            RunsAt::Install,
                            format!("npm {trigger}: {}", crate::facts::snippet(command, 120)),
                        );
                    }
                }
            }
            HookTrigger::BindingGyp | HookTrigger::PythonBuildBackend => {}
            HookTrigger::SetupPy
            | HookTrigger::SetupPyCmdclass
            | HookTrigger::PthFile
            | HookTrigger::BuildRs
            | HookTrigger::GemExtension => {
                mark(
                    &hook.path,
                    RunsAt::Install,
                    hook_name(hook.trigger).to_owned(),
                );
            }
        }
    }

    match manifest.ecosystem {
        Some(Ecosystem::Pypi) => {
            for f in &facts.files {
                if f.kind != FileKind::Python {
                    continue;
                }
                let Some(rel) = f.path.strip_prefix(root.as_str()) else {
                    continue;
                };
                let rel = rel.strip_prefix("src/").unwrap_or(rel);
                let parts: Vec<&str> = rel.split('/').collect();
                let is_package_init = parts.len() == 2 && parts[1] == "__init__.py";
                let is_top_module = parts.len() == 1
                    && rel.ends_with(".py")
                    && !matches!(
                        rel,
                        "setup.py" | "conftest.py" | "noxfile.py" | "fabfile.py" | "tasks.py"
                    );
                if (is_package_init || is_top_module) && !rel.starts_with("test") {
                    mark(
                        &f.path,
                        RunsAt::Import,
                        "imported with the package".to_owned(),
                    );
                }
            }
        }
        Some(Ecosystem::Npm) => {
            let main = npm_main(files, &root);
            if let Some(main) = main.iter().find(|p| paths.contains(p.as_str())) {
                mark(main, RunsAt::Import, "npm main".to_owned());
            }
        }
        Some(Ecosystem::Rubygems) => {
            if let Some(name) = &manifest.name {
                let lib = format!("data.tar.gz!/lib/{name}.rb");
                if paths.contains(lib.as_str()) {
                    mark(&lib, RunsAt::Import, "gem entry point".to_owned());
                }
            }
        }
        Some(Ecosystem::Crates) | None => {}
    }

    // Follow local imports from install- and import-time files. Looked up by
    // path: a large package has thousands of files and hundreds of marks.
    // Reversed so that, as `find` did, the first file of a duplicated path wins.
    let by_path: BTreeMap<&str, &FileAnalysis> = facts
        .files
        .iter()
        .rev()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let mut frontier: Vec<(String, usize)> = marks.keys().map(|p| (p.clone(), 0)).collect();
    while let Some((path, depth)) = frontier.pop() {
        if depth >= MAX_FOLLOW_DEPTH {
            continue;
        }
        let Some(at) = marks.get(&path).map(|m| m.0) else {
            continue;
        };
        let Some(&file) = by_path.get(path.as_str()) else {
            continue;
        };
        let Some(source) = &file.source else { continue };
        for import in &source.imports {
            if import.dynamic {
                continue;
            }
            for candidate in local_module_paths(
                &path,
                &root,
                &import.module,
                import.member.as_deref(),
                file.language,
            ) {
                if !paths.contains(candidate.as_str()) {
                    continue;
                }
                let better = marks
                    .get(&candidate)
                    .is_none_or(|(existing, _, _)| at > *existing);
                if better {
                    marks.insert(
                        candidate.clone(),
                        (at, format!("imported by {path}"), Some(path.clone())),
                    );
                    frontier.push((candidate, depth + 1));
                }
            }
        }
    }

    for f in &mut facts.files {
        if let Some((at, why, importer)) = marks.remove(&f.path) {
            f.runs_at = at;
            f.runs_at_reason = Some(why);
            f.imported_by = importer;
        }
    }
}

fn hook_name(trigger: HookTrigger) -> &'static str {
    match trigger {
        HookTrigger::NpmPreinstall => "preinstall",
        HookTrigger::NpmInstall => "install",
        HookTrigger::NpmPostinstall => "postinstall",
        HookTrigger::NpmPrepare => "prepare",
        HookTrigger::BindingGyp => "binding.gyp",
        HookTrigger::SetupPy => "setup.py",
        HookTrigger::SetupPyCmdclass => "setup.py cmdclass",
        HookTrigger::PthFile => ".pth file",
        HookTrigger::PythonBuildBackend => "build backend",
        HookTrigger::BuildRs => "build.rs",
        HookTrigger::GemExtension => "gem extension",
    }
}

/// Script files an npm lifecycle command runs: `node x.js`, `sh ./x.sh`, `python x.py`.
fn script_targets(command: &str) -> Vec<String> {
    crate::facts::shell::parse(command)
        .commands
        .iter()
        .filter_map(|c| {
            let program = c.argv.first()?.rsplit('/').next()?.to_owned();
            let interpreter = matches!(
                program.as_str(),
                "node"
                    | "nodejs"
                    | "sh"
                    | "bash"
                    | "zsh"
                    | "dash"
                    | "python"
                    | "python3"
                    | "ruby"
                    | "perl"
                    | "tsx"
                    | "ts-node"
            );
            if !interpreter {
                // `./install.sh` run directly.
                let arg0 = c.argv.first()?;
                return (arg0.starts_with("./") || arg0.contains('/') && !arg0.starts_with('/'))
                    .then(|| arg0.clone());
            }
            c.argv.iter().skip(1).find(|a| !a.starts_with('-')).cloned()
        })
        .collect()
}

fn normalize_rel(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// npm's entry point: `main` from package.json, else `index.js`.
fn npm_main(files: &PackageFiles, root: &str) -> Vec<String> {
    let main = files
        .content(&format!("{root}package.json"))
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v.get("main").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "index.js".to_owned());
    let base = format!("{root}{}", normalize_rel(&main));
    vec![
        base.clone(),
        format!("{base}.js"),
        format!("{base}/index.js"),
    ]
}

/// Files a local import may refer to.
fn local_module_paths(
    from: &str,
    root: &str,
    module: &str,
    member: Option<&str>,
    language: Option<Language>,
) -> Vec<String> {
    let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
    match language {
        Some(Language::Javascript | Language::Typescript) => {
            if !(module.starts_with("./") || module.starts_with("../")) {
                return Vec::new();
            }
            let base = normalize_rel(&format!("{dir}/{module}"));
            ["", ".js", ".cjs", ".mjs", ".ts", "/index.js"]
                .iter()
                .map(|ext| format!("{base}{ext}"))
                .collect()
        }
        Some(Language::Python) => {
            let (base_dir, rest) = if let Some(stripped) = module.strip_prefix('.') {
                // `.x` is relative to the importing file's package; each extra dot climbs one level.
                let ups = stripped.chars().take_while(|&c| c == '.').count();
                let mut d = dir.to_owned();
                for _ in 0..ups {
                    d = d
                        .rsplit_once('/')
                        .map_or(String::new(), |(p, _)| p.to_owned());
                }
                (d, stripped.trim_start_matches('.').to_owned())
            } else {
                (root.trim_end_matches('/').to_owned(), module.to_owned())
            };
            let mut out = Vec::new();
            let mut names = vec![rest.clone()];
            if let Some(m) = member {
                names.push(if rest.is_empty() {
                    m.to_owned()
                } else {
                    format!("{rest}.{m}")
                });
            }
            for name in names {
                let rel = name.replace('.', "/");
                for prefix in [base_dir.clone(), format!("{}/src", base_dir)] {
                    let p = if rel.is_empty() {
                        prefix.clone()
                    } else {
                        format!("{prefix}/{rel}")
                    };
                    let p = p.trim_start_matches('/').to_owned();
                    out.push(format!("{p}.py"));
                    out.push(format!("{p}/__init__.py"));
                }
            }
            out
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod bulk_tests {
    use super::*;
    use crate::facts::{Arg, Call};

    fn call(callee: &str, arg: Arg, line: u32, scope: Option<&str>) -> Call {
        Call {
            callee: callee.to_owned(),
            args: vec![arg],
            kwargs: Vec::new(),
            line,
            scope: scope.map(str::to_owned),
            snippet: format!("{callee} at {line}"),
        }
    }

    #[test]
    fn bulk_files_keep_one_env_read_per_name_and_level_and_drop_alias_chains() {
        let env = |name: &str| Arg::Str(name.to_owned());
        let mut facts = SourceFacts {
            calls: vec![
                call("process.env", env("NODE_ENV"), 1, Some("f")),
                call("process.env", env("NODE_ENV"), 2, Some("g")),
                call("process.env", env("NODE_ENV"), 3, None),
                call("process.env", env("NODE_ENV"), 4, None),
                call("process.env", env("NPM_TOKEN"), 5, Some("f")),
                call("process.env", Arg::Other, 6, Some("f")),
                call("process.env", Arg::Other, 7, Some("f")),
                call(
                    "process.env.X.next.next.comments.name.length",
                    Arg::Other,
                    8,
                    None,
                ),
                call(
                    "process.env.X.next.next.comments.write",
                    Arg::Other,
                    9,
                    None,
                ),
                call("fs.promises.readFile", Arg::Other, 10, Some("f")),
            ],
            ..SourceFacts::default()
        };
        keep_notable(&mut facts);
        let lines: Vec<u32> = facts.calls.iter().map(|c| c.line).collect();
        // First scoped and first top-level NODE_ENV read, NPM_TOKEN, both
        // whole-object reads, the chain ending in a notable method, fs.
        assert_eq!(lines, [1, 3, 5, 6, 7, 9, 10]);
    }
}
