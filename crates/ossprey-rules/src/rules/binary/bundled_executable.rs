use ossprey_model::{Category, Ecosystem, FileKind, Finding, Severity};
use ossprey_static::analysis::RunsAt;

use crate::rules::catalog::{PROCESS_EXEC, is};
use crate::rules::obfuscation::runs_at;
use crate::{Input, Rule, finding};

/// Shared-library extensions: loaded by an interpreter, not started.
const LIBRARY_EXTENSIONS: &[&str] = &[".so", ".pyd", ".dll", ".dylib", ".node", ".bundle"];

/// ## What it does
/// Reports native executables (ELF, PE, Mach-O) shipped in a package. Shared
/// libraries (`.so`, `.pyd`, `.dll`, `.dylib`, `.node`) are left alone unless an
/// install hook's command runs them.
///
/// ## Why is this bad?
/// A prebuilt program cannot be reviewed like source. Many legitimate packages
/// ship binaries (CLI wrappers, prebuilt tools), so a binary alone is low; a
/// Windows `.exe` in a PyPI or npm package that install- or import-time code
/// names is medium; a binary that an install hook or install-time
/// code starts is high — that is a dropper.
///
/// ## Example
/// ```python
/// # setup.py
/// subprocess.Popen(os.path.join(here, "bin", "update.exe"))
/// ```
#[derive(Debug)]
pub struct BundledExecutable;

impl Rule for BundledExecutable {
    fn id(&self) -> &'static str {
        "BIN-BUNDLED-EXECUTABLE"
    }
    fn category(&self) -> Category {
        Category::EXECUTION
    }
    fn summary(&self) -> &'static str {
        "native executables shipped in the package, and whether install-time code runs them"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for entry in input.files.entries() {
            if !entry.kind.is_executable_binary() || entry.link.is_some() {
                continue;
            }
            let base = entry.path.rsplit(['/', '!']).next().unwrap_or(&entry.path);
            if base.len() < 3 {
                continue;
            }
            let lower = base.to_ascii_lowercase();
            let library = LIBRARY_EXTENSIONS
                .iter()
                .any(|e| lower.ends_with(e) || lower.contains(&format!("{e}.")));

            // Run at install: an install hook's command names it, or install-time
            // code that starts processes names it.
            let hook_runs = input
                .manifest
                .install_hooks
                .iter()
                .find(|h| h.command.as_deref().is_some_and(|c| names(c, base)));
            // A shared library is loaded, not started: install scripts that name a
            // prebuilt addon (`deasync.node`) and otherwise run a compiler are the
            // ordinary native-addon install, so code naming a library does not count.
            let code_runs = input.sources().find(|(f, s)| {
                !library
                    && runs_at(input, f) == RunsAt::Install
                    && s.calls.iter().any(|c| is(PROCESS_EXEC, &c.callee))
                    && s.strings.iter().any(|lit| names(&lit.value, base))
            });
            // Named by code that runs by itself (install or import time).
            let referenced = input.sources().find(|(f, s)| {
                runs_at(input, f) != RunsAt::Runtime
                    && s.strings.iter().any(|lit| names(&lit.value, base))
            });

            let pe_in_source_package = entry.kind == FileKind::Pe
                && matches!(
                    input.manifest.ecosystem,
                    Some(Ecosystem::Pypi | Ecosystem::Npm)
                );
            let (severity, why, file, line) = if let Some(h) = hook_runs {
                (
                    Severity::High,
                    "an install hook runs it".to_owned(),
                    h.path.clone(),
                    input.line_of(&h.path, base),
                )
            } else if let Some((f, s)) = code_runs {
                let line = s
                    .strings
                    .iter()
                    .find(|l| names(&l.value, base))
                    .map(|l| l.line);
                (
                    Severity::High,
                    format!(
                        "install-time code in {} names it and starts processes",
                        f.path
                    ),
                    f.path.clone(),
                    line,
                )
            } else if library {
                continue;
            } else if pe_in_source_package && let Some((f, s)) = referenced {
                let line = s
                    .strings
                    .iter()
                    .find(|l| names(&l.value, base))
                    .map(|l| l.line);
                (
                    Severity::Medium,
                    format!(
                        "a Windows program named by {} ({:?}-time code)",
                        f.path, f.runs_at
                    ),
                    f.path.clone(),
                    line,
                )
            } else {
                (
                    Severity::Low,
                    "nothing in the package's code runs it".to_owned(),
                    entry.path.clone(),
                    None,
                )
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "{} executable `{}` ({} bytes): {why}",
                    kind_name(entry.kind),
                    entry.path,
                    entry.size
                ),
                Some(&file),
                line,
                Some(&entry.path),
            ));
        }
    }
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Elf => "ELF",
        FileKind::Pe => "PE",
        FileKind::Macho => "Mach-O",
        _ => "native",
    }
}

/// Whether `text` names the file `base`: a word of it (split on spaces and
/// quotes) whose last path segment is `base`. `node` is not named by
/// `node install.js` unless a word *is* a path to a file called `node`.
fn names(text: &str, base: &str) -> bool {
    if text == base {
        return true;
    }
    if !text.contains(base) {
        return false;
    }
    let has_path = |word: &str| word.contains(['/', '\\']) || word.contains('.');
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ';' | '&' | '|'))
        .filter(|w| has_path(w) || base.contains('.'))
        .any(|w| w.rsplit(['/', '\\']).next() == Some(base))
}
