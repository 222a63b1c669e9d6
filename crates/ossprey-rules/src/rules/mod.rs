//! The rule registry. One file per rule, grouped in one directory per area;
//! each directory's `mod.rs` lists its rules in `RULES`.

pub mod catalog;
pub mod execution;

use std::sync::LazyLock;

use crate::Rule;

/// Every rule, in a stable order.
pub fn all() -> &'static [&'static dyn Rule] {
    &ALL
}

static ALL: LazyLock<Vec<&'static dyn Rule>> = LazyLock::new(|| {
    let groups: &[&[&'static dyn Rule]] = &[execution::RULES];
    groups.iter().flat_map(|g| g.iter().copied()).collect()
});
