use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::{self, RunTarget};

use super::common::npm_hooks;
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports every npm lifecycle script that runs on install: `preinstall`, `install`
/// and `postinstall` (and `prepare`, which runs for git and local installs only).
/// Scripts made only of recognised build and setup tooling (`node-gyp rebuild`,
/// `prebuild-install`, `husky install`, `patch-package`, `tsc`, …) are reported as
/// info; any other install script as low.
///
/// ## Why is this bad?
/// Install scripts run with the installing user's rights before anyone has looked at
/// the package, and nearly all npm malware starts in one. Many benign packages need
/// one to build native code, so by itself this is context, not a verdict: other rules
/// weigh what the script does.
///
/// ## Example
/// ```json
/// { "scripts": { "preinstall": "node index.js" } }
/// ```
#[derive(Debug)]
pub struct InstallScript;

/// Programs whose lifecycle use is ordinary build or setup work.
const BENIGN_TOOLS: &[&str] = &[
    "node-gyp",
    "node-gyp-build",
    "node-pre-gyp",
    "prebuild-install",
    "prebuild",
    "cmake-js",
    "husky",
    "patch-package",
    "opencollective-postinstall",
    "opencollective",
    "is-ci",
    "tsc",
    "ngcc",
    "electron-builder",
    "electron-rebuild",
    "napi",
    "node-pre-gyp-github",
    "npm",
    "yarn",
    "pnpm",
    "lerna",
    "echo",
    "exit",
    "true",
    "cd",
    "rimraf",
    "mkdirp",
    "tsup",
    "rollup",
    "webpack",
    "babel",
    "esbuild",
    "vite",
    "nx",
    "turbo",
];

fn program(word: &str) -> &str {
    word.rsplit(['/', '\\']).next().unwrap_or(word)
}

/// Whether every command of `command` is recognised tooling.
fn recognised(command: &str) -> bool {
    let facts = shell::parse(command);
    if facts.commands.is_empty() {
        return true;
    }
    facts.commands.iter().all(|c| {
        let Some(first) = c.argv.first() else {
            return true;
        };
        let p = program(first);
        if BENIGN_TOOLS.contains(&p) {
            return true;
        }
        // `node node_modules/husky/lib/installer/bin install` and the like.
        p == "node"
            && facts.runs.iter().any(|r| {
                matches!(&r.target, RunTarget::File(f)
                    if f.contains("node_modules/") && BENIGN_TOOLS.iter().any(|t| f.contains(&format!("/{t}/"))))
            })
    })
}

impl Rule for InstallScript {
    fn id(&self) -> &'static str {
        "NPM-INSTALL-SCRIPT"
    }
    fn category(&self) -> Category {
        Category::INSTALL_HOOK
    }
    fn summary(&self) -> &'static str {
        "npm lifecycle script that runs on install"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (name, hook, command) in npm_hooks(input) {
            let severity = if name == "prepare" || recognised(command) {
                Severity::Info
            } else {
                Severity::Low
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!("`{name}` script runs on install: `{command}`"),
                Some(&hook.path),
                input.line_of(&hook.path, &format!("\"{name}\"")),
                Some(command),
            ));
        }
    }
}
