//! PyPI: the project JSON API, with the Simple API (PEP 691 JSON) as fallback.
//!
//! Registry JSON is read as untyped values so that one odd file entry cannot make a
//! whole release unfetchable; this module must never panic on what it reads, and
//! never pick a file whose sha256 the registry did not publish.

use std::collections::BTreeMap;

use ossprey_model::{Ecosystem, PackageSpec};
use serde_json::Value;

use crate::digest::{Algo, ExpectedDigest};
use crate::http::Http;
use crate::pep440::Pep440;
use crate::{RegistryError, Resolved, join_url};

const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// PEP 503 name normalization: lowercase, runs of `-_.` become one `-`.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// One downloadable file of a release, as either API describes it.
#[derive(Clone, Debug)]
struct FileInfo {
    filename: String,
    url: String,
    sha256: Option<String>,
    yanked: bool,
    packagetype: Option<String>,
}

pub(crate) fn resolve(
    http: &Http,
    base: &str,
    spec: &PackageSpec,
) -> Result<Resolved, RegistryError> {
    let norm = normalize(&spec.name);
    let url = format!("{}/pypi/{norm}/json", base.trim_end_matches('/'));
    let json_err = match http.get_metadata(&url, "application/json")? {
        None => None,
        Some(body) => match from_json_api(&url, &body, spec) {
            Ok(r) => return r,
            Err(e) => Some(e),
        },
    };
    // Mirrors (devpi, bandersnatch, proxies) often have only the Simple API.
    match simple(http, base, &norm, spec) {
        Err(e @ (RegistryError::NoSuchPackage { .. } | RegistryError::BadResponse { .. })) => {
            Err(json_err.unwrap_or(e))
        }
        other => other,
    }
}

/// `Err` means "this is not a usable JSON API answer", so the Simple API is tried.
fn from_json_api(
    url: &str,
    body: &[u8],
    spec: &PackageSpec,
) -> Result<Result<Resolved, RegistryError>, RegistryError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| RegistryError::bad(url, format!("invalid JSON: {e}")))?;
    let Some(releases) = doc.get("releases").and_then(Value::as_object) else {
        return Err(RegistryError::bad(
            url,
            "no `releases` object in the project JSON",
        ));
    };
    let info = doc.get("info");
    let name = info
        .and_then(|i| i.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(&spec.name)
        .to_owned();
    let mut by_version: BTreeMap<String, Vec<FileInfo>> = BTreeMap::new();
    for (version, files) in releases {
        let files = files
            .as_array()
            .map(|fs| fs.iter().filter_map(|f| json_api_file(url, f)).collect())
            .unwrap_or_default();
        by_version.insert(version.clone(), files);
    }
    let latest = info
        .and_then(|i| i.get("version"))
        .and_then(Value::as_str)
        .filter(|v| by_version.contains_key(*v))
        .map(str::to_owned)
        .or_else(|| latest_of(&by_version));
    Ok(pick(url, spec, name, &by_version, latest))
}

/// One file of the JSON API. Mirrors may give file URLs relative to the
/// document (`../../packages/…`), like the Simple API does: resolve them.
fn json_api_file(doc_url: &str, f: &Value) -> Option<FileInfo> {
    Some(FileInfo {
        filename: f.get("filename")?.as_str()?.to_owned(),
        url: join_url(doc_url, f.get("url")?.as_str()?),
        sha256: f
            .get("digests")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        yanked: f.get("yanked").and_then(Value::as_bool).unwrap_or(false),
        packagetype: f
            .get("packagetype")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn simple(
    http: &Http,
    base: &str,
    norm: &str,
    spec: &PackageSpec,
) -> Result<Resolved, RegistryError> {
    let url = format!("{}/simple/{norm}/", base.trim_end_matches('/'));
    let Some(body) = http.get_metadata(&url, SIMPLE_JSON)? else {
        return Err(RegistryError::NoSuchPackage {
            ecosystem: Ecosystem::Pypi,
            name: spec.name.clone(),
        });
    };
    let doc: Value = serde_json::from_slice(&body).map_err(|e| {
        RegistryError::bad(&url, format!("not a PEP 691 JSON Simple API response: {e}"))
    })?;
    let Some(files) = doc.get("files").and_then(Value::as_array) else {
        return Err(RegistryError::bad(
            &url,
            "no `files` array in the Simple API response",
        ));
    };
    let mut by_version: BTreeMap<String, Vec<FileInfo>> = BTreeMap::new();
    // PEP 700 lists versions that may have no files; they are real but unfetchable.
    for v in doc
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        by_version.entry(v.to_owned()).or_default();
    }
    for f in files {
        let Some(filename) = f.get("filename").and_then(Value::as_str) else {
            continue;
        };
        let Some(href) = f.get("url").and_then(Value::as_str) else {
            continue;
        };
        let Some(version) = version_from_filename(filename, norm) else {
            continue;
        };
        let (href, fragment) = href.split_once('#').unwrap_or((href, ""));
        let sha256 = f
            .get("hashes")
            .and_then(|h| h.get("sha256"))
            .and_then(Value::as_str)
            .or_else(|| fragment.strip_prefix("sha256="))
            .map(str::to_owned);
        let yanked = match f.get("yanked") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(_)) => true,
            _ => false,
        };
        // Files are grouped under a key that matches a PEP 700 entry when one exists.
        let key = by_version
            .keys()
            .find(|k| same_version(k, &version))
            .cloned()
            .unwrap_or(version);
        by_version.entry(key).or_default().push(FileInfo {
            filename: filename.to_owned(),
            url: join_url(&url, href),
            sha256,
            yanked,
            packagetype: None,
        });
    }
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&spec.name)
        .to_owned();
    let latest = latest_of(&by_version);
    pick(&url, spec, name, &by_version, latest)
}

fn pick(
    url: &str,
    spec: &PackageSpec,
    name: String,
    by_version: &BTreeMap<String, Vec<FileInfo>>,
    latest: Option<String>,
) -> Result<Resolved, RegistryError> {
    if by_version.is_empty() {
        return Err(RegistryError::NoSuchPackage {
            ecosystem: Ecosystem::Pypi,
            name: spec.name.clone(),
        });
    }
    let no_version = |version: &str| RegistryError::NoSuchVersion {
        ecosystem: Ecosystem::Pypi,
        name: spec.name.clone(),
        version: version.to_owned(),
        latest: latest.clone(),
    };
    let version = match &spec.version {
        Some(want) => by_version
            .keys()
            .find(|k| *k == want)
            .or_else(|| by_version.keys().find(|k| same_version(k, want)))
            .ok_or_else(|| no_version(want))?,
        None => latest.as_ref().ok_or_else(|| no_version("latest"))?,
    };
    let files = by_version
        .get(version)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(file) = choose_file(files) else {
        return Err(RegistryError::NoArtifact {
            ecosystem: Ecosystem::Pypi,
            name: name.clone(),
            version: version.clone(),
            detail: format!("{} file(s), none an sdist, wheel or egg", files.len()),
        });
    };
    let expected = file
        .sha256
        .as_deref()
        .and_then(|h| ExpectedDigest::from_hex(Algo::Sha256, h))
        .ok_or_else(|| {
            RegistryError::bad(
                url,
                format!("no valid sha256 published for {}", file.filename),
            )
        })?;
    Ok(Resolved {
        name,
        version: version.clone(),
        url: file.url.clone(),
        filename: file.filename.clone(),
        expected,
        yanked: file.yanked,
    })
}

/// Exact match, or equal PEP 440 normal forms (`V1.0RC1` is `1.0rc1`; `1.0` is not `1.0.0`).
fn same_version(a: &str, b: &str) -> bool {
    a == b
        || match (Pep440::parse(a), Pep440::parse(b)) {
            (Some(x), Some(y)) => x.normalized() == y.normalized(),
            _ => false,
        }
}

/// Highest final release with a non-yanked file; else highest pre-release; else highest anything.
fn latest_of(by_version: &BTreeMap<String, Vec<FileInfo>>) -> Option<String> {
    let parsed: Vec<(Pep440, &String, bool)> = by_version
        .iter()
        .filter_map(|(k, files)| Some((Pep440::parse(k)?, k, files.iter().any(|f| !f.yanked))))
        .collect();
    let best = |keep: &dyn Fn(&(Pep440, &String, bool)) -> bool| {
        parsed
            .iter()
            .filter(|p| keep(p))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|p| p.1.clone())
    };
    best(&|p| p.2 && !p.0.is_prerelease())
        .or_else(|| best(&|p| p.2))
        .or_else(|| best(&|_| true))
}

/// Preference: sdist (`.tar.gz`, `.zip`, `.tar.bz2`), pure wheel, any wheel, egg.
/// Within a kind a non-yanked file wins; among platform wheels the one a Linux
/// x86_64 user with the newest CPython would install, so the choice does not
/// depend on the order the registry lists files in.
fn choose_file(files: &[FileInfo]) -> Option<&FileInfo> {
    files
        .iter()
        .filter_map(|f| Some((file_rank(f)?, f.yanked, wheel_platform_rank(&f.filename), f)))
        .min_by(|a, b| {
            (a.0, a.1, &a.2)
                .cmp(&(b.0, b.1, &b.2))
                .then_with(|| a.3.filename.cmp(&b.3.filename))
        })
        .map(|t| t.3)
}

/// Orders platform wheels: Linux x86_64 first, then other Linux, macOS, Windows;
/// within a platform the highest CPython tag first.
fn wheel_platform_rank(filename: &str) -> (u8, std::cmp::Reverse<u32>) {
    let lower = filename.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".whl") else {
        return (u8::MAX, std::cmp::Reverse(0));
    };
    // name-version(-build)?-python-abi-platform
    let mut parts = stem.rsplit('-');
    let platform = parts.next().unwrap_or_default();
    let _abi = parts.next();
    let python = parts.next().unwrap_or_default();
    let os = if platform.contains("linux") && platform.contains("x86_64") {
        0
    } else if platform.contains("linux") {
        1
    } else if platform.contains("macosx") {
        2
    } else if platform.contains("win") {
        3
    } else {
        4
    };
    let newest_python = python
        .split('.')
        .filter_map(|tag| {
            tag.trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    (os, std::cmp::Reverse(newest_python))
}

fn file_rank(f: &FileInfo) -> Option<u8> {
    let name = f.filename.to_ascii_lowercase();
    let sdist = f.packagetype.as_deref().is_none_or(|t| t == "sdist");
    Some(match () {
        _ if sdist && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) => 0,
        _ if sdist && name.ends_with(".zip") => 1,
        _ if sdist && (name.ends_with(".tar.bz2") || name.ends_with(".tar.xz")) => 2,
        _ if name.ends_with("-none-any.whl") => 3,
        _ if name.ends_with(".whl") => 4,
        _ if name.ends_with(".egg") => 5,
        _ => return None,
    })
}

/// The version in a distribution file name, given the project's normalized name.
fn version_from_filename(filename: &str, norm: &str) -> Option<String> {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") || lower.ends_with(".egg") {
        let mut parts = filename.split('-');
        let (name, version) = (parts.next()?, parts.next()?);
        let version = version.strip_suffix(".egg").unwrap_or(version);
        return (normalize(name) == norm && !version.is_empty()).then(|| version.to_owned());
    }
    let ext = [".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar"]
        .into_iter()
        .find(|e| lower.ends_with(e))?;
    let stem = &filename[..filename.len() - ext.len()];
    // Old sdists spell the name with dashes (`python-dateutil-2.8.2`), so try every split.
    stem.char_indices()
        .filter(|&(_, c)| c == '-')
        .find(|&(i, _)| normalize(&stem[..i]) == norm)
        .map(|(i, _)| stem[i + 1..].to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> FileInfo {
        FileInfo {
            filename: name.into(),
            url: String::new(),
            sha256: None,
            yanked: false,
            packagetype: None,
        }
    }

    #[test]
    fn normalizes_like_pep_503() {
        assert_eq!(normalize("Foo.Bar__baz-_qux"), "foo-bar-baz-qux");
    }

    #[test]
    fn versions_come_out_of_every_kind_of_filename() {
        let n = "python-dateutil";
        assert_eq!(
            version_from_filename("python-dateutil-2.8.2.tar.gz", n).as_deref(),
            Some("2.8.2")
        );
        assert_eq!(
            version_from_filename("python_dateutil-2.8.2-py2.py3-none-any.whl", n).as_deref(),
            Some("2.8.2")
        );
        assert_eq!(
            version_from_filename("python_dateutil-2.8.2-py3.9.egg", n).as_deref(),
            Some("2.8.2")
        );
        assert_eq!(version_from_filename("other-1.0.tar.gz", n), None);
        assert_eq!(version_from_filename("python-dateutil-.tar.gz", n), None);
    }

    #[test]
    fn platform_wheels_are_chosen_by_platform_and_python_not_listing_order() {
        let files: Vec<FileInfo> = [
            "torch-2.4.1-cp38-cp38-win_amd64.whl",
            "torch-2.4.1-cp312-none-macosx_11_0_arm64.whl",
            "torch-2.4.1-cp39-cp39-manylinux1_x86_64.whl",
            "torch-2.4.1-cp312-cp312-manylinux1_x86_64.whl",
            "torch-2.4.1-cp312-cp312-manylinux2014_aarch64.whl",
        ]
        .into_iter()
        .map(|name| FileInfo {
            filename: name.into(),
            url: format!("https://x/{name}"),
            sha256: None,
            yanked: false,
            packagetype: Some("bdist_wheel".into()),
        })
        .collect();
        let want = Some("torch-2.4.1-cp312-cp312-manylinux1_x86_64.whl");
        assert_eq!(choose_file(&files).map(|f| f.filename.as_str()), want);
        let reversed: Vec<FileInfo> = files.into_iter().rev().collect();
        assert_eq!(choose_file(&reversed).map(|f| f.filename.as_str()), want);
    }

    #[test]
    fn prefers_sdist_then_pure_wheel() {
        let files = [
            file("x-1.0-cp312-cp312-manylinux.whl"),
            file("x-1.0-py3-none-any.whl"),
            file("x-1.0.zip"),
        ];
        assert_eq!(
            choose_file(&files).map(|f| f.filename.as_str()),
            Some("x-1.0.zip")
        );
        assert_eq!(
            choose_file(&files[..2]).map(|f| f.filename.as_str()),
            Some("x-1.0-py3-none-any.whl")
        );
        assert!(choose_file(&[file("x-1.0.win32.exe")]).is_none());
    }

    #[test]
    fn json_api_relative_file_urls_are_resolved_against_the_document() {
        let doc = serde_json::json!({
            "info": {"name": "PyYAML", "version": "6.0.2"},
            "releases": {"6.0.2": [{
                "filename": "pyyaml-6.0.2.tar.gz",
                "url": "../../packages/54/ed/pyyaml-6.0.2.tar.gz",
                "digests": {"sha256": "d584d9ec91ad65861cc08d42e834324ef890a082e591037abe114850ff7bbc3e"},
                "packagetype": "sdist"
            }]}
        });
        let spec: PackageSpec = "pypi:pyyaml@6.0.2".parse().unwrap();
        let url = "https://mirror.example/pypi/pyyaml/json";
        let resolved = from_json_api(url, &serde_json::to_vec(&doc).unwrap(), &spec)
            .unwrap()
            .unwrap();
        assert_eq!(
            resolved.url,
            "https://mirror.example/packages/54/ed/pyyaml-6.0.2.tar.gz"
        );
    }

    #[test]
    fn version_matching_is_normal_form_not_numeric() {
        assert!(same_version("1.0rc1", "V1.0-RC1"));
        assert!(!same_version("1.0", "1.0.0"));
    }
}
