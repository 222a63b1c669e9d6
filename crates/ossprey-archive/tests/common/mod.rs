//! Builders for hostile archives, written with the real writers or raw bytes.
#![allow(dead_code)]

use std::io::Write;

use ossprey_archive::{ArchiveError, Entry, EntryKind, Format, Limits, Summary, read_bytes};
use tar::{EntryType, Header};

/// One tar member: raw name bytes, type, content, raw link target.
pub struct Member<'a> {
    pub name: &'a [u8],
    pub kind: EntryType,
    pub data: &'a [u8],
    pub link: &'a [u8],
}

pub fn file<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
    Member {
        name: name.as_bytes(),
        kind: EntryType::Regular,
        data,
        link: b"",
    }
}

pub fn link<'a>(name: &'a str, kind: EntryType, target: &'a str) -> Member<'a> {
    Member {
        name: name.as_bytes(),
        kind,
        data: b"",
        link: target.as_bytes(),
    }
}

/// A GNU tar whose name and link fields are written raw, bypassing the
/// writer's own path checks (which is what an attacker does).
pub fn tar(members: &[Member<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = Header::new_gnu();
        {
            let old = h.as_old_mut();
            old.name = [0; 100];
            old.name[..m.name.len()].copy_from_slice(m.name);
            old.linkname = [0; 100];
            old.linkname[..m.link.len()].copy_from_slice(m.link);
        }
        h.set_entry_type(m.kind);
        h.set_mode(0o644);
        h.set_size(m.data.len() as u64);
        h.set_cksum();
        b.append(&h, m.data).expect("append");
    }
    b.into_inner().expect("finish tar")
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

pub fn gz_best(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

pub fn bz2(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(bytes).expect("bzip2");
    e.finish().expect("bzip2")
}

/// A zip of (name, content) pairs, deflated.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, data) in files {
        w.start_file(*name, opts).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish zip").into_inner()
}

/// What the visitor saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub kind: EntryKind,
    pub len: usize,
    pub depth: u32,
}

impl Seen {
    pub fn of(e: &Entry<'_>) -> Self {
        Self {
            path: e.path.to_owned(),
            kind: e.kind.clone(),
            len: e.data.len(),
            depth: e.depth,
        }
    }
}

pub fn symlink_to(target: &str) -> EntryKind {
    EntryKind::Symlink {
        target: target.to_owned(),
    }
}

pub fn hardlink_to(target: &str) -> EntryKind {
    EntryKind::Hardlink {
        target: target.to_owned(),
    }
}

pub fn read(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
) -> (Vec<Seen>, Result<Summary, ArchiveError>) {
    read_as("test-archive", format, bytes, limits)
}

/// [`read`] with the archive's name (single-file gzip takes its entry name from it).
pub fn read_as(
    name: &str,
    format: Format,
    bytes: &[u8],
    limits: &Limits,
) -> (Vec<Seen>, Result<Summary, ArchiveError>) {
    let mut seen = Vec::new();
    let result = read_bytes(name, bytes, format, limits, &mut |e| {
        seen.push(Seen::of(&e));
        Ok(())
    });
    (seen, result)
}

pub fn paths(seen: &[Seen]) -> Vec<&str> {
    seen.iter().map(|s| s.path.as_str()).collect()
}
