//! The sandbox's runtime and its phase drivers.
//!
//! **Runtime.** Packages are detonated with interpreters ossprey provisions itself, so
//! results do not depend on how the host's Python or Node happen to be set up: a
//! Debian 12 (bookworm) root filesystem built with `debootstrap --variant=minbase`
//! plus, installed by apt inside it, `python3 python3-pip python3-setuptools
//! python3-wheel nodejs npm ca-certificates` (Python 3.11 with pip 23, setuptools 66,
//! wheel 0.38; Node 18 with npm 9). [`Runtime::ensure`] returns the cached runtime or
//! builds it on first use.
//!
//! - **Where**: `~/.cache/ossprey/runtime/<key>/{rootfs/,manifest.json}` (or
//!   `$OSSPREY_CACHE_DIR/runtime`, or `$OSSPREY_RUNTIME_DIR`); `<key>` is
//!   `bookworm-<arch>-<hash of the recipe>`, so a changed [`Recipe`] builds anew.
//! - **First use**: needs root, `debootstrap` (`apt-get install debootstrap`) and a
//!   reachable Debian mirror (`$OSSPREY_RUNTIME_MIRROR`). Measured on the CI machine: 194 s
//!   in all (debootstrap ≈ 75 s, apt ≈ 110 s); budget up to 6 minutes on a slow
//!   mirror. 437 MB on disk (`du`) after apt caches and docs are removed. Later uses cost a manifest read and a few
//!   `stat`s.
//! - **Safety of the build**: only Debian's signed packages are installed; the chroot
//!   steps run in a private mount namespace so no mount outlives them; the directory
//!   appears only complete (built in a temporary sibling, renamed); an `flock` keeps
//!   concurrent builders to one.
//!
//! **Drivers.** [`drivers::phase_spec`] turns a package into the [`drivers::PhaseSpec`]
//! of its install, import or execute phase, for PyPI and npm (see the `drivers`
//! module docs for what each phase runs and why).
//!
//! This crate never runs package code itself: it builds the runtime from Debian
//! packages and describes commands for the sandbox to run.

mod cache;
pub mod drivers;
mod error;
mod manifest;
mod progress;
mod provision;
mod recipe;

pub use cache::{Options, Runtime};
pub use error::RuntimeError;
pub use manifest::{
    MANIFEST_FILE, Manifest, ToolVersions, parse_dpkg_status, resolve_in_root, upstream_version,
};
pub use progress::{NoProgress, Progress, Stage, StderrProgress};
pub use provision::{DebootstrapBuilder, RootfsBuilder, find_tool, running_as_root};
pub use recipe::{DEFAULT_MIRROR, REQUIRED_EXECUTABLES, REQUIRED_FILES, Recipe, debian_arch};
