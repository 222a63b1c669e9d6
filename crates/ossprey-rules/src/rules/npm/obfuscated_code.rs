use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::Arg;
use ossprey_static::facts::text::MarkerKind;

use super::common::{context, is_js_exec, is_js_network, js_sources, standalone};
use crate::rules::catalog::{CODE_EVAL, is};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds JavaScript written by an obfuscator: javascript-obfuscator's string-array
/// rotation (`while(!![])`, `arr['push'](arr['shift']())`) and `_0x…` identifiers,
/// the `eval(function(p,a,c,k,e,d)…)` packer, code that evaluates a literal which
/// itself calls `eval`, and modules loaded through a string-table lookup
/// (`require(t(2))`, as a capability only; in a bare script, also names assembled from
/// such lookups). High in code that runs at install time
/// (critical when the file also evaluates computed code, loads modules by computed
/// name, starts programs or talks to the network) and in an entry point with those
/// capabilities; medium in
/// an entry point without them or in runtime-only code with them; low otherwise. A bare
/// script shipped without any package manifest counts as the entry point, and with
/// those capabilities or network access is critical: there is nothing else in the
/// package it could be serving. A minified bundle without these markers is not reported.
///
/// ## Why is this bad?
/// Minifiers shrink code; obfuscators exist to stop people reading it. Published
/// open-source packages almost never ship obfuscated code, and malware nearly always
/// does, to hide what it steals and where it sends it.
///
/// ## Example
/// ```javascript
/// var _0x1f2e=['log','shift','push'];(function(a,b){var c=function(d){while(--d){a['push'](a['shift']());}};c(++b);}(_0x1f2e,0x1a3));
/// ```
#[derive(Debug)]
pub struct ObfuscatedCode;

/// `_0x…` identifiers that make a file obfuscator output even without the rotation idiom.
const HEX_IDENTIFIERS: u32 = 30;

impl Rule for ObfuscatedCode {
    fn id(&self) -> &'static str {
        "JS-OBFUSCATED-CODE"
    }
    fn category(&self) -> Category {
        Category::OBFUSCATION
    }
    fn summary(&self) -> &'static str {
        "JavaScript written by an obfuscator"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let obf = &file.text.obfuscation;
            let marker = obf.markers.iter().find(|m| {
                matches!(
                    m.kind,
                    MarkerKind::JsObfuscatorLoop | MarkerKind::JsObfuscatorRotate
                )
            });
            let evals: Vec<_> = facts
                .calls
                .iter()
                .filter(|c| {
                    is(CODE_EVAL, &c.callee)
                        && !matches!(c.callee.as_str(), "setTimeout" | "setInterval")
                })
                .collect();
            // `eval(function(p,a,c,k,e,d){…}(…))`: a packer's unpacking function called inline.
            let packer = evals.iter().find(|c| {
                matches!(c.args.first(), Some(Arg::Call { callee, args }) if callee == "?" && args.len() >= 4)
            });
            // `eval("(function x(){… eval(…) …})")`: a literal that evaluates again.
            let self_decoding = evals.iter().find(|c| {
                c.args
                    .first()
                    .and_then(Arg::as_str)
                    .is_some_and(|s| s.len() > 200 && s.contains("eval("))
            });
            // `require(t(2))` more than once: module names hidden in a string table. In a
            // bare script without a manifest, names assembled from such lookups
            // (`require(t(1) + t(2))`, read as `Other`) count too: with a manifest, that
            // shape is too common in ordinary code (`require(dir + '/x')`) to tell apart.
            let bare = standalone(input);
            let hidden_requires: Vec<_> = facts
                .calls
                .iter()
                .filter(|c| {
                    c.callee == "require"
                        && match c.args.first() {
                            Some(Arg::Call { callee, .. }) => {
                                !callee.starts_with("path.") && !callee.starts_with("require.")
                            }
                            Some(Arg::Other) => bare,
                            _ => false,
                        }
                })
                .collect();
            let (why, line) = if let Some(m) = marker {
                ("javascript-obfuscator string-array rotation", m.line)
            } else if let Some(c) = packer {
                ("an eval packer", c.line)
            } else if let Some(c) = self_decoding {
                ("eval of a literal that evaluates code again", c.line)
            } else if obf.hex_identifiers >= HEX_IDENTIFIERS {
                let line = facts.calls.first().map_or(1, |c| c.line);
                ("javascript-obfuscator `_0x` identifiers", line)
            } else {
                continue;
            };
            // Evaluating computed code, loading modules by computed name, or starting programs.
            let capable = evals
                .iter()
                .any(|c| !matches!(c.args.first(), Some(Arg::Str(_)) | None))
                || self_decoding.is_some()
                || hidden_requires.len() >= 2
                || facts.calls.iter().any(|c| is_js_exec(&c.callee));
            let networked = facts.calls.iter().any(|c| is_js_network(&c.callee));
            let severity = match (context(input, file), capable) {
                // Install-time obfuscated code that talks to the network is hiding what
                // it sends or fetches while the package is being installed.
                (RunsAt::Install, _) if capable || networked => Severity::Critical,
                // A bare script with no package manifest: its code is the whole package.
                (RunsAt::Import, _) if standalone(input) && (capable || networked) => {
                    Severity::Critical
                }
                (RunsAt::Install, _) | (RunsAt::Import, true) => Severity::High,
                (RunsAt::Import, false) | (RunsAt::Runtime, true) => Severity::Medium,
                (RunsAt::Runtime, false) => Severity::Low,
            };
            let snippet = input
                .files
                .content(&file.path)
                .map(|b| {
                    let text = String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned();
                    text.lines()
                        .nth(line.saturating_sub(1) as usize)
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default();
            let extra = if capable {
                " hiding code it evaluates, modules it loads or programs it starts"
            } else {
                ""
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!("obfuscated JavaScript: {why}{extra}"),
                Some(&file.path),
                Some(line),
                (!snippet.is_empty()).then_some(snippet.as_str()),
            ));
        }
    }
}
