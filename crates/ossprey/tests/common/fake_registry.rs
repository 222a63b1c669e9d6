//! Registry endpoints on a testkit `FakeServer`, shaped like the real ones: PyPI's
//! project JSON (`/pypi/NAME/json`) with its file, and npm's full packument (with the
//! `time` map the npm feed reads) with its tarball. The server then stands in for
//! `--pypi-url` (its base) and `--npm-url` (`{base}{npm_prefix}`).

use base64::Engine as _;
use ossprey_testkit::archives::sha256_hex;
use ossprey_testkit::{FakeServer, Reply};
use serde_json::json;
use sha2::Digest as _;

/// Serves `sdist` as the only file of `name` `version` on the fake PyPI; returns
/// its sha256 (hex), the digest the project JSON publishes.
pub fn serve_pypi_sdist(server: &FakeServer, name: &str, version: &str, sdist: Vec<u8>) -> String {
    let sha = sha256_hex(&sdist);
    let filename = format!("{name}-{version}.tar.gz");
    let file_path = format!("/files/{filename}");
    server.route(
        &format!("/pypi/{name}/json"),
        vec![Reply::json(&json!({
            "info": {"name": name, "version": version},
            "releases": {version: [{
                "filename": filename,
                "url": format!("{}{file_path}", server.base),
                "packagetype": "sdist",
                "digests": {"sha256": sha},
                "yanked": false
            }]}
        }))],
    );
    server.route(&file_path, vec![Reply::ok(sdist)]);
    sha
}

/// Serves an unscoped npm package with one version, published at `published` (RFC
/// 3339), under `{npm_prefix}/NAME` with its tarball and SRI sha512 `integrity`.
/// Returns the tarball's path on the server.
pub fn serve_npm_tarball(
    server: &FakeServer,
    npm_prefix: &str,
    name: &str,
    version: &str,
    published: &str,
    tgz: Vec<u8>,
) -> String {
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&tgz))
    );
    let tarball = format!("{npm_prefix}/{name}/-/{name}-{version}.tgz");
    server.route(
        &format!("{npm_prefix}/{name}"),
        vec![Reply::json(&json!({
            "_id": name,
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {version: {"name": name, "version": version, "dist": {
                "tarball": format!("{}{tarball}", server.base),
                "integrity": integrity
            }}},
            "time": {"created": published, "modified": published, version: published}
        }))],
    );
    server.route(&tarball, vec![Reply::ok(tgz)]);
    tarball
}
