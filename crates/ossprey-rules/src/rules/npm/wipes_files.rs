//! JS-WIPES-FILES: JavaScript deletes the user's home directory or a whole drive.

use ossprey_model::{Category, Finding};
use ossprey_static::facts::{Arg, Call, SourceFacts};

use super::common::{critical_unless_runtime, is_js_exec, js_sources};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds JavaScript that deletes a home directory or a filesystem root itself — not a
/// folder inside it: `fs.rmSync(os.homedir(), { recursive: true })`,
/// `fs.rmdirSync("/", …)`, `rimraf("C:\\")`, a local function that walks and unlinks
/// files called with `os.homedir()` or `"/"`, or a Windows shell command
/// (`del /s /q C:\…`, `rd /s /q`, `format c:`). Critical when the file runs at install
/// or import time; high in runtime-only code.
///
/// ## Why is this bad?
/// Wiping the user's files is sabotage (protestware and "destroyer" payloads).
/// Cleanup code removes its own cache folder below the home directory, never the
/// home directory or the drive.
///
/// ## Example
/// ```javascript
/// const fs = require("fs"), os = require("os");
/// fs.rmSync(os.homedir(), { recursive: true, force: true });
/// ```
#[derive(Debug)]
pub struct WipesFiles;

const DELETES: &[&str] = &[
    "fs.rmSync",
    "fs.rm",
    "fs.rmdirSync",
    "fs.rmdir",
    "fs.promises.rm",
    "fs.promises.rmdir",
    "fs.unlinkSync",
    "fs.unlink",
    "fs-extra.removeSync",
    "fs-extra.remove",
    "fs-extra.emptyDirSync",
    "fs-extra.emptyDir",
    "rimraf",
    "rimraf.sync",
    "rimraf.rimrafSync",
    "del",
    "del.sync",
    "del.deleteSync",
];

/// Whether `arg` denotes a home directory or a filesystem root itself.
fn names_home_or_root(arg: &Arg) -> bool {
    match arg {
        Arg::Str(s) => {
            let raw = s.trim();
            let t = raw.trim_end_matches("/*").trim_end_matches("\\*");
            // `"/*"` trims to nothing: the root's contents.
            let root_contents = t.is_empty() && !raw.is_empty();
            let drive = t.len() <= 3
                && t.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                && t.get(1..2) == Some(":");
            root_contents || drive || matches!(t, "/" | "~" | "~/" | "$HOME" | "%USERPROFILE%")
        }
        Arg::Name(n) => matches!(
            n.as_str(),
            "process.env.HOME" | "process.env.USERPROFILE" | "process.env.HOMEPATH"
        ),
        Arg::Call { callee, args } => match callee.as_str() {
            "os.homedir" => true,
            // `path.join(os.homedir())` or `path.resolve("/")`: nothing appended.
            "path.join" | "path.resolve" => args.len() == 1 && args.iter().all(names_home_or_root),
            _ => false,
        },
        _ => false,
    }
}

/// Windows commands that erase a tree or a drive.
fn wipes_with_shell(command: &str) -> bool {
    let c = command.to_ascii_lowercase();
    let recursive_delete = (c.starts_with("del ") || c.contains("& del ") || c.contains("&& del "))
        && c.contains("/s")
        || (c.contains("rd /s") || c.contains("rmdir /s")) && c.contains("/q");
    let whole = c.contains("c:\\") || c.contains("%userprofile%") || c.contains("%homepath%");
    recursive_delete && whole || c.contains("format c:")
}

/// The call that wipes a home directory or a root, and how.
pub(crate) fn evidence(facts: &SourceFacts) -> Option<(&Call, &'static str)> {
    let deletes = facts
        .calls
        .iter()
        .any(|c| DELETES.contains(&c.callee.as_str()));
    facts.calls.iter().find_map(|c| {
        let callee = c.callee.as_str();
        let first = c.args.first();
        if DELETES.contains(&callee) && first.is_some_and(names_home_or_root) {
            return Some((c, "deletes"));
        }
        // A local walker (`wipe(os.homedir())`) in a file that deletes files.
        if deletes
            && !callee.contains('.')
            && facts.definitions.iter().any(|d| d == callee)
            && first.is_some_and(names_home_or_root)
        {
            return Some((c, "walks and deletes"));
        }
        if is_js_exec(callee) && first.and_then(Arg::as_str).is_some_and(wipes_with_shell) {
            return Some((c, "runs a wiping command on"));
        }
        None
    })
}

impl Rule for WipesFiles {
    fn id(&self) -> &'static str {
        "JS-WIPES-FILES"
    }
    fn category(&self) -> Category {
        Category::DESTRUCTION
    }
    fn summary(&self) -> &'static str {
        "deletes the home directory or a whole drive"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for (file, facts) in js_sources(input) {
            let Some((call, how)) = evidence(facts) else {
                continue;
            };
            let severity = critical_unless_runtime(input, file);
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "`{}` {how} the home directory or a filesystem root",
                    call.callee
                ),
                Some(&file.path),
                Some(call.line),
                Some(&call.snippet),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(callee: &str, args: Vec<Arg>) -> Arg {
        Arg::Call {
            callee: callee.to_owned(),
            args,
        }
    }

    #[test]
    fn the_home_directory_and_roots_count_but_folders_below_them_do_not() {
        assert!(names_home_or_root(&call("os.homedir", vec![])));
        assert!(names_home_or_root(&call(
            "path.join",
            vec![call("os.homedir", vec![])]
        )));
        assert!(names_home_or_root(&Arg::Str("/*".into())));
        assert!(names_home_or_root(&Arg::Str("C:\\".into())));
        assert!(!names_home_or_root(&call(
            "path.join",
            vec![call("os.homedir", vec![]), Arg::Str(".cache".into())]
        )));
        assert!(!names_home_or_root(&Arg::Str("./build".into())));
        assert!(!names_home_or_root(&Arg::Str(String::new())));
    }

    #[test]
    fn windows_wipes_need_a_recursive_delete_of_a_whole_tree() {
        assert!(wipes_with_shell("del /s /q /f C:\\Users\\*"));
        assert!(wipes_with_shell("rd /s /q %USERPROFILE%"));
        assert!(!wipes_with_shell("del /q build\\out.txt"));
        assert!(!wipes_with_shell("rd /s /q build"));
    }
}
