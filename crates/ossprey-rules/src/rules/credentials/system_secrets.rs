use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, cred_severity, executes, line_text, looks_like_write, reads_files, secret_mentions,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds code that reads system secrets: `/etc/shadow`, shell and REPL history files
/// (`.bash_history`, `.zsh_history`, PowerShell's `ConsoleHost_history.txt`…), the
/// macOS keychain (`login.keychain`, `security find-generic-password`), and — weighing
/// less — `/etc/passwd` and `/etc/sudoers`. The path must be in code that reads files
/// (or, for the keychain command, runs a process).
///
/// ## Why is this bad?
/// Password hashes, keychain items and shell history (full of pasted tokens and
/// passwords) are what an attacker collects after landing on a machine. Packages
/// have no reason to read them; `/etc/passwd` is also the classic first file a probe
/// reads to prove it can.
///
/// ## Example
/// ```python
/// data = open(os.path.expanduser("~/.bash_history")).read() + open("/etc/shadow").read()
/// ```
#[derive(Debug)]
pub struct SystemSecrets;

impl Rule for SystemSecrets {
    fn id(&self) -> &'static str {
        "CRED-SYSTEM-SECRETS"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code reads /etc/shadow, /etc/passwd, shell history or keychains"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mentions = secret_mentions(
            input,
            &[
                SecretClass::System,
                SecretClass::History,
                SecretClass::Keychain,
            ],
        );
        for (file, list) in by_file(&mentions) {
            let line_of = |l: u32| line_text(input, &file.path, l).unwrap_or_default();
            let reads: Vec<_> = list
                .into_iter()
                .filter(|m| !looks_like_write(&line_of(m.line)))
                // `../../etc/passwd` is a path-traversal test payload, not a read.
                .filter(|m| !m.text.contains("../"))
                .collect();
            let Some(first) = reads.first() else { continue };
            let strong = reads
                .iter()
                .find(|m| !matches!(m.fragment.as_str(), "/etc/passwd" | "/etc/sudoers"));
            let keychain_cmd = reads.iter().any(|m| m.fragment.starts_with("find-"));
            let line = line_text(input, &file.path, first.line);
            let acts = reads_files(file, line.as_deref()) || (keychain_cmd && executes(file));
            if !acts {
                continue;
            }
            let (shown, base) = match strong {
                Some(m) => (m, Severity::High),
                None => (first, Severity::Medium),
            };
            let kinds: std::collections::BTreeSet<&str> =
                reads.iter().map(|m| m.fragment.as_str()).collect();
            out.push(finding(
                self.id(),
                cred_severity(base, file),
                self.category(),
                format!(
                    "code reads system secrets (`{}`)",
                    kinds.into_iter().collect::<Vec<_>>().join("`, `")
                ),
                Some(&file.path),
                Some(shown.line),
                Some(&shown.text),
            ));
        }
    }
}
