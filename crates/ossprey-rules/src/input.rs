//! What a rule sees, and helpers to build findings.

use ossprey_model::{Category, Evidence, Finding, ManifestFacts, PackageRef, Severity};
use ossprey_static::PackageFiles;
use ossprey_static::analysis::{FileAnalysis, RunsAt, StaticFacts};
use ossprey_static::facts::Call;
use ossprey_static::metadata::MetadataFacts;

/// The facts about one package that rules read.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// Registry identity, when the target came from a registry.
    pub package: Option<&'a PackageRef>,
    pub files: &'a PackageFiles,
    pub manifest: &'a ManifestFacts,
    pub facts: &'a StaticFacts,
    pub metadata: &'a MetadataFacts,
}

impl<'a> Input<'a> {
    /// Files a parser read, with their facts.
    pub fn sources(
        &self,
    ) -> impl Iterator<Item = (&'a FileAnalysis, &'a ossprey_static::facts::SourceFacts)> {
        self.facts
            .files
            .iter()
            .filter_map(|f| f.source.as_ref().map(|s| (f, s)))
    }

    /// Every call in parsed files, with its file.
    pub fn calls(&self) -> impl Iterator<Item = (&'a FileAnalysis, &'a Call)> {
        self.sources()
            .flat_map(|(f, s)| s.calls.iter().map(move |c| (f, c)))
    }

    /// The 1-based line of the first occurrence of `needle` in `path`, for evidence
    /// about manifest entries.
    pub fn line_of(&self, path: &str, needle: &str) -> Option<u32> {
        let content = self.files.content(path)?;
        let text = String::from_utf8_lossy(content);
        let at = text.find(needle)?;
        u32::try_from(text[..at].matches('\n').count() + 1).ok()
    }
}

/// Whether a call runs by itself: top-level code of an install- or import-time file.
pub fn runs_unprompted(file: &FileAnalysis, call: &Call) -> bool {
    file.runs_at != RunsAt::Runtime && call.scope.is_none()
}

/// Raises `base` for code that runs by itself at install time (two steps, or one
/// step inside a function of an install-time file such as a cmdclass `run`), and at
/// import time (one step); lowers it one step for code that runs only when called.
pub fn weigh(base: Severity, runs_at: RunsAt, top_level: bool) -> Severity {
    let step = |s: Severity, up: bool| -> Severity {
        use Severity::*;
        match (s, up) {
            (Info, true) => Low,
            (Low, true) => Medium,
            (Medium, true) => High,
            (High | Critical, true) => Critical,
            (Critical, false) => High,
            (High, false) => Medium,
            (Medium, false) => Low,
            (Low | Info, false) => Info,
        }
    };
    match (runs_at, top_level) {
        (RunsAt::Install, true) => step(step(base, true), true),
        (RunsAt::Install, false) | (RunsAt::Import, true) => step(base, true),
        (RunsAt::Import, false) => base,
        (RunsAt::Runtime, _) => step(base, false),
    }
}

/// Builds a finding with file:line evidence.
pub fn finding(
    rule: &str,
    severity: Severity,
    category: Category,
    message: impl Into<String>,
    file: Option<&str>,
    line: Option<u32>,
    snippet: Option<&str>,
) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity,
        category,
        message: message.into(),
        evidence: Evidence {
            file: file.map(str::to_owned),
            line,
            snippet: snippet.map(|s| ossprey_static::facts::snippet(s, 200)),
            event: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_time_top_level_code_weighs_most() {
        assert_eq!(
            weigh(Severity::Medium, RunsAt::Install, true),
            Severity::Critical
        );
        assert_eq!(
            weigh(Severity::Medium, RunsAt::Install, false),
            Severity::High
        );
        assert_eq!(
            weigh(Severity::Medium, RunsAt::Import, true),
            Severity::High
        );
        assert_eq!(
            weigh(Severity::Medium, RunsAt::Import, false),
            Severity::Medium
        );
        assert_eq!(
            weigh(Severity::Medium, RunsAt::Runtime, true),
            Severity::Low
        );
        assert_eq!(weigh(Severity::Info, RunsAt::Runtime, true), Severity::Info);
    }
}
