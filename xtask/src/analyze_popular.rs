//! `cargo xtask analyze-popular [--list FILE] [--bin PATH] [--timeout SECS] [--out FILE]`:
//! runs the pinned popular packages of `xtask/eval/analyze-popular.txt` through
//! `ossprey analyze` end to end (static, metadata and the sandboxed install, import
//! and execute phases) and prints each verdict with the findings behind it.
//!
//! Issue 5's target is that none of them is judged `malicious` and that every
//! `suspicious` one can be explained; this command prints what is needed to do that.
//! It needs what `ossprey analyze` needs: root (or user namespaces) and the sandbox
//! runtime, plus PyPI and npm to fetch the packages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::Value;

struct Options {
    list: PathBuf,
    bin: Option<PathBuf>,
    timeout: u64,
    out: Option<PathBuf>,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut o = Options {
        list: root.join("xtask/eval/analyze-popular.txt"),
        bin: None,
        timeout: 90,
        out: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--list" => o.list = PathBuf::from(it.next().context("--list needs a file")?),
            "--bin" => o.bin = Some(PathBuf::from(it.next().context("--bin needs a path")?)),
            "--timeout" => {
                o.timeout = it
                    .next()
                    .context("--timeout needs seconds")?
                    .parse()
                    .context("--timeout")?;
            }
            "--out" => o.out = Some(PathBuf::from(it.next().context("--out needs a file")?)),
            other => anyhow::bail!(
                "analyze-popular: unknown argument {other}\n\
                 usage: cargo xtask analyze-popular [--list FILE] [--bin PATH] [--timeout SECS] [--out FILE]"
            ),
        }
    }
    let targets = read_list(&o.list)?;
    let bin = match &o.bin {
        Some(bin) => bin.clone(),
        None => build_release(&root)?,
    };
    eprintln!(
        "analyze-popular: {} packages through {} analyze (per-phase timeout {} s)",
        targets.len(),
        bin.display(),
        o.timeout
    );
    // One process for the whole list, in order; the reports stream out as JSONL.
    let output = Command::new(&bin)
        .arg("analyze")
        .args(["--format", "jsonl", "--jobs", "1", "--timeout"])
        .arg(o.timeout.to_string())
        .args(&targets)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if let Some(out) = &o.out {
        std::fs::write(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let reports: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("ossprey printed a line that is not JSON")?;
    anyhow::ensure!(
        reports.len() == targets.len(),
        "ossprey printed {} reports for {} targets (exit status {})",
        reports.len(),
        targets.len(),
        output.status
    );
    print!("{}", summarise(&reports));
    Ok(())
}

fn read_list(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let targets: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!targets.is_empty(), "{}: no targets", path.display());
    Ok(targets)
}

fn build_release(root: &Path) -> anyhow::Result<PathBuf> {
    // Always ask cargo: a stale binary would measure old rules.
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "-p", "ossprey"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    anyhow::ensure!(status.success(), "cargo build --release -p ossprey failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release/ossprey"))
}

/// The table: one line per package (verdict, score, phase statuses, time), then the
/// findings of every package that is not benign, then the totals per ecosystem.
fn summarise(reports: &[Value]) -> String {
    let mut out = String::new();
    let mut totals: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    out.push_str(&format!(
        "{:<48} {:<11} {:>5}  {:<34} {:>8}\n",
        "target", "verdict", "score", "install/import/execute", "seconds"
    ));
    for r in reports {
        let target = r["target"].as_str().unwrap_or("?");
        let eco = target.split(':').next().unwrap_or("?").to_owned();
        let verdict = match (r["verdict"].as_str(), r["error"]["code"].as_str()) {
            (Some(v), _) => v.to_owned(),
            (None, Some(code)) => format!("error:{code}"),
            (None, None) => "none".to_owned(),
        };
        *totals
            .entry(eco)
            .or_default()
            .entry(verdict.clone())
            .or_default() += 1;
        let phases: Vec<String> = ["install", "import", "execute"]
            .iter()
            .map(|p| r["dynamic"][p]["status"].as_str().unwrap_or("-").to_owned())
            .collect();
        out.push_str(&format!(
            "{:<48} {:<11} {:>5}  {:<34} {:>8.1}\n",
            target,
            verdict,
            r["score"]
                .as_f64()
                .map_or("-".to_owned(), |s| format!("{s:.1}")),
            phases.join("/"),
            r["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0
        ));
    }
    for r in reports {
        if r["verdict"].as_str().is_none_or(|v| v == "benign") {
            continue;
        }
        out.push_str(&format!(
            "\n{} — {} {}\n",
            r["target"].as_str().unwrap_or("?"),
            r["verdict"].as_str().unwrap_or("?"),
            r["score"]
        ));
        for f in r["findings"].as_array().into_iter().flatten() {
            let ev = &f["evidence"];
            let place = match (ev["file"].as_str(), ev["line"].as_u64()) {
                (Some(file), Some(line)) => format!(" {file}:{line}"),
                (Some(file), None) => format!(" {file}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {:<8} {:<32} {}{}\n",
                f["severity"].as_str().unwrap_or("?"),
                f["rule"].as_str().unwrap_or("?"),
                f["message"].as_str().unwrap_or(""),
                place
            ));
        }
    }
    out.push('\n');
    for (eco, counts) in &totals {
        let n: usize = counts.values().sum();
        let parts: Vec<String> = counts.iter().map(|(v, c)| format!("{v} {c}")).collect();
        out.push_str(&format!("{eco}: {n} packages: {}\n", parts.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_verdicts_and_lists_findings_of_non_benign_packages() {
        let reports = vec![
            serde_json::json!({"target": "pypi:a@1", "verdict": "benign", "score": 0.0,
                "findings": [], "duration_ms": 1500,
                "dynamic": {"install": {"status": "completed"}, "import": {"status": "error"}}}),
            serde_json::json!({"target": "npm:b@2", "verdict": "suspicious", "score": 3.5,
                "findings": [{"rule": "DYN-X", "severity": "high", "message": "did a thing",
                    "evidence": {"file": "index.js", "line": 3}}], "duration_ms": 10}),
            serde_json::json!({"target": "npm:c@3", "verdict": null, "error": {"code": "no-such-package"}}),
        ];
        let s = summarise(&reports);
        assert!(s.contains("completed/error/-"), "{s}");
        assert!(s.contains("npm:b@2 — suspicious 3.5"), "{s}");
        assert!(s.contains("DYN-X") && s.contains("index.js:3"), "{s}");
        assert!(s.contains("pypi: 1 packages: benign 1"), "{s}");
        assert!(
            s.contains("npm: 2 packages: error:no-such-package 1, suspicious 1"),
            "{s}"
        );
    }
}
