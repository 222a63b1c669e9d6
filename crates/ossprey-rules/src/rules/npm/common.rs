//! Helpers shared by the npm rules: lifecycle hooks, the effective run context of a
//! JavaScript file, and the JavaScript capability tables.

use ossprey_model::{FileKind, Finding, HookTrigger, InstallHook, Severity};
use ossprey_static::analysis::{FileAnalysis, RunsAt};
use ossprey_static::facts::shell::{self, RunTarget, ShellFacts};
use ossprey_static::facts::{Arg, Call, Language, SourceFacts};

use crate::rules::catalog::{NETWORK, PROCESS_EXEC, is};
use crate::{Input, Rule, finding};

/// An npm lifecycle script that runs on install, or a shell file such a script runs.
pub(crate) struct Lifecycle<'a> {
    /// `preinstall`, `install`, `postinstall`, `prepare`, or `script` for a shell file.
    pub name: &'static str,
    /// The file the evidence points at (`package.json` or the shell file).
    pub path: &'a str,
    /// The command line or script text.
    pub command: String,
    pub line: Option<u32>,
    pub shell: ShellFacts,
}

impl Lifecycle<'_> {
    /// A finding of `rule` whose evidence is this script: its file, line and command.
    pub(crate) fn finding(
        &self,
        rule: &dyn Rule,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        finding(
            rule.id(),
            severity,
            rule.category(),
            message,
            Some(self.path),
            self.line,
            Some(&self.command),
        )
    }
}

fn hook_name(trigger: HookTrigger) -> Option<&'static str> {
    match trigger {
        HookTrigger::NpmPreinstall => Some("preinstall"),
        HookTrigger::NpmInstall => Some("install"),
        HookTrigger::NpmPostinstall => Some("postinstall"),
        HookTrigger::NpmPrepare => Some("prepare"),
        _ => None,
    }
}

/// The npm hooks with their command line: (hook name, hook).
pub(crate) fn npm_hooks<'a>(
    input: &Input<'a>,
) -> impl Iterator<Item = (&'static str, &'a InstallHook, &'a str)> {
    input.manifest.install_hooks.iter().filter_map(|h| {
        let name = hook_name(h.trigger)?;
        Some((name, h, h.command.as_deref()?))
    })
}

/// Every command that runs at install time: each install hook (not `prepare`, which
/// only runs for git and local installs) and the shell files those hooks run.
pub(crate) fn install_commands<'a>(input: &Input<'a>) -> Vec<Lifecycle<'a>> {
    let mut out = Vec::new();
    for (name, hook, command) in npm_hooks(input) {
        if name == "prepare" {
            continue;
        }
        let line = input.line_of(&hook.path, &format!("\"{name}\""));
        let parsed = shell::parse(command);
        let mut pending = run_scripts(&parsed);
        out.push(Lifecycle {
            name,
            path: &hook.path,
            command: command.to_owned(),
            line,
            shell: parsed,
        });
        // `"postinstall": "npm run setup"` runs the `setup` script at install time too.
        if pending.is_empty() {
            continue;
        }
        let scripts = manifest_scripts(input, &hook.path);
        let mut seen: Vec<String> = Vec::new();
        while let Some(script) = pending.pop() {
            if seen.len() >= MAX_INDIRECT_SCRIPTS || seen.contains(&script) {
                continue;
            }
            let Some(body) = scripts.get(&script).and_then(|v| v.as_str()) else {
                seen.push(script);
                continue;
            };
            let parsed = shell::parse(body);
            pending.extend(run_scripts(&parsed));
            out.push(Lifecycle {
                name,
                path: &hook.path,
                command: body.to_owned(),
                line: input.line_of(&hook.path, &format!("\"{script}\"")),
                shell: parsed,
            });
            seen.push(script);
        }
    }
    for file in &input.facts.files {
        let is_shell = file.kind == FileKind::Shell || file.path.ends_with(".sh");
        if !is_shell || file.runs_at != RunsAt::Install || from_prepare_only(input, file) {
            continue;
        }
        let Some(text) = input.text(&file.path) else {
            continue;
        };
        out.push(Lifecycle {
            name: "script",
            path: &file.path,
            shell: shell::parse(&text),
            command: text.into_owned(),
            line: None,
        });
    }
    out
}

/// How many scripts reached through `npm run` one hook may pull in.
const MAX_INDIRECT_SCRIPTS: usize = 16;

/// Scripts a command line runs by name: `npm run x`, `npm run-script x`, `yarn x`,
/// `yarn run x`, `pnpm run x`.
fn run_scripts(facts: &ShellFacts) -> Vec<String> {
    let mut out = Vec::new();
    for c in &facts.commands {
        let argv: Vec<&str> = c
            .argv
            .iter()
            .map(String::as_str)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let name = match argv.as_slice() {
            ["npm" | "pnpm" | "yarn", "run" | "run-script", name, ..] => Some(*name),
            ["yarn", name, ..] if !matches!(*name, "install" | "add" | "build") => Some(*name),
            _ => None,
        };
        if let Some(name) = name {
            out.push(name.to_owned());
        }
    }
    out
}

/// The `scripts` table of the package manifest at `path`.
fn manifest_scripts(input: &Input<'_>, path: &str) -> serde_json::Map<String, serde_json::Value> {
    input
        .files
        .content(path)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(
            |mut v| match v.get_mut("scripts").map(serde_json::Value::take) {
                Some(serde_json::Value::Object(m)) => Some(m),
                _ => None,
            },
        )
        .unwrap_or_default()
}

/// Whether `file` was marked install-time only through the `prepare` script:
/// follow its importers back to the file a hook named, and read that hook.
fn from_prepare_only(input: &Input<'_>, file: &FileAnalysis) -> bool {
    let mut file = file;
    for _ in 0..8 {
        match &file.imported_by {
            Some(parent) => match input.facts.file(parent) {
                Some(p) => file = p,
                None => return false,
            },
            None => {
                return file
                    .runs_at_reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("npm prepare"));
            }
        }
    }
    false
}

/// Whether the package has no manifest at all (a bare payload file): its scripts are all
/// there is, so each is treated as the package's entry point.
pub(crate) fn standalone(input: &Input<'_>) -> bool {
    input.manifest.manifest_path.is_none() && input.manifest.name.is_none()
}

/// When a JavaScript file's code runs, refined for npm: files reached only through
/// `prepare` count as import-time (that hook runs for git installs only), the `main`
/// file run by a hook (`node .`) counts as install-time, and the scripts of a package
/// without any manifest count as its entry point.
pub(crate) fn context(input: &Input<'_>, file: &FileAnalysis) -> RunsAt {
    match file.runs_at {
        RunsAt::Install if from_prepare_only(input, file) => RunsAt::Import,
        RunsAt::Install => RunsAt::Install,
        RunsAt::Import if hook_runs_main(input) => RunsAt::Install,
        _ if run_by_install_shell(input, file) => RunsAt::Install,
        RunsAt::Import => RunsAt::Import,
        RunsAt::Runtime if standalone(input) && is_js(file) => RunsAt::Import,
        RunsAt::Runtime => RunsAt::Runtime,
    }
}

/// Critical when `file`'s code runs at install or import time, high when it runs only
/// when the package is used: for behaviour with no benign reading in any context.
pub(crate) fn critical_unless_runtime(input: &Input<'_>, file: &FileAnalysis) -> Severity {
    match context(input, file) {
        RunsAt::Install | RunsAt::Import => Severity::Critical,
        RunsAt::Runtime => Severity::High,
    }
}

/// Whether an install hook, or an install-time shell file (`sh build.sh` from a hook),
/// runs `file` with an interpreter (`node index.js`).
fn run_by_install_shell(input: &Input<'_>, file: &FileAnalysis) -> bool {
    // Without a hook nothing runs at install time; this keeps the check O(1) for the
    // many packages without hooks (it runs once per file per rule).
    if npm_hooks(input).all(|(name, _, _)| name == "prepare") {
        return false;
    }
    let root = input.files.root();
    let Some(rel) = file.path.strip_prefix(root) else {
        return false;
    };
    // Hooks count too: the file analysis may not see through wrappers such as
    // `nohup node lib/x.js &`, which the shell tokenizer unwraps.
    install_commands(input)
        .iter()
        .flat_map(|c| c.shell.runs.iter())
        .any(|r| match &r.target {
            // `node index` runs `index.js` too.
            RunTarget::File(t) => {
                let t = t.trim_start_matches("./");
                t == rel || rel.strip_suffix(".js").is_some_and(|r| r == t)
            }
            // `node -e "require('./lib/x')"` runs `lib/x.js`.
            RunTarget::Inline(code) if matches!(r.interpreter.as_str(), "node" | "nodejs") => {
                inline_requires(code).iter().any(|m| {
                    let m = m.trim_start_matches("./");
                    m == rel
                        || rel.strip_suffix(".js").is_some_and(|r| r == m)
                        || rel.strip_suffix("/index.js").is_some_and(|r| r == m)
                })
            }
            _ => false,
        })
}

/// Local modules (`./x`) that inline Node code requires.
///
/// Remembered per thread: [`context`] asks for every file of a package and
/// every rule, and re-parsing the same hook command each time was most of
/// the scan of a package of thousands of modules with an inline hook.
fn inline_requires(code: &str) -> Vec<String> {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>> =
            std::cell::RefCell::default();
    }
    if let Some(found) = SEEN.with(|seen| seen.borrow().get(code).cloned()) {
        return found;
    }
    let found: Vec<String> = ossprey_static::facts::js::extract("inline.js", code)
        .calls
        .iter()
        .filter(|c| c.callee == "require")
        .filter_map(|c| c.args.first()?.as_str())
        .filter(|m| m.starts_with("./"))
        .map(str::to_owned)
        .collect();
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        // Hook commands are few per package; bound the cache across packages.
        if seen.len() >= 256 {
            seen.clear();
        }
        seen.insert(code.to_owned(), found.clone());
    });
    found
}

fn hook_runs_main(input: &Input<'_>) -> bool {
    npm_hooks(input).any(|(name, _, command)| {
        name != "prepare"
            && shell::parse(command).runs.iter().any(
                |r| matches!(&r.target, RunTarget::File(t) if matches!(t.as_str(), "." | "./")),
            )
    })
}

pub(crate) fn is_js(file: &FileAnalysis) -> bool {
    matches!(
        file.language,
        Some(Language::Javascript | Language::Typescript)
    )
}

/// JavaScript files with their facts.
pub(crate) fn js_sources<'a>(
    input: &Input<'a>,
) -> impl Iterator<Item = (&'a FileAnalysis, &'a SourceFacts)> {
    input.sources().filter(|(f, _)| is_js(f))
}

/// Starting another program from JavaScript.
pub(crate) fn is_js_exec(callee: &str) -> bool {
    is(PROCESS_EXEC, callee) && !callee.contains("os.") && !callee.starts_with("subprocess")
        || is(JS_EXEC_EXTRA, callee)
}

const JS_EXEC_EXTRA: &[&str] = &[
    "execa.sync",
    "execa.commandSync",
    "execa.node",
    "cross-spawn",
    "cross-spawn.sync",
    "shelljs.exec",
];

/// Talking to the network from JavaScript.
pub(crate) fn is_js_network(callee: &str) -> bool {
    let python = callee.starts_with("urllib")
        || callee.starts_with("requests.")
        || callee.starts_with("httpx.")
        || callee.starts_with("socket.")
        || callee.starts_with("http.client")
        || callee.starts_with("httplib")
        || callee.starts_with("aiohttp")
        || callee.starts_with("ftplib")
        || callee.starts_with("smtplib")
        || callee.starts_with("telnetlib")
        || callee.starts_with("paramiko")
        || callee.starts_with("dns.resolver");
    (is(NETWORK, callee) && !python) || is(JS_NETWORK_EXTRA, callee)
}

const JS_NETWORK_EXTRA: &[&str] = &[
    "dns.resolve6",
    "dns.resolveAny",
    "dns.resolveCname",
    "dns.resolveMx",
    "dns.promises.resolve4",
    "dns.promises.resolveTxt",
    "http.post",
    "https.post",
    "needle",
    "needle.post",
    "superagent.post",
    "undici.request",
    "undici.fetch",
    "node-fetch.default",
    "nodemailer.createTransport",
    "tls.connect",
    "net.Socket",
];

/// Host identity that says *whose machine* this is.
pub(crate) const STRONG_IDENTITY: &[&str] = &[
    "os.hostname",
    "os.userInfo",
    "os.networkInterfaces",
    "dns.getServers",
];

/// Host facts that describe the machine's kind rather than its identity.
/// `os.homedir` is here: every tool that keeps a cache or reads its config asks for
/// it (binary downloaders next to `os.platform`/`os.arch`), while beacons send the
/// host and user names.
pub(crate) const WEAK_IDENTITY: &[&str] = &[
    "os.homedir",
    "os.platform",
    "os.type",
    "os.arch",
    "os.release",
    "os.version",
    "os.cpus",
    "os.totalmem",
    "os.freemem",
    "os.uptime",
    "os.loadavg",
    "os.tmpdir",
];

/// Calls that serialise or send the object they are given.
const SERIALISERS: &[&str] = &[
    "JSON.stringify",
    "Buffer.from",
    "querystring.stringify",
    "Object.entries",
    "Object.keys",
    "?.write",
    "?.end",
    "?.send",
    "?.post",
];

fn names_env(arg: &Arg) -> bool {
    match arg {
        Arg::Name(n) => n == "process.env" || n == "process",
        Arg::Call { args, .. } | Arg::List(args) => args.iter().any(names_env),
        _ => false,
    }
}

/// A call that serialises or sends the whole `process.env` (`JSON.stringify(process.env)`),
/// as opposed to reading one variable.
pub(crate) fn is_whole_env(call: &Call) -> bool {
    (SERIALISERS.contains(&call.callee.as_str())
        || call.callee.ends_with(".write")
        || call.callee.ends_with(".end"))
        && call.args.iter().any(names_env)
}

/// What a file collects about its host.
#[derive(Default, Debug)]
pub(crate) struct HostData<'a> {
    pub strong: Vec<&'a str>,
    pub weak: Vec<&'a str>,
    pub whole_env: Option<&'a Call>,
    pub first: Option<&'a Call>,
}

impl HostData<'_> {
    /// Enough to tell the machine and its user apart.
    pub(crate) fn fingerprints(&self) -> bool {
        self.whole_env.is_some()
            || self.strong.len() >= 2
            || (!self.strong.is_empty() && self.weak.len() >= 2)
            || self.weak.len() >= 4
    }
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<&str> = self.strong.clone();
        parts.extend(self.weak.iter().copied());
        if self.whole_env.is_some() {
            parts.push("process.env");
        }
        parts.join(", ")
    }
}

/// Environment variables that name the user or the machine.
pub(crate) const IDENTITY_ENV: &[&str] = &[
    "USER",
    "USERNAME",
    "LOGNAME",
    "HOSTNAME",
    "COMPUTERNAME",
    "USERDOMAIN",
];

/// Programs that print who the user is or what the machine is called.
const RECON_PROGRAMS: &[&str] = &[
    "whoami",
    "id",
    "hostname",
    "uname",
    "ipconfig",
    "ifconfig",
    "systeminfo",
];

/// The program's name when `call` starts one of [`RECON_PROGRAMS`] with a literal
/// command line (`execSync("whoami")`, `exec("uname -a")`).
fn recon_command(call: &Call) -> Option<&str> {
    if !is_js_exec(&call.callee) {
        return None;
    }
    let first = call.args.first()?.as_str()?.split_whitespace().next()?;
    RECON_PROGRAMS.iter().find(|p| **p == first).copied()
}

/// The variable's name when `call` reads one of [`IDENTITY_ENV`].
fn identity_env(call: &Call) -> Option<&str> {
    if call.callee != ossprey_static::facts::js::PROCESS_ENV {
        return None;
    }
    let name = call.args.first()?.as_str()?;
    IDENTITY_ENV.contains(&name).then_some(name)
}

pub(crate) fn host_data(facts: &SourceFacts) -> HostData<'_> {
    let mut out = HostData::default();
    for call in &facts.calls {
        let c = call.callee.as_str();
        let hit = if is(STRONG_IDENTITY, c) {
            if !out.strong.contains(&c) {
                out.strong.push(c);
            }
            true
        } else if is(WEAK_IDENTITY, c) {
            if !out.weak.contains(&c) {
                out.weak.push(c);
            }
            true
        } else if is_whole_env(call) {
            out.whole_env.get_or_insert(call);
            true
        } else if let Some(name) = recon_command(call) {
            // `execSync("whoami")` reads the same identity through a program.
            if !out.strong.contains(&name) {
                out.strong.push(name);
            }
            true
        } else if let Some(name) = identity_env(call) {
            // `process.env.USER` says whose machine this is as well as `os.userInfo()`.
            if !out.strong.contains(&name) {
                out.strong.push(name);
            }
            true
        } else {
            false
        };
        if hit && out.first.is_none() {
            out.first = Some(call);
        }
    }
    out
}

/// The argument of a code-evaluating call that holds the code: the first one of `eval`
/// and the `vm` functions, the last one (the body) of `Function`.
pub(crate) fn eval_code_arg(call: &Call) -> Option<&Arg> {
    match call.callee.as_str() {
        "eval"
        | "vm.runInThisContext"
        | "vm.runInNewContext"
        | "vm.runInContext"
        | "vm.Script"
        | "vm.compileFunction"
        | "vm.SourceTextModule" => call.args.first(),
        "Function" => call.args.last(),
        _ => None,
    }
}

/// A code-evaluating call whose code is not written in the file: a variable, a call
/// result or an expression rather than a string literal.
pub(crate) fn evaluates_computed_code(call: &Call) -> bool {
    eval_code_arg(call).is_some_and(|a| !matches!(a, Arg::Str(_) | Arg::Const(_)))
}
