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

/// Progress of the sandbox runtime's first-use build (minutes): a bar over the
/// build's stages on a terminal, with the latest debootstrap/apt line as its
/// message; stage lines otherwise.
pub struct RuntimeProgress {
    bar: Option<ProgressBar>,
}

impl RuntimeProgress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let len = ossprey_runtime::Stage::ALL.len() as u64 - 1;
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] runtime {bar:20} {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar }
    }
}

impl ossprey_runtime::Progress for RuntimeProgress {
    fn stage(&mut self, stage: ossprey_runtime::Stage) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(stage.index() as u64);
                bar.set_message(stage.describe());
                if stage == ossprey_runtime::Stage::Done {
                    bar.finish_and_clear();
                }
            }
            None => {
                let _ = writeln!(std::io::stderr(), "ossprey: runtime: {}", stage.describe());
            }
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(bar) = &self.bar {
            // Keep the bar on one line: the message is the build's latest output,
            // cut to a terminal-friendly width.
            let short: String = line.chars().filter(|c| !c.is_control()).take(80).collect();
            bar.set_message(short);
        }
    }
}
