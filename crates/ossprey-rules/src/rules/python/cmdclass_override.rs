use std::collections::HashSet;

use ossprey_model::{Category, Finding, HookTrigger, Severity};
use ossprey_static::facts::{Arg, Call, SourceFacts};

use super::common::{
    CommandKind, classify_call, is_code_eval, is_local_read, is_network, is_process_exec,
    python_sources, root_of,
};
use crate::{Input, Rule, finding};

/// setuptools/distutils commands whose override runs during `pip install`.
const INSTALL_COMMANDS: &[&str] = &[
    "install",
    "develop",
    "egg_info",
    "build_py",
    "bdist_egg",
    "sdist",
    "install_lib",
    "install_scripts",
    "bdist_wheel",
    "build",
];

/// ## What it does
/// Finds `setup.py` files that pass `cmdclass` overriding `install`,
/// `develop`, `egg_info`, `build_py`, `bdist_egg` (or similar) with a class
/// whose methods — or the module functions those methods call — start
/// processes (other than build tools), reach the network, or evaluate
/// non-literal code.
///
/// ## Why is this bad?
/// A custom install command is the hook malicious packages use to run their
/// payload during `pip install`. Ordinary packages override `build_ext` to
/// compile native code; overriding `install` to shell out or phone home is
/// rare outside malware. This finding marks the hook; the execution or network
/// findings say what it does, and scoring combines them.
///
/// ## Example
/// ```python
/// class PostInstall(install):
///     def run(self):
///         install.run(self)
///         subprocess.Popen(cmd, shell=True)
///
/// setup(name="x", cmdclass={"install": PostInstall})
/// ```
#[derive(Debug)]
pub struct CmdclassOverride;

/// Classes defined in `text` whose bases name an install-time command.
fn install_command_classes(text: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("class ") else {
            continue;
        };
        let Some((name, bases)) = rest.split_once('(') else {
            continue;
        };
        let bases = bases.split(')').next().unwrap_or("");
        let overrides = bases.split(',').any(|b| {
            let last = b.trim().rsplit('.').next().unwrap_or("").trim();
            let last = last.strip_prefix('_').unwrap_or(last);
            INSTALL_COMMANDS.contains(&last)
                || INSTALL_COMMANDS
                    .iter()
                    .any(|c| last.strip_suffix("_orig").is_some_and(|l| l == *c))
                || INSTALL_COMMANDS.iter().any(|c| {
                    last.to_ascii_lowercase()
                        .strip_suffix("command")
                        .is_some_and(|l| l.trim_end_matches('_') == *c)
                })
        });
        if overrides {
            out.push((name.trim().to_owned(), u32::try_from(n + 1).unwrap_or(0)));
        }
    }
    out
}

/// What a call in the override does that matters, if anything.
fn action(call: &Call) -> Option<&'static str> {
    if is_process_exec(&call.callee) {
        return (!matches!(classify_call(call), Some(CommandKind::Build)))
            .then_some("runs a process");
    }
    if is_network(&call.callee) {
        return Some("reaches the network");
    }
    if is_code_eval(&call.callee)
        && let Some(arg) = call.args.first()
        && !matches!(arg, Arg::Str(_) | Arg::Const(_))
        && !is_local_read(arg, &call.snippet)
    {
        return Some("evaluates code");
    }
    None
}

/// The class's methods plus module functions they call (a few hops).
fn reachable(source: &SourceFacts, class: &str) -> HashSet<String> {
    let defined: HashSet<&str> = source.definitions.iter().map(String::as_str).collect();
    let mut set: HashSet<String> = HashSet::from([class.to_owned()]);
    for _ in 0..3 {
        let mut added = false;
        for call in &source.calls {
            let Some(scope) = &call.scope else { continue };
            if !set.contains(root_of(scope)) {
                continue;
            }
            if defined.contains(call.callee.as_str()) && !set.contains(&call.callee) {
                set.insert(call.callee.clone());
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    set
}

impl Rule for CmdclassOverride {
    fn id(&self) -> &'static str {
        "PY-CMDCLASS-OVERRIDE"
    }
    fn category(&self) -> Category {
        Category::INSTALL_HOOK
    }
    fn summary(&self) -> &'static str {
        "setup.py cmdclass overrides an install command with code that executes or connects"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let hooked: HashSet<&str> = input
            .manifest
            .install_hooks
            .iter()
            .filter(|h| h.trigger == HookTrigger::SetupPyCmdclass)
            .map(|h| h.path.as_str())
            .collect();
        for (file, source) in python_sources(input) {
            if !hooked.contains(file.path.as_str()) {
                continue;
            }
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            for (class, line) in install_command_classes(&text) {
                let scopes = reachable(source, &class);
                let hit = source.calls.iter().find_map(|c| {
                    let scope = c.scope.as_deref()?;
                    if !scopes.contains(root_of(scope)) {
                        return None;
                    }
                    action(c).map(|a| (a, c))
                });
                let Some((what, call)) = hit else { continue };
                out.push(finding(
                    self.id(),
                    Severity::Medium,
                    self.category(),
                    format!(
                        "install command override `{class}` (line {line}) {what}: `{}` at line {}",
                        call.callee, call.line
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
