//! RubyGems: the versions API and `.gem` downloads.
//!
//! This module must never download a gem without the `sha` (sha256) the versions
//! API published for that exact version and platform.

use ossprey_model::{Ecosystem, PackageSpec};
use serde_json::Value;

use crate::digest::{Algo, ExpectedDigest};
use crate::http::Http;
use crate::{RegistryError, Resolved};

#[derive(Debug)]
struct GemVersion {
    number: String,
    platform: String,
    sha: Option<String>,
    prerelease: bool,
}

pub(crate) fn resolve(
    http: &Http,
    base: &str,
    spec: &PackageSpec,
) -> Result<Resolved, RegistryError> {
    let base = base.trim_end_matches('/');
    let url = format!("{base}/api/v1/versions/{}.json", spec.name);
    let no_package = || RegistryError::NoSuchPackage {
        ecosystem: Ecosystem::Rubygems,
        name: spec.name.clone(),
    };
    let body = http
        .get_metadata(&url, "application/json")?
        .ok_or_else(no_package)?;
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| RegistryError::bad(&url, format!("invalid JSON: {e}")))?;
    let list = doc
        .as_array()
        .ok_or_else(|| RegistryError::bad(&url, "expected a JSON array of versions"))?;
    let versions: Vec<GemVersion> = list
        .iter()
        .filter_map(|v| {
            Some(GemVersion {
                number: v.get("number")?.as_str()?.to_owned(),
                platform: v
                    .get("platform")
                    .and_then(Value::as_str)
                    .unwrap_or("ruby")
                    .to_owned(),
                sha: v.get("sha").and_then(Value::as_str).map(str::to_owned),
                prerelease: v
                    .get("prerelease")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect();
    if versions.is_empty() {
        return Err(no_package());
    }
    // The API lists newest first; a pure-Ruby gem is what `gem install` picks on any platform.
    let latest = versions
        .iter()
        .find(|v| !v.prerelease && v.platform == "ruby")
        .or_else(|| versions.iter().find(|v| !v.prerelease))
        .or_else(|| versions.first());
    let chosen = match &spec.version {
        Some(want) => {
            let matching = || versions.iter().filter(|v| v.number == *want);
            matching()
                .find(|v| v.platform == "ruby")
                .or_else(|| matching().next())
                .ok_or_else(|| RegistryError::NoSuchVersion {
                    ecosystem: Ecosystem::Rubygems,
                    name: spec.name.clone(),
                    version: want.clone(),
                    latest: latest.map(|v| v.number.clone()),
                })?
        }
        None => latest.ok_or_else(no_package)?,
    };
    let expected = chosen
        .sha
        .as_deref()
        .and_then(|s| ExpectedDigest::from_hex(Algo::Sha256, s))
        .ok_or_else(|| {
            RegistryError::bad(
                &url,
                format!("no valid sha256 published for {}", chosen.number),
            )
        })?;
    let filename = gem_filename(&spec.name, &chosen.number, &chosen.platform).ok_or_else(|| {
        RegistryError::bad(
            &url,
            format!(
                "unusable platform `{}` for {}",
                chosen.platform, chosen.number
            ),
        )
    })?;
    Ok(Resolved {
        url: format!("{base}/gems/{filename}"),
        filename,
        name: spec.name.clone(),
        version: chosen.number.clone(),
        expected,
        yanked: false,
    })
}

/// `name-version.gem` for pure Ruby, `name-version-platform.gem` otherwise. `None`
/// when the registry-supplied parts could escape the download URL's path.
fn gem_filename(name: &str, number: &str, platform: &str) -> Option<String> {
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if !safe(number) || !safe(platform) {
        return None;
    }
    Some(if platform == "ruby" {
        format!("{name}-{number}.gem")
    } else {
        format!("{name}-{number}-{platform}.gem")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gem_filenames_by_platform() {
        assert_eq!(
            gem_filename("nokogiri", "1.16.0", "ruby").as_deref(),
            Some("nokogiri-1.16.0.gem")
        );
        assert_eq!(
            gem_filename("nokogiri", "1.16.0", "x86_64-linux").as_deref(),
            Some("nokogiri-1.16.0-x86_64-linux.gem")
        );
        assert_eq!(gem_filename("x", "1.0/../..", "ruby"), None);
    }
}
