//! Human output of `ossprey diff`: the identities of both sides, the security-relevant
//! additions first, then each section as `+ added` / `- removed` / `~ changed` lines.

use std::fmt::Write as _;

use super::compare::{Change, DiffReport, Flagged, Section, Side, hook_trigger, where_seen};
use super::facets::{Command, Destination};
use crate::query::printable;
use ossprey_model::{Dependency, Finding, InstallHook};

/// Most lines printed per list; JSON output has the rest.
const MAX_LINES: usize = 50;

/// Renders `diff` for people. Every line comes from package data, which may hold
/// control characters: they are escaped so a package cannot rewrite the terminal.
pub fn render(diff: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ossprey diff {} → {}",
        clean(&diff.a.target),
        clean(&diff.b.target)
    );
    side_line(&mut out, "a", &diff.a);
    side_line(&mut out, "b", &diff.b);
    out.push('\n');

    if diff.security_relevant {
        let _ = writeln!(
            out,
            "SECURITY-RELEVANT: {} addition{}",
            diff.reasons.len(),
            if diff.reasons.len() == 1 { "" } else { "s" }
        );
        list(&mut out, &diff.reasons, |r| format!("! {}", clean(r)));
    } else {
        let _ = writeln!(out, "Nothing security-relevant was added.");
    }
    out.push('\n');

    let v = &diff.verdict;
    let _ = writeln!(
        out,
        "Verdict: {} → {}{}",
        verdict(v.a, v.score_a),
        verdict(v.b, v.score_b),
        if v.worse { "  (worse)" } else { "" }
    );

    let hooks = &diff.install_hooks;
    let mut sections = 0;
    if !(hooks.added.is_empty() && hooks.removed.is_empty() && hooks.changed.is_empty()) {
        sections += 1;
        let _ = writeln!(out, "\nInstall hooks");
        list(&mut out, &hooks.added, |h| format!("+ {}", hook(h)));
        list(&mut out, &hooks.removed, |h| format!("- {}", hook(h)));
        list(&mut out, &hooks.changed, |c: &Change<InstallHook>| {
            format!(
                "~ {} in {}: {} → {}",
                hook_trigger(&c.b),
                clean(&c.b.path),
                clean(
                    c.a.command
                        .as_deref()
                        .or(c.a.detail.as_deref())
                        .unwrap_or("-")
                ),
                clean(
                    c.b.command
                        .as_deref()
                        .or(c.b.detail.as_deref())
                        .unwrap_or("-")
                )
            )
        });
        omitted(&mut out, hooks.omitted);
    }
    sections += section(
        &mut out,
        "Network destinations",
        &diff.destinations,
        destination,
    );
    sections += section(&mut out, "Commands", &diff.commands, command);
    sections += section(&mut out, "Obfuscated files", &diff.obfuscated_files, |o| {
        format!("{} ({})", clean(&o.path), clean(&o.reasons.join(", ")))
    });
    let f = &diff.findings;
    if !(f.added.is_empty() && f.removed.is_empty() && f.escalated.is_empty()) {
        sections += 1;
        let _ = writeln!(out, "\nFindings");
        list(&mut out, &f.added, |x| format!("+ {}", finding(x)));
        list(&mut out, &f.removed, |x| format!("- {}", finding(x)));
        list(&mut out, &f.escalated, |c: &Change<Finding>| {
            format!("^ {} → {}", c.a.severity.as_str(), finding(&c.b))
        });
        omitted(&mut out, f.omitted);
    }
    let d = &diff.dependencies;
    if !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty()) {
        sections += 1;
        let _ = writeln!(out, "\nDependencies");
        list(&mut out, &d.added, |x| format!("+ {}", dependency(x)));
        list(&mut out, &d.removed, |x| format!("- {}", dependency(x)));
        list(&mut out, &d.changed, |c: &Change<Flagged<Dependency>>| {
            format!(
                "~ {} ({}): {} → {}",
                clean(&c.b.item.name),
                clean(&c.b.item.kind),
                clean(&dep_source(&c.a.item)),
                clean(&dep_source(&c.b.item)),
            )
        });
        omitted(&mut out, d.omitted);
    }
    if diff.analyzed {
        sections += section(&mut out, "File writes (sandbox)", &diff.file_writes, |w| {
            format!(
                "{} [{}] ({} phase)",
                clean(&w.path),
                w.ops.join(","),
                w.phase
            )
        });
    }
    if sections == 0 {
        let _ = writeln!(
            out,
            "\nNo change in install hooks, destinations, commands, obfuscated files, findings or dependencies."
        );
    }

    let files = &diff.files;
    let _ = writeln!(
        out,
        "\nFiles: {} added, {} removed, {} changed, {} unchanged",
        files.added, files.removed, files.changed, files.unchanged
    );
    for (label, paths) in [
        ("added code", &files.code.added),
        ("removed code", &files.code.removed),
        ("changed code", &files.code.changed),
    ] {
        if !paths.is_empty() {
            let shown: Vec<String> = paths.iter().take(MAX_LINES).map(|p| clean(p)).collect();
            let _ = writeln!(out, "  {label}: {}", shown.join(", "));
        }
    }
    omitted(&mut out, files.omitted);
    out
}

fn side_line(out: &mut String, label: &str, side: &Side) {
    let package = side.package.as_ref().map_or_else(
        || "unknown package".to_owned(),
        |p| {
            format!(
                "{} {} {}",
                p.ecosystem,
                clean(&p.name),
                clean(p.version.as_deref().unwrap_or("?"))
            )
        },
    );
    let sha = side
        .sha256
        .as_deref()
        .map(|s| s.get(..12).unwrap_or(s))
        .unwrap_or("-");
    let _ = writeln!(
        out,
        "  {label}: {package}  {}  sha256 {sha}",
        verdict(side.verdict, side.score)
    );
}

fn verdict(v: Option<ossprey_model::Verdict>, score: Option<f64>) -> String {
    match (v, score) {
        (Some(v), Some(s)) => format!("{v} ({s:.1})"),
        (Some(v), None) => v.to_string(),
        _ => "no verdict".to_owned(),
    }
}

/// Prints a titled `+`/`-` section when it has entries; returns 1 when it printed.
fn section<T>(out: &mut String, title: &str, s: &Section<T>, item: impl Fn(&T) -> String) -> usize {
    if s.added.is_empty() && s.removed.is_empty() {
        return 0;
    }
    let _ = writeln!(out, "\n{title}");
    list(out, &s.added, |x| format!("+ {}", item(x)));
    list(out, &s.removed, |x| format!("- {}", item(x)));
    omitted(out, s.omitted);
    1
}

fn list<T>(out: &mut String, items: &[T], line: impl Fn(&T) -> String) {
    for x in items.iter().take(MAX_LINES) {
        let _ = writeln!(out, "  {}", line(x));
    }
    if items.len() > MAX_LINES {
        let _ = writeln!(
            out,
            "  … and {} more (see --format json)",
            items.len() - MAX_LINES
        );
    }
}

fn omitted(out: &mut String, n: usize) {
    if n > 0 {
        let _ = writeln!(out, "  … {n} more left out of the report");
    }
}

fn hook(h: &InstallHook) -> String {
    let what = h.command.as_deref().or(h.detail.as_deref());
    format!(
        "{} in {}{}",
        hook_trigger(h),
        clean(&h.path),
        what.map(|w| format!(": {}", clean(w))).unwrap_or_default()
    )
}

fn destination(d: &Flagged<Destination>) -> String {
    let d_ = &d.item;
    format!(
        "{} {}{}{}",
        d_.kind,
        clean(&d_.value),
        clean(&where_seen(
            d_.file.as_deref(),
            d_.line,
            d_.phase.as_deref()
        )),
        if d.relevant { "  !" } else { "" }
    )
}

fn command(flagged: &Flagged<Command>) -> String {
    let c = &flagged.item;
    format!(
        "[{}] {}{}{}",
        clean(c.callee.as_deref().unwrap_or(c.source)),
        clean(&c.command),
        clean(&where_seen(c.file.as_deref(), c.line, c.phase.as_deref())),
        if flagged.relevant { "  !" } else { "" }
    )
}

fn finding(f: &Finding) -> String {
    format!(
        "[{}] {} {}{}",
        f.severity.as_str(),
        f.rule,
        clean(&f.message),
        clean(&where_seen(
            f.evidence.file.as_deref(),
            f.evidence.line,
            None
        ))
    )
}

fn dep_source(d: &Dependency) -> String {
    d.url
        .clone()
        .or_else(|| d.requirement.clone())
        .unwrap_or_else(|| "*".to_owned())
}

fn dependency(d: &Flagged<Dependency>) -> String {
    format!(
        "{} ({}) {}{}",
        clean(&d.item.name),
        clean(&d.item.kind),
        clean(&dep_source(&d.item)),
        if d.relevant { "  !" } else { "" }
    )
}

/// Escapes control characters (ANSI sequences, carriage returns, bidi controls) and
/// bounds the length of one value.
fn clean(s: &str) -> String {
    const MAX_CHARS: usize = 300;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", printable(s.get(..cut).unwrap_or_default())),
        None => printable(s),
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(clean("a\x1b[2Jb\r"), "a\\u{1b}[2Jb\\u{d}");
        assert_eq!(clean("x\u{202e}y"), "x\\u{202e}y");
    }
}
