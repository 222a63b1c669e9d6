use serde::{Deserialize, Serialize};

use crate::Ecosystem;

/// What a package declares about itself: identity, dependencies, and the code
/// it asks package managers to run for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManifestFacts {
    /// Ecosystem detected from the archive's contents.
    pub ecosystem: Option<Ecosystem>,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The manifest file these facts were read from (`package/package.json`, `foo-1.0/PKG-INFO`, …).
    pub manifest_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Project home page, as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Source repository URL, as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Author or authors (names and/or emails), as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Code that runs when the package is installed or built.
    pub install_hooks: Vec<InstallHook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Manifest files that exist but could not be read, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// What makes a package manager run a package's code at install time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookTrigger {
    /// npm `preinstall` script.
    NpmPreinstall,
    /// npm `install` script.
    NpmInstall,
    /// npm `postinstall` script.
    NpmPostinstall,
    /// npm `prepare` script (runs for git and local installs).
    NpmPrepare,
    /// `binding.gyp` without an install script: npm runs `node-gyp rebuild`.
    BindingGyp,
    /// `setup.py` at the sdist root: its top level runs on every sdist install.
    SetupPy,
    /// `setup.py` passes `cmdclass`, overriding install/build/egg_info steps.
    SetupPyCmdclass,
    /// A `.pth` file: Python runs its `import` lines at every interpreter start.
    PthFile,
    /// pyproject.toml names a build backend that is not a well-known one.
    PythonBuildBackend,
    /// Cargo build script (`build.rs` or `package.build`).
    BuildRs,
    /// Ruby native extension (`extensions:` in the gemspec, `extconf.rb`).
    GemExtension,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallHook {
    pub trigger: HookTrigger,
    /// The file that declares or implements the hook.
    pub path: String,
    /// The command line, for npm scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// The version requirement as written, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// `runtime`, `dev`, `optional`, `peer`, `build`.
    pub kind: String,
    /// Set when the dependency comes from a URL, git repository or path instead of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
