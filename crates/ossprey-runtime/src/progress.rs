//! Progress reporting for the (slow, first-use) runtime build.
//!
//! The library never draws anything: it reports stages and the raw output lines of
//! debootstrap and apt to a [`Progress`] the caller supplies, which the CLI turns
//! into a progress bar on stderr.

/// A step of building the runtime, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Another process holds the build lock; waiting for it to finish.
    WaitingForLock,
    /// `debootstrap --variant=minbase` is creating the base system.
    Debootstrap,
    /// `apt-get update` inside the new root.
    AptUpdate,
    /// `apt-get install` of python3, pip, setuptools, wheel, nodejs, npm.
    AptInstall,
    /// Removing apt caches and documentation, neutralising host-derived files.
    Shrink,
    /// Reading installed versions and writing the manifest.
    Manifest,
    /// Checking the key binaries are present.
    Verify,
    /// The runtime is in place.
    Done,
}

impl Stage {
    /// Every stage of a build, in order.
    pub const ALL: [Stage; 8] = [
        Self::WaitingForLock,
        Self::Debootstrap,
        Self::AptUpdate,
        Self::AptInstall,
        Self::Shrink,
        Self::Manifest,
        Self::Verify,
        Self::Done,
    ];

    /// Position in [`Stage::ALL`], for a progress bar's position.
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Self::WaitingForLock => "waiting for another build of the runtime",
            Self::Debootstrap => "debootstrap: creating a Debian bookworm base system",
            Self::AptUpdate => "apt-get update",
            Self::AptInstall => "apt-get install python3 pip setuptools wheel nodejs npm",
            Self::Shrink => "cleaning apt caches and documentation",
            Self::Manifest => "recording installed versions",
            Self::Verify => "verifying the runtime",
            Self::Done => "runtime ready",
        }
    }
}

/// Receives build progress. Implementations must be cheap: `line` is called for
/// every output line of debootstrap and apt.
pub trait Progress {
    /// A new stage started.
    fn stage(&mut self, stage: Stage);
    /// One output line of the current stage's command.
    fn line(&mut self, line: &str);
}

/// Discards all progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&mut self, _stage: Stage) {}
    fn line(&mut self, _line: &str) {}
}

/// Prints stages (and, if `verbose`, every line) to stderr; for examples and tools
/// without a progress bar.
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrProgress {
    /// Also print every output line of the build commands.
    pub verbose: bool,
}

impl Progress for StderrProgress {
    fn stage(&mut self, stage: Stage) {
        eprintln!(
            "[{}/{}] {}",
            stage.index() + 1,
            Stage::ALL.len(),
            stage.describe()
        );
    }
    fn line(&mut self, line: &str) {
        if self.verbose {
            eprintln!("    {line}");
        }
    }
}
