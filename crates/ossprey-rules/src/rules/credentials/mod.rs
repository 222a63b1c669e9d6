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

use std::collections::BTreeSet;

use ossprey_model::{Finding, Severity};
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, cred_severity, line_text, reads_files, secret_mentions,
};
use crate::{Input, Rule, finding};

pub static RULES: &[&dyn Rule] = &[
    &ssh_keys::SshKeys,
    &browser_data::BrowserData,
    &discord_tokens::DiscordTokens,
    &crypto_wallets::CryptoWallets,
    &cloud_registry_tokens::CloudRegistryTokens,
    &env_harvest::EnvHarvest,
    &system_secrets::SystemSecrets,
];

/// Reports, once per file, code that reads stores of one secret `class`: the
/// mentions count when `enough` holds for their distinct fragments; the first
/// mention whose fragment is `strong` (else the first one) is the evidence, and
/// the file must read files. The message is ``code reads {what} (`…`)``.
fn store_reads(
    rule: &dyn Rule,
    input: &Input<'_>,
    class: SecretClass,
    what: &str,
    enough: impl Fn(&BTreeSet<&str>) -> bool,
    strong: impl Fn(&str) -> bool,
    out: &mut Vec<Finding>,
) {
    let mentions = secret_mentions(input, &[class]);
    for (file, list) in by_file(&mentions) {
        let distinct: BTreeSet<&str> = list.iter().map(|m| m.fragment.as_str()).collect();
        if !enough(&distinct) {
            continue;
        }
        let first = list
            .iter()
            .find(|m| strong(&m.fragment))
            .unwrap_or(&list[0]);
        let line = line_text(input, &file.path, first.line);
        if !reads_files(file, line.as_deref()) {
            continue;
        }
        out.push(finding(
            rule.id(),
            cred_severity(Severity::High, file),
            rule.category(),
            format!(
                "code reads {what} (`{}`)",
                distinct.into_iter().collect::<Vec<_>>().join("`, `")
            ),
            Some(&file.path),
            Some(first.line),
            Some(&first.text),
        ));
    }
}
