//! The comparison itself: set differences of two sides' facets, and the judgement of
//! which additions are security-relevant (the exit status of `ossprey diff`).
//!
//! Pure functions over [`Facets`]; the JSON shape of [`DiffReport`] is documented in
//! `docs/diff.md` and is a contract (bump [`DIFF_SCHEMA_VERSION`] on any incompatible
//! change).

use std::collections::BTreeMap;

use ossprey_model::{Dependency, Finding, InstallHook, PackageRef, Report, Severity, Verdict};
use serde::Serialize;

use super::facets::{Command, Destination, Facets, FileWrite, ObfuscatedFile};

/// Version of the diff JSON shape.
pub const DIFF_SCHEMA_VERSION: u32 = 1;
/// Most entries of each `added` / `removed` / `changed` list; the rest is counted in
/// `omitted`.
pub const MAX_ITEMS: usize = 500;
/// Most paths in each list of changed code files.
pub const MAX_CODE_FILES: usize = 50;
/// A new finding at this severity or above is security-relevant.
pub const RELEVANT_SEVERITY: Severity = Severity::Medium;

/// The whole comparison of two targets.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub schema_version: u32,
    pub a: Side,
    pub b: Side,
    /// Whether the sandbox ran both sides (`--analyze`).
    pub analyzed: bool,
    /// Something security-relevant was added (exit status 1).
    pub security_relevant: bool,
    /// One line per security-relevant addition, most important first.
    pub reasons: Vec<String>,
    pub verdict: VerdictChange,
    pub install_hooks: ChangeSection<InstallHook>,
    pub destinations: Section<Flagged<Destination>>,
    pub commands: Section<Flagged<Command>>,
    pub obfuscated_files: Section<ObfuscatedFile>,
    pub findings: FindingSection,
    pub dependencies: ChangeSection<Flagged<Dependency>>,
    pub file_writes: Section<FileWrite>,
    pub files: FileCounts,
}

/// The identity of one side.
#[derive(Debug, Serialize)]
pub struct Side {
    /// The target as given.
    pub target: String,
    pub package: Option<PackageRef>,
    pub sha256: Option<String>,
    pub verdict: Option<Verdict>,
    pub score: Option<f64>,
}

impl Side {
    pub fn of(report: &Report) -> Self {
        Self {
            target: report.target.clone(),
            package: report.package.clone(),
            sha256: report.sha256.clone(),
            verdict: report.verdict,
            score: report.score,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct VerdictChange {
    pub a: Option<Verdict>,
    pub b: Option<Verdict>,
    pub score_a: Option<f64>,
    pub score_b: Option<f64>,
    /// B's verdict is worse than A's.
    pub worse: bool,
}

/// Items only in B (`added`) and only in A (`removed`).
#[derive(Debug, Serialize)]
pub struct Section<T> {
    pub added: Vec<T>,
    pub removed: Vec<T>,
    /// Items left out of the lists above by [`MAX_ITEMS`].
    pub omitted: usize,
}

/// Like [`Section`], plus items present on both sides under the same identity but
/// with different contents (a hook's command, a dependency's requirement).
#[derive(Debug, Serialize)]
pub struct ChangeSection<T> {
    pub added: Vec<T>,
    pub removed: Vec<T>,
    pub changed: Vec<Change<T>>,
    pub omitted: usize,
}

#[derive(Debug, Serialize)]
pub struct Change<T> {
    pub a: T,
    pub b: T,
}

/// An item and whether its addition is security-relevant.
#[derive(Debug, Serialize)]
pub struct Flagged<T> {
    #[serde(flatten)]
    pub item: T,
    pub relevant: bool,
}

#[derive(Debug, Serialize)]
pub struct FindingSection {
    pub added: Vec<Finding>,
    pub removed: Vec<Finding>,
    /// Findings of the same rule in the same file whose severity rose.
    pub escalated: Vec<Change<Finding>>,
    pub omitted: usize,
}

/// Files added, removed and changed (by sha256), as context.
#[derive(Debug, Default, Serialize)]
pub struct FileCounts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// Source files, at most [`MAX_CODE_FILES`] each.
    pub code: CodeFiles,
    /// Code paths left out of the lists by [`MAX_CODE_FILES`].
    pub omitted: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct CodeFiles {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// Truncates `list` to `max`, counting what was cut into `omitted`.
fn cap<T>(mut list: Vec<T>, max: usize, omitted: &mut usize) -> Vec<T> {
    if list.len() > max {
        *omitted += list.len() - max;
        list.truncate(max);
    }
    list
}

/// Keys only in `b`, then keys only in `a`.
pub fn keyed_difference<K: Ord, V: Clone>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> (Vec<V>, Vec<V>) {
    let added = b
        .iter()
        .filter(|(k, _)| !a.contains_key(k))
        .map(|(_, v)| v.clone())
        .collect();
    let removed = a
        .iter()
        .filter(|(k, _)| !b.contains_key(k))
        .map(|(_, v)| v.clone())
        .collect();
    (added, removed)
}

/// Difference of two lists of items with an identity (`group`): equal items cancel;
/// within one identity, what is left is paired one to one as `changed`, and the rest
/// is added or removed.
pub fn grouped_difference<T: Clone + PartialEq, G: Ord>(
    a: &[T],
    b: &[T],
    group: impl Fn(&T) -> G,
) -> (Vec<T>, Vec<T>, Vec<Change<T>>) {
    let mut left_a: Vec<&T> = Vec::new();
    let mut taken = vec![false; b.len()];
    for x in a {
        match b
            .iter()
            .enumerate()
            .find(|(i, y)| !taken.get(*i).copied().unwrap_or(true) && *y == x)
        {
            Some((i, _)) => {
                if let Some(t) = taken.get_mut(i) {
                    *t = true;
                }
            }
            None => left_a.push(x),
        }
    }
    let left_b: Vec<&T> = b
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(y, _)| y)
        .collect();
    let mut groups: BTreeMap<G, (Vec<&T>, Vec<&T>)> = BTreeMap::new();
    for x in left_a {
        groups.entry(group(x)).or_default().0.push(x);
    }
    for y in left_b {
        groups.entry(group(y)).or_default().1.push(y);
    }
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for (_, (xs, ys)) in groups {
        let pairs = xs.len().min(ys.len());
        for (x, y) in xs.iter().zip(&ys) {
            changed.push(Change {
                a: (*x).clone(),
                b: (*y).clone(),
            });
        }
        removed.extend(xs.iter().skip(pairs).map(|x| (*x).clone()));
        added.extend(ys.iter().skip(pairs).map(|y| (*y).clone()));
    }
    (added, removed, changed)
}

/// What identifies a finding across releases: its rule and its file, never its line,
/// so a finding whose line moved is the same finding.
fn finding_identity(f: &Finding) -> (String, Option<String>) {
    (f.rule.clone(), f.evidence.file.clone())
}

/// What tells two findings of one rule in one file apart: the code they point at
/// (whitespace-insensitive), or the message for findings without a snippet.
fn finding_detail(f: &Finding) -> String {
    let text = f.evidence.snippet.as_deref().unwrap_or(&f.message);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Findings of B not matched in A and of A not matched in B, and matched pairs whose
/// severity rose. Matching is by rule and file; within one rule and file, findings
/// pointing at the same code pair first, then the rest pair in order, so only a
/// surplus of findings counts as new.
pub fn diff_findings(
    a: &[Finding],
    b: &[Finding],
) -> (Vec<Finding>, Vec<Finding>, Vec<Change<Finding>>) {
    type Group<'f> = (Vec<&'f Finding>, Vec<&'f Finding>);
    let mut groups: BTreeMap<(String, Option<String>), Group<'_>> = BTreeMap::new();
    for f in a {
        groups.entry(finding_identity(f)).or_default().0.push(f);
    }
    for f in b {
        groups.entry(finding_identity(f)).or_default().1.push(f);
    }
    let (mut added, mut removed, mut escalated) = (Vec::new(), Vec::new(), Vec::new());
    for (_, (xs, ys)) in groups {
        let mut used = vec![false; ys.len()];
        let mut unmatched_a = Vec::new();
        let mut pairs: Vec<(&Finding, &Finding)> = Vec::new();
        for x in xs {
            let detail = finding_detail(x);
            let hit = ys.iter().enumerate().position(|(i, y)| {
                !used.get(i).copied().unwrap_or(true) && finding_detail(y) == detail
            });
            match hit.and_then(|i| ys.get(i).map(|y| (i, y))) {
                Some((i, y)) => {
                    if let Some(u) = used.get_mut(i) {
                        *u = true;
                    }
                    pairs.push((x, y));
                }
                None => unmatched_a.push(x),
            }
        }
        let mut rest_b = ys.iter().zip(&used).filter(|(_, u)| !**u).map(|(y, _)| *y);
        for x in unmatched_a {
            match rest_b.next() {
                Some(y) => pairs.push((x, y)),
                None => removed.push(x.clone()),
            }
        }
        added.extend(rest_b.cloned());
        for (x, y) in pairs {
            if y.severity > x.severity {
                escalated.push(Change {
                    a: x.clone(),
                    b: y.clone(),
                });
            }
        }
    }
    let order = |f: &Finding| std::cmp::Reverse(f.severity);
    added.sort_by_key(order);
    removed.sort_by_key(order);
    (added, removed, escalated)
}

/// A dependency that does not come from the registry (URL, git, path).
fn is_url_dependency(d: &Dependency) -> bool {
    d.url.is_some()
}

/// Whether adding this destination is security-relevant: a host, an IP, a name the
/// sandbox resolved or a connection it saw — and a URL only when it points at a service
/// class malware favours (a new path on an already-known host is not a new host) —
/// unless it was seen only in tests or docs that run neither at install nor at import.
fn destination_relevant(d: &Destination) -> bool {
    !d.incidental
        && match d.kind {
            "url" => d.service,
            _ => true,
        }
}

/// Compares two analysed sides.
pub fn compare(a: &Report, b: &Report, fa: &Facets, fb: &Facets) -> DiffReport {
    let mut reasons = Vec::new();

    // Verdict.
    let worse = matches!((a.verdict, b.verdict), (Some(x), Some(y)) if y > x);
    if worse {
        reasons.push(format!(
            "verdict worse: {} → {}",
            a.verdict.map_or("none", Verdict::as_str),
            b.verdict.map_or("none", Verdict::as_str)
        ));
    }

    // Install hooks: same trigger and file with another command is a change.
    let (added, removed, changed) =
        grouped_difference(&fa.hooks, &fb.hooks, |h| (h.trigger, h.path.clone()));
    for h in &added {
        reasons.push(format!(
            "install hook added: {} in {}{}",
            hook_trigger(h),
            h.path,
            h.command
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        ));
    }
    for c in &changed {
        reasons.push(format!(
            "install hook changed: {} in {}: {} → {}",
            hook_trigger(&c.b),
            c.b.path,
            c.a.command
                .as_deref()
                .or(c.a.detail.as_deref())
                .unwrap_or("-"),
            c.b.command
                .as_deref()
                .or(c.b.detail.as_deref())
                .unwrap_or("-"),
        ));
    }
    let mut omitted = 0;
    let install_hooks = ChangeSection {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(removed, MAX_ITEMS, &mut omitted),
        changed: cap(changed, MAX_ITEMS, &mut omitted),
        omitted,
    };

    // Destinations.
    let (added, removed) = keyed_difference(&fa.destinations, &fb.destinations);
    let added: Vec<Flagged<Destination>> = added
        .into_iter()
        .map(|d| Flagged {
            relevant: destination_relevant(&d),
            item: d,
        })
        .collect();
    for d in added.iter().filter(|d| d.relevant) {
        reasons.push(format!(
            "destination added: {} {}{}",
            d.item.kind,
            d.item.value,
            where_seen(d.item.file.as_deref(), d.item.line, d.item.phase.as_deref())
        ));
    }
    let mut omitted = 0;
    let destinations = Section {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(
            removed
                .into_iter()
                .map(|d| Flagged {
                    item: d,
                    relevant: false,
                })
                .collect(),
            MAX_ITEMS,
            &mut omitted,
        ),
        omitted,
    };

    // Commands.
    let (added, removed) = keyed_difference(&fa.commands, &fb.commands);
    let flag_command = |c: Command, relevant: bool| Flagged { item: c, relevant };
    let added: Vec<Flagged<Command>> = added
        .into_iter()
        .map(|c| {
            let r = !c.incidental;
            flag_command(c, r)
        })
        .collect();
    let removed: Vec<Flagged<Command>> = removed
        .into_iter()
        .map(|c| flag_command(c, false))
        .collect();
    for c in added.iter().filter(|c| c.relevant).map(|c| &c.item) {
        reasons.push(format!(
            "command added ({}): {}{}",
            c.callee.as_deref().unwrap_or(c.source),
            c.command,
            where_seen(c.file.as_deref(), c.line, c.phase.as_deref())
        ));
    }
    let mut omitted = 0;
    let commands = Section {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(removed, MAX_ITEMS, &mut omitted),
        omitted,
    };

    // Obfuscated files: obfuscated in B and not in A, whatever the file was before.
    let (added, removed) = keyed_difference(&fa.obfuscated, &fb.obfuscated);
    for o in &added {
        reasons.push(format!(
            "obfuscated file added: {} ({})",
            o.path,
            o.reasons.join(", ")
        ));
    }
    let mut omitted = 0;
    let obfuscated_files = Section {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(removed, MAX_ITEMS, &mut omitted),
        omitted,
    };

    // Findings.
    let (added, removed, escalated) = diff_findings(&fa.findings, &fb.findings);
    for f in added.iter().filter(|f| f.severity >= RELEVANT_SEVERITY) {
        reasons.push(format!(
            "finding added: [{}] {} {}{}",
            f.severity.as_str(),
            f.rule,
            f.message,
            where_seen(f.evidence.file.as_deref(), f.evidence.line, None)
        ));
    }
    for c in escalated
        .iter()
        .filter(|c| c.b.severity >= RELEVANT_SEVERITY)
    {
        reasons.push(format!(
            "finding escalated: {} {} → {}{}",
            c.b.rule,
            c.a.severity.as_str(),
            c.b.severity.as_str(),
            where_seen(c.b.evidence.file.as_deref(), c.b.evidence.line, None)
        ));
    }
    let mut omitted = 0;
    let findings = FindingSection {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(removed, MAX_ITEMS, &mut omitted),
        escalated: cap(escalated, MAX_ITEMS, &mut omitted),
        omitted,
    };

    // Dependencies: same kind and name with another requirement or source is a change;
    // one newly taken from a URL, git or path (not the registry) is relevant.
    let (added, removed, changed) = grouped_difference(&fa.dependencies, &fb.dependencies, |d| {
        (d.kind.clone(), d.name.to_ascii_lowercase())
    });
    let flag = |d: Dependency, relevant: bool| Flagged { item: d, relevant };
    let added: Vec<_> = added
        .into_iter()
        .map(|d| {
            let r = is_url_dependency(&d);
            flag(d, r)
        })
        .collect();
    let changed: Vec<_> = changed
        .into_iter()
        .map(|c| {
            let r = is_url_dependency(&c.b) && c.a.url != c.b.url;
            Change {
                a: flag(c.a, false),
                b: flag(c.b, r),
            }
        })
        .collect();
    for d in added.iter().filter(|d| d.relevant) {
        reasons.push(format!(
            "dependency added from outside the registry: {} {}",
            d.item.name,
            d.item.url.as_deref().unwrap_or_default()
        ));
    }
    for c in changed.iter().filter(|c| c.b.relevant) {
        reasons.push(format!(
            "dependency now from outside the registry: {} {}",
            c.b.item.name,
            c.b.item.url.as_deref().unwrap_or_default()
        ));
    }
    let mut omitted = 0;
    let dependencies = ChangeSection {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(
            removed.into_iter().map(|d| flag(d, false)).collect(),
            MAX_ITEMS,
            &mut omitted,
        ),
        changed: cap(changed, MAX_ITEMS, &mut omitted),
        omitted,
    };

    // File writes (sandbox only): listed, not relevant by themselves (what was written
    // shows up as behaviour findings, commands and destinations).
    let (added, removed) = keyed_difference(&fa.file_writes, &fb.file_writes);
    let mut omitted = 0;
    let file_writes = Section {
        added: cap(added, MAX_ITEMS, &mut omitted),
        removed: cap(removed, MAX_ITEMS, &mut omitted),
        omitted,
    };

    DiffReport {
        schema_version: DIFF_SCHEMA_VERSION,
        a: Side::of(a),
        b: Side::of(b),
        analyzed: a.dynamic.is_some() || b.dynamic.is_some(),
        security_relevant: !reasons.is_empty(),
        reasons,
        verdict: VerdictChange {
            a: a.verdict,
            b: b.verdict,
            score_a: a.score,
            score_b: b.score,
            worse,
        },
        install_hooks,
        destinations,
        commands,
        obfuscated_files,
        findings,
        dependencies,
        file_writes,
        files: file_counts(fa, fb),
    }
}

fn file_counts(fa: &Facets, fb: &Facets) -> FileCounts {
    let mut counts = FileCounts::default();
    let mut code = CodeFiles::default();
    for (path, f) in &fb.files {
        match fa.files.get(path) {
            None => {
                counts.added += 1;
                if f.kind.is_source() {
                    code.added.push(path.clone());
                }
            }
            Some(old) if old.sha256 != f.sha256 => {
                counts.changed += 1;
                if f.kind.is_source() || old.kind.is_source() {
                    code.changed.push(path.clone());
                }
            }
            Some(_) => counts.unchanged += 1,
        }
    }
    for (path, f) in &fa.files {
        if !fb.files.contains_key(path) {
            counts.removed += 1;
            if f.kind.is_source() {
                code.removed.push(path.clone());
            }
        }
    }
    let mut omitted = 0;
    counts.code = CodeFiles {
        added: cap(code.added, MAX_CODE_FILES, &mut omitted),
        removed: cap(code.removed, MAX_CODE_FILES, &mut omitted),
        changed: cap(code.changed, MAX_CODE_FILES, &mut omitted),
    };
    counts.omitted = omitted;
    counts
}

/// `npm-postinstall`, `setup-py`, … (the serialised name).
pub fn hook_trigger(h: &InstallHook) -> String {
    serde_json::to_value(h.trigger)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", h.trigger))
}

/// ` (file:line)` or ` (phase)`.
pub fn where_seen(file: Option<&str>, line: Option<u32>, phase: Option<&str>) -> String {
    match (file, line, phase) {
        (Some(f), Some(l), _) => format!(" ({f}:{l})"),
        (Some(f), None, _) => format!(" ({f})"),
        (None, _, Some(p)) => format!(" ({p} phase)"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use ossprey_model::{Category, Evidence};

    use super::*;

    fn finding(rule: &str, file: &str, line: u32, snippet: &str, severity: Severity) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            category: Category::EXECUTION,
            message: format!("{rule} seen"),
            evidence: Evidence {
                file: Some(file.into()),
                line: Some(line),
                snippet: Some(snippet.into()),
                event: None,
            },
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_finding_whose_line_moved_is_not_new() {
        let a = [finding(
            "R-EXEC",
            "setup.py",
            3,
            "os.system('x')",
            Severity::High,
        )];
        let b = [finding(
            "R-EXEC",
            "setup.py",
            40,
            "os.system('x')",
            Severity::High,
        )];
        let (added, removed, escalated) = diff_findings(&a, &b);
        assert!(added.is_empty() && removed.is_empty() && escalated.is_empty());
    }

    #[test]
    fn a_second_finding_of_one_rule_in_one_file_is_new_and_the_moved_one_is_not() {
        let a = [finding(
            "R-EXEC",
            "setup.py",
            3,
            "os.system('x')",
            Severity::High,
        )];
        // The old call moved to line 10 and a different one was inserted above it.
        let b = [
            finding(
                "R-EXEC",
                "setup.py",
                4,
                "os.system('curl evil')",
                Severity::High,
            ),
            finding("R-EXEC", "setup.py", 10, "os.system('x')", Severity::High),
        ];
        let (added, removed, _) = diff_findings(&a, &b);
        assert!(removed.is_empty());
        assert_eq!(added.len(), 1);
        assert_eq!(
            added[0].evidence.snippet.as_deref(),
            Some("os.system('curl evil')")
        );
    }

    #[test]
    fn findings_in_another_file_or_of_another_rule_are_new() {
        let a = [finding("R-EXEC", "a.py", 3, "x", Severity::Medium)];
        let b = [
            finding("R-EXEC", "b.py", 3, "x", Severity::Medium),
            finding("R-NET", "a.py", 3, "x", Severity::Medium),
        ];
        let (added, removed, _) = diff_findings(&a, &b);
        assert_eq!(added.len(), 2);
        assert_eq!(removed.len(), 1);
    }

    #[test]
    fn a_finding_whose_severity_rose_is_escalated() {
        let a = [finding("R-EXEC", "x.js", 3, "exec(a)", Severity::Low)];
        let b = [finding("R-EXEC", "x.js", 3, "exec(a)", Severity::High)];
        let (added, removed, escalated) = diff_findings(&a, &b);
        assert!(added.is_empty() && removed.is_empty());
        assert_eq!(escalated.len(), 1);
    }

    #[test]
    fn grouped_difference_pairs_changes_within_an_identity() {
        let a = [("lodash", "^4"), ("left-pad", "1")];
        let b = [
            ("lodash", "^5"),
            ("left-pad", "1"),
            ("evil", "git+https://x"),
        ];
        let (added, removed, changed) = grouped_difference(&a, &b, |d| d.0);
        assert_eq!(added, [("evil", "git+https://x")]);
        assert!(removed.is_empty());
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].a.1, changed[0].b.1), ("^4", "^5"));
    }

    #[test]
    fn keyed_difference_is_a_set_difference() {
        let a: BTreeMap<i32, &str> = [(1, "one"), (2, "two")].into();
        let b: BTreeMap<i32, &str> = [(2, "deux"), (3, "trois")].into();
        assert_eq!(keyed_difference(&a, &b), (vec!["trois"], vec!["one"]));
    }
}
