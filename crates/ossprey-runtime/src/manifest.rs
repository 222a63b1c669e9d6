//! The manifest of a built runtime: what was installed, read from the root's own
//! files (dpkg's status database, dist-info directory names, npm's package.json),
//! never by running the root's binaries on the host. Also the verification that a
//! root still has what the drivers need.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::recipe::{REQUIRED_EXECUTABLES, REQUIRED_FILES, Recipe};

/// Version of the manifest's own format.
pub const MANIFEST_FORMAT: u32 = 1;

/// Name of the manifest file beside the `rootfs` directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Versions of the tools the drivers use, as installed in the root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolVersions {
    /// CPython (upstream version of Debian's `python3.X` package).
    pub python: Option<String>,
    /// pip (from its dist-info directory).
    pub pip: Option<String>,
    /// setuptools.
    pub setuptools: Option<String>,
    /// wheel.
    pub wheel: Option<String>,
    /// Node.js (upstream version of Debian's `nodejs` package).
    pub node: Option<String>,
    /// npm (from npm's own package.json).
    pub npm: Option<String>,
}

/// What a runtime directory holds, written once when the build completes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`] at build time.
    pub format: u32,
    /// The recipe's cache key; must match the directory name.
    pub key: String,
    /// The recipe the runtime was built from.
    pub recipe: Recipe,
    /// The Debian mirror packages came from.
    pub mirror: String,
    /// Build completion time, seconds since the Unix epoch.
    pub built_at_unix: u64,
    /// How long the build took.
    pub build_seconds: u64,
    /// Bytes used by the root filesystem (apparent size of regular files).
    pub size_bytes: u64,
    /// Versions of the tools the drivers rely on.
    pub tools: ToolVersions,
    /// Every installed Debian package with its version.
    pub packages: BTreeMap<String, String>,
}

/// Parses dpkg's `status` file (deb822 stanzas) into installed package → version.
/// Stanzas whose `Status` is not `install ok installed` are skipped.
pub fn parse_dpkg_status(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stanza in text.split("\n\n") {
        let (mut name, mut version, mut installed) = (None, None, false);
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package:") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version:") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status:") {
                installed = v.trim() == "install ok installed";
            }
        }
        if let (Some(n), Some(v), true) = (name, version, installed) {
            out.insert(n.to_owned(), v.to_owned());
        }
    }
    out
}

/// The upstream part of a Debian version: `18.20.4+dfsg-1~deb12u2` → `18.20.4`,
/// `3.11.2-6+deb12u5` → `3.11.2`, `1:2.3-1` → `2.3`.
pub fn upstream_version(debian: &str) -> String {
    let no_epoch = debian.split_once(':').map_or(debian, |(_, v)| v);
    let no_revision = no_epoch.rsplit_once('-').map_or(no_epoch, |(v, _)| v);
    let end = no_revision.find(['+', '~']).unwrap_or(no_revision.len());
    no_revision[..end].to_owned()
}

/// Version of a Python distribution from the names of `*.dist-info` / `*.egg-info`
/// entries in a site directory: `pip-23.0.1.dist-info` → `23.0.1` for `pip`.
pub fn dist_version(entries: &[String], dist: &str) -> Option<String> {
    entries.iter().find_map(|e| {
        let stem = e
            .strip_suffix(".dist-info")
            .or_else(|| e.strip_suffix(".egg-info"))?;
        let (name, version) = stem.split_once('-')?;
        (name.eq_ignore_ascii_case(dist)).then(|| version.to_owned())
    })
}

/// Reads tool versions and the package list from a root filesystem's files.
pub fn read_installed(
    root: &Path,
) -> Result<(ToolVersions, BTreeMap<String, String>), RuntimeError> {
    let status_path = root.join("var/lib/dpkg/status");
    let status =
        fs::read_to_string(&status_path).map_err(RuntimeError::io("reading", &status_path))?;
    let packages = parse_dpkg_status(&status);

    // The interpreter is in a versioned package (`python3.11`); the highest one wins.
    let python = packages
        .iter()
        .filter(|(n, _)| {
            n.strip_prefix("python3.")
                .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(_, v)| upstream_version(v))
        .max_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        });

    let site = root.join("usr/lib/python3/dist-packages");
    let entries: Vec<String> = fs::read_dir(&site)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();

    let npm_json = root.join("usr/share/nodejs/npm/package.json");
    let npm = fs::read(&npm_json)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("version")?.as_str().map(str::to_owned));

    let tools = ToolVersions {
        python,
        pip: dist_version(&entries, "pip"),
        setuptools: dist_version(&entries, "setuptools"),
        wheel: dist_version(&entries, "wheel"),
        node: packages.get("nodejs").map(|v| upstream_version(v)),
        npm,
    };
    Ok((tools, packages))
}

/// Resolves `rel` inside `root` the way a process chrooted at `root` would see it:
/// symlinks are followed, absolute link targets restart at `root`, and `..` never
/// climbs above `root`. Returns `None` when something along the way is missing or
/// links loop.
pub fn resolve_in_root(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut pending: Vec<String> = Vec::new();
    push_components(&mut pending, rel);
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&part);
        let meta = fs::symlink_metadata(&candidate).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = fs::read_link(&candidate).ok()?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                resolved.clear();
            }
            push_components(&mut pending, &target);
        } else {
            resolved.push(part);
        }
    }
    Some(resolved.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

/// Pushes a path's components onto a stack so they pop in order.
fn push_components(stack: &mut Vec<String>, path: &str) {
    let parts: Vec<String> = Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// Checks that every required file exists (inside the root), that executables are
/// executable, and that the recipe's mount points are directories.
pub fn verify_root(root: &Path, recipe: &Recipe) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    for rel in REQUIRED_FILES {
        let Some(path) = resolve_in_root(root, rel) else {
            return Err(format!("/{rel} is missing"));
        };
        let meta = fs::metadata(&path).map_err(|e| format!("/{rel}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("/{rel} is not a regular file"));
        }
        if REQUIRED_EXECUTABLES.contains(rel) && meta.permissions().mode() & 0o111 == 0 {
            return Err(format!("/{rel} is not executable"));
        }
    }
    for dir in &recipe.mount_points {
        if !root.join(dir).is_dir() {
            return Err(format!("mount point /{dir} is missing"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: nodejs\nStatus: install ok installed\nVersion: 18.20.4+dfsg-1~deb12u2\n\n\
Package: python3.11\nStatus: install ok installed\nVersion: 3.11.2-6+deb12u5\nDescription: x\n more\n\n\
Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n\
Package: python3.9\nStatus: install ok installed\nVersion: 3.9.2-1\n\n\
Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n";

    #[test]
    fn dpkg_status_keeps_installed_packages_only() {
        let p = parse_dpkg_status(STATUS);
        assert_eq!(
            p.get("nodejs").map(String::as_str),
            Some("18.20.4+dfsg-1~deb12u2")
        );
        assert_eq!(p.get("python3").map(String::as_str), Some("3.11.2-1+b1"));
        assert!(!p.contains_key("removed"));
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn upstream_versions() {
        assert_eq!(upstream_version("18.20.4+dfsg-1~deb12u2"), "18.20.4");
        assert_eq!(upstream_version("3.11.2-6+deb12u5"), "3.11.2");
        assert_eq!(upstream_version("1:2.3-1"), "2.3");
        assert_eq!(upstream_version("9.2.0~ds1-1"), "9.2.0");
        assert_eq!(upstream_version("20230311"), "20230311");
    }

    #[test]
    fn dist_versions_from_directory_names() {
        let entries = [
            "pip-23.0.1.dist-info",
            "setuptools-66.1.1.egg-info",
            "pip",
            "six-1.16.0.egg-info",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(dist_version(&entries, "pip").as_deref(), Some("23.0.1"));
        assert_eq!(
            dist_version(&entries, "setuptools").as_deref(),
            Some("66.1.1")
        );
        assert_eq!(dist_version(&entries, "wheel"), None);
    }

    #[test]
    fn read_installed_picks_the_newest_interpreter_and_npm_json() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        fs::write(root.join("var/lib/dpkg/status"), STATUS).unwrap();
        fs::create_dir_all(root.join("usr/lib/python3/dist-packages/wheel-0.38.4.egg-info"))
            .unwrap();
        fs::create_dir_all(root.join("usr/share/nodejs/npm")).unwrap();
        fs::write(
            root.join("usr/share/nodejs/npm/package.json"),
            r#"{"name":"npm","dependencies":{"x":{"version":"1"}},"version":"9.2.0"}"#,
        )
        .unwrap();
        let (tools, packages) = read_installed(root).unwrap();
        assert_eq!(tools.python.as_deref(), Some("3.11.2"));
        assert_eq!(tools.node.as_deref(), Some("18.20.4"));
        assert_eq!(tools.npm.as_deref(), Some("9.2.0"));
        assert_eq!(tools.wheel.as_deref(), Some("0.38.4"));
        assert_eq!(tools.pip, None);
        assert_eq!(packages.len(), 4);
    }

    #[test]
    fn resolve_follows_links_inside_the_root_only() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/bin")).unwrap();
        fs::create_dir_all(root.join("usr/share/nodejs/npm/bin")).unwrap();
        fs::write(root.join("usr/bin/python3.11"), "").unwrap();
        fs::write(root.join("usr/share/nodejs/npm/bin/npm-cli.js"), "").unwrap();
        symlink("usr/bin", root.join("bin")).unwrap();
        symlink("python3.11", root.join("usr/bin/python3")).unwrap();
        symlink(
            "../share/nodejs/npm/bin/npm-cli.js",
            root.join("usr/bin/npm"),
        )
        .unwrap();
        // An absolute link must resolve inside the root, not on the host.
        symlink("/usr/bin/python3", root.join("usr/bin/py")).unwrap();
        // `..` cannot climb out of the root.
        symlink(
            "../../../../../../usr/bin/python3.11",
            root.join("usr/bin/climb"),
        )
        .unwrap();
        symlink("loop", root.join("usr/bin/loop")).unwrap();

        assert_eq!(
            resolve_in_root(root, "bin/python3"),
            Some(root.join("usr/bin/python3.11"))
        );
        assert_eq!(
            resolve_in_root(root, "usr/bin/npm"),
            Some(root.join("usr/share/nodejs/npm/bin/npm-cli.js"))
        );
        assert_eq!(
            resolve_in_root(root, "usr/bin/py"),
            Some(root.join("usr/bin/python3.11"))
        );
        assert_eq!(
            resolve_in_root(root, "usr/bin/climb"),
            Some(root.join("usr/bin/python3.11"))
        );
        assert_eq!(resolve_in_root(root, "usr/bin/loop"), None);
        assert_eq!(resolve_in_root(root, "usr/bin/absent"), None);
    }
}
