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
        let text = self.files.text(path)?;
        let at = memchr::memmem::find(text.as_bytes(), needle.as_bytes())?;
        Some(line_at(text.as_bytes(), at))
    }

    /// The text of the file at `path` (invalid UTF-8 replaced), when it was kept.
    /// Valid UTF-8 is borrowed without validating it again.
    pub fn text(&self, path: &str) -> Option<std::borrow::Cow<'a, str>> {
        self.files.text(path)
    }
}

/// The 1-based line holding byte `offset` of `text`. Counts newlines with
/// SIMD, which matters for rules that report the line of a match deep in a
/// large file; callers needing many lines of one file should walk forward
/// instead of calling this for each.
pub(crate) fn line_at(text: &[u8], offset: usize) -> u32 {
    let before = text.get(..offset).unwrap_or(text);
    u32::try_from(memchr::memchr_iter(b'\n', before).count())
        .unwrap_or(u32::MAX - 1)
        .saturating_add(1)
}

/// Line `index` (0-based) of `text` as `str::lines` splits it — a trailing
/// `\r` before the `\n` removed — found with SIMD newline search instead of
/// walking every earlier line. Rules ask for the line of each of many calls.
pub(crate) fn nth_line(text: &[u8], index: usize) -> Option<&[u8]> {
    let start = match index.checked_sub(1) {
        None => 0,
        Some(n) => memchr::memchr_iter(b'\n', text).nth(n)? + 1,
    };
    let rest = text.get(start..)?;
    if rest.is_empty() {
        // `lines` yields no empty line after a final newline (or for "").
        return None;
    }
    Some(match memchr::memchr(b'\n', rest) {
        Some(end) => {
            let line = &rest[..end];
            line.strip_suffix(b"\r").unwrap_or(line)
        }
        None => rest,
    })
}

/// The 1-based line of the first line of `text` that starts with `prefix`
/// and also contains `also` — as `text.lines().position(..)` would find, in
/// one SIMD pass over the bytes instead of a walk over every line.
pub(crate) fn first_line_starting(text: &[u8], prefix: &[u8], also: &[u8]) -> Option<u32> {
    for at in memchr::memmem::find_iter(text, prefix) {
        if at != 0 && text.get(at - 1) != Some(&b'\n') {
            continue;
        }
        let rest = text.get(at..).unwrap_or_default();
        let line = memchr::memchr(b'\n', rest).map_or(rest, |end| &rest[..end]);
        if memchr::memmem::find(line, also).is_some() {
            return Some(line_at(text, at));
        }
    }
    None
}

/// Whether a call runs by itself: top-level code of an install- or import-time file.
pub fn runs_unprompted(file: &FileAnalysis, call: &Call) -> bool {
    file.runs_at != RunsAt::Runtime && call.scope.is_none()
}

/// One severity step up (`up`) or down, saturating at `Critical` and `Info`.
pub fn step(s: Severity, up: bool) -> Severity {
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
}

/// Raises `base` for code that runs by itself at install time (two steps, or one
/// step inside a function of an install-time file such as a cmdclass `run`), and at
/// import time (one step); lowers it one step for code that runs only when called.
pub fn weigh(base: Severity, runs_at: RunsAt, top_level: bool) -> Severity {
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
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_helpers_match_a_walk_over_lines() {
        let text = b"a\nif __name__ == 'x':\n  if __name__ == '__main__':\nif __name__ == \"__main__\":\r\nz";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 2), 2);
        assert_eq!(line_at(text, text.len()), 5);
        assert_eq!(line_at(text, usize::MAX), 5);
        // Line 3 contains both but does not start with the prefix.
        assert_eq!(
            first_line_starting(text, b"if __name__", b"__main__"),
            Some(4)
        );
        assert_eq!(
            first_line_starting(b"if __name__:\n__main__", b"if __name__", b"__main__"),
            None
        );
        assert_eq!(
            first_line_starting(b"if __name__=='__main__'", b"if __name__", b"__main__"),
            Some(1)
        );
    }

    #[test]
    fn nth_line_splits_as_str_lines_does() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\n\n",
            "a\r\nb\r",
            "\r\n\r\nx\ry\n",
            "é\nü\r\n\nlast",
        ] {
            let want: Vec<&str> = text.lines().collect();
            for i in 0..want.len() + 2 {
                assert_eq!(
                    nth_line(text.as_bytes(), i),
                    want.get(i).map(|l| l.as_bytes()),
                    "{text:?} line {i}"
                );
            }
        }
    }

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
