use std::path::PathBuf;
use std::time::Duration;

use ossprey_model::Ecosystem;
use serde_json::json;

use super::*;

fn pkg(ecosystem: Ecosystem, name: &str, archive_name: &str) -> PackageInput {
    PackageInput {
        ecosystem,
        name: name.into(),
        version: Some("1.0.0".into()),
        archive: PathBuf::from("/cache/archives/sha256/ab/abcdef"),
        archive_name: archive_name.into(),
        hints: PackageHints::default(),
    }
}

fn spec(p: &PackageInput, phase: Phase) -> PhaseSpec {
    phase_spec(
        p,
        phase,
        &SandboxLayout::default(),
        &DriverOptions::default(),
    )
    .unwrap()
}

#[test]
fn pypi_install_of_an_sdist_is_offline_user_site_pip() {
    let p = pkg(Ecosystem::Pypi, "Demo-Dist", "demo_dist-0.1.tar.gz");
    let s = spec(&p, Phase::Install);
    assert_eq!(s.argv[..4], ["/usr/bin/python3", "-m", "pip", "install"]);
    for flag in [
        "--user",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--no-cache-dir",
        "-v",
    ] {
        assert!(
            s.argv.iter().any(|a| a == flag),
            "{flag} missing: {:?}",
            s.argv
        );
    }
    assert_eq!(s.argv.last().unwrap(), "/pkg/demo_dist-0.1.tar.gz");
    assert_eq!(
        s.inputs,
        vec![SandboxInput {
            path: "/pkg/demo_dist-0.1.tar.gz".into(),
            source: InputSource::HostFile(p.archive.clone())
        }]
    );
    assert_eq!(s.cwd, "/work");
    assert_eq!(s.writable, ["/work", "/root", "/tmp"]);
    assert_eq!(s.env_var("HOME"), Some("/root"));
    assert!(
        s.env_var("PATH").unwrap().starts_with("/root/.local/bin:"),
        "console scripts land in ~/.local/bin"
    );
    assert_eq!(s.deadline, Duration::from_secs(60));
}

#[test]
fn pypi_wheel_installs_by_its_real_file_name() {
    let p = pkg(Ecosystem::Pypi, "demo", "demo-1.0-py3-none-any.whl");
    assert_eq!(
        spec(&p, Phase::Install).argv.last().unwrap(),
        "/pkg/demo-1.0-py3-none-any.whl"
    );
    assert_eq!(
        pypi_archive_kind("demo-1.0-py3-none-any.whl"),
        Some(PypiArchive::Wheel)
    );
    assert_eq!(
        pypi_archive_kind("demo-1.0.tar.gz"),
        Some(PypiArchive::Sdist)
    );
    assert_eq!(pypi_archive_kind("demo-1.0.zip"), Some(PypiArchive::Sdist));
    assert_eq!(pypi_archive_kind("demo-1.0-py2.7.egg"), None);
}

#[test]
fn pypi_eggs_and_bad_names_are_refused_with_a_reason() {
    let err = phase_spec(
        &pkg(Ecosystem::Pypi, "demo", "demo-1.0-py2.7.egg"),
        Phase::Install,
        &SandboxLayout::default(),
        &DriverOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("pip cannot install"), "{err}");
    assert_eq!(err.code(), "driver-unsupported");
    for bad in ["-r", "demo;rm", "", "demo-"] {
        assert!(
            phase_spec(
                &pkg(Ecosystem::Pypi, bad, "x-1.tar.gz"),
                Phase::Install,
                &SandboxLayout::default(),
                &DriverOptions::default()
            )
            .is_err(),
            "{bad}"
        );
    }
    for bad_file in [
        "../x.tar.gz",
        "a/b.tar.gz",
        "-rx.tar.gz",
        ".hidden.tar.gz",
        "x y.tar.gz",
    ] {
        assert!(
            phase_spec(
                &pkg(Ecosystem::Pypi, "demo", bad_file),
                Phase::Install,
                &SandboxLayout::default(),
                &DriverOptions::default()
            )
            .is_err(),
            "{bad_file}"
        );
    }
}

#[test]
fn pypi_import_passes_the_dist_name_and_module_hints_whose_names_differ() {
    let mut p = pkg(
        Ecosystem::Pypi,
        "python-dateutil",
        "python-dateutil-2.9.0.tar.gz",
    );
    p.hints.python_modules = vec!["dateutil".into(), "not a module".into(), "pkg.sub".into()];
    let s = spec(&p, Phase::Import);
    assert_eq!(
        s.argv,
        [
            "/usr/bin/python3",
            "/ossprey/pypi_driver.py",
            "import",
            "--dist",
            "python-dateutil",
            "--timeout",
            "10",
            "--module",
            "dateutil",
            "--module",
            "pkg.sub",
        ]
    );
    assert_eq!(s.inputs.len(), 1);
    assert_eq!(s.inputs[0].path, "/ossprey/pypi_driver.py");
    assert!(
        matches!(s.inputs[0].source, InputSource::Embedded(text) if text.contains("def phase_import"))
    );
}

#[test]
fn pypi_execute_bounds_calls() {
    let p = pkg(Ecosystem::Pypi, "demo", "demo-1.0.tar.gz");
    let opts = DriverOptions {
        call_timeout: Duration::from_millis(2500),
        max_calls: 7,
        execute_deadline: Duration::from_secs(30),
        ..Default::default()
    };
    let s = phase_spec(&p, Phase::Execute, &SandboxLayout::default(), &opts).unwrap();
    assert_eq!(
        s.argv[2..],
        [
            "execute",
            "--dist",
            "demo",
            "--timeout",
            "2.500",
            "--max-calls",
            "7"
        ]
    );
    assert_eq!(s.deadline, Duration::from_secs(30));
}

#[test]
fn layout_is_respected() {
    let layout = SandboxLayout {
        home: "/home/mkowalski".into(),
        work_dir: "/srv/app".into(),
        ..Default::default()
    };
    let s = phase_spec(
        &pkg(Ecosystem::Npm, "left-pad", "left-pad-1.3.0.tgz"),
        Phase::Install,
        &layout,
        &DriverOptions::default(),
    )
    .unwrap();
    assert_eq!(s.cwd, "/srv/app");
    assert_eq!(s.writable, ["/srv/app", "/home/mkowalski", "/tmp"]);
    assert!(
        s.env_var("PATH")
            .unwrap()
            .starts_with("/srv/app/node_modules/.bin:")
    );
    assert_eq!(s.env_var("HOME"), Some("/home/mkowalski"));
}

#[test]
fn npm_install_unpacks_then_runs_lifecycle_scripts_offline() {
    let p = pkg(Ecosystem::Npm, "@scope/pkg", "pkg-1.0.0.tgz");
    let s = spec(&p, Phase::Install);
    assert_eq!(s.argv[0], "/bin/sh");
    assert_eq!(s.argv[1], "-c");
    // The name travels as a positional argument, never spliced into the script.
    assert_eq!(
        s.argv[3..],
        ["npm-install", "/pkg/pkg-1.0.0.tgz", "@scope/pkg"]
    );
    let script = &s.argv[2];
    assert!(script.contains(r#"mkdir -p "node_modules/$name""#));
    assert!(
        script.contains(
            "npm rebuild \"$name\" --offline --foreground-scripts --ignore-scripts=false"
        )
    );
    assert!(!script.contains("@scope"));
}

#[test]
fn npm_names_are_validated() {
    for ok in ["left-pad", "@babel/core", "lodash.merge", "@a/b~c"] {
        assert!(
            phase_spec(
                &pkg(Ecosystem::Npm, ok, "x-1.tgz"),
                Phase::Install,
                &SandboxLayout::default(),
                &DriverOptions::default()
            )
            .is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "",
        "@scope",
        "@/x",
        "_private",
        ".hidden",
        "a\"b",
        "a b",
        "../x",
        "@s/../x",
        "node_modules",
        "a\\b",
    ] {
        assert!(
            phase_spec(
                &pkg(Ecosystem::Npm, bad, "x-1.tgz"),
                Phase::Install,
                &SandboxLayout::default(),
                &DriverOptions::default()
            )
            .is_err(),
            "{bad}"
        );
    }
    let err = phase_spec(
        &pkg(Ecosystem::Npm, "x", "x-1.zip"),
        Phase::Install,
        &SandboxLayout::default(),
        &DriverOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains(".tgz"), "{err}");
}

#[test]
fn npm_import_follows_the_module_kind() {
    let mut p = pkg(Ecosystem::Npm, "@scope/pkg", "pkg-1.0.0.tgz");
    p.hints.npm_module_kind = ModuleKind::CommonJs;
    assert_eq!(
        spec(&p, Phase::Import).argv,
        [
            "/usr/bin/node",
            "-e",
            "require(process.argv[1])",
            "@scope/pkg"
        ]
    );
    p.hints.npm_module_kind = ModuleKind::Esm;
    assert_eq!(
        spec(&p, Phase::Import).argv,
        [
            "/usr/bin/node",
            "--input-type=module",
            "-e",
            "await import(process.argv[1])",
            "@scope/pkg"
        ]
    );
    p.hints.npm_module_kind = ModuleKind::Unknown;
    let argv = spec(&p, Phase::Import).argv;
    assert!(
        argv[2].contains("ERR_REQUIRE_ESM") && argv[2].contains("import(process.argv[1])"),
        "{argv:?}"
    );
    assert!(spec(&p, Phase::Import).inputs.is_empty());
}

#[test]
fn npm_execute_uses_the_driver_with_bounds() {
    let p = pkg(Ecosystem::Npm, "left-pad", "left-pad-1.3.0.tgz");
    let s = spec(&p, Phase::Execute);
    assert_eq!(
        s.argv,
        [
            "/usr/bin/node",
            "/ossprey/npm_driver.js",
            "execute",
            "left-pad",
            "10000",
            "50"
        ]
    );
    assert!(matches!(s.inputs[0].source, InputSource::Embedded(js) if js.contains("spawnSync")));
}

#[test]
fn module_kind_from_package_json() {
    assert_eq!(
        npm_module_kind(&json!({"name": "a", "main": "index.js"})),
        ModuleKind::CommonJs
    );
    assert_eq!(
        npm_module_kind(&json!({"type": "module", "main": "index.js"})),
        ModuleKind::Esm
    );
    assert_eq!(
        npm_module_kind(&json!({"type": "commonjs"})),
        ModuleKind::CommonJs
    );
    // Dual packages can be required.
    assert_eq!(
        npm_module_kind(
            &json!({"type": "module", "exports": {"import": "./a.js", "require": "./a.cjs"}})
        ),
        ModuleKind::CommonJs
    );
    assert_eq!(
        npm_module_kind(&json!({"exports": {".": {"import": "./a.mjs"}, "./sub": "./s.js"}})),
        ModuleKind::Esm
    );
    assert_eq!(
        npm_module_kind(&json!({"exports": "./index.mjs"})),
        ModuleKind::Esm
    );
    assert_eq!(
        npm_module_kind(&json!({"type": "module", "exports": "./index.cjs"})),
        ModuleKind::CommonJs
    );
    assert_eq!(
        npm_module_kind(&json!({"exports": {"node": {"require": "./n.cjs"}, "import": "./a.mjs"}})),
        ModuleKind::CommonJs
    );
}

#[test]
fn wheel_import_names() {
    let paths = [
        "yaml/__init__.py",
        "yaml/_yaml.cpython-311-x86_64-linux-gnu.so",
        "_yaml/__init__.py",
        "PyYAML-6.0.dist-info/RECORD",
        "PyYAML-6.0.data/scripts/x",
        "six.py",
        "__pycache__/six.cpython-311.pyc",
        "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
        "evil.pth",
    ];
    assert_eq!(
        import_names_from_wheel(paths, None),
        ["yaml", "_yaml", "six", "_cffi_backend"]
    );
    assert_eq!(
        import_names_from_wheel(paths, Some("_yaml\nyaml\n")),
        ["_yaml", "yaml"]
    );
    // An empty or unusable top_level.txt falls back to the layout.
    assert_eq!(
        import_names_from_wheel(paths, Some("\n")),
        ["yaml", "_yaml", "six", "_cffi_backend"]
    );
    assert_eq!(
        import_names_from_wheel(["google/protobuf/__init__.py"], Some("google/protobuf")),
        ["google.protobuf"]
    );
}

#[test]
fn sdist_import_names() {
    let paths = [
        "python-dateutil-2.9.0/setup.py",
        "python-dateutil-2.9.0/src/dateutil/__init__.py",
        "python-dateutil-2.9.0/src/dateutil/tz/__init__.py",
        "python-dateutil-2.9.0/tests/__init__.py",
        "python-dateutil-2.9.0/conftest.py",
        "python-dateutil-2.9.0/single.py",
        "python-dateutil-2.9.0/PKG-INFO",
    ];
    assert_eq!(import_names_from_sdist(paths), ["dateutil", "single"]);
}

#[test]
fn specs_serialise_for_logs() {
    let s = spec(
        &pkg(Ecosystem::Npm, "left-pad", "left-pad-1.3.0.tgz"),
        Phase::Import,
    );
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["phase"], "import");
    assert_eq!(v["deadline_ms"], 60000);
    assert_eq!(v["cwd"], "/work");
}

#[test]
fn other_ecosystems_have_no_driver_yet() {
    let err = phase_spec(
        &pkg(Ecosystem::Crates, "serde", "serde-1.0.0.crate"),
        Phase::Install,
        &SandboxLayout::default(),
        &DriverOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no sandbox driver for crates"),
        "{err}"
    );
    assert_eq!(
        phase_specs(
            &pkg(Ecosystem::Pypi, "demo", "demo-1.0.tar.gz"),
            &SandboxLayout::default(),
            &DriverOptions::default()
        )
        .unwrap()
        .len(),
        3
    );
}
