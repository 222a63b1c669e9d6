//! PyPI: core metadata (`PKG-INFO`, wheel `METADATA`), `pyproject.toml`,
//! `setup.cfg`, and the code pip runs: `setup.py`, its `cmdclass`, `.pth`
//! files and custom build backends.

use ossprey_model::{Dependency, FileKind, HookTrigger, InstallHook, ManifestFacts};

use super::{excerpt, read_text};
use crate::PackageFiles;
use crate::classify::pth_has_import_line;
use crate::ecosystem::is_wheel_or_egg_metadata;

/// Build backends published by well-known packaging projects. Any other
/// backend is code from an arbitrary package that pip runs to build the sdist.
const KNOWN_BACKENDS: &[&str] = &[
    "setuptools.build_meta",
    "setuptools.build_meta:__legacy__",
    "hatchling.build",
    "hatchling.ouroboros",
    "flit_core.buildapi",
    "flit.buildapi",
    "poetry.core.masonry.api",
    "poetry.masonry.api",
    "pdm.backend",
    "pdm.pep517.api",
    "maturin",
    "mesonpy",
    "scikit_build_core.build",
    "scikit_build_core.setuptools.build_meta",
    "sipbuild.api",
    "enscons.api",
    "whey",
    "uv_build",
    "pbr.build",
    "jupyter_packaging.build_api",
    "py_build_cmake.build",
];

pub(super) fn extract(files: &PackageFiles, facts: &mut ManifestFacts) {
    let root = files.root();
    let wheel_metadata = files
        .entries()
        .iter()
        .map(|e| e.path.as_str())
        .filter(|p| is_wheel_or_egg_metadata(p, root) && !p.ends_with("/WHEEL"))
        .min()
        .map(str::to_owned);
    let is_built = files
        .entries()
        .iter()
        .any(|e| is_wheel_or_egg_metadata(&e.path, root));

    // Identity: generated core metadata first, then the declarative sources.
    let pkg_info = format!("{root}PKG-INFO");
    for path in [Some(pkg_info), wheel_metadata].into_iter().flatten() {
        if let Some(text) = read_text(files, &path, &mut facts.problems) {
            core_metadata(&text, &path, facts);
            break;
        }
    }
    let pyproject_path = format!("{root}pyproject.toml");
    if !is_built && let Some(text) = read_text(files, &pyproject_path, &mut facts.problems) {
        pyproject(&text, &pyproject_path, facts);
    }
    let setup_cfg_path = format!("{root}setup.cfg");
    if !is_built && let Some(text) = read_text(files, &setup_cfg_path, &mut facts.problems) {
        setup_cfg(&text, &setup_cfg_path, facts);
    }

    // A wheel is unpacked, never built: its setup.py (if any) is not run.
    let setup_py = format!("{root}setup.py");
    if !is_built && files.get(&setup_py).is_some() {
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::SetupPy,
            path: setup_py.clone(),
            command: None,
            detail: None,
        });
        if facts.manifest_path.is_none() {
            facts.manifest_path = Some(setup_py.clone());
        }
        if let Some(text) = read_text(files, &setup_py, &mut facts.problems)
            && let Some(detail) = cmdclass_in_python(&text)
        {
            facts.install_hooks.push(InstallHook {
                trigger: HookTrigger::SetupPyCmdclass,
                path: setup_py,
                command: None,
                detail: Some(detail),
            });
        }
    }

    // Only the `import` lines of a `.pth` run; a `.pth` that only lists paths
    // executes nothing and is not a hook. Classification saw the whole file
    // (kind `python` means an import line), even when its content was not kept.
    for entry in files.entries() {
        if entry.link.is_none() && entry.path.to_ascii_lowercase().ends_with(".pth") {
            let imports = entry.kind == FileKind::Python
                || files.content(&entry.path).is_some_and(pth_has_import_line);
            if imports {
                facts.install_hooks.push(InstallHook {
                    trigger: HookTrigger::PthFile,
                    path: entry.path.clone(),
                    command: None,
                    detail: Some("contains import lines".to_owned()),
                });
            }
        }
    }
}

/// `PKG-INFO` / `METADATA`: RFC 822-style headers, then the long description.
fn core_metadata(text: &str, path: &str, facts: &mut ManifestFacts) {
    let headers = rfc822_headers(text);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    facts.manifest_path = Some(path.to_owned());
    facts.name = get("Name");
    facts.version = get("Version");
    facts.description = get("Summary").filter(|s| !s.is_empty());
    // Old setuptools writes `UNKNOWN` for every field a setup.py left out.
    let known = |v: String| (!v.is_empty() && !v.eq_ignore_ascii_case("UNKNOWN")).then_some(v);
    facts.homepage = get("Home-page").and_then(known);
    // `Project-URL: Source, https://…`: a repository-like label fills `repository`,
    // the first other one stands in for a missing `Home-page`.
    for (key, value) in &headers {
        if !key.eq_ignore_ascii_case("Project-URL") {
            continue;
        }
        let (label, url) = value.split_once(',').unwrap_or(("", value));
        let Some(url) = known(url.trim().to_owned()) else {
            continue;
        };
        let label = label.trim().to_ascii_lowercase();
        let repo_like = ["source", "repository", "code", "github", "gitlab"]
            .iter()
            .any(|w| label.contains(w));
        if repo_like && facts.repository.is_none() {
            facts.repository = Some(url);
        } else if facts.homepage.is_none() {
            facts.homepage = Some(url);
        }
    }
    facts.author = get("Author")
        .and_then(known)
        .or_else(|| get("Author-email").and_then(known))
        .or_else(|| get("Maintainer").and_then(known))
        .or_else(|| get("Maintainer-email").and_then(known));
    if facts.name.is_none() {
        facts.problems.push(format!("{path}: no Name header"));
    }
    for (key, value) in &headers {
        if key.eq_ignore_ascii_case("Requires-Dist") {
            facts.dependencies.push(pep508(value, "runtime"));
        }
    }
}

/// Header lines up to the first blank line; indented lines continue the previous header.
fn rfc822_headers(text: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

/// A PEP 508 requirement: `name[extras] (>=1) ; marker` or `name @ url ; marker`.
/// A marker naming an `extra` makes the dependency optional.
fn pep508(spec: &str, default_kind: &str) -> Dependency {
    let spec = spec.trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = spec[..name_end].to_owned();
    let mut rest = spec[name_end..].trim_start();
    if rest.starts_with('[') {
        rest = rest.find(']').map_or("", |i| rest[i + 1..].trim_start());
    }
    let (url, requirement, marker) = if let Some(after_at) = rest.strip_prefix('@') {
        // In PEP 508 a URL ends at whitespace; a marker follows after ` ;`.
        let after_at = after_at.trim_start();
        let url_end = after_at.find(char::is_whitespace).unwrap_or(after_at.len());
        (
            Some(after_at[..url_end].to_owned()),
            None,
            &after_at[url_end..],
        )
    } else {
        let (req, marker) = rest.split_once(';').map_or((rest, ""), |(r, m)| (r, m));
        let req = req
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        (None, (!req.is_empty()).then(|| req.to_owned()), marker)
    };
    let kind = if marker.contains("extra") {
        "optional"
    } else {
        default_kind
    };
    Dependency {
        name,
        requirement,
        kind: kind.to_owned(),
        url,
    }
}

fn pyproject(text: &str, path: &str, facts: &mut ManifestFacts) {
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            facts
                .problems
                .push(format!("{path}: invalid TOML: {}", e.message()));
            // pip would refuse it too, but a named backend is still worth reporting.
            if let Some(backend) = backend_by_line_scan(text) {
                backend_hook(path, Some(&backend), false, facts);
            }
            return;
        }
    };
    let str_at =
        |t: &toml::Table, key: &str| t.get(key).and_then(toml::Value::as_str).map(str::to_owned);
    if let Some(project) = table.get("project").and_then(toml::Value::as_table) {
        if facts.name.is_none() {
            facts.name = str_at(project, "name");
            facts.manifest_path.get_or_insert_with(|| path.to_owned());
        }
        if facts.version.is_none() {
            facts.version = str_at(project, "version");
        }
        if facts.description.is_none() {
            facts.description = str_at(project, "description");
        }
        if facts.homepage.is_none() && facts.repository.is_none() {
            facts.homepage = project
                .get("urls")
                .and_then(toml::Value::as_table)
                .and_then(|urls| urls.values().find_map(toml::Value::as_str))
                .map(str::to_owned);
        }
        if facts.author.is_none() {
            facts.author = ["authors", "maintainers"]
                .iter()
                .filter_map(|k| project.get(*k).and_then(toml::Value::as_array))
                .flatten()
                .filter_map(toml::Value::as_table)
                .find_map(|a| str_at(a, "name").or_else(|| str_at(a, "email")));
        }
        if !facts.dependencies.iter().any(|d| d.kind != "build") {
            for spec in string_array(project.get("dependencies")) {
                facts.dependencies.push(pep508(spec, "runtime"));
            }
            if let Some(extras) = project
                .get("optional-dependencies")
                .and_then(toml::Value::as_table)
            {
                for value in extras.values() {
                    for spec in string_array(Some(value)) {
                        facts.dependencies.push(pep508(spec, "optional"));
                    }
                }
            }
        }
    }
    if let Some(build) = table.get("build-system").and_then(toml::Value::as_table) {
        for spec in string_array(build.get("requires")) {
            facts.dependencies.push(pep508(spec, "build"));
        }
        let backend = str_at(build, "build-backend");
        let in_tree = build.contains_key("backend-path");
        backend_hook(path, backend.as_deref(), in_tree, facts);
    }
    let cmdclass = table
        .get("tool")
        .and_then(|t| t.get("setuptools"))
        .and_then(|t| t.get("cmdclass"))
        .and_then(toml::Value::as_table);
    if let Some(cmdclass) = cmdclass.filter(|c| !c.is_empty()) {
        let pairs: Vec<String> = cmdclass.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::SetupPyCmdclass,
            path: path.to_owned(),
            command: None,
            detail: Some(excerpt(
                &format!("[tool.setuptools.cmdclass] {}", pairs.join(", ")),
                200,
            )),
        });
    }
}

fn string_array(value: Option<&toml::Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
}

/// Records a build backend that is not a well-known one, or that lives in the
/// package itself (`backend-path`).
fn backend_hook(path: &str, backend: Option<&str>, in_tree: bool, facts: &mut ManifestFacts) {
    let unknown = backend.is_some_and(|b| !KNOWN_BACKENDS.contains(&b.trim()));
    if !unknown && !in_tree {
        return;
    }
    let mut detail = match backend {
        Some(b) => format!("build-backend = \"{b}\""),
        None => "no build-backend".to_owned(),
    };
    if in_tree {
        detail.push_str(", in-tree (backend-path)");
    }
    facts.install_hooks.push(InstallHook {
        trigger: HookTrigger::PythonBuildBackend,
        path: path.to_owned(),
        command: None,
        detail: Some(detail),
    });
}

fn backend_by_line_scan(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix("build-backend")?
            .trim_start()
            .strip_prefix('=')?;
        Some(value.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// `setup.cfg`: `[metadata]` identity, `[options]` requirements and `cmdclass`.
fn setup_cfg(text: &str, path: &str, facts: &mut ManifestFacts) {
    let entries = ini_entries(text);
    let get = |section: &str, key: &str| {
        entries
            .iter()
            .find(|(s, k, _)| s == section && k.replace('-', "_") == key)
            .map(|(_, _, v)| v.as_str())
    };
    if facts.name.is_none()
        && let Some(name) = get("metadata", "name")
    {
        facts.name = Some(name.to_owned());
        facts.manifest_path.get_or_insert_with(|| path.to_owned());
    }
    if facts.version.is_none() {
        facts.version = get("metadata", "version").map(str::to_owned);
    }
    if facts.description.is_none() {
        facts.description = get("metadata", "description").map(str::to_owned);
    }
    if facts.homepage.is_none() {
        facts.homepage = get("metadata", "url").map(str::to_owned);
    }
    if facts.author.is_none() {
        facts.author = get("metadata", "author")
            .or_else(|| get("metadata", "author_email"))
            .map(str::to_owned);
    }
    if !facts.dependencies.iter().any(|d| d.kind != "build")
        && let Some(reqs) = get("options", "install_requires")
    {
        for spec in reqs
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with('#'))
        {
            facts.dependencies.push(pep508(spec, "runtime"));
        }
    }
    if let Some(cmdclass) = get("options", "cmdclass").filter(|v| !v.trim().is_empty()) {
        facts.install_hooks.push(InstallHook {
            trigger: HookTrigger::SetupPyCmdclass,
            path: path.to_owned(),
            command: None,
            detail: Some(excerpt(&format!("cmdclass = {cmdclass}"), 200)),
        });
    }
}

/// `(section, key, value)` triples of an INI file, lowercased section and key;
/// indented lines continue the previous value.
fn ini_entries(text: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((s, _, value)) = out.last_mut()
                && *s == section
            {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        if let Some(i) = trimmed.find(['=', ':']) {
            out.push((
                section.clone(),
                trimmed[..i].trim().to_ascii_lowercase(),
                trimmed[i + 1..].trim().to_owned(),
            ));
        }
    }
    out
}

/// When Python source passes or builds a `cmdclass` (outside comments and
/// prose strings), a short excerpt naming it, e.g. `cmdclass={'install': PostInstall}`.
///
/// A token-level scan: a parser comes later. A string literal that is exactly
/// `cmdclass` counts, since that is a dict key (`setup(**{'cmdclass': …})`).
pub(crate) fn cmdclass_in_python(source: &str) -> Option<String> {
    let mut seen = false;
    for (_, end) in python_code_mentions(source, "cmdclass") {
        seen = true;
        let after = source[end..].trim_start_matches([' ', '\t']);
        let value = after
            .strip_prefix('=')
            .filter(|v| !v.starts_with('='))
            .or_else(|| after.strip_prefix(':'));
        if let Some(value) = value {
            return Some(excerpt(
                &format!("cmdclass={}", expression_prefix(value.trim_start())),
                200,
            ));
        }
    }
    seen.then(|| "cmdclass".to_owned())
}

/// The text of a Python expression up to a top-level `,`, closing bracket or newline.
fn expression_prefix(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return &text[..i],
            ')' | ']' | '}' => depth -= 1,
            ',' | '\n' if depth == 0 => return &text[..i],
            _ => {}
        }
        if i > 400 {
            return &text[..i];
        }
    }
    text
}

/// Byte ranges where `word` occurs as an identifier in code, or as the whole
/// content of a string literal, skipping comments and all other strings.
fn python_code_mentions<'a>(
    source: &'a str,
    word: &'a str,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let bytes = source.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'#' {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            } else if b == b'"' || b == b'\'' {
                let (content, end) = skip_string(bytes, i);
                i = end;
                if &source[content.0..content.1] == word {
                    return Some((content.0 - 1, end));
                }
            } else if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                let ident = &source[start..i];
                // String prefixes (r, b, f, u, rb, …) glue onto the quote.
                if i < bytes.len()
                    && (bytes[i] == b'"' || bytes[i] == b'\'')
                    && is_string_prefix(ident)
                {
                    continue;
                }
                if ident == word {
                    return Some((start, i));
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

fn is_string_prefix(ident: &str) -> bool {
    ident.len() <= 2
        && ident
            .chars()
            .all(|c| matches!(c.to_ascii_lowercase(), 'r' | 'b' | 'f' | 'u' | 't'))
}

/// Skips the string literal starting at the quote at `start`; returns the
/// content's byte range and the index just past the closing quote.
fn skip_string(bytes: &[u8], start: usize) -> ((usize, usize), usize) {
    let quote = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[quote, quote, quote][..]);
    let open = if triple { 3 } else { 1 };
    let mut i = start + open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return ((start + open, i), i),
            c if c == quote
                && (!triple || bytes.get(i..i + 3) == Some(&[quote, quote, quote][..])) =>
            {
                return ((start + open, i), i + open);
            }
            _ => i += 1,
        }
    }
    let end = bytes.len();
    ((start + open, end.max(start + open)), end)
}

#[cfg(test)]
mod tests {
    use ossprey_model::Ecosystem;

    use super::*;
    use crate::manifest::extract;

    fn pypi(files: &[(&str, &str)]) -> ManifestFacts {
        extract(
            &PackageFiles::from_memory(files.iter().copied()),
            Ecosystem::Pypi,
        )
    }

    #[test]
    fn home_page_project_urls_and_author_from_pkg_info() {
        let facts = pypi(&[(
            "p-1/PKG-INFO",
            "Metadata-Version: 2.1\nName: p\nVersion: 1\nHome-page: UNKNOWN\nAuthor: UNKNOWN\n\
             Author-email: Ann <ann@example.invalid>\nProject-URL: Documentation, https://d.example\n\
             Project-URL: Source, https://s.example\n\nbody\n",
        )]);
        assert_eq!(facts.homepage.as_deref(), Some("https://d.example"));
        assert_eq!(facts.repository.as_deref(), Some("https://s.example"));
        assert_eq!(facts.author.as_deref(), Some("Ann <ann@example.invalid>"));
        let facts = pypi(&[(
            "p-1/PKG-INFO",
            "Metadata-Version: 1.0\nName: p\nVersion: 1\nHome-page: UNKNOWN\nAuthor: UNKNOWN\n\n",
        )]);
        assert_eq!(
            (facts.homepage, facts.repository, facts.author),
            (None, None, None)
        );
    }

    fn triggers(facts: &ManifestFacts) -> Vec<HookTrigger> {
        facts.install_hooks.iter().map(|h| h.trigger).collect()
    }

    const PKG_INFO: &str = "Metadata-Version: 2.1\nName: evil-pkg\nVersion: 0.1\nSummary: A thing\n\
        Requires-Dist: requests (>=2.0)\nRequires-Dist: payload @ https://evil.example/p.zip ; python_version > \"3\"\n\
        Requires-Dist: pytest; extra == \"test\"\n\nLong description: Requires-Dist: not-a-header\n";

    #[test]
    fn sdist_identity_and_dependencies_from_pkg_info() {
        let facts = pypi(&[
            ("evil-pkg-0.1/PKG-INFO", PKG_INFO),
            ("evil-pkg-0.1/evil/__init__.py", ""),
        ]);
        assert_eq!(facts.name.as_deref(), Some("evil-pkg"));
        assert_eq!(facts.version.as_deref(), Some("0.1"));
        assert_eq!(facts.description.as_deref(), Some("A thing"));
        assert_eq!(
            facts.manifest_path.as_deref(),
            Some("evil-pkg-0.1/PKG-INFO")
        );
        assert_eq!(
            facts.dependencies,
            [
                Dependency {
                    name: "requests".into(),
                    requirement: Some(">=2.0".into()),
                    kind: "runtime".into(),
                    url: None
                },
                Dependency {
                    name: "payload".into(),
                    requirement: None,
                    kind: "runtime".into(),
                    url: Some("https://evil.example/p.zip".into())
                },
                Dependency {
                    name: "pytest".into(),
                    requirement: None,
                    kind: "optional".into(),
                    url: None
                },
            ]
        );
        assert!(facts.install_hooks.is_empty());
    }

    #[test]
    fn wheel_metadata_and_pth_files_anywhere() {
        let facts = pypi(&[
            ("evil/__init__.py", ""),
            ("evil-1.0.dist-info/METADATA", "Name: evil\nVersion: 1.0\n"),
            ("evil-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"),
            ("evil_hook.pth", "import os; os.system('curl x')\n"),
            ("evil-1.0.data/purelib/paths.pth", "/opt/evil\n"),
            ("setup.py", "print('never run from a wheel')"),
        ]);
        assert_eq!(facts.name.as_deref(), Some("evil"));
        assert_eq!(
            facts.manifest_path.as_deref(),
            Some("evil-1.0.dist-info/METADATA")
        );
        assert_eq!(triggers(&facts), [HookTrigger::PthFile]);
        assert_eq!(facts.install_hooks[0].path, "evil_hook.pth");
        assert_eq!(
            facts.install_hooks[0].detail.as_deref(),
            Some("contains import lines")
        );
    }

    #[test]
    fn pth_listing_only_paths_is_not_an_install_hook() {
        let facts = pypi(&[
            ("x-1.0.dist-info/METADATA", "Name: x\nVersion: 1.0\n"),
            ("x-nspkg.pth", "/opt/x\n# import nothing\n"),
            ("hidden.pth", "/opt/y\rimport os; os.system('id')\n"),
        ]);
        assert_eq!(triggers(&facts), [HookTrigger::PthFile]);
        assert_eq!(facts.install_hooks[0].path, "hidden.pth");
    }

    #[test]
    fn setup_py_with_cmdclass() {
        let setup = "from setuptools import setup\nfrom setuptools.command.install import install\n\
            class PostInstall(install):\n    def run(self):\n        install.run(self)\n\
            setup(name='x', cmdclass={'install': PostInstall,\n    'develop': PostDevelop}, version='1')\n";
        let facts = pypi(&[
            ("x-1/PKG-INFO", "Name: x\nVersion: 1\n"),
            ("x-1/setup.py", setup),
        ]);
        assert_eq!(
            triggers(&facts),
            [HookTrigger::SetupPy, HookTrigger::SetupPyCmdclass]
        );
        assert_eq!(facts.install_hooks[0].path, "x-1/setup.py");
        assert_eq!(
            facts.install_hooks[1].detail.as_deref(),
            Some("cmdclass={'install': PostInstall, 'develop': PostDevelop}")
        );
    }

    #[test]
    fn cmdclass_only_in_comments_or_prose_is_not_a_hook() {
        let setup = "# we used to pass cmdclass={'install': X} here\nfrom setuptools import setup\n\
            \"\"\"Docs: cmdclass is not used.\"\"\"\nsetup(name='x', description='no cmdclass here')\n";
        let facts = pypi(&[("x-1/setup.py", setup)]);
        assert_eq!(triggers(&facts), [HookTrigger::SetupPy]);
        assert_eq!(facts.manifest_path.as_deref(), Some("x-1/setup.py"));
    }

    #[test]
    fn cmdclass_forms_the_scanner_reads() {
        assert_eq!(
            cmdclass_in_python("setup(cmdclass=versioneer.get_cmdclass(), x=1)").as_deref(),
            Some("cmdclass=versioneer.get_cmdclass()")
        );
        assert_eq!(
            cmdclass_in_python("kw = {'cmdclass': {'install': I}}\nsetup(**kw)").as_deref(),
            Some("cmdclass={'install': I}")
        );
        assert_eq!(
            cmdclass_in_python("cmds = dict(cmdclass)\n").as_deref(),
            Some("cmdclass")
        );
        assert_eq!(
            cmdclass_in_python("my_cmdclass = 1\nr'cmdclass=' # cmdclass=").as_deref(),
            None
        );
        assert_eq!(
            cmdclass_in_python("x = '''\ncmdclass=1\n'''\n").as_deref(),
            None
        );
        assert_eq!(
            cmdclass_in_python("x = 'unterminated\ncmdclass = {}\n").as_deref(),
            Some("cmdclass={}")
        );
    }

    #[test]
    fn unknown_and_in_tree_build_backends() {
        let evil = "[build-system]\nrequires = [\"evilbuild\"]\nbuild-backend = \"evilbuild.api\"\n\
            [project]\nname = \"x\"\nversion = \"2\"\ndependencies = [\"six\", \"y @ git+https://e.example/y\"]\n";
        let facts = pypi(&[("x-2/pyproject.toml", evil)]);
        assert_eq!(triggers(&facts), [HookTrigger::PythonBuildBackend]);
        assert_eq!(
            facts.install_hooks[0].detail.as_deref(),
            Some("build-backend = \"evilbuild.api\"")
        );
        assert_eq!(facts.name.as_deref(), Some("x"));
        assert_eq!(facts.manifest_path.as_deref(), Some("x-2/pyproject.toml"));
        let kinds: Vec<_> = facts
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("six", "runtime"), ("y", "runtime"), ("evilbuild", "build")]
        );
        assert_eq!(
            facts.dependencies[1].url.as_deref(),
            Some("git+https://e.example/y")
        );

        let in_tree = "[build-system]\nrequires = []\nbuild-backend = \"setuptools.build_meta\"\nbackend-path = [\"_b\"]\n";
        let facts = pypi(&[("x-2/pyproject.toml", in_tree)]);
        assert_eq!(triggers(&facts), [HookTrigger::PythonBuildBackend]);
        assert!(
            facts.install_hooks[0]
                .detail
                .as_deref()
                .unwrap()
                .contains("backend-path")
        );
    }

    #[test]
    fn well_known_build_backends_are_not_hooks() {
        for backend in [
            "setuptools.build_meta",
            "hatchling.build",
            "poetry.core.masonry.api",
            "maturin",
        ] {
            let text = format!("[build-system]\nrequires = []\nbuild-backend = \"{backend}\"\n");
            let facts = pypi(&[("x-2/pyproject.toml", &text)]);
            assert!(facts.install_hooks.is_empty(), "{backend}");
        }
    }

    #[test]
    fn bad_toml_is_a_problem_but_the_backend_is_still_read() {
        let facts = pypi(&[(
            "x/pyproject.toml",
            "[build-system\nbuild-backend = \"evil.api\"\n",
        )]);
        assert_eq!(facts.problems.len(), 1);
        assert!(
            facts.problems[0].contains("invalid TOML"),
            "{:?}",
            facts.problems
        );
        assert_eq!(triggers(&facts), [HookTrigger::PythonBuildBackend]);
    }

    #[test]
    fn setup_cfg_metadata_and_cmdclass() {
        let cfg = "[metadata]\nname = cfgpkg\nversion = 3.0\ndescription = From cfg\n\
            [options]\ninstall_requires =\n    requests>=2\n    evil @ https://e.example/e.tgz\n\
            cmdclass =\n    install = cfgpkg.hooks.Install\n";
        let facts = pypi(&[
            ("cfgpkg-3.0/setup.cfg", cfg),
            (
                "cfgpkg-3.0/setup.py",
                "from setuptools import setup\nsetup()\n",
            ),
        ]);
        assert_eq!(facts.name.as_deref(), Some("cfgpkg"));
        assert_eq!(facts.version.as_deref(), Some("3.0"));
        assert_eq!(facts.description.as_deref(), Some("From cfg"));
        assert_eq!(facts.manifest_path.as_deref(), Some("cfgpkg-3.0/setup.cfg"));
        assert_eq!(facts.dependencies.len(), 2);
        assert_eq!(
            facts.dependencies[1].url.as_deref(),
            Some("https://e.example/e.tgz")
        );
        assert_eq!(
            triggers(&facts),
            [HookTrigger::SetupPyCmdclass, HookTrigger::SetupPy]
        );
        assert_eq!(facts.install_hooks[0].path, "cfgpkg-3.0/setup.cfg");
    }

    #[test]
    fn pyproject_setuptools_cmdclass_table() {
        let text = "[tool.setuptools.cmdclass]\ninstall = \"pkg.Install\"\n";
        let facts = pypi(&[("x/pyproject.toml", text)]);
        assert_eq!(triggers(&facts), [HookTrigger::SetupPyCmdclass]);
    }

    #[test]
    fn pep508_forms() {
        let d = pep508(
            "Foo_Bar[extra1,extra2] >=1.0,<2 ; python_version<'3.8'",
            "runtime",
        );
        assert_eq!(
            (d.name.as_str(), d.requirement.as_deref(), d.url),
            ("Foo_Bar", Some(">=1.0,<2"), None)
        );
        let d = pep508("pkg@ file:///tmp/x.whl", "runtime");
        assert_eq!(d.url.as_deref(), Some("file:///tmp/x.whl"));
        let d = pep508("plain", "build");
        assert_eq!((d.requirement, d.kind.as_str()), (None, "build"));
    }
}
