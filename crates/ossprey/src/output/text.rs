//! The `text` format: one block per target, findings grouped by severity.

use std::collections::BTreeMap;
use std::io::{self, Write};

use ossprey_model::{Evidence, FileEntry, FileKind, Finding, Report, Severity};
use ossprey_static::kind_name;

/// Files above this entropy (bits/byte) and size are listed as notable in text output.
const HIGH_ENTROPY: f32 = 7.2;
const HIGH_ENTROPY_MIN_SIZE: u64 = 1024;

pub fn write_report(out: &mut impl Write, r: &Report, list_files: bool) -> io::Result<()> {
    writeln!(out, "{}", clean(&r.target))?;
    if let Some(err) = &r.error {
        writeln!(out, "  error [{}]: {}", err.code, clean(&err.message))?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(p) = &r.package {
        writeln!(
            out,
            "  package   {} {} {}",
            p.ecosystem,
            clean(&p.name),
            clean(p.version.as_deref().unwrap_or("(no version)"))
        )?;
    } else {
        writeln!(out, "  package   (ecosystem not recognised)")?;
    }
    if let Some(a) = &r.artifact {
        writeln!(out, "  sha256    {}", a.sha256)?;
        let from = match &a.source {
            ossprey_model::ArtifactSource::Registry {
                url,
                verified_digest,
                ..
            } => {
                format!(
                    "{} (verified {})",
                    clean(url),
                    short_digest(verified_digest)
                )
            }
            ossprey_model::ArtifactSource::File { path } => clean(path),
            ossprey_model::ArtifactSource::Directory { path } => {
                format!("{}/ (directory)", clean(path))
            }
        };
        writeln!(out, "  source    {from}, {}", human_bytes(a.size))?;
    }
    match r.verdict {
        Some(v) => writeln!(
            out,
            "  verdict   {v} (score {:.1}/10)",
            r.score.unwrap_or_default()
        )?,
        None => writeln!(out, "  verdict   not judged")?,
    }
    write_findings(out, r)?;
    if let Some(inv) = &r.inventory {
        let mut kinds: BTreeMap<FileKind, usize> = BTreeMap::new();
        for f in &inv.files {
            *kinds.entry(f.kind).or_default() += 1;
        }
        let mut kinds: Vec<_> = kinds.into_iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let summary: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{n} {}", kind_name(*k)))
            .collect();
        writeln!(
            out,
            "  files     {} ({}): {}",
            inv.file_count,
            human_bytes(inv.total_bytes),
            summary.join(", ")
        )?;
    }
    if let Some(m) = &r.manifest {
        if m.install_hooks.is_empty() {
            writeln!(out, "  install hooks: none")?;
        } else {
            writeln!(out, "  install hooks:")?;
            for h in &m.install_hooks {
                let trigger = serde_json::to_value(h.trigger).ok();
                let trigger = trigger.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
                write!(out, "    {trigger:<22} {}", clean(&h.path))?;
                if let Some(cmd) = &h.command {
                    write!(out, "  `{}`", one_line(cmd, 100))?;
                }
                if let Some(detail) = &h.detail {
                    write!(out, "  ({})", one_line(detail, 100))?;
                }
                writeln!(out)?;
            }
        }
        for problem in &m.problems {
            writeln!(out, "  manifest problem: {}", clean(problem))?;
        }
    }
    if let Some(inv) = &r.inventory {
        let notable: Vec<&FileEntry> = inv.files.iter().filter(|f| is_notable(f)).collect();
        if !notable.is_empty() {
            writeln!(out, "  notable files:")?;
            for f in notable.iter().take(20) {
                write_file_line(out, f)?;
            }
            if notable.len() > 20 {
                writeln!(out, "    … and {} more", notable.len() - 20)?;
            }
        }
        if !inv.notes.is_empty() {
            writeln!(out, "  archive notes:")?;
            for n in &inv.notes {
                writeln!(
                    out,
                    "    {:<18} {}: {}",
                    clean(&n.kind),
                    clean(&n.path),
                    clean(&n.message)
                )?;
            }
        }
        if list_files {
            writeln!(out, "  inventory:")?;
            for f in &inv.files {
                write_file_line(out, f)?;
            }
        }
    }
    if let Some(d) = &r.dynamic {
        write_dynamic(out, d)?;
    }
    writeln!(out)
}

/// Destinations and commands listed per phase in text output; the JSON has them all.
const DYNAMIC_LIST: usize = 5;

/// The sandbox's phases: status, duration, counts, and the first destinations and
/// commands (all text the package chose goes through `clean`).
fn write_dynamic(out: &mut impl Write, d: &ossprey_model::DynamicResult) -> io::Result<()> {
    writeln!(out, "  dynamic:")?;
    for (name, phase) in [
        ("install", &d.install),
        ("import", &d.import),
        ("execute", &d.execute),
    ] {
        let Some(p) = phase else { continue };
        let status = match p.status {
            ossprey_model::dynamic::PhaseStatus::Completed => "completed",
            ossprey_model::dynamic::PhaseStatus::Timeout => "timeout",
            ossprey_model::dynamic::PhaseStatus::Error => "error",
        };
        let exit = match (p.exit_code, p.exit_signal) {
            (Some(c), _) => format!(", exit {c}"),
            (None, Some(s)) => format!(", signal {s}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "    {name:<8} {status} in {} ms{exit}: {} processes, {} files, {} connections, {} DNS queries",
            p.duration_ms,
            p.processes.len(),
            p.files.len(),
            p.network.connections.len(),
            p.network.dns.len()
        )?;
        if let Some(e) = &p.error {
            writeln!(out, "      error: {}", one_line(e, 160))?;
        }
        for c in p.network.connections.iter().take(DYNAMIC_LIST) {
            let host = c
                .hostname
                .as_deref()
                .map(|h| format!(" ({})", clean(h)))
                .unwrap_or_default();
            writeln!(
                out,
                "      → {} {}:{}{host}, {} bytes",
                clean(&c.protocol),
                clean(&c.address),
                c.port,
                c.bytes_total
            )?;
        }
        if p.network.connections.len() > DYNAMIC_LIST {
            writeln!(
                out,
                "      … and {} more connections",
                p.network.connections.len() - DYNAMIC_LIST
            )?;
        }
        // The driver's own setup commands (npm, pip) come first; the package's come
        // last: show the last distinct ones.
        let mut commands: Vec<String> = Vec::new();
        for e in p.processes.iter().flat_map(|pr| pr.execs.iter()) {
            let line = one_line(&e.argv.join(" "), 120);
            if !commands.contains(&line) {
                commands.push(line);
            }
        }
        let skipped = commands.len().saturating_sub(DYNAMIC_LIST);
        if skipped > 0 {
            writeln!(out, "      … {skipped} earlier commands")?;
        }
        for c in &commands[skipped..] {
            writeln!(out, "      $ {c}")?;
        }
    }
    for n in &d.notes {
        writeln!(out, "    note: {}", one_line(n, 160))?;
    }
    Ok(())
}

/// Findings grouped by severity, most severe first, each with its evidence.
fn write_findings(out: &mut impl Write, r: &Report) -> io::Result<()> {
    if r.findings.is_empty() && r.suppressed.is_empty() {
        if r.verdict.is_some() {
            writeln!(out, "  findings  none")?;
        }
        return Ok(());
    }
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        by_severity
            .entry(std::cmp::Reverse(f.severity))
            .or_default()
            .push(f);
    }
    for (std::cmp::Reverse(severity), findings) in by_severity {
        writeln!(
            out,
            "  {} ({}):",
            severity.as_str().to_uppercase(),
            findings.len()
        )?;
        for f in findings {
            writeln!(
                out,
                "    [{}] {} ({})",
                clean(&f.rule),
                clean(&f.message),
                f.category
            )?;
            write_evidence(out, &f.evidence)?;
            for note in &f.notes {
                writeln!(out, "        note: {}", one_line(note, 160))?;
            }
        }
    }
    if !r.suppressed.is_empty() {
        writeln!(
            out,
            "  suppressed by your allowlist ({}):",
            r.suppressed.len()
        )?;
        for s in &r.suppressed {
            writeln!(
                out,
                "    [{}] {} — reason: {}",
                clean(&s.finding.rule),
                clean(&s.finding.message),
                clean(&s.reason)
            )?;
        }
    }
    Ok(())
}

fn write_evidence(out: &mut impl Write, e: &Evidence) -> io::Result<()> {
    if let Some(file) = &e.file {
        match e.line {
            Some(line) => write!(out, "        at {}:{line}", clean(file))?,
            None => write!(out, "        in {}", clean(file))?,
        }
        if let Some(snippet) = &e.snippet {
            write!(out, ": {}", one_line(snippet, 120))?;
        }
        writeln!(out)?;
    } else if let Some(snippet) = &e.snippet {
        writeln!(out, "        {}", one_line(snippet, 120))?;
    }
    Ok(())
}

fn write_file_line(out: &mut impl Write, f: &FileEntry) -> io::Result<()> {
    write!(
        out,
        "    {:>9}  {:<15} H={:.2}  {}  {}",
        human_bytes(f.size),
        kind_name(f.kind),
        f.entropy,
        f.sha256.get(..12).unwrap_or(&f.sha256),
        clean(&f.path)
    )?;
    if let Some(link) = &f.link {
        write!(
            out,
            " -> {}{}",
            clean(&link.target),
            if link.escapes {
                "  (points outside the package)"
            } else {
                ""
            }
        )?;
    }
    writeln!(out)
}

/// Binaries, links that escape, and high-entropy files that are not media.
fn is_notable(f: &FileEntry) -> bool {
    f.kind.is_executable_binary()
        || f.link.as_ref().is_some_and(|l| l.escapes)
        || (f.entropy >= HIGH_ENTROPY
            && f.size >= HIGH_ENTROPY_MIN_SIZE
            && !matches!(f.kind, FileKind::Archive | FileKind::Image | FileKind::Font))
}

fn short_digest(d: &str) -> String {
    match d.char_indices().nth(24) {
        Some((i, _)) => format!("{}…", &d[..i]),
        None => d.to_owned(),
    }
}

/// Text from a package (paths, names, link targets, messages quoting them) with
/// control characters replaced, so that an entry named `x\n  install hooks: none`
/// or carrying terminal escape sequences cannot forge or hide report lines.
fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }

    #[test]
    fn text_output_neutralises_control_characters_in_package_paths() {
        let mut r = Report::new("x.tgz");
        r.inventory = Some(ossprey_model::Inventory {
            file_count: 1,
            total_bytes: 0,
            files: vec![FileEntry {
                path: "a\n  install hooks: none\x1b[2J".into(),
                size: 0,
                sha256: String::new(),
                kind: FileKind::Elf,
                entropy: 0.0,
                executable: false,
                link: None,
            }],
            notes: Vec::new(),
        });
        let mut out = Vec::new();
        write_report(&mut out, &r, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start() == "install hooks: none"),
            "{text}"
        );
        assert!(text.contains("a\u{fffd}  install hooks: none\u{fffd}[2J"));
    }

    #[test]
    fn one_line_strips_control_characters_and_truncates() {
        assert_eq!(one_line("a\nb\x1b[31m", 100), "a b [31m");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
