use ossprey_model::{Category, FileKind, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, shell};

use crate::rules::catalog::{PROCESS_EXEC, is};
use crate::{Input, Rule, finding};

/// Recursive deletion calls whose first argument is the tree removed.
const RECURSIVE_DELETE: &[&str] = &[
    "shutil.rmtree",
    "os.removedirs",
    "fs.rmSync",
    "fs.rm",
    "fs.rmdirSync",
    "fs.rmdir",
    "fs.promises.rm",
    "fs.promises.rmdir",
    "rimraf",
    "rimraf.sync",
    "rimraf.rimrafSync",
    "fs-extra.removeSync",
    "fs-extra.remove",
    "fs-extra.emptyDirSync",
    "del.sync",
];

/// Literal paths that are a whole home directory or file system.
const ROOTS: &[&str] = &[
    "/",
    "/*",
    "~",
    "~/",
    "~/*",
    "$home",
    "${home}",
    "$home/*",
    "${home}/*",
    "/home",
    "/home/*",
    "/root",
    "/users",
    "/users/*",
    "c:",
    "c:/",
    "c:/*",
    "c:/users",
    "%userprofile%",
    "%homepath%",
    "%systemdrive%",
    "%systemdrive%/",
    "/etc",
    "/usr",
    "/var",
];

/// Calls and names that evaluate to the user's home directory.
const HOME_CALLS: &[&str] = &[
    "os.homedir",
    "os.path.expanduser",
    "pathlib.Path.home",
    "Path.home",
    "os.getenv",
    "os.environ.get",
];
const HOME_NAMES: &[&str] = &[
    "process.env.HOME",
    "process.env.USERPROFILE",
    "os.homedir",
    "os.environ.HOME",
];

/// ## What it does
/// Finds recursive deletion of a home directory or a file system root:
/// `shutil.rmtree(os.path.expanduser("~"))`, `fs.rmSync(os.homedir(),
/// {recursive: true})`, `rimraf("/")`, and shell commands such as `rm -rf ~`,
/// `rm -rf /*`, `rd /s /q C:\` — in code, in commands code runs, in shell
/// scripts and in install scripts.
///
/// ## Why is this bad?
/// No library deletes its user's home directory. This is sabotage ("protestware"
/// and wipers), and it is irreversible, so it is high even in code that only
/// runs when called and critical in code that runs by itself.
///
/// ## Example
/// ```javascript
/// fs.rmSync(require("os").homedir(), { recursive: true, force: true });
/// ```
#[derive(Debug)]
pub struct DeleteUserData;

fn norm(path: &str) -> String {
    path.trim()
        .to_ascii_lowercase()
        .replace('\\', "/")
        .trim_end_matches('/')
        .to_owned()
}

fn is_root_literal(path: &str) -> bool {
    let n = norm(path);
    let n = if n.is_empty() && path.trim().starts_with('/') {
        "/".to_owned()
    } else {
        n
    };
    ROOTS.contains(&n.as_str()) || ROOTS.contains(&format!("{n}/").as_str())
}

/// Whether `arg` is (only) the home directory or a root.
fn is_home_or_root(arg: &Arg) -> bool {
    match arg {
        Arg::Str(s) => is_root_literal(s),
        Arg::Name(n) => HOME_NAMES.contains(&n.as_str()),
        Arg::Call { callee, args } => {
            is(HOME_CALLS, callee)
                && match callee.as_str() {
                    "os.path.expanduser" => args
                        .first()
                        .and_then(Arg::as_str)
                        .is_some_and(|s| matches!(s.trim_end_matches(['/', '\\']), "~" | "~/")),
                    "os.getenv" | "os.environ.get" => args
                        .first()
                        .and_then(Arg::as_str)
                        .is_some_and(|s| matches!(s, "HOME" | "USERPROFILE" | "HOMEPATH")),
                    _ => true,
                }
        }
        _ => false,
    }
}

/// A shell command line that recursively deletes a home directory or root.
fn destructive_command(command: &str) -> Option<String> {
    let facts = shell::parse(command);
    facts.commands.iter().find_map(|c| {
        let program = c
            .argv
            .first()?
            .rsplit(['/', '\\'])
            .next()?
            .to_ascii_lowercase();
        let args = &c.argv[1..];
        let recursive = match program.as_str() {
            "rm" => args.iter().any(|a| {
                a == "--recursive"
                    || a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R'])
            }),
            "rd" | "rmdir" | "del" | "erase" => args.iter().any(|a| a.eq_ignore_ascii_case("/s")),
            "remove-item" => args.iter().any(|a| a.eq_ignore_ascii_case("-recurse")),
            _ => false,
        };
        let is_flag = |a: &str| a.starts_with('-') || a.len() == 2 && a.starts_with('/');
        let target = args.iter().find(|a| !is_flag(a))?;
        (recursive && is_root_literal(target)).then(|| c.argv.join(" "))
    })
}

impl Rule for DeleteUserData {
    fn id(&self) -> &'static str {
        "DESTRUCT-DELETE-USER-DATA"
    }
    fn category(&self) -> Category {
        Category::DESTRUCTION
    }
    fn summary(&self) -> &'static str {
        "recursive deletion of the home directory or a file system root"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let sev = |runs_at: RunsAt| {
            if runs_at == RunsAt::Runtime {
                Severity::High
            } else {
                Severity::Critical
            }
        };
        for (file, call) in input.calls() {
            let hit = if is(RECURSIVE_DELETE, &call.callee) {
                call.args
                    .first()
                    .filter(|a| is_home_or_root(a))
                    .map(|_| format!("`{}` deletes the home directory or a root", call.callee))
            } else if is(PROCESS_EXEC, &call.callee) {
                call.args
                    .iter()
                    .chain(call.args.iter().filter_map(|a| match a {
                        Arg::List(items) => items.first(),
                        _ => None,
                    }))
                    .filter_map(Arg::as_str)
                    .find_map(destructive_command)
                    .or_else(|| {
                        // `["rm", "-rf", "/"]`
                        call.args.iter().find_map(|a| match a {
                            Arg::List(items) => {
                                let words: Vec<&str> =
                                    items.iter().filter_map(Arg::as_str).collect();
                                (words.len() == items.len())
                                    .then(|| destructive_command(&words.join(" ")))
                                    .flatten()
                            }
                            _ => None,
                        })
                    })
                    .map(|cmd| format!("`{}` runs `{cmd}`", call.callee))
            } else {
                None
            };
            if let Some(message) = hit {
                out.push(finding(
                    self.id(),
                    sev(crate::rules::obfuscation::runs_at(input, file)),
                    self.category(),
                    message,
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
        for hook in &input.manifest.install_hooks {
            if let Some(cmd) = hook.command.as_deref().and_then(destructive_command) {
                out.push(finding(
                    self.id(),
                    Severity::Critical,
                    self.category(),
                    format!("an install script runs `{cmd}`"),
                    Some(&hook.path),
                    hook.command
                        .as_deref()
                        .and_then(|c| input.line_of(&hook.path, c)),
                    hook.command.as_deref(),
                ));
            }
        }
        for file in &input.facts.files {
            if !matches!(
                file.kind,
                FileKind::Shell | FileKind::Batch | FileKind::Powershell
            ) {
                continue;
            }
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with('#') || line.len() > 2000 {
                    continue;
                }
                if let Some(cmd) = destructive_command(line) {
                    out.push(finding(
                        self.id(),
                        sev(crate::rules::obfuscation::runs_at(input, file)),
                        self.category(),
                        format!("script runs `{cmd}`"),
                        Some(&file.path),
                        u32::try_from(n + 1).ok(),
                        Some(line),
                    ));
                    break;
                }
            }
        }
    }
}
