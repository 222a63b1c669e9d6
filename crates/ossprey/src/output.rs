//! Report output formats: `text` for people, `json` and `jsonl` for programs.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Stdout, Write};

use ossprey_model::{FileEntry, FileKind, Report};

use crate::cli::Format;

/// Files above this entropy (bits/byte) and size are listed as notable in text output.
const HIGH_ENTROPY: f32 = 7.2;
const HIGH_ENTROPY_MIN_SIZE: u64 = 1024;

pub struct Printer {
    format: Format,
    list_files: bool,
    /// `json` with several targets prints one array; track whether it is open.
    array_started: bool,
    targets: usize,
    out: BufWriter<Stdout>,
}

impl Printer {
    pub fn new(format: Format, list_files: bool, targets: usize) -> Self {
        Self {
            format,
            list_files,
            array_started: false,
            targets,
            out: BufWriter::new(io::stdout()),
        }
    }

    pub fn print(&mut self, report: &Report) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, report)?;
                writeln!(self.out)?;
            }
            Format::Json if self.targets == 1 => {
                serde_json::to_writer_pretty(&mut self.out, report)?;
                writeln!(self.out)?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.array_started { b",\n" } else { b"[\n" })?;
                self.array_started = true;
                serde_json::to_writer_pretty(&mut self.out, report)?;
            }
            Format::Text => write_text(&mut self.out, report, self.list_files)?,
        }
        // Flush per report so long batches stream to pipes.
        self.out.flush()
    }

    pub fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Json && self.targets != 1 {
            self.out.write_all(if self.array_started {
                b"\n]\n"
            } else {
                b"[]\n"
            })?;
        }
        self.out.flush()
    }
}

fn write_text(out: &mut impl Write, r: &Report, list_files: bool) -> io::Result<()> {
    writeln!(out, "{}", r.target)?;
    if let Some(err) = &r.error {
        writeln!(out, "  error [{}]: {}", err.code, err.message)?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(p) = &r.package {
        writeln!(
            out,
            "  package   {} {} {}",
            p.ecosystem,
            p.name,
            p.version.as_deref().unwrap_or("(no version)")
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
                format!("{url} (verified {})", short_digest(verified_digest))
            }
            ossprey_model::ArtifactSource::File { path } => path.clone(),
            ossprey_model::ArtifactSource::Directory { path } => format!("{path}/ (directory)"),
        };
        writeln!(out, "  source    {from}, {}", human_bytes(a.size))?;
    }
    match r.verdict {
        Some(v) => writeln!(
            out,
            "  verdict   {v} (score {:.1})",
            r.score.unwrap_or_default()
        )?,
        None => writeln!(
            out,
            "  verdict   not judged (no detection rules in this version)"
        )?,
    }
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
                write!(out, "    {trigger:<22} {}", h.path)?;
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
            writeln!(out, "  manifest problem: {problem}")?;
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
                writeln!(out, "    {:<18} {}: {}", n.kind, n.path, n.message)?;
            }
        }
        if list_files {
            writeln!(out, "  inventory:")?;
            for f in &inv.files {
                write_file_line(out, f)?;
            }
        }
    }
    writeln!(out)
}

fn write_file_line(out: &mut impl Write, f: &FileEntry) -> io::Result<()> {
    write!(
        out,
        "    {:>9}  {:<15} H={:.2}  {}  {}",
        human_bytes(f.size),
        kind_name(f.kind),
        f.entropy,
        f.sha256.get(..12).unwrap_or(&f.sha256),
        f.path
    )?;
    if let Some(link) = &f.link {
        write!(
            out,
            " -> {}{}",
            link.target,
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

fn kind_name(kind: FileKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn short_digest(d: &str) -> String {
    match d.char_indices().nth(24) {
        Some((i, _)) => format!("{}…", &d[..i]),
        None => d.to_owned(),
    }
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
    fn one_line_strips_control_characters_and_truncates() {
        assert_eq!(one_line("a\nb\x1b[31m", 100), "a b [31m");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
