//! Which files of a large package get the full parser.
//!
//! Parsing is most of the CPU time of a scan and its facts most of the memory,
//! and both are decided by a few large packages (django, mlflow, plotly, data
//! packages of Unicode tables or icon sets): megabytes of runtime-only library
//! code in which nothing a rule looks for appears. The budget:
//!
//! * A package whose parseable source (Python, JavaScript, TypeScript) totals at
//!   most [`PARSE_ALL_BYTES`] is parsed whole. Almost every package is, and so
//!   is every sample of the malicious corpora.
//! * Above it, a file is parsed when it is small ([`SMALL_FILE_BYTES`] or
//!   less), when it runs at install or import time (including the files those
//!   import, followed as far as run contexts are: see `analysis`), or when its
//!   text shows a signal: a capability token ([`capability_signal`]: code
//!   execution, process spawning, decoders, dynamic import, raw sockets, native
//!   calls, host reconnaissance, environment reads), or a text fact rules act on — a sensitive
//!   path, a tabled service, a public IP literal, an encoded blob, an
//!   obfuscator signature, `_0x` identifiers, escape-heavy strings, bidi or
//!   zero-width characters, homoglyph identifiers.
//! * A large file whose content (sha256) was already parsed under another
//!   path of the package is not parsed again unless it runs at install or
//!   import time: bundles ship the same file as `dist/esm`, `dist/cjs` and
//!   `dist/collection` copies. The first copy carries the call facts.
//! * Every other file (large, runtime-only, none of the above) is not parsed.
//!   Its text facts stay, so URL, blob, service and obfuscation rules still see
//!   it; only call-level facts are missing, and a runtime-only file without a
//!   single capability token has no call those rules read.
//!
//! Long lines alone are not a signal: a minified bundle or a generated data
//! table is benign by itself (the text pass keeps `minified` apart from the
//! encoding markers for that reason), and it is exactly the kind of file that
//! costs the most to parse.
//!
//! The gap this leaves: malicious code in a large package's runtime-only file
//! that reaches no capability through a listed token (for example, calling
//! `exec` through a computed attribute name with no decoder or blob in the
//! file). The install- and import-time files of such a package are still
//! parsed, and they are where injected code must hook in to run unprompted.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::facts::Language;
use crate::facts::text::TextFacts;

/// Packages with at most this many bytes of parseable source are parsed whole.
pub const PARSE_ALL_BYTES: u64 = 4 << 20;
/// Above the package budget, files of at most this many bytes are still parsed.
pub const SMALL_FILE_BYTES: usize = 16 << 10;

/// Whether a file of a package over the budget needs the parser regardless of
/// when it runs: it is small, or its text shows a signal.
pub fn wants_parse(language: Language, text: &str, facts: &TextFacts) -> bool {
    text.len() <= SMALL_FILE_BYTES || text_signal(facts) || capability_signal(language, text)
}

/// A text fact that rules act on (see the module docs).
pub fn text_signal(facts: &TextFacts) -> bool {
    let obf = &facts.obfuscation;
    !facts.sensitive_paths.is_empty()
        || !facts.services.is_empty()
        || !facts.ips.is_empty()
        || !facts.blobs.is_empty()
        || !obf.markers.is_empty()
        || obf.hex_identifiers > 0
        || obf.escape_heavy_spans > 0
        || !facts.unicode.bidi.is_empty()
        || !facts.unicode.zero_width.is_empty()
        || !facts.unicode.homoglyph_identifiers.is_empty()
}

/// Tokens that name a capability malware uses, per language. Matched case
/// sensitively; a token starting with an identifier character must not follow
/// one (`isFunction(` is not `Function(`), and the bare builtins
/// ([`BUILTIN_CALLS`]) must not follow a `.` either (`re.compile(`,
/// `model.eval()`).
const PYTHON_TOKENS: &[&str] = &[
    "exec(",
    "eval(",
    "compile(",
    "__import__",
    "importlib",
    "__builtins__",
    "builtins",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.startfile",
    "subprocess",
    "pty.spawn",
    "b64decode",
    "b32decode",
    "b16decode",
    "a85decode",
    "b85decode",
    "unhexlify",
    "fromhex",
    "marshal",
    "zlib",
    "lzma",
    "bz2",
    "codecs.decode",
    "rot13",
    "rot_13",
    "socket",
    "ctypes",
    "urlopen",
    "urlretrieve",
    "gethostname",
    "getpass",
    "getuser",
    "os.environ",
    "getenv",
    "environ.items",
    "environ.copy",
    "winreg",
    "webhook",
];
const JS_TOKENS: &[&str] = &[
    "eval(",
    "Function(",
    "child_process",
    "execSync",
    "execFile",
    "spawn(",
    "spawnSync",
    "fromCharCode",
    "atob(",
    "vm.run",
    "runInNewContext",
    "runInThisContext",
    "process.binding",
    "stringify(process.env",
    "(process.env)",
    "homedir",
    "userInfo(",
    "hostname()",
    "networkInterfaces",
    "http.request",
    "https.request",
    "http.get(",
    "https.get(",
    "createConnection",
    "net.Socket",
    "new Socket",
    "dgram",
    "dns.",
    "require(\"vm\")",
    "require('vm')",
    "require(\"net\")",
    "require('net')",
    "require(\"http",
    "require('http",
    "require(\"os\")",
    "require('os')",
    "webhook",
];
/// Builtins that are also common method names; see [`PYTHON_TOKENS`].
const BUILTIN_CALLS: &[&str] = &["exec(", "eval(", "compile("];

struct Tokens {
    automaton: AhoCorasick,
    patterns: &'static [&'static str],
}

fn build(patterns: &'static [&'static str]) -> Option<Tokens> {
    // A contiguous NFA builds in a fraction of the time of a DFA: these sets
    // run once per large file, not on every file, and process start counts.
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(patterns)
        .ok()?;
    Some(Tokens {
        automaton,
        patterns,
    })
}

static PYTHON: LazyLock<Option<Tokens>> = LazyLock::new(|| build(PYTHON_TOKENS));
static JS: LazyLock<Option<Tokens>> = LazyLock::new(|| build(JS_TOKENS));

/// Whether `text` holds a capability token of `language` (see [`PYTHON_TOKENS`]).
/// When the token tables fail to build, every file counts as a signal: the
/// tier then parses everything, as before it existed.
pub fn capability_signal(language: Language, text: &str) -> bool {
    let tokens = match language {
        Language::Python => &*PYTHON,
        Language::Javascript | Language::Typescript => &*JS,
    };
    let Some(tokens) = tokens.as_ref() else {
        return true;
    };
    let bytes = text.as_bytes();
    tokens.automaton.find_iter(bytes).any(|m| {
        let Some(token) = tokens.patterns.get(m.pattern().as_usize()) else {
            return true;
        };
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let starts_ident = token.as_bytes().first().is_some_and(|&b| is_ident_byte(b));
        match before {
            Some(b) if starts_ident && is_ident_byte(b) => false,
            Some(b'.') if BUILTIN_CALLS.contains(token) => false,
            _ => true,
        }
    })
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_tokens_need_a_boundary() {
        let py = Language::Python;
        assert!(capability_signal(py, "x = 1\nexec(payload)\n"));
        assert!(capability_signal(py, "import subprocess\n"));
        assert!(capability_signal(py, "data = base64.b64decode(s)\n"));
        // Method calls named like builtins, and identifiers containing a token.
        assert!(!capability_signal(py, "pattern = re.compile(r'x')\n"));
        assert!(!capability_signal(py, "model.eval()\ncursor.execute(q)\n"));
        assert!(!capability_signal(py, "def my_socketpair(): pass\n"));
        let js = Language::Javascript;
        assert!(capability_signal(js, "const f = new Function('return 1')"));
        assert!(capability_signal(js, "require('child_process').exec(c)"));
        assert!(!capability_signal(js, "if (isFunction(x)) { return 1 }"));
        assert!(!capability_signal(js, "export const x = [1, 2, 3];"));
    }

    /// Ordinary code with no capability token, `bytes` long.
    fn filler(bytes: usize) -> String {
        let mut out = String::new();
        let mut i = 0;
        while out.len() < bytes {
            out.push_str(&format!("def f{i}(x):\n    return x + {i}\n\n"));
            i += 1;
        }
        out
    }

    fn analyze(files: &[(&str, String)]) -> crate::analysis::StaticFacts {
        let files = crate::PackageFiles::from_memory(files.iter().map(|(p, d)| (*p, d.as_bytes())));
        let manifest = crate::manifest::extract(&files, Some(ossprey_model::Ecosystem::Pypi));
        crate::analysis::analyze(&files, &manifest)
    }

    fn package(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let big = filler(64 << 10);
        let mut files = vec![
            (
                "pkg-1.0/PKG-INFO",
                "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n".to_owned(),
            ),
            ("pkg-1.0/pkg/__init__.py", "from . import core\n".to_owned()),
            (
                "pkg-1.0/pkg/core.py",
                format!("from . import helpers\n{big}"),
            ),
            ("pkg-1.0/pkg/helpers.py", big.clone()),
            ("pkg-1.0/pkg/runner.py", format!("{big}\nexec(payload)\n")),
            ("pkg-1.0/pkg/quiet.py", big.clone()),
            ("pkg-1.0/pkg/copy_a.py", format!("import subprocess\n{big}")),
            ("pkg-1.0/pkg/copy_b.py", format!("import subprocess\n{big}")),
        ];
        files.extend(extra.iter().cloned());
        files
    }

    #[test]
    fn large_packages_parse_only_what_runs_or_signals() {
        let tables = filler(usize::try_from(PARSE_ALL_BYTES).unwrap_or(usize::MAX) + 1);
        let facts = analyze(&package(&[("pkg-1.0/pkg/tables.py", tables)]));
        let parsed = |name: &str| {
            let f = facts
                .file(&format!("pkg-1.0/pkg/{name}"))
                .unwrap_or_else(|| panic!("{name} analysed"));
            f.source.is_some()
        };
        // Runtime-only, large, no signal: scanned, not parsed.
        assert!(!parsed("tables.py"));
        assert!(!parsed("quiet.py"));
        assert!(
            facts
                .file("pkg-1.0/pkg/quiet.py")
                .is_some_and(|f| f.text.obfuscation.lines > 0)
        );
        // Small, or a capability token.
        assert!(parsed("__init__.py"));
        assert!(parsed("runner.py"));
        // Import time, one and two hops from `__init__.py`: parsed on demand,
        // and the second hop is only known once the first is parsed.
        assert!(parsed("core.py"));
        assert!(parsed("helpers.py"));
        let helpers = facts.file("pkg-1.0/pkg/helpers.py");
        assert!(helpers.is_some_and(|f| f.runs_at == crate::analysis::RunsAt::Import));
        // The same large content twice: the first copy carries the facts.
        assert!(parsed("copy_a.py"));
        assert!(!parsed("copy_b.py"));
    }

    #[test]
    fn packages_under_the_budget_are_parsed_whole() {
        let facts = analyze(&package(&[]));
        for f in facts.files.iter().filter(|f| f.language.is_some()) {
            assert!(f.source.is_some(), "{} parsed", f.path);
        }
    }

    #[test]
    fn small_files_and_text_signals_are_always_parsed() {
        let quiet = crate::facts::text::scan("x = 1\n");
        assert!(wants_parse(Language::Python, "x = 1\n", &quiet));
        let big = "x = 1\n".repeat(SMALL_FILE_BYTES);
        let big_facts = crate::facts::text::scan(&big);
        assert!(!wants_parse(Language::Python, &big, &big_facts));
        let with_path = format!("{big}p = '~/.ssh/id_rsa'\n");
        let facts = crate::facts::text::scan(&with_path);
        assert!(text_signal(&facts));
        assert!(wants_parse(Language::Python, &with_path, &facts));
    }
}
