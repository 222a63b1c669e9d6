//! crates.io: `Cargo.toml` identity, dependencies and the build script.

use ossprey_model::{Dependency, HookTrigger, InstallHook, ManifestFacts};
use toml::{Table, Value};

use super::read_text;
use crate::PackageFiles;

const DEPENDENCY_SECTIONS: [(&str, &str); 3] = [
    ("dependencies", "runtime"),
    ("dev-dependencies", "dev"),
    ("build-dependencies", "build"),
];

pub(super) fn extract(files: &PackageFiles, facts: &mut ManifestFacts) {
    let root = files.root();
    let path = format!("{root}Cargo.toml");
    let default_build_rs = format!("{root}build.rs");
    let Some(text) = read_text(files, &path, &mut facts.problems) else {
        if files.get(&path).is_none() {
            facts.problems.push(format!("{path}: missing"));
        }
        // Cargo would refuse the crate, but a build.rs is still a fact.
        build_rs_if_present(files, &default_build_rs, facts);
        return;
    };
    facts.manifest_path = Some(path.clone());
    let manifest: Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            facts
                .problems
                .push(format!("{path}: invalid TOML: {}", e.message()));
            build_rs_if_present(files, &default_build_rs, facts);
            return;
        }
    };
    let package = manifest.get("package").and_then(Value::as_table);
    let field = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    facts.name = field("name");
    facts.version = field("version");
    facts.description = field("description");
    facts.homepage = field("homepage");
    facts.repository = field("repository");
    facts.author = package
        .and_then(|p| p.get("authors"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|a| !a.trim().is_empty());

    match package.and_then(|p| p.get("build")) {
        // `build = false` turns off the automatic build.rs.
        Some(Value::Boolean(false)) => {}
        Some(Value::String(script)) => facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::BuildRs,
            path: format!("{root}{}", script.trim_start_matches("./")),
            command: None,
            detail: Some(format!("package.build = \"{script}\"")),
        }),
        Some(Value::Boolean(true)) | None => build_rs_if_present(files, &default_build_rs, facts),
        Some(other) => {
            facts.problems.push(format!(
                "{path}: package.build is neither a path nor a boolean: {other}"
            ));
            build_rs_if_present(files, &default_build_rs, facts);
        }
    }

    add_dependencies(&manifest, facts);
    // `[target.'cfg(...)'.dependencies]` and friends.
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        for target in targets.values().filter_map(Value::as_table) {
            add_dependencies(target, facts);
        }
    }
}

fn build_rs_if_present(files: &PackageFiles, path: &str, facts: &mut ManifestFacts) {
    if files.get(path).is_some() {
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::BuildRs,
            path: path.to_owned(),
            command: None,
            detail: None,
        });
    }
}

fn add_dependencies(table: &Table, facts: &mut ManifestFacts) {
    for (section, kind) in DEPENDENCY_SECTIONS {
        let Some(deps) = table.get(section).and_then(Value::as_table) else {
            continue;
        };
        for (key, spec) in deps {
            facts.dependencies.push(match spec {
                Value::String(req) => Dependency {
                    name: key.clone(),
                    requirement: Some(req.clone()),
                    kind: kind.to_owned(),
                    url: None,
                },
                Value::Table(t) => {
                    let get = |k: &str| t.get(k).and_then(Value::as_str);
                    // `git`, `path` and alternative registries bypass crates.io.
                    let url = get("git")
                        .or_else(|| get("path"))
                        .or_else(|| get("registry-index"));
                    Dependency {
                        // A renamed dependency (`foo = { package = "bar" }`) fetches `bar`.
                        name: get("package").unwrap_or(key).to_owned(),
                        requirement: get("version").map(str::to_owned),
                        kind: kind.to_owned(),
                        url: url.map(str::to_owned),
                    }
                }
                _ => Dependency {
                    name: key.clone(),
                    requirement: None,
                    kind: kind.to_owned(),
                    url: None,
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use ossprey_model::Ecosystem;

    use super::*;
    use crate::manifest::extract;

    fn crates(files: &[(&str, &str)]) -> ManifestFacts {
        extract(
            &PackageFiles::from_memory(files.iter().copied()),
            Ecosystem::Crates,
        )
    }

    const CARGO: &str =
        "[package]\nname = \"foo\"\nversion = \"0.1.0\"\ndescription = \"A crate\"\n";

    #[test]
    fn identity_and_default_build_rs() {
        let facts = crates(&[
            ("foo-0.1.0/Cargo.toml", CARGO),
            ("foo-0.1.0/build.rs", "fn main() {}"),
        ]);
        assert_eq!(facts.name.as_deref(), Some("foo"));
        assert_eq!(facts.version.as_deref(), Some("0.1.0"));
        assert_eq!(facts.description.as_deref(), Some("A crate"));
        assert_eq!(facts.manifest_path.as_deref(), Some("foo-0.1.0/Cargo.toml"));
        assert_eq!(facts.install_hooks.len(), 1);
        assert_eq!(facts.install_hooks[0].trigger, HookTrigger::BuildRs);
        assert_eq!(facts.install_hooks[0].path, "foo-0.1.0/build.rs");
    }

    #[test]
    fn homepage_repository_and_authors() {
        let text = format!(
            "{CARGO}homepage = \"https://h.example\"\nrepository = \"https://r.example\"\nauthors = [\"A <a@x>\", \"B\"]\n"
        );
        let facts = crates(&[("foo-0.1.0/Cargo.toml", &text)]);
        assert_eq!(facts.homepage.as_deref(), Some("https://h.example"));
        assert_eq!(facts.repository.as_deref(), Some("https://r.example"));
        assert_eq!(facts.author.as_deref(), Some("A <a@x>, B"));
        let facts = crates(&[("foo-0.1.0/Cargo.toml", CARGO)]);
        assert_eq!(
            (facts.homepage, facts.repository, facts.author),
            (None, None, None)
        );
    }

    #[test]
    fn custom_build_script_path() {
        let text = format!("{CARGO}build = \"tools/gen.rs\"\n");
        let facts = crates(&[
            ("foo-0.1.0/Cargo.toml", &text),
            ("foo-0.1.0/tools/gen.rs", "fn main() {}"),
        ]);
        assert_eq!(facts.install_hooks.len(), 1);
        assert_eq!(facts.install_hooks[0].path, "foo-0.1.0/tools/gen.rs");
    }

    #[test]
    fn build_false_disables_build_rs() {
        let text = format!("{CARGO}build = false\n");
        let facts = crates(&[
            ("foo-0.1.0/Cargo.toml", &text),
            ("foo-0.1.0/build.rs", "fn main() {}"),
        ]);
        assert!(facts.install_hooks.is_empty());
        // No build.rs at all: no hook either.
        let facts = crates(&[
            ("foo-0.1.0/Cargo.toml", CARGO),
            ("foo-0.1.0/src/build.rs", ""),
        ]);
        assert!(facts.install_hooks.is_empty());
    }

    #[test]
    fn dependencies_with_git_path_and_targets() {
        let text = format!(
            "{CARGO}[dependencies]\nserde = \"1\"\nevil = {{ git = \"https://e.example/evil\" }}\n\
             local = {{ path = \"../local\", version = \"0.1\" }}\nalias = {{ package = \"real\", version = \"2\" }}\n\
             [dev-dependencies.tokio]\nversion = \"1\"\n\
             [build-dependencies]\ncc = \"1\"\n\
             [target.'cfg(windows)'.dependencies]\nwinapi = \"0.3\"\n"
        );
        let facts = crates(&[("foo-0.1.0/Cargo.toml", &text)]);
        let got: Vec<_> = facts
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.kind.as_str(),
                    d.url.as_deref(),
                    d.requirement.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("real", "runtime", None, Some("2")),
                ("evil", "runtime", Some("https://e.example/evil"), None),
                ("local", "runtime", Some("../local"), Some("0.1")),
                ("serde", "runtime", None, Some("1")),
                ("tokio", "dev", None, Some("1")),
                ("cc", "build", None, Some("1")),
                ("winapi", "runtime", None, Some("0.3")),
            ]
        );
    }

    #[test]
    fn bad_toml_is_a_problem_and_build_rs_still_counts() {
        let facts = crates(&[
            ("foo/Cargo.toml", "[package\nname = "),
            ("foo/build.rs", "fn main() {}"),
        ]);
        assert_eq!(facts.problems.len(), 1);
        assert!(facts.problems[0].contains("invalid TOML"));
        assert_eq!(facts.install_hooks.len(), 1);
    }
}
