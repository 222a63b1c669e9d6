//! Progress on stderr: a bar on a terminal, periodic lines otherwise.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ossprey_model::Report;

/// Batches smaller than this finish too fast to need progress.
const MIN_TARGETS_FOR_PROGRESS: usize = 4;
/// Without a terminal, a progress line at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

pub struct Progress {
    bar: Option<ProgressBar>,
    lines: Option<Mutex<LineState>>,
    quiet: bool,
    total: usize,
}

struct LineState {
    done: usize,
    last: Instant,
}

impl Progress {
    pub fn new(total: usize, quiet: bool) -> Self {
        let wanted = !quiet && total >= MIN_TARGETS_FOR_PROGRESS;
        let tty = std::io::stderr().is_terminal();
        let bar = (wanted && tty).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        let lines = (wanted && !tty).then(|| {
            Mutex::new(LineState {
                done: 0,
                last: Instant::now(),
            })
        });
        Self {
            bar,
            lines,
            quiet,
            total,
        }
    }

    pub fn finished(&self, report: &Report) {
        if let Some(bar) = &self.bar {
            bar.set_message(report.target.clone());
            bar.inc(1);
        }
        if let Some(lines) = &self.lines
            && let Ok(mut state) = lines.lock()
        {
            state.done += 1;
            if state.last.elapsed() >= LINE_INTERVAL {
                state.last = Instant::now();
                let _ = writeln!(
                    std::io::stderr(),
                    "ossprey: {}/{} targets done",
                    state.done,
                    self.total
                );
            }
        }
    }

    pub fn done(&self, errors: usize) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.quiet && errors > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "ossprey: {errors} of {} target{} could not be analysed",
                self.total,
                if self.total == 1 { "" } else { "s" }
            );
        }
    }
}
