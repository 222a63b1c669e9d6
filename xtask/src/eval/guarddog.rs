//! GuardDog as the reference peer: installed with pip into a venv under the eval
//! cache, run on the same files as ossprey.
//!
//! GuardDog is a static analyser (semgrep and YARA rules over the unpacked
//! archive, plus metadata heuristics): scanning a local archive unpacks it to a
//! temporary directory and never installs or imports it.
//!
//! GuardDog 3 combines its rule matches into a package risk score with a label
//! (`risk_score.label`: `no_risks_detected`, `low`, `suspicious`, `high_risk`).
//! The label is what its users act on, so it is compared level for level:
//! `high_risk` with ossprey's `malicious`, `suspicious` or worse with ossprey's
//! `suspicious` or worse. **Flagged** (`issues` > 0: at least one rule matched,
//! whatever its weight) is kept as a looser, secondary figure; older GuardDog
//! versions without a label fall back to it. A run that exits abnormally, times
//! out or prints no parsable JSON counts as an error (and, on the malicious
//! corpus, as a miss).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::lists::Eco;

/// A GuardDog run longer than this is stopped and counted as an error.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// What GuardDog said about one file.
#[derive(Clone, Debug, Default)]
pub struct GdResult {
    pub flagged: bool,
    /// `risk_score.label` from GuardDog's JSON, when it printed one.
    pub label: Option<String>,
    pub issues: u64,
    /// Rules with a non-empty result.
    pub rules: BTreeSet<String>,
    pub seconds: f64,
    pub error: Option<String>,
}

/// Creates `<eval_dir>/guarddog-venv` and installs GuardDog if it is not there yet;
/// returns the `guarddog` executable.
pub fn ensure(eval_dir: &Path) -> anyhow::Result<PathBuf> {
    let venv = eval_dir.join("guarddog-venv");
    let exe = venv.join("bin").join("guarddog");
    if exe.is_file() {
        return Ok(exe);
    }
    eprintln!(
        "eval: installing GuardDog into {} (pip install guarddog)",
        venv.display()
    );
    let status = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        bail!("python3 -m venv {} failed: {status}", venv.display());
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "guarddog"])
        .status()
        .context("running pip install guarddog")?;
    if !status.success() || !exe.is_file() {
        bail!("pip install guarddog failed: {status}");
    }
    Ok(exe)
}

/// Runs `guarddog <eco> scan <file> --output-format json`. Never fails: problems
/// go into [`GdResult::error`].
pub fn scan(exe: &Path, eco: Eco, file: &Path) -> GdResult {
    let started = Instant::now();
    let mut result = GdResult::default();
    match run(exe, eco, file) {
        Ok(stdout) => match parse_output(&stdout) {
            Some(Parsed {
                issues,
                rules,
                label,
            }) => {
                result.issues = issues;
                result.label = label;
                result.flagged = issues > 0;
                result.rules = rules;
            }
            None => {
                let head: String = stdout.chars().take(200).collect();
                result.error = Some(format!("no JSON in output: {head:?}"));
            }
        },
        Err(e) => result.error = Some(format!("{e:#}")),
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

fn run(exe: &Path, eco: Eco, file: &Path) -> anyhow::Result<String> {
    let out = tempfile::NamedTempFile::new()?;
    let err = tempfile::NamedTempFile::new()?;
    let mut child = Command::new(exe)
        .arg(eco.as_str())
        .arg("scan")
        .arg(file)
        .args(["--output-format", "json"])
        // semgrep would otherwise try to phone home for version checks and metrics.
        .env("SEMGREP_ENABLE_VERSION_CHECK", "0")
        .env("SEMGREP_SEND_METRICS", "off")
        .stdin(Stdio::null())
        .stdout(out.reopen()?)
        .stderr(err.reopen()?)
        .spawn()
        .with_context(|| format!("running {}", exe.display()))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {}s", TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&std::fs::read(out.path())?).into_owned();
    if !status.success() && parse_output(&stdout).is_none() {
        let stderr = String::from_utf8_lossy(&std::fs::read(err.path())?).into_owned();
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        bail!("exit {status}: {tail}");
    }
    Ok(stdout)
}

/// What [`parse_output`] reads from GuardDog's JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub issues: u64,
    /// Rules with a non-empty result.
    pub rules: BTreeSet<String>,
    /// `risk_score.label`, absent from GuardDog versions before the risk engine.
    pub label: Option<String>,
}

/// Finds GuardDog's JSON object in its stdout (log lines may precede it) and
/// returns `issues`, the rules with a non-empty result and the risk label.
pub fn parse_output(stdout: &str) -> Option<Parsed> {
    let v: Value = serde_json::from_str(stdout.trim()).ok().or_else(|| {
        stdout.lines().rev().find_map(|l| {
            serde_json::from_str::<Value>(l.trim())
                .ok()
                .filter(Value::is_object)
        })
    })?;
    let issues = v.get("issues")?.as_u64()?;
    let rules = v
        .get("results")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, r)| match r {
                    Value::Null | Value::Bool(false) => false,
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let label = v
        .get("risk_score")
        .and_then(|r| r.get("label"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(Parsed {
        issues,
        rules,
        label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_guarddog_json() {
        let out = r#"{"issues": 2, "errors": {}, "results": {"exec-base64": [{"location": "a.py:1"}], "npm-install-script": null, "shady-links": [], "typosquatting": "looks like requests"}, "path": "/x"}"#;
        let parsed = parse_output(out).unwrap();
        assert_eq!(parsed.issues, 2);
        assert_eq!(
            parsed.rules.into_iter().collect::<Vec<_>>(),
            vec!["exec-base64", "typosquatting"]
        );
        assert_eq!(parsed.label, None);
        let parsed = parse_output("some log line\n{\"issues\": 0, \"results\": {}}\n").unwrap();
        assert_eq!(parsed.issues, 0);
        let with_label = r#"{"issues": 1, "results": {"shady-links": [{"location": "a.py:3"}]}, "risk_score": {"score": 8.1, "label": "high_risk"}, "risks": []}"#;
        assert_eq!(
            parse_output(with_label).unwrap().label.as_deref(),
            Some("high_risk")
        );
        assert!(parse_output("Traceback ...").is_none());
        assert!(parse_output("{\"issues\": \"many\"}").is_none());
    }
}
