//! NPM-HOOK-SHELL-PAYLOAD: an install script hides, fetches or plants code with shell
//! tricks the download and network rules do not cover.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::{RunTarget, ShellFacts};

use super::common::install_commands;
use crate::{Input, Rule};

/// ## What it does
/// Reads each npm install script (`preinstall`, `install`, `postinstall`, and the shell
/// files they run) with the shell tokenizer and fires on:
/// - base64-decoded text run by `sh`/`eval` (`echo … | base64 -d | sh`) — critical;
/// - hex or octal escapes (not terminal colour codes) expanded into `eval`, a pipe into
///   a shell or `sh -c` (`sh -c "$(printf '\x63…')"`) — critical;
/// - an SSH `authorized_keys` file or the crontab written to — critical; a shell
///   start-up file (`~/.bashrc`, `~/.profile`) — high;
/// - `git clone` followed by running something — high;
/// - the environment dumped (`env`, `printenv`) in a script that uses a network tool
///   — critical;
/// - a program made executable and started in the background — critical; any other
///   background start (`&`, `nohup`, `setsid`) — high;
/// - `npm install` of a git or URL source — high;
/// - deleting the home directory or the filesystem root (also behind `sudo`),
///   `find ~ -delete`, `dd` onto a disk device, `mkfs`, `shutdown`/`reboot`, or a fork bomb —
///   critical.
///
/// ## Why is this bad?
/// Install scripts compile native code or print a notice. Decoding a command before
/// running it, planting access or start-up code, running code fetched from a
/// repository, and detaching processes have no place there — they are how install-time
/// payloads hide from the person reading `package.json`.
///
/// ## Example
/// ```json
/// { "scripts": { "postinstall": "echo Y3VybCAuLi4= | base64 -d | sh" } }
/// ```
#[derive(Debug)]
pub struct HookShellPayload;

fn program(word: &str) -> String {
    word.rsplit('/').next().unwrap_or(word).to_ascii_lowercase()
}

/// Counts `\xNN` and `\NNN` escapes, which only obfuscated commands spell out.
fn escapes(text: &str) -> usize {
    let bytes = text.as_bytes();
    bytes
        .windows(4)
        .filter(|w| {
            // `\033` and `\x1b` start terminal colour codes, which build scripts print.
            !w.starts_with(b"\\033")
                && !w.eq_ignore_ascii_case(b"\\x1b")
                && w.first() == Some(&b'\\')
                && (w.get(1) == Some(&b'x') && w.get(2).is_some_and(u8::is_ascii_hexdigit)
                    || w.get(1..4)
                        .is_some_and(|d| d.iter().all(|b| (b'0'..=b'7').contains(b))))
        })
        .count()
}

/// Files whose modification grants access or schedules code by itself.
const ACCESS_FILES: &[&str] = &["authorized_keys", "/etc/cron", "/var/spool/cron"];

const STARTUP_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".profile",
    "/etc/profile",
    "/etc/cron",
    "/var/spool/cron",
];

fn judge(shell: &ShellFacts, text: &str) -> Option<(Severity, &'static str)> {
    let programs: Vec<String> = shell
        .commands
        .iter()
        .filter_map(|c| c.argv.first().map(|p| program(p)))
        .collect();
    let has = |p: &str| programs.iter().any(|x| x == p);
    let runs_code = shell.evals || shell.pipes_into_interpreter || !shell.runs.is_empty();
    let runs_inline = shell
        .runs
        .iter()
        .any(|r| matches!(r.target, RunTarget::Inline(_)));
    let net = ["curl", "wget", "nc", "ncat", "netcat"]
        .iter()
        .any(|t| has(t));
    let writes = |files: &[&str]| {
        shell.commands.iter().any(|c| {
            c.redirects
                .iter()
                .any(|r| r.op.contains('>') && files.iter().any(|f| r.target.contains(f)))
                || c.argv.first().is_some_and(|p| program(p) == "tee")
                    && c.argv.iter().any(|a| files.iter().any(|f| a.contains(f)))
        })
    };
    let plants_access = writes(ACCESS_FILES)
        || shell.commands.iter().any(|c| {
            c.argv.first().is_some_and(|p| program(p) == "crontab")
                && c.argv.iter().skip(1).any(|a| a == "-")
        });
    let writes_startup = writes(STARTUP_FILES);
    let clones = shell.commands.iter().any(|c| {
        c.argv.first().is_some_and(|p| program(p) == "git")
            && c.argv.get(1).is_some_and(|a| a == "clone")
    });
    let npm_remote = shell.commands.iter().any(|c| {
        c.argv
            .first()
            .is_some_and(|p| matches!(program(p).as_str(), "npm" | "pnpm" | "yarn"))
            && c.argv
                .iter()
                .any(|a| matches!(a.as_str(), "i" | "install" | "add"))
            && c.argv
                .iter()
                .any(|a| a.contains("://") || a.starts_with("git+") || a.starts_with("github:"))
    });
    let destroys = shell.commands.iter().any(|c| {
        // `sudo`/`nohup` wrappers do not change what runs.
        let argv: Vec<&str> = c
            .argv
            .iter()
            .map(String::as_str)
            .skip_while(|a| matches!(program(a).as_str(), "sudo" | "nohup" | "nice" | "env"))
            .collect();
        let Some(first) = argv.first() else {
            return false;
        };
        let rest = argv.get(1..).unwrap_or_default();
        let whole = |a: &&str| {
            matches!(
                a.trim_end_matches("/*").trim_end_matches('/'),
                "" | "~" | "$HOME" | "${HOME}"
            )
        };
        match program(first).as_str() {
            "shutdown" | "reboot" | "halt" | "poweroff" => true,
            "rm" => {
                rest.iter().any(|a| a.starts_with('-') && a.contains('r')) && rest.iter().any(whole)
            }
            "find" => rest.iter().any(whole) && rest.contains(&"-delete"),
            "dd" => rest.iter().any(|a| {
                [
                    "of=/dev/sd",
                    "of=/dev/nvme",
                    "of=/dev/hd",
                    "of=/dev/vd",
                    "of=/dev/xvd",
                    "of=/dev/mmcblk",
                    "of=/dev/disk",
                ]
                .iter()
                .any(|d| a.starts_with(d))
            }),
            p if p.starts_with("mkfs") => true,
            _ => false,
        }
    }) || text.contains(":|:&")
        || text.contains(":|: &");
    if destroys {
        Some((
            Severity::Critical,
            "destroys files or disks, or stops or exhausts the machine",
        ))
    } else if shell.base64_decode && runs_code {
        Some((Severity::Critical, "runs base64-decoded commands"))
    } else if escapes(text) >= 4 && (shell.evals || shell.pipes_into_interpreter || runs_inline) {
        Some((
            Severity::Critical,
            "runs commands spelled in escape sequences",
        ))
    } else if plants_access {
        Some((
            Severity::Critical,
            "writes SSH authorized keys or the crontab",
        ))
    } else if net && (has("env") || has("printenv")) {
        Some((
            Severity::Critical,
            "dumps the environment next to a network tool",
        ))
    } else if shell.daemonises && shell.chmod_exec {
        Some((
            Severity::Critical,
            "makes a program executable and starts it in the background",
        ))
    } else if writes_startup {
        // Some CLIs add shell completion this way; high, not critical.
        Some((Severity::High, "writes a shell start-up file"))
    } else if clones && !shell.runs.is_empty() {
        Some((Severity::High, "clones a repository and runs it"))
    } else if shell.daemonises {
        Some((Severity::High, "starts a process in the background"))
    } else if npm_remote {
        Some((
            Severity::High,
            "installs a package from a git or URL source",
        ))
    } else {
        None
    }
}

impl Rule for HookShellPayload {
    fn id(&self) -> &'static str {
        "NPM-HOOK-SHELL-PAYLOAD"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "install script decodes, plants, clones or detaches code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for script in install_commands(input) {
            let Some((severity, what)) = judge(&script.shell, &script.command) else {
                continue;
            };
            out.push(script.finding(self, severity, format!("`{}` script {what}", script.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ossprey_static::facts::shell::parse;

    fn judged(script: &str) -> Option<Severity> {
        judge(&parse(script), script).map(|(s, _)| s)
    }

    #[test]
    fn decoding_planting_and_wiping_are_critical() {
        assert_eq!(
            judged("echo aGk= | base64 -d | sh"),
            Some(Severity::Critical)
        );
        assert_eq!(
            judged("echo ssh-rsa AAAA x >> ~/.ssh/authorized_keys"),
            Some(Severity::Critical)
        );
        assert_eq!(judged("sudo rm -rf /*"), Some(Severity::Critical));
        assert_eq!(judged("find ~ -type f -delete"), Some(Severity::Critical));
        assert_eq!(judged(":(){ :|:& };:"), Some(Severity::Critical));
    }

    #[test]
    fn ordinary_build_steps_pass() {
        assert_eq!(judged("node-gyp rebuild"), None);
        assert_eq!(judged("rm -rf build && tsc -p ."), None);
        assert_eq!(judged("find . -name '*.map' -delete"), None);
        assert_eq!(judged("npm run build"), None);
        assert_eq!(
            judged(r"node build.js && printf '\033[32mok\033[0m \x1b[1m\x1b[0m\n'"),
            None
        );
        assert_eq!(judged("dd if=/dev/zero of=/dev/null count=1"), None);
        assert_eq!(
            judged("echo 'source ~/.x/completion' >> ~/.bashrc"),
            Some(Severity::High)
        );
    }

    #[test]
    fn escapes_are_counted() {
        assert_eq!(escapes(r"\x63\x75\x72\x6c"), 4);
        assert_eq!(escapes(r"\101\102"), 2);
        assert_eq!(escapes("plain"), 0);
        assert_eq!(escapes(r"\033[32m\x1b[0m\033[1m\x1B[0m"), 0);
    }
}
