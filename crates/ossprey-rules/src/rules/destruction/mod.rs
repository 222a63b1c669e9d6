//! Code that destroys the user's data.

pub mod delete_user_data;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[&delete_user_data::DeleteUserData];
