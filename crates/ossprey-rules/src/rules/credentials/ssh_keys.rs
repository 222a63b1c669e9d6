use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, cred_severity, line_text, looks_like_write, reads_files, secret_mentions,
};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds code that reads SSH private keys: a private-key file name (`id_rsa`,
/// `id_ed25519`, `id_ecdsa`, `id_dsa`) or the `~/.ssh` directory itself in a code
/// string of a file that reads files or lists directories. `known_hosts`, `config`,
/// public keys (`.pub`) and writes (adding a key to `authorized_keys` is a
/// persistence rule's business) do not count.
///
/// ## Why is this bad?
/// An SSH private key opens every server and repository its owner can reach.
/// Stealers and worm-like packages copy `~/.ssh` wholesale. SSH clients do load keys,
/// when a user asks them to connect; a package reading them on its own, at install or
/// import time, is stealing them.
///
/// ## Example
/// ```python
/// for name in os.listdir(os.path.expanduser("~/.ssh")):
///     send(open(os.path.join(home, ".ssh", name)).read())
/// ```
#[derive(Debug)]
pub struct SshKeys;

impl Rule for SshKeys {
    fn id(&self) -> &'static str {
        "CRED-SSH-KEYS"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code reads SSH private keys or the ~/.ssh directory"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mentions = secret_mentions(input, &[SecretClass::Ssh]);
        for (file, list) in by_file(&mentions) {
            let relevant: Vec<_> = list
                .into_iter()
                .filter(|m| {
                    let t = m.text.to_ascii_lowercase();
                    m.fragment != "authorized_keys"
                        && !looks_like_write(&m.text)
                        && !(m.fragment == ".ssh"
                            && (t.contains("known_hosts")
                                || t.contains("/config")
                                || t.contains("\\config")
                                || t.contains("authorized_keys")
                                || t.contains(".pub")))
                })
                .collect();
            // Key names alone are a deny-list; the thief looks in `~/.ssh`.
            let in_ssh_dir = relevant
                .iter()
                .any(|m| m.fragment == ".ssh" || m.text.to_ascii_lowercase().contains(".ssh"));
            let Some(first) = relevant.first().filter(|_| in_ssh_dir) else {
                continue;
            };
            let line = line_text(input, &file.path, first.line);
            if !reads_files(file, line.as_deref()) {
                continue;
            }
            out.push(finding(
                self.id(),
                cred_severity(Severity::High, file),
                self.category(),
                format!(
                    "code reads SSH private keys (`{}`)",
                    relevant
                        .iter()
                        .map(|m| m.fragment.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join("`, `")
                ),
                Some(&file.path),
                Some(first.line),
                Some(&first.text),
            ));
        }
    }
}
