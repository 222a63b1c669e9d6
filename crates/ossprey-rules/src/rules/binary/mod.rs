//! Native programs shipped inside packages.

pub mod bundled_executable;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[&bundled_executable::BundledExecutable];
