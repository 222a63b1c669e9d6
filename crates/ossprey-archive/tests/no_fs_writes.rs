//! The reader never writes: reading hostile archives from inside an empty
//! working directory leaves it empty and `/etc/passwd` untouched. Its own test
//! binary, because it changes the process's working directory.

mod common;

use common::{file, gz, link, tar, zip};
use ossprey_archive::{Format, Limits, read_bytes, read_path};
use tar::EntryType;

#[test]
fn reading_hostile_archives_writes_nothing() {
    let passwd_before = std::fs::read("/etc/passwd").ok();
    let work = tempfile::tempdir().expect("tempdir");
    let inputs = tempfile::tempdir().expect("tempdir");
    std::env::set_current_dir(work.path()).expect("cd");

    let hostile = tar(&[
        file("../../etc/passwd", b"pwned::0:0"),
        file("/etc/passwd", b"pwned::0:0"),
        link("pkg/link", EntryType::Symlink, "/etc"),
        file("pkg/link/passwd", b"pwned::0:0"),
        link("pkg/shadow", EntryType::Link, "/etc/shadow"),
        link("pkg/up", EntryType::Link, "../x"),
        file("pkg/plain.js", b"x"),
    ]);
    let archives = [
        (Format::Tar, hostile.clone()),
        (Format::TarGz, gz(&hostile)),
        (
            Format::Zip,
            zip(&[("../escape.py", b"x"), ("/abs.py", b"y"), ("ok.py", b"z")]),
        ),
        (Format::Gzip, gz(b"payload")),
    ];
    for (format, bytes) in &archives {
        let _ = read_bytes("hostile", bytes, *format, &Limits::default(), &mut |_| {
            Ok(())
        });
        let on_disk = inputs.path().join(format!("hostile-{format:?}"));
        std::fs::write(&on_disk, bytes).expect("write input");
        let _ = read_path(&on_disk, &Limits::default(), &mut |_| Ok(()));
    }
    let _ = read_path(work.path(), &Limits::default(), &mut |_| Ok(()));

    let left: Vec<_> = std::fs::read_dir(work.path())
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "reader created {left:?}");
    assert_eq!(std::fs::read("/etc/passwd").ok(), passwd_before);
    assert!(std::fs::symlink_metadata(work.path().join("pkg")).is_err());
    std::env::set_current_dir("/").expect("cd /");
}
