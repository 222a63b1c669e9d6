//! Metadata facts: what a package's name, version and declared metadata say
//! about it, before any of its code is read.
//!
//! - [`typosquat`]: is the name a near-miss of a popular package?
//! - [`metadata_facts`]: dependency-confusion signals (absurd versions,
//!   internal-looking names), empty metadata, URL/git dependencies, and a
//!   registry name that disagrees with the manifest, plus the typosquat match.
//!
//! Facts, not verdicts: each is weak alone, and rules weigh them together with
//! what the code does. Nothing here touches the network or the disk; the
//! popular lists are embedded and indexed once per process.

mod confusion;
mod popular;
mod typosquat;

use ossprey_model::{Dependency, Ecosystem, ManifestFacts, PackageRef};
use serde::{Deserialize, Serialize};

pub use confusion::{AbsurdVersion, InternalName, absurd_version, internal_looking_name};
pub use popular::{PopularList, normalize_name, popular};
pub use typosquat::{Technique, TyposquatMatch, typosquat};

/// What the metadata of one package says, for rules to weigh.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataFacts {
    /// The ecosystem the facts were computed for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<Ecosystem>,
    /// The name the facts are about: the registry's name when there is one,
    /// else the manifest's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the name is on the ecosystem's popular list.
    pub popular: bool,
    /// The popular package this name imitates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typosquat: Option<TyposquatMatch>,
    /// A major version ≥ 90 that is not a calendar version (`99.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absurd_version: Option<AbsurdVersion>,
    /// The name contains a word such as `internal`, `private` or `corp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_looking_name: Option<InternalName>,
    /// A manifest was read but declares nothing about where the package comes
    /// from: no meaningful description (missing, blank, equal to the name, or
    /// a template placeholder) AND no homepage or repository AND no author.
    /// Any one of them is often left out by ordinary packages; all three
    /// rarely are.
    pub empty_metadata: bool,
    /// Dependencies fetched from a URL, git repository or path instead of the
    /// registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url_dependencies: Vec<Dependency>,
    /// The registry name and the manifest's name differ after normalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_mismatch: Option<NameMismatch>,
}

/// The registry served a package under one name whose manifest gives another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMismatch {
    pub registry_name: String,
    pub manifest_name: String,
}

/// Descriptions that project templates and scaffolding tools leave behind.
/// Compared case-insensitively after trimming trailing punctuation.
const PLACEHOLDER_DESCRIPTIONS: &[&str] = &[
    "",
    "todo",
    "tbd",
    "test",
    "description",
    "package description",
    "a short description",
    "add your description here",
    "a sample python project",
    "my package",
    "write a short summary, because rubygems requires one",
    "write a longer description or delete this line",
    "unknown",
    "none",
];

/// Metadata facts for a package, from what its registry reported (`package`,
/// `None` for a local archive) and what its archive's manifest declares.
///
/// For registry targets the registry's name and version win; for local
/// archives the manifest's are used.
pub fn metadata_facts(package: Option<&PackageRef>, manifest: &ManifestFacts) -> MetadataFacts {
    let ecosystem = package.map(|p| p.ecosystem).or(manifest.ecosystem);
    let name = package
        .map(|p| p.name.as_str())
        .or(manifest.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let version = package
        .and_then(|p| p.version.as_deref())
        .or(manifest.version.as_deref());

    let mut facts = MetadataFacts {
        ecosystem,
        name: name.map(str::to_owned),
        absurd_version: version.and_then(absurd_version),
        url_dependencies: manifest
            .dependencies
            .iter()
            .filter(|d| d.url.is_some())
            .cloned()
            .collect(),
        ..MetadataFacts::default()
    };

    if let (Some(eco), Some(name)) = (ecosystem, name) {
        facts.popular = popular(eco).contains(name);
        facts.typosquat = typosquat(eco, name);
        facts.internal_looking_name = internal_looking_name(eco, name);
    }

    let manifest_read = manifest.name.is_some() || manifest.manifest_path.is_some();
    facts.empty_metadata = manifest_read
        && is_empty_description(manifest, name)
        && is_blank(&manifest.homepage)
        && is_blank(&manifest.repository)
        && is_blank(&manifest.author);

    if let (Some(pkg), Some(declared)) = (package, manifest.name.as_deref()) {
        let eco = pkg.ecosystem;
        if normalize_name(eco, &pkg.name) != normalize_name(eco, declared) {
            facts.name_mismatch = Some(NameMismatch {
                registry_name: pkg.name.clone(),
                manifest_name: declared.to_owned(),
            });
        }
    }
    facts
}

fn is_blank(field: &Option<String>) -> bool {
    field.as_deref().is_none_or(|v| {
        let v = v.trim();
        v.is_empty() || v.eq_ignore_ascii_case("unknown") || v.eq_ignore_ascii_case("none")
    })
}

fn is_empty_description(manifest: &ManifestFacts, name: Option<&str>) -> bool {
    let Some(description) = manifest.description.as_deref() else {
        return true;
    };
    let text = description
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    PLACEHOLDER_DESCRIPTIONS.contains(&text.as_str())
        || name.is_some_and(|n| text == n.to_lowercase())
        || manifest
            .name
            .as_deref()
            .is_some_and(|n| text == n.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(
        eco: Ecosystem,
        name: &str,
        version: &str,
        description: Option<&str>,
    ) -> ManifestFacts {
        ManifestFacts {
            ecosystem: Some(eco),
            name: Some(name.to_owned()),
            version: Some(version.to_owned()),
            manifest_path: Some("package/package.json".to_owned()),
            description: description.map(str::to_owned),
            ..ManifestFacts::default()
        }
    }

    fn pkg(eco: Ecosystem, name: &str, version: &str) -> PackageRef {
        PackageRef {
            ecosystem: eco,
            name: name.to_owned(),
            version: Some(version.to_owned()),
        }
    }

    #[test]
    fn dependency_confusion_shape() {
        let m = manifest(Ecosystem::Npm, "@acme/internal-auth", "99.0.0", None);
        let facts = metadata_facts(None, &m);
        assert_eq!(facts.absurd_version.map(|a| a.major), Some(99));
        assert_eq!(
            facts.internal_looking_name.map(|w| w.word).as_deref(),
            Some("internal")
        );
        assert!(facts.empty_metadata);
        assert!(!facts.popular);
    }

    #[test]
    fn ordinary_package_has_no_facts() {
        let m = manifest(
            Ecosystem::Pypi,
            "colorama",
            "0.4.6",
            Some("Cross-platform colored terminal text."),
        );
        let facts = metadata_facts(Some(&pkg(Ecosystem::Pypi, "colorama", "0.4.6")), &m);
        assert!(facts.popular);
        assert_eq!(facts.typosquat, None);
        assert_eq!(facts.absurd_version, None);
        assert_eq!(facts.internal_looking_name, None);
        assert!(!facts.empty_metadata);
        assert!(facts.url_dependencies.is_empty());
        assert_eq!(facts.name_mismatch, None);
    }

    #[test]
    fn calver_is_not_absurd() {
        let m = manifest(
            Ecosystem::Pypi,
            "certifi",
            "2024.11.0",
            Some("Mozilla's CA bundle"),
        );
        assert_eq!(metadata_facts(None, &m).absurd_version, None);
    }

    #[test]
    fn registry_version_wins_over_manifest() {
        let m = manifest(Ecosystem::Npm, "thing", "1.0.0", Some("A thing"));
        let facts = metadata_facts(Some(&pkg(Ecosystem::Npm, "thing", "100.0.0")), &m);
        assert_eq!(facts.absurd_version.map(|a| a.major), Some(100));
    }

    #[test]
    fn placeholder_descriptions_are_empty() {
        for d in ["", "  ", "TODO", "A short description.", "mything"] {
            let m = manifest(Ecosystem::Pypi, "mything", "1.0", Some(d));
            assert!(metadata_facts(None, &m).empty_metadata, "{d:?}");
        }
        let m = manifest(Ecosystem::Pypi, "mything", "1.0", Some("Parses things"));
        assert!(!metadata_facts(None, &m).empty_metadata);
        // No manifest at all is a different problem, not empty metadata.
        assert!(!metadata_facts(None, &ManifestFacts::default()).empty_metadata);
    }

    #[test]
    fn a_homepage_repository_or_author_is_not_empty_metadata() {
        let bare = manifest(Ecosystem::Npm, "thing", "1.0.0", None);
        assert!(metadata_facts(None, &bare).empty_metadata);
        let with = |f: fn(&mut ManifestFacts)| {
            let mut m = bare.clone();
            f(&mut m);
            metadata_facts(None, &m).empty_metadata
        };
        assert!(!with(|m| m.homepage = Some("https://thing.example".into())));
        assert!(!with(|m| m.repository = Some("github:me/thing".into())));
        assert!(!with(|m| m.author = Some("Me <me@example.invalid>".into())));
        // Blank and `UNKNOWN` values declare nothing.
        assert!(with(|m| {
            m.homepage = Some("UNKNOWN".into());
            m.author = Some("  ".into());
        }));
    }

    #[test]
    fn url_dependencies_are_listed() {
        let mut m = manifest(Ecosystem::Npm, "thing", "1.0.0", Some("A thing"));
        m.dependencies = vec![
            Dependency {
                name: "left-pad".into(),
                requirement: Some("^1.3.0".into()),
                kind: "runtime".into(),
                url: None,
            },
            Dependency {
                name: "payload".into(),
                requirement: None,
                kind: "runtime".into(),
                url: Some("https://example.invalid/p.tgz".into()),
            },
        ];
        let facts = metadata_facts(None, &m);
        assert_eq!(facts.url_dependencies.len(), 1);
        assert_eq!(facts.url_dependencies[0].name, "payload");
    }

    #[test]
    fn name_mismatch_after_normalisation() {
        // PEP 503: these are the same project.
        let m = manifest(
            Ecosystem::Pypi,
            "Python_Dateutil",
            "2.9.0",
            Some("Extensions to datetime"),
        );
        let facts = metadata_facts(Some(&pkg(Ecosystem::Pypi, "python-dateutil", "2.9.0")), &m);
        assert_eq!(facts.name_mismatch, None);
        // A different project inside the archive.
        let m = manifest(
            Ecosystem::Pypi,
            "requests",
            "2.32.3",
            Some("HTTP for Humans"),
        );
        let facts = metadata_facts(Some(&pkg(Ecosystem::Pypi, "reqeusts", "2.32.3")), &m);
        assert_eq!(
            facts.name_mismatch,
            Some(NameMismatch {
                registry_name: "reqeusts".into(),
                manifest_name: "requests".into()
            })
        );
        assert_eq!(
            facts.typosquat.map(|t| t.target).as_deref(),
            Some("requests")
        );
        // Local archives have no registry name to disagree with.
        assert_eq!(metadata_facts(None, &m).name_mismatch, None);
    }
}
