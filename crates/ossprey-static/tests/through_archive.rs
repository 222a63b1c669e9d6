//! End to end through the real archive reader: a tar.gz built in memory.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use ossprey_model::{Ecosystem, FileKind, HookTrigger};
use ossprey_static::{Format, Limits, PackageFiles, detect_ecosystem, manifest};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for &(path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn tar_gz(files: &[(&str, &[u8], u32)], links: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for &(path, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }
    for &(path, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o777);
        header.set_entry_type(tar::EntryType::Symlink);
        builder.append_link(&mut header, path, target).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn npm_tarball_inventory_and_manifest() {
    let package_json =
        br#"{"name":"demo","version":"1.0.0","scripts":{"postinstall":"node setup.js"}}"#;
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
    let archive = tar_gz(
        &[
            ("package/package.json", package_json, 0o644),
            ("package/setup.js", b"require('child_process')\n", 0o644),
            ("package/bin/tool", elf, 0o755),
        ],
        &[("package/escape", "../../../etc/passwd")],
    );
    let files = PackageFiles::collect_bytes(
        "demo-1.0.0.tgz",
        &archive,
        Format::TarGz,
        &Limits::default(),
    )
    .expect("archive reads");
    assert_eq!(files.root(), "package/");
    let tool = files.get("package/bin/tool").unwrap();
    assert_eq!(tool.kind, FileKind::Elf);
    assert!(tool.executable);
    assert_eq!(files.content("package/bin/tool"), None);
    assert_eq!(
        files.content("package/setup.js"),
        Some(b"require('child_process')\n".as_slice())
    );
    let link = files
        .get("package/escape")
        .and_then(|e| e.link.as_ref())
        .expect("link recorded");
    assert!(link.escapes);

    let eco = detect_ecosystem(&files, Some("demo-1.0.0.tgz"));
    assert_eq!(eco, Some(Ecosystem::Npm));
    let facts = manifest::extract(&files, Ecosystem::Npm);
    assert_eq!(facts.name.as_deref(), Some("demo"));
    assert_eq!(facts.install_hooks.len(), 1);
    assert_eq!(facts.install_hooks[0].trigger, HookTrigger::NpmPostinstall);
}

#[test]
fn gem_metadata_and_extension_through_nested_archives() {
    let gemspec = b"--- !ruby/object:Gem::Specification\nname: native\nversion: !ruby/object:Gem::Version\n  version: 0.2.0\n\
extensions:\n- ext/native/extconf.rb\nsummary: Native gem\n";
    let data = gzip(&tar(&[
        ("lib/native.rb", b"require 'native/native'\n"),
        (
            "ext/native/extconf.rb",
            b"require 'mkmf'\ncreate_makefile('native')\n",
        ),
    ]));
    let gem = tar(&[("metadata.gz", &gzip(gemspec)), ("data.tar.gz", &data)]);
    let files =
        PackageFiles::collect_bytes("native-0.2.0.gem", &gem, Format::Gem, &Limits::default())
            .expect("gem reads");
    assert!(
        files.content("metadata.gz!/metadata").is_some(),
        "{:?}",
        files.entries()
    );
    assert_eq!(
        files.get("data.tar.gz!/lib/native.rb").map(|e| e.kind),
        Some(FileKind::Ruby)
    );
    assert_eq!(detect_ecosystem(&files, None), Some(Ecosystem::Rubygems));
    let facts = manifest::extract(&files, Ecosystem::Rubygems);
    assert_eq!(
        (facts.name.as_deref(), facts.version.as_deref()),
        (Some("native"), Some("0.2.0"))
    );
    assert_eq!(facts.install_hooks.len(), 1);
    assert_eq!(facts.install_hooks[0].trigger, HookTrigger::GemExtension);
    assert_eq!(
        facts.install_hooks[0].path,
        "data.tar.gz!/ext/native/extconf.rb"
    );
}
