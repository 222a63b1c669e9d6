use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, cred_severity, line_text, looks_like_write, reads_files, refers_home, secret_mentions,
};
use crate::{Input, Rule, finding};

/// The store a fragment belongs to, so `.aws` and `.aws/credentials` count once.
fn store_of(fragment: &str) -> &'static str {
    const STORES: &[(&str, &str)] = &[
        (".aws", "aws"),
        (".azure", "azure"),
        ("gcloud", "gcloud"),
        ("application_default_credentials", "gcloud"),
        (".kube", "kube"),
        (".docker", "docker"),
        (".s3cfg", "s3cmd"),
        (".boto", "boto"),
        (".npmrc", "npm"),
        (".pypirc", "pypi"),
        (".git-credentials", "git"),
        (".netrc", "netrc"),
        (".gem", "rubygems"),
        (".cargo", "cargo"),
    ];
    STORES
        .iter()
        .find(|(k, _)| fragment.contains(k))
        .map_or("other", |(_, v)| v)
}

/// Whether `fragment` appears in `text` as a path component: bounded by separators,
/// quotes or the ends, not inside a host name or a regex (`dev\.azure\.com`).
fn path_like(text: &str, fragment: &str) -> bool {
    let lower = text.to_ascii_lowercase().replace('\\', "/");
    let mut from = 0;
    while let Some(at) = lower.get(from..).and_then(|s| s.find(fragment)) {
        let start = from + at;
        let end = start + fragment.len();
        let before = lower[..start].chars().next_back();
        let after = lower[end..].chars().next();
        let before_ok = before.is_none_or(|c| matches!(c, '/' | '~' | '"' | '\'' | ' ' | '='));
        let after_ok = after.is_none_or(|c| matches!(c, '/' | '"' | '\'' | ' ' | ')' | ','))
            && !lower[end..].starts_with("/.");
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// ## What it does
/// Finds code that reads cloud and package-registry credentials: `~/.aws/credentials`,
/// gcloud's application-default credentials, `~/.kube/config`,
/// `~/.docker/config.json`, `~/.npmrc`, `~/.pypirc`, `~/.git-credentials`,
/// `~/.netrc`, `~/.gem/credentials`, `~/.cargo/credentials`. The path must be in a
/// code string of a file that reads files and looks in the home directory, and not
/// on a line that writes it; `.netrc`, which HTTP clients honour, counts only next
/// to another store. One
/// store read on demand weighs little (cloud SDKs do that); read unprompted at
/// install or import time, or several different stores in one file, it is harvesting.
///
/// ## Why is this bad?
/// These files hold long-lived tokens: to a cloud account, a cluster, or the
/// victim's own packages on npm and PyPI, which lets a worm publish itself into them.
/// A package collecting several, or reading one while it is being installed, is
/// stealing them.
///
/// ## Example
/// ```javascript
/// for (const f of [".npmrc", ".aws/credentials", ".docker/config.json"])
///   send(fs.readFileSync(path.join(os.homedir(), f), "utf8"));
/// ```
#[derive(Debug)]
pub struct CloudRegistryTokens;

impl Rule for CloudRegistryTokens {
    fn id(&self) -> &'static str {
        "CRED-CLOUD-REGISTRY-TOKENS"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code reads cloud or package-registry credential files"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mentions = secret_mentions(input, &[SecretClass::Cloud, SecretClass::Registry]);
        for (file, list) in by_file(&mentions) {
            let reads: Vec<_> = list
                .into_iter()
                .filter(|m| {
                    let line = line_text(input, &file.path, m.line).unwrap_or_default();
                    !looks_like_write(&line) && path_like(&m.text, &m.fragment)
                })
                .collect();
            // A bare file name is a deny-list or a project file unless the code looks in
            // the user's home.
            if !refers_home(file) && !reads.iter().any(|m| m.text.contains('~')) {
                continue;
            }
            // `.netrc` is read by every HTTP client that honours it; alone it says nothing.
            let Some(first) = reads.iter().find(|m| store_of(&m.fragment) != "netrc") else {
                continue;
            };
            let line = line_text(input, &file.path, first.line);
            if !reads_files(file, line.as_deref()) {
                continue;
            }
            let stores: BTreeSet<&str> = reads.iter().map(|m| store_of(&m.fragment)).collect();
            let severity = if stores.len() >= 3 {
                crate::rules::network::util::context_severity(Severity::High, file)
            } else {
                cred_severity(Severity::Medium, file)
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "code reads credential files of {} ({})",
                    if stores.len() >= 3 {
                        "several services"
                    } else {
                        "a cloud or registry service"
                    },
                    stores.into_iter().collect::<Vec<_>>().join(", ")
                ),
                Some(&file.path),
                Some(first.line),
                Some(&first.text),
            ));
        }
    }
}
