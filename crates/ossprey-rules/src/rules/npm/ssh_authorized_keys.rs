//! JS-SSH-AUTHORIZED-KEYS: JavaScript writes to users' `~/.ssh/authorized_keys`.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, SourceFacts};

use super::common::{context, js_sources};
use crate::{Input, Rule, finding, weigh};

/// ## What it does
/// Finds JavaScript that writes, appends to, copies over or renames onto an SSH
/// `authorized_keys` file: a file-writing call (`fs.writeFile`, `fs.appendFile`,
/// `fs.createWriteStream`, `fs.copyFile`, `fs.rename`, and their sync and promise forms)
/// whose path is a literal naming `authorized_keys`, or is built at run time in a file
/// whose literals name `authorized_keys` (`"/home/" + user + "/.ssh/authorized_keys"`).
/// High, raised at install and import time and lowered in code that only runs when
/// called; critical when the file also embeds an SSH public key (`ssh-rsa AAAA…`) and
/// runs by itself.
///
/// ## Why is this bad?
/// A key in `authorized_keys` lets its owner log in as that user over SSH, with no
/// password, for as long as the line stays there. A package has no business granting
/// logins; a backdoor adds its author's key for every home directory it can write.
///
/// ## Example
/// ```javascript
/// const fs = require("fs");
/// const key = "ssh-rsa AAAAB3Nza… attacker@host";
/// for (const u of fs.readdirSync("/home"))
///   fs.appendFileSync("/home/" + u + "/.ssh/authorized_keys", "\n" + key + "\n");
/// ```
#[derive(Debug)]
pub struct SshAuthorizedKeys;

const FILE_WRITES: &[&str] = &[
    "fs.writeFile",
    "fs.writeFileSync",
    "fs.appendFile",
    "fs.appendFileSync",
    "fs.createWriteStream",
    "fs.copyFile",
    "fs.copyFileSync",
    "fs.rename",
    "fs.renameSync",
    "fs.promises.writeFile",
    "fs.promises.appendFile",
    "fs.promises.copyFile",
    "fs.promises.rename",
    "fs-extra.outputFile",
    "fs-extra.outputFileSync",
];

const FILE_READS: &[&str] = &[
    "fs.readFile",
    "fs.readFileSync",
    "fs.existsSync",
    "fs.statSync",
    "fs.stat",
    "fs.createReadStream",
    "fs.promises.readFile",
];

const TARGET: &str = "authorized_keys";

/// The argument naming the file written: the destination for copies and renames.
fn destination(callee: &str, args: &[Arg]) -> Option<usize> {
    let copy = callee.contains("copyFile") || callee.contains("rename");
    let at = usize::from(copy);
    (at < args.len()).then_some(at)
}

fn embeds_public_key(facts: &SourceFacts) -> bool {
    facts.strings.iter().any(|s| {
        [
            "ssh-rsa AAAA",
            "ssh-ed25519 AAAA",
            "ecdsa-sha2-nistp256 AAAA",
        ]
        .iter()
        .any(|k| s.value.contains(k))
    })
}

impl Rule for SshAuthorizedKeys {
    fn id(&self) -> &'static str {
        "JS-SSH-AUTHORIZED-KEYS"
    }
    fn category(&self) -> Category {
        Category::PERSISTENCE
    }
    fn summary(&self) -> &'static str {
        "JavaScript writes to an SSH authorized_keys file"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            // Mentions of the file other than as a literal being read: a tool that lists
            // the keys (`fs.readFileSync("~/.ssh/authorized_keys")`) names it too.
            let mentions = facts
                .strings
                .iter()
                .filter(|s| s.value.contains(TARGET))
                .count();
            let reads = facts
                .calls
                .iter()
                .filter(|c| FILE_READS.contains(&c.callee.as_str()))
                .filter(|c| c.snippet.contains(TARGET))
                .count();
            if mentions <= reads {
                continue;
            }
            let runs_at = context(input, file);
            let key = embeds_public_key(facts);
            for call in facts
                .calls
                .iter()
                .filter(|c| FILE_WRITES.contains(&c.callee.as_str()))
            {
                let Some(path) =
                    destination(&call.callee, &call.args).and_then(|i| call.args.get(i))
                else {
                    continue;
                };
                let hit = match path {
                    Arg::Str(s) => s.contains(TARGET),
                    // A path built at run time in a file that spells out the target.
                    Arg::Name(_) | Arg::Other | Arg::Call { .. } => true,
                    Arg::Const(_) | Arg::List(_) => false,
                };
                if !hit {
                    continue;
                }
                let top_level = call.scope.is_none();
                let mut severity = weigh(Severity::High, runs_at, top_level);
                if key && runs_at != RunsAt::Runtime {
                    severity = Severity::Critical;
                }
                let with_key = if key {
                    ", with an SSH public key it embeds"
                } else {
                    ""
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!(
                        "`{}` writes an SSH authorized_keys file{with_key}",
                        call.callee
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
            }
        }
    }
}
