//! Format detection from magic bytes, then names.

use std::io::Read;

use crate::Format;

const GEM_MEMBERS: [&str; 3] = ["metadata.gz", "data.tar.gz", "checksums.yaml.gz"];

/// What to open. A gzip stream is only told apart as a tarball or a single
/// file by its first decompressed block, which the reader looks at while
/// decompressing it for real (no second decoder for a probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Known(Format),
    /// gzip: [`Format::TarGz`] when the first 512 decompressed bytes are a
    /// tar header, else [`Format::Gzip`]; `unreadable` when the stream fails
    /// before that (it is reported as that format's error).
    Gzip {
        unreadable: Format,
    },
}

impl Sniffed {
    /// The format assumed until the stream says otherwise.
    pub fn guess(self) -> Format {
        match self {
            Self::Known(f) | Self::Gzip { unreadable: f } => f,
        }
    }
}

/// Whether a decompressed first block starts a tarball.
pub(crate) fn gzip_content(block: &[u8]) -> Format {
    if block.len() >= 512 && is_tar_header(block) {
        Format::TarGz
    } else {
        Format::Gzip
    }
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

fn is_bzip2(head: &[u8]) -> bool {
    matches!(head, [b'B', b'Z', b'h', level, ..] if (b'1'..=b'9').contains(level))
}

fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// A tar header block: `ustar` magic, or an old-style header with a valid checksum.
pub(crate) fn is_tar_header(block: &[u8]) -> bool {
    let Some(block) = block.get(..512) else {
        return false;
    };
    if block.get(257..262) == Some(b"ustar".as_slice()) {
        return true;
    }
    if block.first().is_none_or(|&b| b == 0) {
        return false;
    }
    let Some(field) = block.get(148..156) else {
        return false;
    };
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    let Some(stored) = std::str::from_utf8(&digits)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == stored
}

fn first_tar_name(block: &[u8]) -> &[u8] {
    let name = block.get(..100).unwrap_or_default();
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.get(..end).unwrap_or_default()
}

fn is_gem_tar(name: &str, block: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".gem")
        || GEM_MEMBERS
            .iter()
            .any(|m| first_tar_name(block) == m.as_bytes())
}

/// What the first 512 decompressed bytes of a compressed head look like.
enum Inner {
    Tar,
    NotTar,
    Unknown,
}

fn peek_inner(mut reader: impl Read) -> Inner {
    let mut block = [0u8; 512];
    let Ok(filled) = crate::guard::read_full(&mut reader, &mut block) else {
        return Inner::Unknown;
    };
    match block.get(..filled) {
        Some(b) if b.len() == 512 && is_tar_header(b) => Inner::Tar,
        _ => Inner::NotTar,
    }
}

fn name_format(name: &str) -> Option<Format> {
    let n = name.to_ascii_lowercase();
    let ends = |exts: &[&str]| exts.iter().any(|e| n.ends_with(e));
    if ends(&[".tar.gz", ".tgz", ".crate"]) {
        Some(Format::TarGz)
    } else if ends(&[".tar.bz2", ".tbz2", ".tbz"]) {
        Some(Format::TarBz2)
    } else if ends(&[".tar"]) {
        Some(Format::Tar)
    } else if ends(&[".zip", ".whl", ".egg", ".jar"]) {
        Some(Format::Zip)
    } else if ends(&[".gem"]) {
        Some(Format::Gem)
    } else if ends(&[".gz"]) {
        Some(Format::Gzip)
    } else {
        None
    }
}

/// Compressed or archive formats that are recognised but not read.
pub(crate) fn unsupported_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\xfd7zXZ\x00") {
        Some("xz-compressed")
    } else if head.starts_with(b"7z\xbc\xaf\x27\x1c") {
        Some("7z archive")
    } else if head.starts_with(b"\x28\xb5\x2f\xfd") {
        Some("zstd-compressed")
    } else if head.starts_with(b"Rar!\x1a\x07") {
        Some("rar archive")
    } else {
        None
    }
}

/// See [`crate::detect_format`].
pub(crate) fn detect_format(name: &str, head: &[u8]) -> Option<Format> {
    if is_gzip(head) {
        return Some(match peek_inner(flate2::bufread::GzDecoder::new(head)) {
            Inner::Tar => Format::TarGz,
            Inner::NotTar => Format::Gzip,
            Inner::Unknown => match name_format(name) {
                Some(Format::Gzip) => Format::Gzip,
                _ => Format::TarGz,
            },
        });
    }
    if is_bzip2(head) {
        return Some(Format::TarBz2);
    }
    if is_zip(head) {
        return Some(Format::Zip);
    }
    if is_tar_header(head) {
        return Some(if is_gem_tar(name, head) {
            Format::Gem
        } else {
            Format::Tar
        });
    }
    name_format(name)
}

/// [`detect_format`] for reading a file: the same answer, except that a
/// gzip stream is left for the reader to tell apart.
pub(crate) fn sniff_file(name: &str, head: &[u8]) -> Option<Sniffed> {
    if is_gzip(head) {
        let unreadable = match name_format(name) {
            Some(Format::Gzip) => Format::Gzip,
            _ => Format::TarGz,
        };
        return Some(Sniffed::Gzip { unreadable });
    }
    detect_format(name, head).map(Sniffed::Known)
}

/// [`nested_format`] for reading an entry: a gzip stream is left for the
/// reader to tell apart.
pub(crate) fn sniff_nested(name: &str, data: &[u8]) -> Option<Sniffed> {
    if is_gzip(data) {
        return Some(Sniffed::Gzip {
            unreadable: Format::Gzip,
        });
    }
    nested_format(name, data).map(Sniffed::Known)
}

/// The format of an entry's content when it is an archive worth opening.
pub(crate) fn nested_format(name: &str, data: &[u8]) -> Option<Format> {
    if is_gzip(data) {
        return match peek_inner(flate2::bufread::GzDecoder::new(data)) {
            Inner::Tar => Some(Format::TarGz),
            Inner::NotTar | Inner::Unknown => Some(Format::Gzip),
        };
    }
    if is_bzip2(data) {
        return match peek_inner(bzip2::bufread::BzDecoder::new(data)) {
            Inner::Tar => Some(Format::TarBz2),
            Inner::NotTar | Inner::Unknown => None,
        };
    }
    if is_zip(data) {
        return Some(Format::Zip);
    }
    if is_tar_header(data) {
        return Some(if is_gem_tar(name, data) {
            Format::Gem
        } else {
            Format::Tar
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_wins_over_name() {
        assert_eq!(
            detect_format("x.tar.gz", b"PK\x03\x04rest"),
            Some(Format::Zip)
        );
        assert_eq!(detect_format("x.zip", b"BZh91AY&SY"), Some(Format::TarBz2));
        assert_eq!(detect_format("x.whl", b"garbage"), Some(Format::Zip));
        assert_eq!(detect_format("x", b"garbage"), None);
        assert_eq!(detect_format("", b""), None);
    }

    #[test]
    fn truncated_gzip_head_falls_back_to_name() {
        let head = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(detect_format("metadata.gz", &head), Some(Format::Gzip));
        assert_eq!(detect_format("pkg.tgz", &head), Some(Format::TarGz));
    }
}
