use ossprey_model::{Category, Ecosystem, Finding, Severity};
use ossprey_static::metadata::normalize_name;

use super::manifest_line;
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports a package whose manifest names a different package than the one
/// it was published as: the registry's name against the manifest's, or — for
/// a local Python sdist — the archive's `name-version/` directory against
/// `PKG-INFO`'s `Name`. Names are compared as the registry compares them
/// (`Foo_Bar` equals `foo-bar` on PyPI).
///
/// ## Why is this bad?
/// Typosquats and starjackers are often a popular package's archive
/// republished under a new name, with the original manifest left in: the
/// manifest then claims to be the very package being imitated.
///
/// ## Example
/// ```text
/// reqeusts-2.31.0/PKG-INFO:  Name: requests
/// ```
#[derive(Debug)]
pub struct NameMismatch;

/// The project name of an sdist's top directory (`foo_bar-1.2.3/` → `foo_bar`).
fn sdist_dir_name(root: &str) -> Option<&str> {
    let dir = root.strip_suffix('/')?;
    if dir.contains('/') || dir.contains('!') {
        return None;
    }
    let (name, version) = dir.rsplit_once('-')?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(name)
        .filter(|n| !n.is_empty())
}

impl Rule for NameMismatch {
    fn id(&self) -> &'static str {
        "META-NAME-MISMATCH"
    }
    fn category(&self) -> Category {
        Category::METADATA
    }
    fn summary(&self) -> &'static str {
        "the package was published under a different name than its manifest declares"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let (published, declared, source) = if let Some(m) = &input.metadata.name_mismatch {
            (m.registry_name.clone(), m.manifest_name.clone(), "registry")
        } else if input.package.is_none()
            && input.manifest.ecosystem == Some(Ecosystem::Pypi)
            && let Some(declared) = input.manifest.name.as_deref()
            && input
                .manifest
                .manifest_path
                .as_deref()
                .is_some_and(|p| p.ends_with("/PKG-INFO"))
            && let Some(dir) = sdist_dir_name(input.files.root())
            && normalize_name(Ecosystem::Pypi, dir) != normalize_name(Ecosystem::Pypi, declared)
        {
            (dir.to_owned(), declared.to_owned(), "archive directory")
        } else {
            return;
        };
        let (path, line) = manifest_line(input, &declared);
        out.push(finding(
            self.id(),
            Severity::Medium,
            self.category(),
            format!("published as `{published}` ({source}) but the manifest names `{declared}`"),
            path.as_deref(),
            line,
            Some(&declared),
        ));
    }
}
