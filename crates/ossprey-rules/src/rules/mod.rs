//! The rule registry. One file per rule, grouped in one directory per area;
//! each directory's `mod.rs` lists its rules in `RULES`.

pub mod archive;
pub mod behaviour;
pub mod binary;
pub mod catalog;
pub mod credentials;
pub mod cryptomining;
pub mod destruction;
pub mod execution;
pub mod metadata;
pub mod network;
pub mod npm;
pub mod obfuscation;
pub mod persistence;
pub mod python;

use std::sync::LazyLock;

use crate::Rule;

/// Every rule, in a stable order.
pub fn all() -> &'static [&'static dyn Rule] {
    &ALL
}

static ALL: LazyLock<Vec<&'static dyn Rule>> = LazyLock::new(|| {
    let groups: &[&[&'static dyn Rule]] = &[
        execution::RULES,
        python::RULES,
        npm::RULES,
        network::RULES,
        credentials::RULES,
        obfuscation::RULES,
        metadata::RULES,
        archive::RULES,
        binary::RULES,
        persistence::RULES,
        destruction::RULES,
        cryptomining::RULES,
    ];
    let behaviour = behaviour::RULES.iter().map(|r| *r as &'static dyn Rule);
    groups
        .iter()
        .flat_map(|g| g.iter().copied())
        .chain(behaviour)
        .collect()
});
