//! Over the development corpus of real malicious packages (`../shared/corpus`),
//! read as bytes only: every archive the reader accepts must inventory without
//! a panic, and its ecosystem and install hooks must be found. Skipped when the
//! corpus is absent.

use std::path::{Path, PathBuf};

use ossprey_model::{Ecosystem, HookTrigger};
use ossprey_static::{Limits, PackageFiles, detect_ecosystem, manifest};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("OSSPREY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    dir.is_dir().then_some(dir)
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| !p.extension().is_some_and(|e| e == "csv" || e == "md"));
    out.sort();
    out
}

#[test]
fn corpus_packages_are_recognised_with_their_hooks() {
    let Some(corpus) = corpus_dir() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let limits = Limits::default();
    for (folder, ecosystem) in [
        ("pypi-malicious", Ecosystem::Pypi),
        ("npm-malicious", Ecosystem::Npm),
    ] {
        let (mut read, mut detected, mut with_manifest, mut hooked) = (0, 0, 0, 0);
        for path in archives(&corpus.join(folder)) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let Ok(files) = PackageFiles::collect_path(&path, &limits) else {
                continue; // broken archives are the archive reader's business
            };
            read += 1;
            let has_manifest = [
                "package.json",
                "PKG-INFO",
                "setup.py",
                "pyproject.toml",
                "METADATA",
            ]
            .iter()
            .any(|m| files.entries().iter().any(|e| e.path.ends_with(m)));
            with_manifest += usize::from(has_manifest);
            let found = detect_ecosystem(&files, name.as_deref());
            if found == Some(ecosystem) {
                detected += 1;
            }
            let facts = manifest::extract(&files, found);
            let install_time = facts.install_hooks.iter().any(|h| {
                matches!(
                    h.trigger,
                    HookTrigger::SetupPy
                        | HookTrigger::NpmPreinstall
                        | HookTrigger::NpmInstall
                        | HookTrigger::NpmPostinstall
                )
            });
            hooked += usize::from(install_time);
        }
        eprintln!(
            "{folder}: {read} read, {with_manifest} with a manifest, {detected} detected, {hooked} with install hooks"
        );
        assert!(read > 0, "{folder}: nothing read");
        assert!(
            detected * 100 >= with_manifest * 99,
            "{folder}: {detected} detected of {with_manifest} with a manifest"
        );
        // Nearly every malicious release runs its payload at install time.
        assert!(
            hooked * 100 >= detected * 80,
            "{folder}: only {hooked} of {detected} have install hooks"
        );
    }
}
