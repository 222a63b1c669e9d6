//! Rules of the `npm` group. Add each rule's module here and list it in `RULES`.

mod common;
pub mod dns_exfil;
pub mod hook_download_exec;
pub mod hook_inline_code;
pub mod hook_network;
pub mod host_fingerprint_beacon;
pub mod import_time_exec;
pub mod install_network;
pub mod install_process_exec;
pub mod install_script;
pub mod obfuscated_code;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &install_script::InstallScript,
    &hook_download_exec::HookDownloadExec,
    &hook_network::HookNetwork,
    &hook_inline_code::HookInlineCode,
    &install_process_exec::InstallProcessExec,
    &install_network::InstallNetwork,
    &host_fingerprint_beacon::HostFingerprintBeacon,
    &dns_exfil::DnsExfil,
    &import_time_exec::ImportTimeExec,
    &obfuscated_code::ObfuscatedCode,
];
