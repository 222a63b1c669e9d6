//! Packages that mine cryptocurrency on their users' machines.

pub mod miner;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[&miner::CryptoMiner];
