//! Code that makes itself run again: autostart entries, shell profiles, cron.

pub mod startup_modification;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[&startup_modification::StartupModification];
