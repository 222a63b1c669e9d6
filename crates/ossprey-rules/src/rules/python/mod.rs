//! Rules of the `python` group. Add each rule's module here and list it in `RULES`.

pub mod charcode_string;
pub mod cmdclass_override;
pub mod code_pip_install;
pub(crate) mod common;
pub mod download_execute;
pub mod dynamic_exec;
pub mod escaped_code_eval;
pub mod exec_alias;
pub mod import_time_exec;
pub mod install_network;
pub mod install_process_exec;
pub mod module_tamper;
pub mod obfuscated_string_exec;
pub mod payload_exec;
pub mod pth_code;
pub mod sandbox_evasion;
pub mod shell_command_download;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &install_process_exec::InstallProcessExec,
    &install_network::InstallNetwork,
    &import_time_exec::ImportTimeExec,
    &dynamic_exec::DynamicExec,
    &obfuscated_string_exec::ObfuscatedStringExec,
    &download_execute::DownloadExecute,
    &pth_code::PthCode,
    &cmdclass_override::CmdclassOverride,
    &shell_command_download::ShellCommandDownload,
    &sandbox_evasion::SandboxEvasion,
    &escaped_code_eval::EscapedCodeEval,
    &exec_alias::ExecAlias,
    &payload_exec::PayloadExec,
    &code_pip_install::CodePipInstall,
    &charcode_string::CharcodeString,
    &module_tamper::ModuleTamper,
];
