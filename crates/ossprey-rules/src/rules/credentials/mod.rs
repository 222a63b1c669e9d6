//! Rules of the `credentials` group: code that reads where secrets live — SSH keys,
//! browser stores, Discord tokens, wallets, cloud and registry credentials, the
//! environment, system password files and histories.

pub mod browser_data;
pub mod cloud_registry_tokens;
pub mod crypto_wallets;
pub mod discord_tokens;
pub mod env_harvest;
pub mod ssh_keys;
pub mod system_secrets;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &ssh_keys::SshKeys,
    &browser_data::BrowserData,
    &discord_tokens::DiscordTokens,
    &crypto_wallets::CryptoWallets,
    &cloud_registry_tokens::CloudRegistryTokens,
    &env_harvest::EnvHarvest,
    &system_secrets::SystemSecrets,
];
