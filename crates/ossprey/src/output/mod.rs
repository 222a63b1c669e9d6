//! Report output formats: `text` for people; `json` and `jsonl` for programs;
//! `sarif` for code-scanning tools; `osv` for malicious-package databases.

// OSV lives with the exports (`ossprey export --format osv` shares it).
use crate::export::osv;
pub(crate) mod sarif;
mod text;

use std::io::{self, BufWriter, Stdout, Write};

use ossprey_model::Report;

use crate::cli::Format;

pub struct Printer {
    format: Format,
    list_files: bool,
    /// `json` with several targets prints one array; track whether it is open.
    array_started: bool,
    targets: usize,
    /// `sarif` and `osv` are one document for the whole batch, written at the end.
    collected: Vec<Report>,
    out: BufWriter<Stdout>,
}

impl Printer {
    pub fn new(format: Format, list_files: bool, targets: usize) -> Self {
        Self {
            format,
            list_files,
            array_started: false,
            targets,
            collected: Vec::new(),
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
            Format::Text => text::write_report(&mut self.out, report, self.list_files)?,
            Format::Sarif | Format::Osv => {
                self.collected.push(report.clone());
                return Ok(());
            }
        }
        // Flush per report so long batches stream to pipes.
        self.out.flush()
    }

    pub fn finish(&mut self) -> io::Result<()> {
        match self.format {
            Format::Sarif => {
                serde_json::to_writer_pretty(&mut self.out, &sarif::document(&self.collected))?;
                writeln!(self.out)?;
            }
            Format::Osv => {
                let reports: Vec<_> = self.collected.iter().filter_map(osv::report).collect();
                serde_json::to_writer_pretty(&mut self.out, &reports)?;
                writeln!(self.out)?;
            }
            _ => {}
        }
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
