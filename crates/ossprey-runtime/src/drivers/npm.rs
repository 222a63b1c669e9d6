//! The npm driver.
//!
//! - **install**: the tarball is unpacked into `/work/node_modules/<name>` of a scratch
//!   project (`/work/package.json` depends on it), then `npm rebuild <name>` runs the
//!   package's real lifecycle scripts (`preinstall`, `install`, `postinstall`, and
//!   `node-gyp rebuild` for a `binding.gyp`) exactly as `npm install` would: through
//!   `sh -c`, with npm's `npm_*` environment and `node_modules/.bin` on PATH.
//!   Dependencies are not installed (a plain `npm install` would try to fetch them and
//!   fail in the sealed network); `--offline` makes sure npm never tries a registry.
//! - **import**: `node -e 'require(name)'` for CommonJS, `node --input-type=module -e
//!   'await import(name)'` for ESM, and for an unknown kind a `require` that falls back
//!   to `import()` when the package refuses to be required. `-e` code resolves
//!   packages from the cwd, like a user's script in the project.
//! - **execute**: `npm_driver.js execute` calls every exported function (classes with
//!   `new`) with mock arguments, one child process per call, each killed at the call
//!   timeout.

use serde_json::Value;

use super::{
    DriverOptions, InputSource, PackageInput, Phase, PhaseSpec, SandboxInput, SandboxLayout,
    archive_input, unsupported,
};
use crate::error::RuntimeError;

/// The in-sandbox helper script of the execute phase.
pub(crate) const NPM_DRIVER: &str = include_str!("scripts/npm_driver.js");

const NODE: &str = "/usr/bin/node";

/// How a package wants to be loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModuleKind {
    /// `require()` works.
    CommonJs,
    /// ES module only: needs `import`.
    Esm,
    /// Not known: try `require`, fall back to `import()`.
    #[default]
    Unknown,
}

/// The module kind from a package's `package.json`: `"type": "module"` or an
/// `exports` map that offers `import` but no `require`/`default` condition means ESM;
/// a plain `main`/`exports` means CommonJS.
pub fn npm_module_kind(package_json: &Value) -> ModuleKind {
    let esm_type = package_json.get("type").and_then(Value::as_str) == Some("module");
    let exports = package_json.get("exports");
    if let Some(exports) = exports
        && let Some(kind) = exports_kind(exports)
    {
        return kind;
    }
    if esm_type {
        ModuleKind::Esm
    } else {
        ModuleKind::CommonJs
    }
}

/// What an `exports` field says about the root entry (`"."`), if anything.
fn exports_kind(exports: &Value) -> Option<ModuleKind> {
    let root = match exports {
        Value::Object(map) if map.keys().any(|k| k.starts_with('.')) => map.get(".")?,
        other => other,
    };
    match root {
        Value::Object(conditions) => {
            let requireable = conditions.contains_key("require")
                || conditions.contains_key("default") && !default_is_esm(conditions.get("default"))
                || conditions.get("node").and_then(exports_kind) == Some(ModuleKind::CommonJs);
            if requireable {
                Some(ModuleKind::CommonJs)
            } else if conditions.contains_key("import") {
                Some(ModuleKind::Esm)
            } else {
                None
            }
        }
        Value::String(path) if path.ends_with(".mjs") => Some(ModuleKind::Esm),
        Value::String(path) if path.ends_with(".cjs") => Some(ModuleKind::CommonJs),
        _ => None,
    }
}

fn default_is_esm(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|p| p.ends_with(".mjs"))
}

/// The install script; positional arguments: archive path, package name.
const INSTALL_SCRIPT: &str = r#"set -eu
archive="$1"; name="$2"
printf '{"name":"app","version":"1.0.0","private":true,"dependencies":{"%s":"*"}}\n' "$name" > package.json
mkdir -p "node_modules/$name"
tar -xzf "$archive" --strip-components=1 --no-same-owner -C "node_modules/$name"
exec npm rebuild "$name" --offline --foreground-scripts --ignore-scripts=false --no-audit --no-fund --no-update-notifier
"#;

const REQUIRE: &str = "require(process.argv[1])";
const IMPORT: &str = "await import(process.argv[1])";
const REQUIRE_OR_IMPORT: &str = "try { require(process.argv[1]) } catch (e) { \
if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED')) \
import(process.argv[1]).catch((err) => { console.error(err); process.exitCode = 1; }); else throw e; }";

pub(crate) fn spec(
    package: &PackageInput,
    phase: Phase,
    layout: &SandboxLayout,
    options: &DriverOptions,
) -> Result<PhaseSpec, RuntimeError> {
    if !valid_npm_name(&package.name) {
        return Err(unsupported(package, "not a valid npm package name"));
    }
    let lower = package.archive_name.to_ascii_lowercase();
    if !(lower.ends_with(".tgz") || lower.ends_with(".tar.gz")) {
        return Err(unsupported(
            package,
            format!("npm packages come as .tgz, not {:?}", package.archive_name),
        ));
    }
    let bin = format!("{}/node_modules/.bin", layout.work_dir);
    let name = package.name.clone();
    let (argv, inputs) = match phase {
        Phase::Install => {
            let (archive_path, archive) = archive_input(package, layout);
            let argv = vec![
                "/bin/sh".into(),
                "-c".into(),
                INSTALL_SCRIPT.into(),
                "npm-install".into(),
                archive_path,
                name,
            ];
            (argv, vec![archive])
        }
        Phase::Import => {
            let argv = match package.hints.npm_module_kind {
                ModuleKind::CommonJs => vec![NODE.into(), "-e".into(), REQUIRE.into(), name],
                ModuleKind::Esm => vec![
                    NODE.into(),
                    "--input-type=module".into(),
                    "-e".into(),
                    IMPORT.into(),
                    name,
                ],
                ModuleKind::Unknown => {
                    vec![NODE.into(), "-e".into(), REQUIRE_OR_IMPORT.into(), name]
                }
            };
            (argv, Vec::new())
        }
        Phase::Execute => {
            let driver_path = format!("{}/npm_driver.js", layout.driver_dir);
            let argv = vec![
                NODE.into(),
                driver_path.clone(),
                "execute".into(),
                name,
                options.call_timeout.as_millis().to_string(),
                options.max_calls.to_string(),
            ];
            (
                argv,
                vec![SandboxInput {
                    path: driver_path,
                    source: InputSource::Embedded(NPM_DRIVER),
                }],
            )
        }
    };
    Ok(PhaseSpec::in_work_dir(
        phase, layout, options, &bin, argv, inputs,
    ))
}

/// npm's name grammar: optional `@scope/`, URL-safe characters, no leading `.`/`_`.
/// The name reaches a shell script as a positional argument and a JSON string, so
/// quotes and backslashes are excluded by construction.
fn valid_npm_name(name: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~'))
    };
    if name.len() > 214 {
        return false;
    }
    let bare = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, pkg)) if plain(scope) => pkg,
            _ => return false,
        },
        None => name,
    };
    plain(bare) && !bare.starts_with(['.', '_']) && bare != "node_modules"
}
