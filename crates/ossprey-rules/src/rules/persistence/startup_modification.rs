use ossprey_model::{Category, FileKind, Finding, Severity};
use ossprey_static::analysis::{FileAnalysis, RunsAt};

use crate::rules::catalog::{PROCESS_EXEC, WRITE_FILE, is};
use crate::{Input, Rule, finding};

/// How strongly a location means "run me again".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Git hooks: ordinary developer tooling (husky, pre-commit) installs them.
    GitHook,
    /// Shell start-up files and cron: also edited by completion installers.
    ShellProfile,
    /// OS autostart: Run keys, Startup folder, autostart, launch agents, user units.
    Autostart,
}

/// Location fragments, matched in a line normalised by [`normalise`].
const LOCATIONS: &[(&str, Class, &str)] = &[
    (
        "currentversion/run",
        Class::Autostart,
        "Windows Run registry key",
    ),
    (
        "start menu/programs/startup",
        Class::Autostart,
        "Windows Startup folder",
    ),
    ("shell:startup", Class::Autostart, "Windows Startup folder"),
    (
        "schtasks /create",
        Class::Autostart,
        "Windows scheduled task",
    ),
    (
        "schtasks.exe /create",
        Class::Autostart,
        "Windows scheduled task",
    ),
    (".config/autostart", Class::Autostart, "XDG autostart entry"),
    (
        "library/launchagents",
        Class::Autostart,
        "macOS launch agent",
    ),
    (
        "library/launchdaemons",
        Class::Autostart,
        "macOS launch daemon",
    ),
    (
        ".config/systemd/user",
        Class::Autostart,
        "systemd user unit",
    ),
    (
        "/etc/systemd/system",
        Class::Autostart,
        "systemd system unit",
    ),
    ("/etc/init.d/", Class::Autostart, "init script"),
    ("/etc/rc.local", Class::Autostart, "rc.local"),
    (".bashrc", Class::ShellProfile, "shell start-up file"),
    (".zshrc", Class::ShellProfile, "shell start-up file"),
    (".bash_profile", Class::ShellProfile, "shell start-up file"),
    (".bash_login", Class::ShellProfile, "shell start-up file"),
    ("~/.profile", Class::ShellProfile, "shell start-up file"),
    ("/.profile", Class::ShellProfile, "shell start-up file"),
    (".zprofile", Class::ShellProfile, "shell start-up file"),
    ("/etc/profile", Class::ShellProfile, "shell start-up file"),
    ("/etc/crontab", Class::ShellProfile, "crontab"),
    ("/etc/cron.d", Class::ShellProfile, "crontab"),
    ("/var/spool/cron", Class::ShellProfile, "crontab"),
    ("crontab -", Class::ShellProfile, "crontab"),
    (".git/hooks/", Class::GitHook, "git hook"),
];

/// Words on a script line that write or register something.
const SCRIPT_WRITES: &[&str] = &[
    ">",
    "tee ",
    "cp ",
    "copy ",
    "mv ",
    "move ",
    "reg add",
    "crontab",
    "schtasks",
    "set-itemproperty",
    "new-itemproperty",
    "install ",
    "ln ",
];

/// ## What it does
/// Finds code that writes to places that make a program start again later:
/// the Windows `…\CurrentVersion\Run` keys, the Startup folder and scheduled
/// tasks; XDG autostart entries, systemd units, launch agents and init
/// scripts; shell start-up files (`.bashrc`, `.zshrc`, `.profile`) and cron;
/// git hooks. The path must appear in a file that also writes files, edits
/// the registry or runs commands (or on a script line that writes).
///
/// ## Why is this bad?
/// A package has no business arranging to run at the next login or boot.
/// Stealers and backdoors copy themselves there so they survive the
/// uninstall of the package that dropped them. Shell profiles and git hooks
/// are also touched by completion installers and developer tooling, so they
/// are low unless install- or import-time code writes them.
///
/// ## Example
/// ```python
/// startup = os.path.join(os.getenv("APPDATA"), "Microsoft", "Windows",
///                        "Start Menu", "Programs", "Startup")
/// shutil.copy(sys.argv[0], os.path.join(startup, "update.exe"))
/// ```
#[derive(Debug)]
pub struct StartupModification;

/// Lowercases, turns `\` and `\\` into `/`, and joins quoted path parts
/// (`'Start Menu', 'Programs'`) with `/`, so every spelling of a path reads alike.
pub(crate) fn normalise(line: &str) -> String {
    let lower = line.to_lowercase().replace("\\\\", "/").replace('\\', "/");
    let mut out = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                // `', '` or `","` between two literals becomes `/`.
                let mut rest = chars.clone();
                let mut skipped = 0;
                while let Some(&n) = rest.peek() {
                    if n == ',' || n == ' ' || n == '+' {
                        rest.next();
                        skipped += 1;
                    } else {
                        break;
                    }
                }
                if skipped > 0 && matches!(rest.peek(), Some('\'' | '"' | '`')) {
                    rest.next();
                    chars = rest;
                    out.push('/');
                }
            }
            _ => out.push(c),
        }
    }
    while out.contains("//") {
        out = out.replace("//", "/");
    }
    out
}

/// Whether the file writes or runs commands, and whether it does so by itself:
/// anywhere in an install-time file (cmdclass methods run too), at the top
/// level of an import-time one.
fn writes(input: &Input<'_>, file: &FileAnalysis) -> Option<bool> {
    let source = file.source.as_ref()?;
    let file_runs_at = crate::rules::obfuscation::runs_at(input, file);
    let mut found = None;
    for c in &source.calls {
        if is(WRITE_FILE, &c.callee) || is(PROCESS_EXEC, &c.callee) {
            let unprompted = match file_runs_at {
                RunsAt::Install => true,
                RunsAt::Import => c.scope.is_none(),
                RunsAt::Runtime => false,
            };
            found = Some(found.unwrap_or(false) || unprompted);
        }
    }
    found
}

fn is_script(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Shell | FileKind::Powershell | FileKind::Batch
    )
}

impl Rule for StartupModification {
    fn id(&self) -> &'static str {
        "PERSIST-STARTUP-MODIFICATION"
    }
    fn category(&self) -> Category {
        Category::PERSISTENCE
    }
    fn summary(&self) -> &'static str {
        "writes to autostart locations, shell start-up files, cron or git hooks"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for hook in &input.manifest.install_hooks {
            let Some(command) = hook.command.as_deref() else {
                continue;
            };
            let norm = normalise(command);
            if let Some(&(_, class, what)) = LOCATIONS.iter().find(|(p, _, _)| norm.contains(p))
                && SCRIPT_WRITES.iter().any(|w| norm.contains(w))
            {
                out.push(finding(
                    self.id(),
                    severity(class, RunsAt::Install),
                    self.category(),
                    format!("an install script writes to a {what}"),
                    Some(&hook.path),
                    input.line_of(&hook.path, command),
                    Some(command),
                ));
            }
        }
        for file in &input.facts.files {
            let script = is_script(file.kind);
            if !(file.kind.is_source() || script) {
                continue;
            }
            let parsed_writes = writes(input, file);
            if !script && parsed_writes.is_none() {
                continue;
            }
            let runs_at = match parsed_writes {
                Some(false) => RunsAt::Runtime,
                _ => crate::rules::obfuscation::runs_at(input, file),
            };
            let Some(content) = input.files.content(&file.path) else {
                continue;
            };
            let text = String::from_utf8_lossy(content);
            let mut best: Option<(Class, &str, u32, &str)> = None;
            for (n, line) in text.lines().enumerate() {
                if line.len() > 4000 {
                    continue;
                }
                let trimmed = line.trim_start();
                if trimmed.starts_with('#')
                    || trimmed.starts_with("//")
                    || trimmed.starts_with("::")
                {
                    continue;
                }
                let norm = normalise(line);
                let Some(&(_, class, what)) = LOCATIONS.iter().find(|(p, _, _)| norm.contains(p))
                else {
                    continue;
                };
                if script && !SCRIPT_WRITES.iter().any(|w| norm.contains(w)) {
                    continue;
                }
                if best.is_none_or(|b| class > b.0) {
                    let line_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
                    best = Some((class, what, line_no, line));
                }
            }
            let Some((class, what, line, snippet)) = best else {
                continue;
            };
            let severity = severity(class, runs_at);
            if severity == Severity::Info {
                continue;
            }
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "{} names a {what} and {}",
                    file.path,
                    if script {
                        "writes to it"
                    } else {
                        "writes files or runs commands"
                    }
                ),
                Some(&file.path),
                Some(line),
                Some(snippet),
            ));
        }
    }
}

fn severity(class: Class, runs_at: RunsAt) -> Severity {
    let unprompted = runs_at != RunsAt::Runtime;
    match (class, unprompted) {
        (Class::Autostart, true) => Severity::Critical,
        (Class::Autostart, false) | (Class::ShellProfile, true) => Severity::High,
        // Completion installers and environment managers edit shell profiles
        // when the user asks them to.
        (Class::ShellProfile, false) => Severity::Low,
        (Class::GitHook, true) => Severity::Low,
        (Class::GitHook, false) => Severity::Info,
    }
}
