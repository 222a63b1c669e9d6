//! npm: the abbreviated packument, `dist-tags.latest`, and SRI integrity.
//!
//! This module must never accept a tarball without a published digest, and must
//! never pick a weaker digest when a stronger supported one is published.

use ossprey_model::{Ecosystem, PackageSpec};
use serde_json::Value;

use crate::digest::{Algo, ExpectedDigest};
use crate::http::Http;
use crate::{RegistryError, Resolved};

/// Asks for the abbreviated ("corgi") document, which is much smaller, but accepts full JSON.
const ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";

/// `@scope/name` becomes `@scope%2fname`, the form the registry routes.
pub(crate) fn packument_url(base: &str, name: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        name.replace('/', "%2f")
    )
}

pub(crate) fn resolve(
    http: &Http,
    base: &str,
    spec: &PackageSpec,
) -> Result<Resolved, RegistryError> {
    let url = packument_url(base, &spec.name);
    let no_package = || RegistryError::NoSuchPackage {
        ecosystem: Ecosystem::Npm,
        name: spec.name.clone(),
    };
    let body = http.get_metadata(&url, ACCEPT)?.ok_or_else(no_package)?;
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| RegistryError::bad(&url, format!("invalid JSON: {e}")))?;
    let versions = doc.get("versions").and_then(Value::as_object);
    let latest = doc
        .get("dist-tags")
        .and_then(|t| t.get("latest"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // A fully unpublished package keeps a packument with no versions.
    let Some(versions) = versions.filter(|v| !v.is_empty()) else {
        return Err(no_package());
    };
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&spec.name)
        .to_owned();
    let no_version = |v: &str| RegistryError::NoSuchVersion {
        ecosystem: Ecosystem::Npm,
        name: spec.name.clone(),
        version: v.to_owned(),
        latest: latest.clone(),
    };
    let (version, manifest) = match &spec.version {
        Some(want) => {
            let bare = want.strip_prefix(['v', 'V']).unwrap_or(want);
            versions
                .get_key_value(want.as_str())
                .or_else(|| versions.get_key_value(bare))
                .ok_or_else(|| no_version(want))?
        }
        None => {
            let latest = latest
                .as_deref()
                .ok_or_else(|| RegistryError::bad(&url, "no `dist-tags.latest`"))?;
            versions.get_key_value(latest).ok_or_else(|| {
                RegistryError::bad(&url, "`dist-tags.latest` names a missing version")
            })?
        }
    };
    let dist = manifest.get("dist");
    let field = |k: &str| dist.and_then(|d| d.get(k)).and_then(Value::as_str);
    let Some(tarball) = field("tarball").filter(|t| !t.is_empty()) else {
        return Err(RegistryError::NoArtifact {
            ecosystem: Ecosystem::Npm,
            name,
            version: version.clone(),
            detail: "no `dist.tarball`".into(),
        });
    };
    let expected = field("integrity")
        .and_then(ExpectedDigest::from_sri)
        .or_else(|| field("shasum").and_then(|s| ExpectedDigest::from_hex(Algo::Sha1, s)))
        .ok_or_else(|| {
            RegistryError::bad(
                &url,
                format!("no usable `dist.integrity` or `dist.shasum` for {version}"),
            )
        })?;
    Ok(Resolved {
        filename: tarball_filename(tarball, &name, version),
        name,
        version: version.clone(),
        url: tarball.to_owned(),
        expected,
        yanked: false,
    })
}

/// The tarball URL's last segment when it is a plain file name, else `name-version.tgz`.
fn tarball_filename(url: &str, name: &str, version: &str) -> String {
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let plain = !last.is_empty()
        && last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    if plain && !last.starts_with('.') {
        return last.to_owned();
    }
    let bare = name.rsplit('/').next().unwrap_or(name);
    format!("{bare}-{version}.tgz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_names_are_percent_encoded() {
        assert_eq!(
            packument_url("http://r/", "@types/node"),
            "http://r/@types%2fnode"
        );
        assert_eq!(packument_url("http://r", "left-pad"), "http://r/left-pad");
    }

    #[test]
    fn filename_comes_from_the_tarball_url() {
        assert_eq!(
            tarball_filename("https://r/@s/n/-/n-1.0.0.tgz", "@s/n", "1.0.0"),
            "n-1.0.0.tgz"
        );
        assert_eq!(
            tarball_filename("https://r/x/..", "@s/n", "1.0.0"),
            "n-1.0.0.tgz"
        );
    }
}
