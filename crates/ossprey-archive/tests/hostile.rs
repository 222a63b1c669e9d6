//! Hostile and odd archives: every test here fails if the matching guard is
//! removed.

mod common;

use std::io::Write;

use common::{
    Member, Seen, bz2, file, gz, gz_best, hardlink_to, link, paths, read, read_as, symlink_to, tar,
    zip,
};
use ossprey_archive::{
    ArchiveError, Format, LimitKind, Limits, NoteKind, Summary, detect_format, fuzz_one,
    read_bytes, read_path,
};
use tar::EntryType;

fn ok(result: Result<Summary, ArchiveError>) -> Summary {
    match result {
        Ok(s) => s,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn note_kinds(s: &Summary) -> Vec<NoteKind> {
    s.notes.iter().map(|n| n.kind).collect()
}

fn limit_of(result: &Result<Summary, ArchiveError>) -> Option<LimitKind> {
    match result {
        Err(ArchiveError::Limit { limit, .. }) => Some(*limit),
        _ => None,
    }
}

fn small_limits() -> Limits {
    Limits {
        max_total_bytes: 10_000,
        max_file_bytes: 1_000,
        max_entries: 100,
        max_ratio: 200,
        ratio_floor_bytes: 1 << 20,
        max_depth: 4,
    }
}

#[test]
fn path_traversal_entries_are_skipped_with_a_note() {
    let t = tar(&[
        file("../../etc/x", b"owned"),
        file("pkg/../../y", b"owned"),
        file("pkg/ok.js", b"fine"),
    ]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    let s = ok(r);
    assert_eq!(paths(&seen), ["pkg/ok.js"]);
    assert_eq!(
        note_kinds(&s),
        [NoteKind::PathTraversal, NoteKind::PathTraversal]
    );
    assert_eq!(s.notes[0].path, "../../etc/x");
    assert_eq!(s.entries, 3);

    let z = zip(&[("..\\..\\evil.bat", b"x"), ("ok.py", b"y")]);
    let (seen, r) = read(Format::Zip, &z, &Limits::default());
    assert_eq!(note_kinds(&ok(r)), [NoteKind::PathTraversal]);
    assert_eq!(paths(&seen), ["ok.py"]);
}

#[test]
fn absolute_and_drive_paths_are_skipped() {
    let t = tar(&[
        file("/etc/passwd", b"root::0:0"),
        file("C:/Windows/x", b"x"),
        file("./pkg//./a.js", b"a"),
    ]);
    let (seen, r) = read(Format::TarGz, &gz(&t), &Limits::default());
    let s = ok(r);
    assert_eq!(paths(&seen), ["pkg/a.js"]);
    assert_eq!(
        note_kinds(&s),
        [NoteKind::AbsolutePath, NoteKind::AbsolutePath]
    );
}

#[test]
fn control_bytes_in_names_are_skipped() {
    let t = tar(&[file("a\nb", b"x"), file("ok", b"y")]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(note_kinds(&ok(r)), [NoteKind::BadName]);
    assert_eq!(paths(&seen), ["ok"]);
}

#[test]
fn file_through_a_symlink_to_etc_is_noted_and_visited_by_its_literal_name() {
    let t = tar(&[
        link("pkg/link", EntryType::Symlink, "/etc"),
        file("pkg/link/passwd", b"root::0:0:::/bin/sh"),
        link("pkg/rel", EntryType::Symlink, "../../up"),
        link("pkg/fine", EntryType::Symlink, "sub/file"),
    ]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    let s = ok(r);
    assert_eq!(seen[0].kind, symlink_to("/etc"));
    assert_eq!(seen[1].path, "pkg/link/passwd");
    assert_eq!(seen[1].len, 19);
    assert_eq!(seen.len(), 4);
    assert_eq!(
        note_kinds(&s),
        [
            NoteKind::LinkEscapes,
            NoteKind::ThroughSymlink,
            NoteKind::LinkEscapes
        ]
    );
    assert_eq!(s.notes[1].path, "pkg/link/passwd");
    assert_eq!(s.notes[2].path, "pkg/rel");
}

#[test]
fn hardlinks_out_of_the_root_are_recorded_not_resolved() {
    let t = tar(&[
        file("pkg/a", b"a"),
        link("pkg/shadow", EntryType::Link, "/etc/shadow"),
        link("pkg/up", EntryType::Link, "../x"),
        link("pkg/b", EntryType::Link, "pkg/a"),
    ]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    let s = ok(r);
    assert_eq!(seen[1].kind, hardlink_to("/etc/shadow"));
    assert_eq!(seen[1].len, 0);
    assert_eq!(seen[2].kind, hardlink_to("../x"));
    assert_eq!(
        note_kinds(&s),
        [NoteKind::LinkEscapes, NoteKind::LinkEscapes]
    );
    assert_eq!(s.notes[0].path, "pkg/shadow");
    assert_eq!(s.notes[1].path, "pkg/up");
}

#[test]
fn special_files_are_skipped() {
    let t = tar(&[
        link("dev/null", EntryType::Char, ""),
        link("pipe", EntryType::Fifo, ""),
        file("ok", b""),
    ]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(
        note_kinds(&ok(r)),
        [NoteKind::SpecialFile, NoteKind::SpecialFile]
    );
    assert_eq!(paths(&seen), ["ok"]);
}

fn zeros_zip(n: usize) -> Vec<u8> {
    zip(&[("bomb.bin", &vec![0u8; n])])
}

#[test]
fn zip_bomb_stops_on_ratio_with_default_limits() {
    let bomb = zeros_zip(64 << 20);
    assert!(
        bomb.len() < 1 << 20,
        "deflated zeros are small: {}",
        bomb.len()
    );
    let (seen, r) = read(Format::Zip, &bomb, &Limits::default());
    assert_eq!(limit_of(&r), Some(LimitKind::Ratio), "{r:?}");
    assert!(seen.is_empty());
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("test-archive") && msg.contains("bomb.bin") && msg.contains("200"),
        "{msg}"
    );
}

#[test]
fn gzip_bomb_stops_on_ratio_while_decompressing() {
    let t = tar(&[file("bomb.bin", &vec![0u8; 64 << 20])]);
    let (_, r) = read(Format::TarGz, &gz_best(&t), &Limits::default());
    assert_eq!(limit_of(&r), Some(LimitKind::Ratio), "{r:?}");
    // The same bytes under a looser ratio are fine: the ratio is what stopped it.
    let loose = Limits {
        max_ratio: 10_000,
        ..Limits::default()
    };
    let (seen, r) = read(Format::TarGz, &gz_best(&t), &loose);
    ok(r);
    assert_eq!(seen[0].len, 64 << 20);
}

#[test]
fn a_million_tiny_entries_hit_the_entry_limit() {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for i in 0..1_000_000u32 {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..10].copy_from_slice(format!("f{i:09}").as_bytes());
        h.set_size(0);
        h.set_entry_type(EntryType::Regular);
        h.set_cksum();
        b.append(&h, std::io::empty()).expect("append");
    }
    let tgz = b.into_inner().and_then(|e| e.finish()).expect("finish");
    let mut visited = 0u64;
    let r = read_bytes(
        "million.tgz",
        &tgz,
        Format::TarGz,
        &Limits::default(),
        &mut |_| {
            visited += 1;
            Ok(())
        },
    );
    assert_eq!(limit_of(&r), Some(LimitKind::Entries), "{r:?}");
    assert_eq!(visited, 200_000);
}

/// Wraps `inner` (named `name`) `levels` times, alternating zip and tar.gz.
fn nest(levels: usize) -> Vec<u8> {
    let mut bytes = zip(&[("core.py", b"print(1)")]);
    for i in 0..levels {
        bytes = if i % 2 == 0 {
            gz(&tar(&[file("inner.zip", &bytes)]))
        } else {
            zip(&[("inner.tgz", &bytes)])
        };
    }
    bytes
}

#[test]
fn nested_archives_open_with_bang_paths() {
    let outer = nest(2);
    let (seen, r) = read(Format::Zip, &outer, &Limits::default());
    ok(r);
    assert_eq!(
        paths(&seen),
        [
            "inner.tgz",
            "inner.tgz!/inner.zip",
            "inner.tgz!/inner.zip!/core.py"
        ]
    );
    assert_eq!(seen.iter().map(|s| s.depth).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn ten_deep_nesting_hits_the_depth_limit() {
    let outer = nest(10);
    let (seen, r) = read(Format::Zip, &outer, &Limits::default());
    assert_eq!(limit_of(&r), Some(LimitKind::Depth), "{r:?}");
    // Depth 0..=4 were visited before the fifth nested archive was refused.
    assert_eq!(seen.iter().map(|s| s.depth).max(), Some(4));
}

#[test]
fn nested_archives_share_the_entry_budget() {
    let inner = tar(&(0..60).map(|_| file("x", b"")).collect::<Vec<_>>());
    let outer = zip(&[("a.tar", &inner), ("b.tar", &inner)]);
    let limits = Limits {
        max_entries: 100,
        ..Limits::default()
    };
    let (seen, r) = read(Format::Zip, &outer, &limits);
    assert_eq!(limit_of(&r), Some(LimitKind::Entries), "{r:?}");
    assert_eq!(seen.len(), 100);
}

#[test]
fn truncated_gzip_is_malformed() {
    let t = gz(&tar(&[
        file("pkg/a.js", &[7u8; 40_000]),
        file("pkg/b.js", b"b"),
    ]));
    for cut in [t.len() / 2, t.len() - 4, 30] {
        let (_, r) = read(Format::TarGz, &t[..cut], &Limits::default());
        match r {
            Err(ArchiveError::Malformed { path, .. }) => assert_eq!(path, "test-archive"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn truncated_plain_tar_is_malformed() {
    let t = tar(&[file("pkg/a.js", &[7u8; 4_000])]);
    let (_, r) = read(Format::Tar, &t[..2_000], &Limits::default());
    assert!(matches!(r, Err(ArchiveError::Malformed { .. })), "{r:?}");
}

#[test]
fn corrupt_zip_central_directory_is_malformed() {
    let mut z = zip(&[("a.py", b"x")]);
    let len = z.len();
    z.truncate(len - 10);
    let (_, r) = read(Format::Zip, &z, &Limits::default());
    let e = r.expect_err("error");
    assert_eq!(e.code(), "archive-malformed", "{e}");
}

#[test]
fn invalid_utf8_names_are_decoded_lossily() {
    let t = tar(&[Member {
        name: b"pkg/\xff\xfe.js",
        kind: EntryType::Regular,
        data: b"x",
        link: b"",
    }]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(note_kinds(&ok(r)), [NoteKind::InvalidUtf8Name]);
    assert_eq!(paths(&seen), ["pkg/\u{fffd}\u{fffd}.js"]);
}

#[test]
fn duplicate_names_are_both_visited() {
    let t = tar(&[file("pkg/a.js", b"one"), file("./pkg//a.js", b"second")]);
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    let s = ok(r);
    assert_eq!(paths(&seen), ["pkg/a.js", "pkg/a.js"]);
    assert_eq!(seen[1].len, 6);
    assert_eq!(note_kinds(&s), [NoteKind::DuplicateName]);
}

#[test]
fn tar_header_declaring_more_than_max_file_bytes_stops_at_the_limit() {
    // Declares 1 MiB but the archive ends long before: the limit fires on
    // bytes actually read, not on the header's word.
    let mut t = tar(&[file("big.bin", &[1u8; 5_000])]);
    let mut h = tar::Header::new_gnu();
    h.as_mut_bytes().copy_from_slice(&t[..512]);
    h.set_size(1 << 20);
    h.set_cksum();
    t[..512].copy_from_slice(h.as_bytes());
    let (seen, r) = read(Format::Tar, &t, &small_limits());
    assert_eq!(limit_of(&r), Some(LimitKind::FileBytes), "{r:?}");
    assert!(seen.is_empty());
}

#[test]
fn zip_entry_lying_about_its_size_stops_at_the_limit() {
    let mut z = zip(&[("big.bin", &[b'a'; 50_000])]);
    // Patch the declared uncompressed size (local header at 22, central at 24)
    // down to 10 bytes.
    z[22..26].copy_from_slice(&10u32.to_le_bytes());
    let cd = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    z[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
    let (seen, r) = read(Format::Zip, &z, &small_limits());
    assert!(seen.is_empty());
    // Either our limit fires or the zip reader rejects the lie; both refuse to
    // hand over more than max_file_bytes.
    match r {
        Err(ArchiveError::Limit {
            limit: LimitKind::FileBytes,
            ..
        })
        | Err(ArchiveError::Malformed { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn total_bytes_limit_applies_across_entries() {
    let files: Vec<_> = (0..20).map(|_| file("f", &[3u8; 900])).collect();
    let (seen, r) = read(Format::Tar, &tar(&files), &small_limits());
    assert_eq!(limit_of(&r), Some(LimitKind::TotalBytes), "{r:?}");
    assert_eq!(seen.len(), 11);
}

#[test]
fn oversized_pax_header_is_bounded() {
    // A GNU long-name entry of 4 MiB: the tar parser would buffer it whole.
    let big = vec![b'a'; 4 << 20];
    let t = tar(&[
        Member {
            name: b"././@LongLink",
            kind: EntryType::GNULongName,
            data: &big,
            link: b"",
        },
        file("x", b"y"),
    ]);
    let (_, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(limit_of(&r), Some(LimitKind::TotalBytes), "{r:?}");
}

#[test]
fn directory_input_records_symlinks_out_without_following_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("pkg")).expect("mkdir");
    std::fs::write(dir.path().join("pkg/index.js"), b"require('x')").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("pkg/passwd")).expect("symlink");
    std::os::unix::fs::symlink("/etc", dir.path().join("pkg/etc")).expect("symlink");
    let mut seen = Vec::new();
    let s = ok(read_path(dir.path(), &Limits::default(), &mut |e| {
        seen.push(Seen::of(&e));
        Ok(())
    }));
    assert_eq!(paths(&seen), ["pkg/etc", "pkg/index.js", "pkg/passwd"]);
    assert_eq!(seen[2].kind, symlink_to("/etc/passwd"));
    assert_eq!(seen[2].len, 0);
    assert_eq!(
        note_kinds(&s),
        [NoteKind::LinkEscapes, NoteKind::LinkEscapes]
    );
    assert_eq!(s.entries, 4);
}

fn gem_bytes() -> Vec<u8> {
    let data = gz(&tar(&[
        file("lib/foo.rb", b"puts 1"),
        file("ext/extconf.rb", b"system('curl x')"),
    ]));
    let meta = gz(b"--- !ruby/object:Gem::Specification\nname: foo\n");
    let sums = gz(b"---\nSHA256: {}\n");
    tar(&[
        file("metadata.gz", &meta),
        file("data.tar.gz", &data),
        file("checksums.yaml.gz", &sums),
    ])
}

#[test]
fn gem_members_are_opened_without_costing_depth() {
    let gem = gem_bytes();
    assert_eq!(detect_format("foo-1.0.gem", &gem), Some(Format::Gem));
    assert_eq!(detect_format("unnamed", &gem), Some(Format::Gem));
    let (seen, r) = read(Format::Gem, &gem, &Limits::default());
    ok(r);
    assert_eq!(
        paths(&seen),
        [
            "metadata.gz",
            "metadata.gz!/metadata",
            "data.tar.gz",
            "data.tar.gz!/lib/foo.rb",
            "data.tar.gz!/ext/extconf.rb",
            "checksums.yaml.gz",
            "checksums.yaml.gz!/checksums.yaml",
        ]
    );
    assert_eq!(seen[3].depth, 1);
    // With max_depth 0 the gem's members still open; anything nested below fails.
    let limits = Limits {
        max_depth: 0,
        ..Limits::default()
    };
    let (_, r) = read(Format::Gem, &gem, &limits);
    ok(r);
    let outer = zip(&[("vendor/foo.gem", &gem)]);
    let (_, r) = read(Format::Zip, &outer, &limits);
    assert_eq!(limit_of(&r), Some(LimitKind::Depth));
}

#[test]
fn wheel_is_read_as_zip_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whl = dir.path().join("foo-1.0-py3-none-any.whl");
    std::fs::write(
        &whl,
        zip(&[
            ("foo/__init__.py", b"import os"),
            ("foo-1.0.dist-info/METADATA", b"Name: foo"),
        ]),
    )
    .expect("write");
    let mut got = Vec::new();
    let s = ok(read_path(&whl, &Limits::default(), &mut |e| {
        got.push((e.path.to_owned(), e.data.to_vec()));
        Ok(())
    }));
    assert_eq!(
        got[0],
        ("foo/__init__.py".to_owned(), b"import os".to_vec())
    );
    assert_eq!(got.len(), 2);
    assert_eq!(s.total_bytes, 18);
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    let t = tar(&[file("a", &[1u8; 3000]), file("b", &[2u8; 3000])]);
    let (first, second) = t.split_at(1536);
    let mut two = gz(first);
    two.extend(gz(second));
    let (seen, r) = read(Format::TarGz, &two, &Limits::default());
    ok(r);
    assert_eq!(paths(&seen), ["a", "b"]);

    let mut single = gz(b"hello ");
    single.extend(gz(b"world"));
    let (seen, r) = read_as("payload.js.gz", Format::Gzip, &single, &Limits::default());
    ok(r);
    assert_eq!(paths(&seen), ["payload.js"]);
    assert_eq!(seen[0].len, 11);
}

#[test]
fn bzip2_tarball_is_read() {
    let t = bz2(&tar(&[file("setup.py", b"import os")]));
    assert_eq!(detect_format("x", &t), Some(Format::TarBz2));
    let (seen, r) = read(Format::TarBz2, &t, &Limits::default());
    ok(r);
    assert_eq!(paths(&seen), ["setup.py"]);
}

#[test]
fn detect_format_uses_magic_then_name() {
    let t = tar(&[file("a", b"b")]);
    assert_eq!(detect_format("x.tgz", &gz(&t)), Some(Format::TarGz));
    assert_eq!(detect_format("x.gz", &gz(&t)), Some(Format::TarGz));
    assert_eq!(detect_format("x.gz", &gz(b"just text")), Some(Format::Gzip));
    assert_eq!(detect_format("x", &t), Some(Format::Tar));
    assert_eq!(detect_format("x", &zip(&[("a", b"b")])), Some(Format::Zip));
    assert_eq!(detect_format("x.crate", b""), Some(Format::TarGz));
    assert_eq!(detect_format("x.egg", b""), Some(Format::Zip));
    assert_eq!(detect_format("x.txt", b"hello"), None);
}

#[test]
fn encrypted_zip_entry_is_visited_empty() {
    let mut z = zip(&[("secret.py", b"import os; os.system('x')")]);
    // Set the "encrypted" general-purpose flag bit in both headers.
    z[6] |= 1;
    let cd = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    z[cd + 8] |= 1;
    let (seen, r) = read(Format::Zip, &z, &Limits::default());
    let s = ok(r);
    assert_eq!(note_kinds(&s), [NoteKind::Encrypted]);
    assert_eq!(paths(&seen), ["secret.py"]);
    assert_eq!(seen[0].len, 0);
}

#[test]
fn malformed_nested_archive_is_a_note_not_a_failure() {
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let whole = gz(&tar(&[file("a", &noise)]));
    let broken = &whole[..whole.len() / 2];
    let outer = tar(&[file("fixtures/broken.tgz", broken), file("after.js", b"x")]);
    let (seen, r) = read(Format::Tar, &outer, &Limits::default());
    let s = ok(r);
    assert_eq!(note_kinds(&s), [NoteKind::MalformedNested]);
    assert_eq!(paths(&seen), ["fixtures/broken.tgz", "after.js"]);
}

#[test]
fn visitor_error_aborts_the_read() {
    let t = tar(&[file("a", b"1"), file("b", b"2")]);
    let mut calls = 0;
    let r = read_bytes("t.tar", &t, Format::Tar, &Limits::default(), &mut |_| {
        calls += 1;
        Err("enough".to_owned())
    });
    assert_eq!(calls, 1);
    match r {
        Err(e @ ArchiveError::Visitor { .. }) => assert_eq!(e.code(), "archive-visitor"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_is_rejected_without_panicking() {
    for format in [Format::TarGz, Format::TarBz2, Format::Zip, Format::Gzip] {
        let (_, r) = read(format, b"this is not an archive at all", &Limits::default());
        assert!(r.is_err(), "{format:?}");
    }
    let (_, r) = read(Format::Directory, b"", &Limits::default());
    assert_eq!(r.err().map(|e| e.code()), Some("archive-unsupported"));
}

#[test]
fn fuzz_body_runs_over_seeds() {
    let seeds: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"PK\x05\x06".to_vec(),
        gz(&tar(&[file("a", b"b")])),
        gem_bytes(),
        nest(3),
        zeros_zip(1 << 20),
        bz2(b"x"),
        tar(&[link("l", EntryType::Symlink, "/"), file("l/x", b"")]),
    ];
    for seed in &seeds {
        fuzz_one(seed);
        // Corrupted copies of each seed too.
        for i in (0..seed.len()).step_by(7) {
            let mut bad = seed.clone();
            bad[i] ^= 0x55;
            fuzz_one(&bad);
            fuzz_one(&seed[..i]);
        }
    }
    let mut w = Vec::new();
    w.write_all(b"ok").expect("write");
}

#[test]
fn overlong_pax_names_are_skipped_not_stored() {
    // Names of 100 KiB (GNU long names): kept, 200,000 of them would fill
    // memory; they are skipped with a note cut to 256 chars.
    let long = vec![b'n'; 100 << 10];
    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(Member {
            name: b"././@LongLink",
            kind: EntryType::GNULongName,
            data: &long,
            link: b"",
        });
        members.push(file("x", b"y"));
    }
    let (seen, r) = read(Format::Tar, &tar(&members), &Limits::default());
    let s = ok(r);
    assert!(seen.is_empty());
    assert_eq!(note_kinds(&s), [NoteKind::BadName; 3]);
    assert!(s.notes.iter().all(|n| n.path.len() < 300));
}

#[test]
fn xz_sdist_named_tar_gz_is_unsupported_not_malformed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("pkg-1.0.tar.gz");
    std::fs::write(&p, b"\xfd7zXZ\x00\x00\x04rest").expect("write");
    let r = read_path(&p, &Limits::default(), &mut |_| Ok(()));
    assert_eq!(r.err().map(|e| e.code()), Some("archive-unsupported"));
    let empty = dir.path().join("empty.tar.gz");
    std::fs::write(&empty, b"").expect("write");
    let r = read_path(&empty, &Limits::default(), &mut |_| Ok(()));
    assert_eq!(r.err().map(|e| e.code()), Some("archive-malformed"));
}

#[test]
fn single_gzip_file_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("metadata.gz");
    std::fs::write(&p, gz(b"name: foo\n")).expect("write");
    let mut got = Vec::new();
    ok(read_path(&p, &Limits::default(), &mut |e| {
        got.push((e.path.to_owned(), e.data.to_vec()));
        Ok(())
    }));
    assert_eq!(got, [("metadata".to_owned(), b"name: foo\n".to_vec())]);
}

/// A tar of `count` files named by `name(i)` (GNU long names when needed).
fn long_named_tar(count: usize, name: impl Fn(usize) -> String) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "a", "elsewhere").expect("symlink");
    for i in 0..count {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        b.append_data(&mut h, name(i), std::io::empty())
            .expect("append");
    }
    b.into_inner().expect("finish tar")
}

#[test]
fn deep_paths_under_a_symlink_are_checked_in_linear_time() {
    // 3,000 entries of 2,000 components each below a symlink `a`: checking
    // every prefix against the symlinks by hashing it anew was quadratic
    // per path (minutes); one incremental hash per path takes milliseconds.
    let deep = "b/".repeat(2_000);
    let t = long_named_tar(3_000, |i| format!("{deep}{i}"));
    let start = std::time::Instant::now();
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    let s = ok(r);
    assert_eq!(seen.len(), 3_001);
    assert!(s.notes.is_empty(), "{:?}", s.notes.first());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    // Still found when it is the symlink that is passed through.
    let t = long_named_tar(1, |_| format!("a/{deep}x"));
    let (_, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(note_kinds(&ok(r)), [NoteKind::ThroughSymlink]);
}

#[test]
fn long_entry_names_are_charged_to_a_name_budget() {
    // 17,000 names of 4,000 bytes: 68 MB of names (kept in the duplicate
    // set, the notes and by the visitor) that no content limit counted.
    let stem = "n".repeat(3_990);
    let t = long_named_tar(17_000, |i| format!("{stem}{i:05}"));
    let (seen, r) = read(Format::Tar, &t, &Limits::default());
    assert_eq!(limit_of(&r), Some(LimitKind::TotalBytes), "{r:?}");
    assert!(seen.len() < 17_000);
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("entry names"), "{msg}");
}

#[test]
fn zip_with_more_central_headers_than_the_entry_budget_is_refused_before_parsing() {
    // 150 entries against a budget of 100, with the end record cut off: the
    // zip reader would parse the whole central directory (and then fail);
    // the budget refuses it before.
    let names: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let mut z = zip(&files);
    z.truncate(z.len() - 10);
    let limits = Limits {
        max_entries: 100,
        ..Limits::default()
    };
    let (seen, r) = read(Format::Zip, &z, &limits);
    assert_eq!(limit_of(&r), Some(LimitKind::Entries), "{r:?}");
    assert!(seen.is_empty());
}

#[test]
fn gzip_kind_is_told_from_the_stream_not_a_second_probe() {
    // A `.gz` that holds a tarball is read as one; a `.tgz` that holds one
    // file is read as that file; a corrupt stream is malformed, not empty.
    let dir = tempfile::tempdir().expect("tempdir");
    let tarball = dir.path().join("odd.gz");
    std::fs::write(&tarball, gz(&tar(&[file("pkg/a.js", b"1")]))).expect("write");
    let single = dir.path().join("odd.tgz");
    std::fs::write(&single, gz(b"just text")).expect("write");
    let broken = dir.path().join("broken.tgz");
    let mut bytes = gz(&[7u8; 2_000]);
    bytes.truncate(12);
    std::fs::write(&broken, bytes).expect("write");
    for (path, want) in [(&tarball, "pkg/a.js"), (&single, "odd.tgz")] {
        let mut got = Vec::new();
        ok(read_path(path, &Limits::default(), &mut |e| {
            got.push(e.path.to_owned());
            Ok(())
        }));
        assert_eq!(got, [want]);
    }
    let r = read_path(&broken, &Limits::default(), &mut |_| Ok(()));
    assert_eq!(r.err().map(|e| e.code()), Some("archive-malformed"));
}
