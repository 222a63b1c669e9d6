//! Code execution that hides what it runs.

pub mod decoded_eval;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[&decoded_eval::DecodedEval];
