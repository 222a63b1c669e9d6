//! The PyPI driver.
//!
//! - **install**: `python3 -m pip install --user --no-deps --no-index
//!   --no-build-isolation` of the archive. `--user` (rather than `--target` or a
//!   venv) puts the package in the user site directory, which every later python3
//!   process of the sandbox puts on `sys.path` and whose `.pth` files it executes —
//!   exactly what happens on a user's machine, so `.pth` persistence fires in the
//!   import phase. An sdist runs its `setup.py` through the runtime's setuptools
//!   (no build isolation, no index: nothing is fetched). `-v` makes pip show the build
//!   backend's output. `--break-system-packages` only tells Debian's pip that the
//!   user site is fine to write; the runtime itself is read-only.
//! - **import**: `pypi_driver.py import` imports each top-level module (from the
//!   installed distribution's `top_level.txt` or `RECORD`, plus the static hints) in
//!   its own process, each bounded.
//! - **execute**: `pypi_driver.py execute` runs each console entry point with
//!   `--help`, then calls every public function and class of each top-level module with
//!   `unittest.mock.MagicMock` arguments, one process per module, one alarm per call —
//!   the approach of OpenSSF package-analysis' execute phase, plus process isolation
//!   per module and a cap on calls.

use super::{
    DriverOptions, InputSource, PackageInput, Phase, PhaseSpec, SandboxInput, SandboxLayout,
    archive_input, secs, unsupported,
};
use crate::error::RuntimeError;

/// The in-sandbox helper script.
pub(crate) const PYPI_DRIVER: &str = include_str!("scripts/pypi_driver.py");

/// The runtime's interpreter.
const PYTHON: &str = "/usr/bin/python3";

/// The kinds of archive pip can install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PypiArchive {
    /// A built distribution (`.whl`): installed without running package code.
    Wheel,
    /// A source distribution (`.tar.gz`, `.zip`, …): pip runs its build, i.e. `setup.py`.
    Sdist,
}

/// The archive kind from its file name; `None` for what pip cannot install (eggs,
/// `.exe`, `.rpm`, …).
pub fn pypi_archive_kind(file_name: &str) -> Option<PypiArchive> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        Some(PypiArchive::Wheel)
    } else if [".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        Some(PypiArchive::Sdist)
    } else {
        None
    }
}

pub(crate) fn spec(
    package: &PackageInput,
    phase: Phase,
    layout: &SandboxLayout,
    options: &DriverOptions,
) -> Result<PhaseSpec, RuntimeError> {
    if !valid_dist_name(&package.name) {
        return Err(unsupported(package, "not a valid PyPI distribution name"));
    }
    if pypi_archive_kind(&package.archive_name).is_none() {
        return Err(unsupported(
            package,
            format!(
                "pip cannot install {:?} (need a wheel or an sdist)",
                package.archive_name
            ),
        ));
    }
    let user_bin = format!("{}/.local/bin", layout.home);
    let driver_path = format!("{}/pypi_driver.py", layout.driver_dir);
    let driver = SandboxInput {
        path: driver_path.clone(),
        source: InputSource::Embedded(PYPI_DRIVER),
    };
    let modules = package
        .hints
        .python_modules
        .iter()
        .filter(|m| is_module_name(m))
        .flat_map(|m| ["--module".to_owned(), m.clone()]);
    let timeout = secs(options.call_timeout);

    let (argv, inputs) = match phase {
        Phase::Install => {
            let (archive_path, archive) = archive_input(package, layout);
            let mut argv: Vec<String> = [
                PYTHON,
                "-m",
                "pip",
                "install",
                "-v",
                "--user",
                "--break-system-packages",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
                "--root-user-action=ignore",
            ]
            .map(String::from)
            .to_vec();
            argv.push(archive_path);
            (argv, vec![archive])
        }
        Phase::Import => {
            let mut argv = vec![PYTHON.to_owned(), driver_path, "import".into()];
            argv.extend([
                "--dist".into(),
                package.name.clone(),
                "--timeout".into(),
                timeout,
            ]);
            argv.extend(modules);
            (argv, vec![driver])
        }
        Phase::Execute => {
            let mut argv = vec![PYTHON.to_owned(), driver_path, "execute".into()];
            argv.extend([
                "--dist".into(),
                package.name.clone(),
                "--timeout".into(),
                timeout,
            ]);
            argv.extend(["--max-calls".into(), options.max_calls.to_string()]);
            argv.extend(modules);
            (argv, vec![driver])
        }
    };
    Ok(PhaseSpec::in_work_dir(
        phase, layout, options, &user_bin, argv, inputs,
    ))
}

/// PEP 508 names: letters, digits, `.`, `_`, `-`, starting and ending alphanumeric.
fn valid_dist_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 214
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A dotted Python identifier (ASCII; non-ASCII module names are left to the
/// in-sandbox discovery).
fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Top-level import names of a wheel from its member paths: the `top_level.txt` of
/// its `.dist-info` when `top_level_txt` is given and not empty, else the first
/// component of every module path (`pkg/__init__.py` → `pkg`, `mod.py` → `mod`,
/// `_speedups.cpython-311-x86_64-linux-gnu.so` → `_speedups`). `.dist-info`,
/// `.data`, `.pth` and `__pycache__` are not modules.
pub fn import_names_from_wheel<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    top_level_txt: Option<&str>,
) -> Vec<String> {
    if let Some(text) = top_level_txt {
        let names = dedup(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| l.replace('/', ".")),
        );
        let names: Vec<String> = names.into_iter().filter(|n| is_module_name(n)).collect();
        if !names.is_empty() {
            return names;
        }
    }
    dedup(
        paths
            .into_iter()
            .filter_map(|p| module_of(p.trim_start_matches("./"))),
    )
}

/// Top-level import names guessed from an sdist's member paths (which start with the
/// `name-version/` directory): packages (directories with `__init__.py`) and modules
/// at the project root or under `src/`, without `setup.py`, tests, docs and examples.
/// A guess — `setup.py` decides — which the in-sandbox driver completes from the
/// installed metadata.
pub fn import_names_from_sdist<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    const NOT_MODULES: &[&str] = &["setup", "conftest", "noxfile", "fabfile", "tasks", "manage"];
    const NOT_PACKAGES: &[&str] = &[
        "tests",
        "test",
        "testing",
        "docs",
        "doc",
        "examples",
        "example",
        "benchmarks",
        "build",
    ];
    let names = paths.into_iter().filter_map(|p| {
        let rest = p.trim_start_matches("./").split_once('/')?.1;
        let rest = rest.strip_prefix("src/").unwrap_or(rest);
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [file] => {
                let stem = file.strip_suffix(".py")?;
                (!NOT_MODULES.contains(&stem) && is_module_name(stem)).then(|| stem.to_owned())
            }
            [dir, "__init__.py"] => {
                (!NOT_PACKAGES.contains(dir) && is_module_name(dir)).then(|| (*dir).to_owned())
            }
            _ => None,
        }
    });
    dedup(names)
}

fn module_of(path: &str) -> Option<String> {
    let (head, rest) = match path.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    if head == "__pycache__"
        || head.ends_with(".dist-info")
        || head.ends_with(".data")
        || head.ends_with(".egg-info")
    {
        return None;
    }
    let name = match rest {
        Some(_) => head.to_owned(),
        None if head.ends_with(".py") => head.strip_suffix(".py")?.to_owned(),
        None if head.ends_with(".so") || head.ends_with(".pyd") => {
            head.split('.').next()?.to_owned()
        }
        None => return None,
    };
    is_module_name(&name).then_some(name)
}

fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
