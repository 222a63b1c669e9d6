//! Which registry a package belongs to, read from its contents.
//!
//! Packages carry more than one kind of manifest surprisingly often (Python
//! projects with a `package.json` for their front-end, npm packages with a
//! `setup.py` for a native helper), so the checks run in a fixed order, most
//! specific first, and the first that matches wins:
//!
//! 1. RubyGems: `metadata.gz!/metadata` beside `data.tar.gz` content.
//! 2. crates.io: root `Cargo.toml` with `.cargo_vcs_info.json` or `Cargo.toml.orig`
//!    (both written by `cargo package`), or a `.crate` name.
//! 3. PyPI built distributions: `*.dist-info/METADATA` or `WHEEL` (wheel), `EGG-INFO/PKG-INFO` (egg).
//! 4. PyPI sdist: root `PKG-INFO` (written by every sdist builder).
//! 5. npm: root `package.json`.
//! 6. PyPI source tree: root `pyproject.toml`, `setup.py` or `setup.cfg`.
//! 7. crates.io: root `Cargo.toml` alone.
//! 8. The name hint's extension (`.whl`, `.egg`, `.crate`, `.gem`).

use ossprey_model::Ecosystem;

use crate::PackageFiles;

/// Detects the ecosystem of a package; `name_hint` is the archive's file name when known.
pub fn detect_ecosystem(files: &PackageFiles, name_hint: Option<&str>) -> Option<Ecosystem> {
    let root = files.root();
    let at_root = |name: &str| files.get(&format!("{root}{name}")).is_some();
    let hint = name_hint.map(str::to_ascii_lowercase).unwrap_or_default();
    let paths = || files.entries().iter().map(|e| e.path.as_str());

    if is_gem(files) {
        return Some(Ecosystem::Rubygems);
    }
    let cargo_markers =
        at_root(".cargo_vcs_info.json") || at_root("Cargo.toml.orig") || hint.ends_with(".crate");
    if at_root("Cargo.toml") && cargo_markers {
        return Some(Ecosystem::Crates);
    }
    if paths().any(|p| is_wheel_or_egg_metadata(p, root)) {
        return Some(Ecosystem::Pypi);
    }
    if at_root("PKG-INFO") {
        return Some(Ecosystem::Pypi);
    }
    if at_root("package.json") {
        return Some(Ecosystem::Npm);
    }
    if at_root("pyproject.toml") || at_root("setup.py") || at_root("setup.cfg") {
        return Some(Ecosystem::Pypi);
    }
    if at_root("Cargo.toml") {
        return Some(Ecosystem::Crates);
    }
    let by_name = [
        (".whl", Ecosystem::Pypi),
        (".egg", Ecosystem::Pypi),
        (".crate", Ecosystem::Crates),
        (".gem", Ecosystem::Rubygems),
    ];
    by_name
        .iter()
        .find(|(ext, _)| hint.ends_with(ext))
        .map(|&(_, eco)| eco)
}

/// A `.gem`: gemspec in `metadata.gz`, files in `data.tar.gz`.
fn is_gem(files: &PackageFiles) -> bool {
    files.get("metadata.gz!/metadata").is_some()
        && files
            .entries()
            .iter()
            .any(|e| e.path == "data.tar.gz" || e.path.starts_with("data.tar.gz!/"))
}

/// `name.dist-info/METADATA`, `name.dist-info/WHEEL` or `EGG-INFO/PKG-INFO` at the package root.
pub(crate) fn is_wheel_or_egg_metadata(path: &str, root: &str) -> bool {
    let Some(path) = path.strip_prefix(root) else {
        return false;
    };
    match path.split_once('/') {
        Some((dir, file)) if dir.ends_with(".dist-info") => file == "METADATA" || file == "WHEEL",
        Some(("EGG-INFO", "PKG-INFO")) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(paths: &[&str], hint: Option<&str>) -> Option<Ecosystem> {
        let files = PackageFiles::from_memory(paths.iter().map(|p| (*p, b"x".as_slice())));
        detect_ecosystem(&files, hint)
    }

    #[test]
    fn npm_under_package_or_any_single_top_dir() {
        assert_eq!(
            detect(&["package/package.json", "package/index.js"], None),
            Some(Ecosystem::Npm)
        );
        assert_eq!(
            detect(&["left-pad/package.json", "left-pad/index.js"], None),
            Some(Ecosystem::Npm)
        );
        assert_eq!(
            detect(&["package.json", "index.js"], None),
            Some(Ecosystem::Npm)
        );
        // A package.json below the root is a fixture, not the manifest.
        assert_eq!(detect(&["a/test/package.json", "b/x"], None), None);
    }

    #[test]
    fn pypi_sdist_wheel_egg_and_source_tree() {
        assert_eq!(
            detect(&["foo-1.0/PKG-INFO", "foo-1.0/setup.py"], None),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(
            detect(&["foo/__init__.py", "foo-1.0.dist-info/METADATA"], None),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(
            detect(&["foo-1.0.dist-info/WHEEL"], None),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(
            detect(&["EGG-INFO/PKG-INFO", "foo/__init__.py"], None),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(
            detect(&["foo/pyproject.toml", "foo/foo.py"], None),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(detect(&["setup.py"], None), Some(Ecosystem::Pypi));
    }

    #[test]
    fn crates_with_markers_or_name() {
        assert_eq!(
            detect(
                &["foo-0.1.0/Cargo.toml", "foo-0.1.0/.cargo_vcs_info.json"],
                None
            ),
            Some(Ecosystem::Crates)
        );
        assert_eq!(
            detect(&["foo-0.1.0/Cargo.toml", "foo-0.1.0/Cargo.toml.orig"], None),
            Some(Ecosystem::Crates)
        );
        assert_eq!(
            detect(
                &["foo-0.1.0/Cargo.toml", "foo-0.1.0/src/lib.rs"],
                Some("foo-0.1.0.crate")
            ),
            Some(Ecosystem::Crates)
        );
        assert_eq!(
            detect(&["foo/Cargo.toml", "foo/src/lib.rs"], None),
            Some(Ecosystem::Crates)
        );
    }

    #[test]
    fn rubygems_from_metadata_and_data() {
        assert_eq!(
            detect(
                &[
                    "metadata.gz!/metadata",
                    "data.tar.gz!/lib/foo.rb",
                    "checksums.yaml.gz!/checksums.yaml"
                ],
                None
            ),
            Some(Ecosystem::Rubygems)
        );
        assert_eq!(
            detect(&["metadata.gz!/metadata"], Some("foo-1.0.gem")),
            Some(Ecosystem::Rubygems)
        );
    }

    #[test]
    fn mixed_manifests_resolve_in_a_fixed_order() {
        // Python sdist with a front-end package.json: PKG-INFO wins.
        assert_eq!(
            detect(
                &[
                    "ext-1.0/package.json",
                    "ext-1.0/PKG-INFO",
                    "ext-1.0/pyproject.toml"
                ],
                None
            ),
            Some(Ecosystem::Pypi)
        );
        // npm package with a helper setup.py: package.json wins over setup.py.
        assert_eq!(
            detect(&["package/package.json", "package/setup.py"], None),
            Some(Ecosystem::Npm)
        );
        // A published crate that also ships a package.json.
        assert_eq!(
            detect(
                &[
                    "c-1.0/Cargo.toml",
                    "c-1.0/Cargo.toml.orig",
                    "c-1.0/package.json"
                ],
                None
            ),
            Some(Ecosystem::Crates)
        );
        // Unpublished Cargo project with a package.json: npm (no cargo markers).
        assert_eq!(
            detect(&["x/Cargo.toml", "x/package.json"], None),
            Some(Ecosystem::Npm)
        );
    }

    #[test]
    fn unknown_contents_fall_back_to_the_name_hint() {
        assert_eq!(detect(&["README"], None), None);
        assert_eq!(
            detect(&["README"], Some("x-1.0-py3-none-any.whl")),
            Some(Ecosystem::Pypi)
        );
        assert_eq!(detect(&["README"], Some("x.tgz")), None);
    }
}
