//! What a file is: magic bytes first, then the name, then the shebang, then a
//! look at the content.
//!
//! Magic wins over the name because a disguised binary (`payload.js` that is an
//! ELF) is exactly what ossprey must notice. Only the first few KiB are read:
//! classification must stay cheap on large files.

use ossprey_model::FileKind;

/// How much of a file the text sniffer looks at.
const SNIFF_BYTES: usize = 8 << 10;

/// Unix file-type bits of a mode, and the symlink type (zip stores it this way).
const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// Classifies one file from its path, content and (when recorded) Unix mode.
pub fn classify(path: &str, data: &[u8], mode: Option<u32>) -> FileKind {
    if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
        return FileKind::Link;
    }
    if data.is_empty() {
        return FileKind::Empty;
    }
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    if let Some(kind) = by_magic(data, &lower) {
        return kind;
    }
    if let Some(kind) = by_name(name, &lower, data) {
        return kind;
    }
    if let Some(kind) = by_shebang(data) {
        return kind;
    }
    sniff(data)
}

/// The last component of a path (`a.tgz!/x/y.js` → `y.js`).
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn by_magic(data: &[u8], lower_name: &str) -> Option<FileKind> {
    use FileKind as K;
    let starts = |m: &[u8]| data.starts_with(m);
    if starts(b"\x7fELF") {
        return Some(K::Elf);
    }
    if starts(b"MZ") {
        // A real PE has `PE\0\0` at the offset stored at 0x3c; a bare `MZ` is
        // just as likely the start of a text file.
        if let Some(off) = le32(data, 0x3c)
            && let Ok(off) = usize::try_from(off)
            && data.get(off..off.saturating_add(4)) == Some(b"PE\0\0".as_slice())
        {
            return Some(K::Pe);
        }
    }
    match be32(data, 0) {
        Some(0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe | 0xcafe_babf) => {
            return Some(K::Macho);
        }
        Some(0xcafe_babe) => {
            // Fat Mach-O and Java class files share this magic. A fat header
            // follows it with a small architecture count; a class file with
            // its version (minor << 16 | major, major >= 45). `file(1)` uses
            // the same cut-off.
            return Some(match be32(data, 4) {
                Some(1..=30) => K::Macho,
                Some(n) if n >= 45 => K::JavaClass,
                _ if lower_name.ends_with(".class") => K::JavaClass,
                _ => K::Binary,
            });
        }
        _ => {}
    }
    if starts(b"\0asm") {
        return Some(K::Wasm);
    }
    if is_archive(data) {
        return Some(K::Archive);
    }
    if starts(b"\x89PNG\r\n\x1a\n")
        || starts(b"\xff\xd8\xff")
        || starts(b"GIF87a")
        || starts(b"GIF89a")
        || (data.len() >= 12 && starts(b"RIFF") && &data[8..12] == b"WEBP")
        || (starts(b"\0\0\x01\0") && data.len() > 6 && data[4..6] != [0, 0])
    {
        return Some(K::Image);
    }
    if starts(b"wOFF") || starts(b"wOF2") || starts(b"OTTO") || starts(b"ttcf") {
        return Some(K::Font);
    }
    // `\0\x01\0\0` (TrueType) is too plain to trust without the name; `true`
    // (old Apple TrueType) is an English word.
    if (starts(b"\0\x01\0\0") || starts(b"true"))
        && [".ttf", ".otf", ".ttc", ".dfont"]
            .iter()
            .any(|e| lower_name.ends_with(e))
    {
        return Some(K::Font);
    }
    if is_pyc(data) {
        return Some(K::PythonBytecode);
    }
    None
}

fn is_archive(data: &[u8]) -> bool {
    let starts = |m: &[u8]| data.starts_with(m);
    starts(b"PK\x03\x04")
        || starts(b"PK\x05\x06")
        || starts(b"PK\x07\x08")
        || starts(b"\x1f\x8b\x08")
        // bzip2: `BZh1`..`BZh9`, then a block or end-of-stream magic, so text
        // that happens to start with "BZh" is not taken for it.
        || (data.len() >= 10
            && starts(b"BZh")
            && (b'1'..=b'9').contains(&data[3])
            && (&data[4..10] == b"1AY&SY" || &data[4..10] == b"\x17rE8P\x90"))
        || starts(b"\xfd7zXZ\0")
        || starts(b"7z\xbc\xaf\x27\x1c")
        || starts(b"Rar!\x1a\x07")
        || starts(b"\x28\xb5\x2f\xfd")
        || data.get(257..262) == Some(b"ustar".as_slice())
}

/// CPython bytecode: a 2-byte little-endian magic number, then `\r\n`.
fn is_pyc(data: &[u8]) -> bool {
    if data.len() < 4 || &data[2..4] != b"\r\n" {
        return false;
    }
    let magic = u16::from_le_bytes([data[0], data[1]]);
    // 3.0 starts at 3000 and 3.14 is near 3620; 62211 is Python 2.7.
    (2900..=4200).contains(&magic) || magic == 62211
}

fn by_name(name: &str, lower: &str, data: &[u8]) -> Option<FileKind> {
    use FileKind as K;
    match name {
        "Rakefile" | "Gemfile" | "Guardfile" | "Podfile" => return Some(K::Ruby),
        "PKG-INFO" | "METADATA" | "LICENSE" | "LICENCE" | "COPYING" | "NOTICE" | "AUTHORS" => {
            return Some(K::Text);
        }
        _ => {}
    }
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "py" | "pyw" | "pyi" => K::Python,
        "pth" => {
            // Python's `site` runs the lines of a .pth file that start with
            // `import`; any other .pth is a list of paths.
            if pth_has_import_line(data) {
                K::Python
            } else {
                K::Text
            }
        }
        "pyc" | "pyo" => K::PythonBytecode,
        "js" | "mjs" | "cjs" | "jsx" => K::Javascript,
        "ts" | "tsx" | "mts" | "cts" => K::Typescript,
        "sh" | "bash" | "zsh" | "ksh" | "command" => K::Shell,
        "ps1" | "psm1" | "psd1" => K::Powershell,
        "bat" | "cmd" => K::Batch,
        "rb" | "gemspec" | "rake" | "ru" => K::Ruby,
        "rs" => K::Rust,
        "c" | "h" => K::C,
        "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => K::Cpp,
        "go" => K::Go,
        "java" => K::Java,
        "json" | "jsonc" | "json5" => K::Json,
        "toml" => K::Toml,
        "yml" | "yaml" => K::Yaml,
        "xml" | "svg" | "plist" | "xsd" => K::Xml,
        "html" | "htm" | "xhtml" => K::Html,
        "css" | "scss" | "less" => K::Css,
        "md" | "markdown" | "mdx" | "rst" => K::Markdown,
        "txt" | "cfg" | "ini" | "in" | "csv" | "license" => K::Text,
        _ => return None,
    })
}

/// Whether a `.pth` file has a line that `site.py` executes.
///
/// `site` reads the file as text and splits it like `str.splitlines` (3.13+) or
/// universal newlines (older): a line starts after `\n`, `\r`, and, for
/// `splitlines`, `\v`, `\f`, `\x1c`–`\x1e`, U+0085, U+2028 and U+2029. Since
/// 3.13 a UTF-8 byte-order mark before the first line is dropped too. Splitting
/// only on `\n` would miss an import line hidden behind a bare `\r`.
pub(crate) fn pth_has_import_line(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let starts_line = |i: usize| {
        i == 0
            || matches!(data[i - 1], b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e)
            || data[..i].ends_with(b"\xc2\x85")
            || data[..i].ends_with(b"\xe2\x80\xa8")
            || data[..i].ends_with(b"\xe2\x80\xa9")
    };
    data.windows(7)
        .enumerate()
        .any(|(i, w)| (w == b"import " || w == b"import\t") && starts_line(i))
}

fn by_shebang(data: &[u8]) -> Option<FileKind> {
    use FileKind as K;
    let rest = data.strip_prefix(b"#!")?;
    let line = &rest[..rest
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(rest.len())
        .min(256)];
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_ascii_whitespace();
    let mut program = file_name(words.next()?);
    if program == "env" {
        // `#!/usr/bin/env -S VAR=1 python3 -u`: skip options and assignments.
        program = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
        program = file_name(program);
    }
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match base {
        "python" | "pypy" | "pythonw" => K::Python,
        "node" | "nodejs" | "deno" | "bun" => K::Javascript,
        "ts-node" | "tsx" => K::Typescript,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "fish" | "busybox" => K::Shell,
        "ruby" | "jruby" => K::Ruby,
        "pwsh" | "powershell" => K::Powershell,
        _ => return None,
    })
}

/// Text or binary, from the first [`SNIFF_BYTES`].
fn sniff(data: &[u8]) -> FileKind {
    if data.starts_with(b"\xff\xfe") || data.starts_with(b"\xfe\xff") {
        return FileKind::Text; // UTF-16 with a byte-order mark
    }
    let head = &data[..data.len().min(SNIFF_BYTES)];
    if head.contains(&0) {
        return FileKind::Binary;
    }
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Cut in the middle of a character by the sniff window: still text.
        Err(e) => e.error_len().is_none() && head.len() < data.len(),
    };
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b | 0x08))
        .count();
    if utf8 {
        // Valid UTF-8 with many control bytes is still binary (e.g. packed integers).
        return if control * 100 <= head.len() {
            FileKind::Text
        } else {
            FileKind::Binary
        };
    }
    // Latin-1 and friends: mostly printable ASCII.
    let printable = head
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    if printable * 100 >= head.len() * 95 {
        FileKind::Text
    } else {
        FileKind::Binary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FileKind as K;

    fn pe_image() -> Vec<u8> {
        let mut d = vec![0u8; 0x100];
        d[..2].copy_from_slice(b"MZ");
        d[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        d[0x80..0x84].copy_from_slice(b"PE\0\0");
        d
    }

    #[test]
    fn native_executables_by_magic_whatever_the_name() {
        assert_eq!(classify("lib/x.js", b"\x7fELF\x02\x01\x01\0", None), K::Elf);
        assert_eq!(classify("a.dll", &pe_image(), None), K::Pe);
        assert_eq!(
            classify("bin/tool", b"\xcf\xfa\xed\xfe\x07\0\0\x01", None),
            K::Macho
        );
        assert_eq!(
            classify("bin/tool", b"\xfe\xed\xfa\xce\0\0\0\x07", None),
            K::Macho
        );
        assert_eq!(classify("a.wasm", b"\0asm\x01\0\0\0", None), K::Wasm);
    }

    #[test]
    fn mz_without_pe_signature_is_not_pe() {
        let mut d = pe_image();
        d[0x80..0x84].copy_from_slice(b"XX\0\0");
        assert_ne!(classify("a.exe", &d, None), K::Pe);
        // Text that starts with "MZ" and whose e_lfanew points outside the file.
        assert_eq!(
            classify("NOTES", b"MZ is a nice prefix for a text file\n", None),
            K::Text
        );
    }

    #[test]
    fn cafebabe_fat_mach_o_versus_java_class() {
        // Fat binary with 2 architectures.
        assert_eq!(
            classify("lib.dylib", b"\xca\xfe\xba\xbe\0\0\0\x02\x01\0\0\x07", None),
            K::Macho
        );
        // Java 8 class file: minor 0, major 52.
        assert_eq!(
            classify("A.class", b"\xca\xfe\xba\xbe\0\0\0\x34\0\x10", None),
            K::JavaClass
        );
        // Java 21 class with a nonzero minor version, no extension.
        assert_eq!(
            classify("A", b"\xca\xfe\xba\xbe\0\x03\0\x41", None),
            K::JavaClass
        );
    }

    #[test]
    fn archives_images_fonts_and_bytecode_by_magic() {
        for (name, data) in [
            ("x.whl", b"PK\x03\x04\x14\0".as_slice()),
            ("x.gz", b"\x1f\x8b\x08\0\0\0"),
            ("x.bz2", b"BZh91AY&SY\0\0"),
            ("x.xz", b"\xfd7zXZ\0\0"),
            ("x.7z", b"7z\xbc\xaf\x27\x1c\0"),
            ("x.rar", b"Rar!\x1a\x07\0"),
        ] {
            assert_eq!(classify(name, data, None), K::Archive, "{name}");
        }
        let mut tar = vec![b'a'; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(classify("x.tar", &tar, None), K::Archive);
        for data in [
            b"\x89PNG\r\n\x1a\n\0".as_slice(),
            b"\xff\xd8\xff\xe0",
            b"GIF89a\x01\0",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"\0\0\x01\0\x01\0\x10\x10",
        ] {
            assert_eq!(classify("img", data, None), K::Image);
        }
        assert_eq!(classify("f.woff2", b"wOF2\0\x01", None), K::Font);
        assert_eq!(classify("f.otf", b"OTTO\0\x0b", None), K::Font);
        assert_eq!(classify("f.ttf", b"\0\x01\0\0\0\x0f", None), K::Font);
        // CPython 3.12 magic 3531.
        assert_eq!(
            classify(
                "__pycache__/x.cpython-312.pyc",
                b"\xcb\x0d\r\n\0\0\0\0",
                None
            ),
            K::PythonBytecode
        );
        assert_eq!(
            classify("x", b"\xcb\x0d\r\n\0\0\0\0", None),
            K::PythonBytecode
        );
    }

    #[test]
    fn text_starting_with_bzh_is_not_bzip2() {
        assert_eq!(
            classify("notes", b"BZh9 is not always bzip2, says this text\n", None),
            K::Text
        );
    }

    #[test]
    fn extensions() {
        for (path, kind) in [
            ("setup.py", K::Python),
            ("a.pyi", K::Python),
            ("index.mjs", K::Javascript),
            ("lib/index.cjs", K::Javascript),
            ("types/index.d.ts", K::Typescript),
            ("a.tsx", K::Typescript),
            ("install.sh", K::Shell),
            ("run.ps1", K::Powershell),
            ("run.CMD", K::Batch),
            ("foo.gemspec", K::Ruby),
            ("Rakefile", K::Ruby),
            ("Gemfile", K::Ruby),
            ("build.rs", K::Rust),
            ("x.h", K::C),
            ("x.hpp", K::Cpp),
            ("main.go", K::Go),
            ("A.java", K::Java),
            ("package.json", K::Json),
            ("Cargo.toml", K::Toml),
            (".github/ci.yml", K::Yaml),
            ("a.xml", K::Xml),
            ("a.htm", K::Html),
            ("a.css", K::Css),
            ("README.rst", K::Markdown),
            ("setup.cfg", K::Text),
            ("foo-1.0/PKG-INFO", K::Text),
            ("foo.dist-info/METADATA", K::Text),
            ("LICENSE", K::Text),
            ("data.tar.gz!/lib/foo.rb", K::Ruby),
        ] {
            assert_eq!(classify(path, b"x = 1\n", None), kind, "{path}");
        }
    }

    #[test]
    fn pth_is_python_only_with_import_lines() {
        assert_eq!(
            classify(
                "evil.pth",
                b"/usr/lib/foo\nimport os; os.system('x')\n",
                None
            ),
            K::Python
        );
        assert_eq!(
            classify("paths.pth", b"/usr/lib/foo\n# import nothing\n", None),
            K::Text
        );
    }

    #[test]
    fn pth_import_line_after_bare_cr_or_bom_is_found() {
        // `site` splits lines on `\r` and other `splitlines` separators, and drops a BOM.
        for data in [
            b"/usr/lib/foo\rimport os; os.system('x')".as_slice(),
            b"\xef\xbb\xbfimport os",
            b"/a\x0cimport os",
            b"/a\xe2\x80\xa8import\tos",
            b"import os",
        ] {
            assert!(pth_has_import_line(data), "{data:?}");
        }
        for data in [
            b"/usr/lib/import os".as_slice(),
            b" import os",
            b"#import os",
            b"importos",
            b"",
        ] {
            assert!(!pth_has_import_line(data), "{data:?}");
        }
    }

    #[test]
    fn shebangs() {
        for (line, kind) in [
            ("#!/usr/bin/env python3\n", K::Python),
            ("#!/usr/bin/python3.11 -u\n", K::Python),
            ("#!/usr/bin/env node\n", K::Javascript),
            ("#!/usr/bin/env -S node --no-warnings\n", K::Javascript),
            ("#!/bin/sh\n", K::Shell),
            ("#!/bin/bash -e\n", K::Shell),
            ("#!/usr/bin/env ruby\n", K::Ruby),
            ("#!/usr/bin/perl\n", K::Text),
        ] {
            assert_eq!(
                classify("bin/tool", format!("{line}x\n").as_bytes(), None),
                kind,
                "{line}"
            );
        }
        // The extension wins over the shebang.
        assert_eq!(classify("bin/tool.js", b"#!/bin/sh\n", None), K::Javascript);
    }

    #[test]
    fn sniffing_empty_text_binary_and_links() {
        assert_eq!(classify("x", b"", None), K::Empty);
        assert_eq!(
            classify("x", "h\u{e9}llo w\u{f6}rld\n".as_bytes(), None),
            K::Text
        );
        assert_eq!(classify("x", b"caf\xe9 latin-1 text here\n", None), K::Text);
        assert_eq!(
            classify("x", b"\x01\x02\x03\x00\xff\xfe\x10", None),
            K::Binary
        );
        assert_eq!(
            classify("x", &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06], None),
            K::Binary
        );
        assert_eq!(classify("x", b"target", Some(0o120_777)), K::Link);
        let random = crate::measure::tests::random_bytes(4096, 7);
        assert_eq!(classify("blob", &random, None), K::Binary);
    }
}
