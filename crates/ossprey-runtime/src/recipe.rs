//! What the runtime is made of, and the cache key derived from it.
//!
//! The key is a hash of everything that determines the runtime's contents as ossprey
//! chooses them (suite, variant, architecture, package list, mount points, and a
//! revision number bumped whenever the build steps change). Changing the recipe
//! therefore builds a fresh runtime beside the old one instead of reusing a stale one.
//! The mirror is deliberately not part of the key: any mirror of the same suite
//! serves the same packages.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Debian's main mirror (a redirector to a nearby one).
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The recipe of a sandbox runtime: a Debian root filesystem with python3 and node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipe {
    /// Bumped whenever the build steps change in a way that changes the result.
    pub revision: u32,
    /// Debian suite (`bookworm`).
    pub suite: String,
    /// debootstrap variant (`minbase`: essential + apt only).
    pub variant: String,
    /// Debian architecture (`amd64`, `arm64`, …).
    pub arch: String,
    /// Packages installed with `apt-get install --no-install-recommends`.
    pub packages: Vec<String>,
    /// Empty directories created in the root so a read-only root can have the
    /// sandbox's own mounts on top (`/pkg`, `/work`, `/ossprey`).
    pub mount_points: Vec<String>,
}

/// Files (relative to the root) that must exist for the runtime to be usable; symlinks
/// are followed inside the root. Checked after the build and on every use.
pub const REQUIRED_FILES: &[&str] = &[
    "bin/sh",
    "usr/bin/env",
    "usr/bin/tar",
    "usr/bin/python3",
    "usr/bin/node",
    "usr/bin/npm",
    "usr/lib/python3/dist-packages/pip/__init__.py",
    "usr/lib/python3/dist-packages/setuptools/__init__.py",
    "usr/lib/python3/dist-packages/wheel/__init__.py",
    "etc/ssl/certs/ca-certificates.crt",
    "var/lib/dpkg/status",
];

/// The subset of [`REQUIRED_FILES`] that must be executable.
pub const REQUIRED_EXECUTABLES: &[&str] = &[
    "bin/sh",
    "usr/bin/env",
    "usr/bin/tar",
    "usr/bin/python3",
    "usr/bin/node",
    "usr/bin/npm",
];

impl Recipe {
    /// Debian 12 (bookworm), minbase, with python3 + pip + setuptools + wheel and
    /// nodejs + npm, for the host's architecture.
    pub fn bookworm() -> Self {
        Self {
            revision: 1,
            suite: "bookworm".into(),
            variant: "minbase".into(),
            arch: debian_arch(std::env::consts::ARCH).into(),
            packages: [
                "python3",
                "python3-pip",
                "python3-setuptools",
                "python3-wheel",
                "nodejs",
                "npm",
                "ca-certificates",
            ]
            .map(String::from)
            .to_vec(),
            mount_points: ["pkg", "work", "ossprey"].map(String::from).to_vec(),
        }
    }

    /// The cache key: `<suite>-<arch>-<12 hex digits of the recipe's hash>`.
    pub fn key(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.canonical().as_bytes());
        let digest = hex::encode(hasher.finalize());
        format!("{}-{}-{}", self.suite, self.arch, &digest[..12])
    }

    /// A stable text form of everything that determines the runtime (order of
    /// packages does not matter).
    fn canonical(&self) -> String {
        let mut packages = self.packages.clone();
        packages.sort();
        let mut mounts = self.mount_points.clone();
        mounts.sort();
        format!(
            "revision={}\nsuite={}\nvariant={}\narch={}\npackages={}\nmount_points={}\n",
            self.revision,
            self.suite,
            self.variant,
            self.arch,
            packages.join(","),
            mounts.join(",")
        )
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Self::bookworm()
    }
}

/// Maps Rust's architecture names to Debian's.
pub fn debian_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_ignores_package_order() {
        let a = Recipe::bookworm();
        let mut b = Recipe::bookworm();
        b.packages.reverse();
        assert_eq!(a.key(), b.key());
        assert!(
            a.key().starts_with(&format!("bookworm-{}-", a.arch)),
            "{}",
            a.key()
        );
        assert_eq!(a.key().len(), "bookworm-".len() + a.arch.len() + 1 + 12);
    }

    #[test]
    fn changing_the_recipe_changes_the_key() {
        let base = Recipe::bookworm();
        let mut bumped = base.clone();
        bumped.revision += 1;
        let mut more = base.clone();
        more.packages.push("git".into());
        let mut other_suite = base.clone();
        other_suite.suite = "trixie".into();
        let keys = [base.key(), bumped.key(), more.key(), other_suite.key()];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn debian_arch_names() {
        assert_eq!(debian_arch("x86_64"), "amd64");
        assert_eq!(debian_arch("aarch64"), "arm64");
    }
}
