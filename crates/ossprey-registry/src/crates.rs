//! crates.io through a sparse index, read the way cargo reads it.
//!
//! Index lines are untrusted JSON: a malformed line is skipped, never a panic.
//! This module must never download a `.crate` without the index's `cksum`.

use std::sync::OnceLock;

use ossprey_model::{Ecosystem, PackageSpec};
use serde_json::Value;

use crate::digest::{Algo, ExpectedDigest};
use crate::http::Http;
use crate::{RegistryError, Resolved};

/// A sparse index; its `config.json` is read once per instance.
#[derive(Debug)]
pub(crate) struct SparseIndex {
    base: String,
    dl: OnceLock<String>,
}

/// One usable line of an index file.
#[derive(Debug)]
struct IndexEntry {
    name: String,
    vers: String,
    cksum: String,
    yanked: bool,
}

impl SparseIndex {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            dl: OnceLock::new(),
        }
    }

    fn dl_template(&self, http: &Http) -> Result<&str, RegistryError> {
        if let Some(dl) = self.dl.get() {
            return Ok(dl);
        }
        let url = format!("{}/config.json", self.base);
        let body = http
            .get_metadata(&url, "application/json")?
            .ok_or_else(|| RegistryError::bad(&url, "index has no config.json"))?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::bad(&url, format!("invalid JSON: {e}")))?;
        let dl = doc
            .get("dl")
            .and_then(Value::as_str)
            .ok_or_else(|| RegistryError::bad(&url, "no `dl` in config.json"))?;
        Ok(self.dl.get_or_init(|| dl.to_owned()))
    }

    pub(crate) fn resolve(
        &self,
        http: &Http,
        spec: &PackageSpec,
    ) -> Result<Resolved, RegistryError> {
        let lower = spec.name.to_ascii_lowercase();
        let url = format!("{}/{}", self.base, index_path(&lower));
        let no_package = || RegistryError::NoSuchPackage {
            ecosystem: Ecosystem::Crates,
            name: spec.name.clone(),
        };
        let body = http.get_metadata(&url, "*/*")?.ok_or_else(no_package)?;
        let text = String::from_utf8_lossy(&body);
        let entries: Vec<IndexEntry> = text.lines().filter_map(parse_line).collect();
        if entries.is_empty() {
            return Err(if text.trim().is_empty() {
                no_package()
            } else {
                RegistryError::bad(&url, "no valid index line")
            });
        }
        let latest = latest_of(&entries).map(|e| e.vers.clone());
        let entry = match &spec.version {
            Some(want) => {
                find_version(&entries, want).ok_or_else(|| RegistryError::NoSuchVersion {
                    ecosystem: Ecosystem::Crates,
                    name: spec.name.clone(),
                    version: want.clone(),
                    latest: latest.clone(),
                })?
            }
            None => latest_of(&entries).ok_or_else(no_package)?,
        };
        let expected = ExpectedDigest::from_hex(Algo::Sha256, &entry.cksum).ok_or_else(|| {
            RegistryError::bad(&url, format!("invalid `cksum` for {}", entry.vers))
        })?;
        let dl = self.dl_template(http)?;
        Ok(Resolved {
            url: download_url(dl, &entry.name, &entry.vers, &entry.cksum),
            filename: format!("{}-{}.crate", entry.name, entry.vers),
            name: entry.name.clone(),
            version: entry.vers.clone(),
            expected,
            yanked: entry.yanked,
        })
    }
}

/// Cargo's index layout: `1/n`, `2/nn`, `3/n/nnn`, `ab/cd/abcd…`.
pub(crate) fn index_path(name: &str) -> String {
    // Crate names are ASCII (checked by `PackageSpec`); slicing anything else could split a char.
    if !name.is_ascii() {
        return name.to_owned();
    }
    match name.len() {
        0 => String::new(),
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The directory part of [`index_path`], which `dl` templates call `{prefix}`.
fn prefix(name: &str) -> String {
    let path = index_path(name);
    path.rsplit_once('/')
        .map(|(dir, _)| dir.to_owned())
        .unwrap_or_default()
}

/// Fills a `dl` template from config.json; without markers cargo appends `/{crate}/{version}/download`.
pub(crate) fn download_url(dl: &str, name: &str, vers: &str, cksum: &str) -> String {
    const MARKERS: [&str; 5] = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    if !MARKERS.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{vers}/download", dl.trim_end_matches('/'));
    }
    dl.replace("{crate}", name)
        .replace("{version}", vers)
        .replace("{prefix}", &prefix(name))
        .replace("{lowerprefix}", &prefix(&name.to_ascii_lowercase()))
        .replace("{sha256-checksum}", cksum)
}

fn parse_line(line: &str) -> Option<IndexEntry> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    Some(IndexEntry {
        name: v.get("name")?.as_str()?.to_owned(),
        vers: v.get("vers")?.as_str()?.to_owned(),
        cksum: v.get("cksum")?.as_str()?.to_owned(),
        yanked: v.get("yanked").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn find_version<'a>(entries: &'a [IndexEntry], want: &str) -> Option<&'a IndexEntry> {
    entries.iter().find(|e| e.vers == want).or_else(|| {
        let want = semver::Version::parse(want.strip_prefix(['v', 'V']).unwrap_or(want)).ok()?;
        entries
            .iter()
            .find(|e| semver::Version::parse(&e.vers).is_ok_and(|v| v == want))
    })
}

/// Highest non-yanked release; else highest non-yanked pre-release; else highest of all.
fn latest_of(entries: &[IndexEntry]) -> Option<&IndexEntry> {
    let parsed: Vec<(semver::Version, &IndexEntry)> = entries
        .iter()
        .filter_map(|e| Some((semver::Version::parse(&e.vers).ok()?, e)))
        .collect();
    let best = |keep: &dyn Fn(&(semver::Version, &IndexEntry)) -> bool| {
        parsed
            .iter()
            .filter(|p| keep(p))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|p| p.1)
    };
    best(&|(v, e)| !e.yanked && v.pre.is_empty())
        .or_else(|| best(&|(_, e)| !e.yanked))
        .or_else(|| best(&|_| true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargo() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("serde"), "se/rd/serde");
    }

    #[test]
    fn dl_templates() {
        assert_eq!(
            download_url("https://static.crates.io/crates", "serde", "1.0.0", "x"),
            "https://static.crates.io/crates/serde/1.0.0/download"
        );
        assert_eq!(
            download_url(
                "http://h/{prefix}/{lowerprefix}/{crate}-{version}.crate?c={sha256-checksum}",
                "Serde",
                "1.0.0",
                "ab"
            ),
            "http://h/Se/rd/se/rd/Serde-1.0.0.crate?c=ab"
        );
    }

    #[test]
    fn latest_skips_yanked_and_prereleases() {
        let e = |v: &str, y: bool| IndexEntry {
            name: "x".into(),
            vers: v.into(),
            cksum: String::new(),
            yanked: y,
        };
        let entries = [e("1.0.0", false), e("1.1.0", true), e("2.0.0-rc.1", false)];
        assert_eq!(latest_of(&entries).map(|e| e.vers.as_str()), Some("1.0.0"));
        assert_eq!(
            latest_of(&entries[1..]).map(|e| e.vers.as_str()),
            Some("2.0.0-rc.1")
        );
        assert!(parse_line("{not json").is_none());
    }
}
