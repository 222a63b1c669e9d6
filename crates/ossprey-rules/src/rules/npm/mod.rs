//! Rules of the `npm` group. Add each rule's module here and list it in `RULES`.

mod common;
pub mod dns_exfil;
pub mod drop_and_run;
pub mod eval_embedded_data;
pub mod exec_shell_payload;
pub mod hook_download_exec;
pub mod hook_inline_code;
pub mod hook_network;
pub mod hook_shell_payload;
pub mod hook_windows_payload;
pub mod host_fingerprint_beacon;
pub mod import_time_exec;
pub mod install_detached_process;
pub mod install_dynamic_eval;
pub mod install_network;
pub mod install_process_exec;
pub mod install_script;
pub mod obfuscated_code;
pub mod remote_code_eval;
pub mod remote_command;
pub mod reverse_shell;
pub mod rewrites_module_code;
pub mod secret_env_send;
pub mod ssh_authorized_keys;
pub mod typosquat_hook;
pub mod wipes_files;

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
    &install_dynamic_eval::InstallDynamicEval,
    &install_detached_process::InstallDetachedProcess,
    &ssh_authorized_keys::SshAuthorizedKeys,
    &rewrites_module_code::RewritesModuleCode,
    &remote_code_eval::RemoteCodeEval,
    &exec_shell_payload::ExecShellPayload,
    &reverse_shell::SocketShell,
    &hook_windows_payload::HookWindowsPayload,
    &eval_embedded_data::EvalEmbeddedData,
    &secret_env_send::SecretEnvSend,
    &typosquat_hook::TyposquatHook,
    &remote_command::RemoteCommand,
    &wipes_files::WipesFiles,
    &hook_shell_payload::HookShellPayload,
    &drop_and_run::DropAndRun,
];
