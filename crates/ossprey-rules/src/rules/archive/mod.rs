//! Evasion through the archive itself: entries that escape the package, and
//! install-time code written so that parsers give up.

pub mod link_escape;
pub mod parse_failure;
pub mod path_traversal;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &path_traversal::PathTraversal,
    &link_escape::LinkEscape,
    &parse_failure::ParseFailureInstall,
];
