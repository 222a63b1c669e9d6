use std::collections::BTreeSet;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
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
/// For each location, its longest run of ASCII letters (`.config/autostart` →
/// `autostart`), with the automaton finding them; `None` when some location
/// has no letters, so no line can be ruled out.
static ANCHORS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    let mut anchors = Vec::new();
    for (location, _, _) in LOCATIONS {
        let longest = location
            .split(|c: char| !c.is_ascii_alphabetic())
            .max_by_key(|run| run.len())
            .filter(|run| !run.is_empty())?;
        anchors.push(longest.to_ascii_lowercase());
    }
    AhoCorasick::new(anchors).ok()
});

/// 0-based numbers of the lines of `content` whose [`normalise`]d form may name
/// a location, or `None` for "any line may". [`normalise`] allocates and
/// rewrites every line, and most lines of a file that writes files name no
/// location; one pass over the file rules them out.
///
/// Exact: in a normalised ASCII line, consecutive letters were consecutive in
/// the line once quote characters (which `normalise` drops or turns into `/`)
/// are removed, so an anchor found in the normalised line is found in the
/// lowercased, quote-free line. Lines with non-ASCII bytes are always
/// candidates: Unicode lowercasing can turn them into ASCII letters (K, U+212A,
/// becomes `k`). Newlines are kept, so line numbers match `str::lines`.
fn candidate_lines(content: &[u8]) -> Option<BTreeSet<usize>> {
    let ac = ANCHORS.as_ref()?;
    let mut out = BTreeSet::new();
    let mut plain = Vec::with_capacity(content.len());
    let mut line = 0usize;
    for &b in content {
        match b {
            b'\'' | b'"' | b'`' => {}
            b'\n' => {
                line += 1;
                plain.push(b);
            }
            0x80.. => {
                out.insert(line);
            }
            _ => plain.push(b.to_ascii_lowercase()),
        }
    }
    // Anchors hold no newline, so every line holding one yields a match of
    // the non-overlapping search, and matches come in increasing order.
    let (mut pos, mut line) = (0usize, 0usize);
    for m in ac.find_iter(&plain) {
        let skipped = plain.get(pos..m.start()).unwrap_or_default();
        line += memchr::memchr_iter(b'\n', skipped).count();
        pos = m.start();
        out.insert(line);
    }
    Some(out)
}

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
            let candidates = candidate_lines(content);
            let Some(text) = input.text(&file.path) else {
                continue;
            };
            let mut best: Option<(Class, &str, u32, &str)> = None;
            for (n, line) in text.lines().enumerate() {
                if line.len() > 4000 || candidates.as_ref().is_some_and(|c| !c.contains(&n)) {
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

#[cfg(test)]
mod tests {
    use super::{LOCATIONS, candidate_lines, normalise};

    /// The prefilter may keep extra lines but must never drop a line that
    /// `normalise` turns into a location.
    #[test]
    fn candidate_lines_keep_every_line_naming_a_location() {
        let text = "import os\n\
            x = 1\n\
            open(os.path.expanduser('~/.BashRC'), 'a')\n\
            p = \"C:\\\\Users\\\\x\\\\AppData\\\\Roaming\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup\"\n\
            k = 'Software/Microsoft/Windows/Cur\"rent\"Version/Run'\n\
            path = os.path.join(home, '.config', 'autostart')\n\
            y = 2\n\
            s = 'schtas\u{212A}s /create'\n\
            print('hello')\r\n\
            t = \"/etc/\" + \"cron.d\"\n\
            u = '~/.zprofile'";
        let kept = candidate_lines(text.as_bytes()).expect("anchors build");
        let mut naming = 0;
        for (n, line) in text.lines().enumerate() {
            let norm = normalise(line);
            if LOCATIONS.iter().any(|(p, _, _)| norm.contains(p)) {
                naming += 1;
                assert!(kept.contains(&n), "line {n} dropped: {line}");
            }
        }
        // The fixture exercises the interesting cases (quotes inside a word,
        // a Kelvin sign lowercasing to `k`, joined literals) ...
        assert!(naming >= 7, "only {naming} lines name a location");
        // ... and the prefilter does rule lines out.
        assert!(!kept.contains(&0) && !kept.contains(&1) && !kept.contains(&6));
    }
}
