//! Entry-name normalisation and link checks.
//!
//! Names come from hostile archives. A name is either turned into a clean
//! relative `/`-separated path or rejected with the reason; nothing here touches
//! the filesystem.

use crate::NoteKind;

/// Why a name was rejected.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub kind: NoteKind,
    pub message: &'static str,
}

/// A normalised name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Clean {
    /// Relative path without `.`/empty components; may be empty (archive root).
    pub path: String,
    /// The raw name was not UTF-8 and was decoded lossily.
    pub lossy: bool,
}

/// Longest name or link target accepted (Linux `PATH_MAX`). Longer ones are
/// only possible through pax/GNU extensions and would make every name set and
/// note of the read that large.
pub(crate) const MAX_NAME: usize = 4096;

/// A raw name for notes and messages: lossy, cut to a readable length.
pub(crate) fn display_raw(raw: &[u8]) -> String {
    let cut = raw.get(..256).unwrap_or(raw);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < raw.len() {
        s.push('…');
    }
    s
}

fn has_drive_prefix(s: &[u8]) -> bool {
    matches!(s, [letter, b':', ..] if letter.is_ascii_alphabetic())
}

/// Normalises a raw entry name. `backslash_is_separator` is true for zip, whose
/// Windows writers use `\`; in tar `\` is an ordinary byte.
pub(crate) fn normalise(raw: &[u8], backslash_is_separator: bool) -> Result<Clean, Rejected> {
    if raw.len() > MAX_NAME {
        return Err(Rejected {
            kind: NoteKind::BadName,
            message: "name longer than 4096 bytes; entry skipped",
        });
    }
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(Rejected {
            kind: NoteKind::BadName,
            message: "name contains a NUL or control byte; entry skipped",
        });
    }
    let lossy = std::str::from_utf8(raw).is_err();
    let text = String::from_utf8_lossy(raw);
    let text = if backslash_is_separator {
        text.replace('\\', "/")
    } else {
        text.into_owned()
    };
    if text.starts_with('/') || has_drive_prefix(text.as_bytes()) {
        return Err(Rejected {
            kind: NoteKind::AbsolutePath,
            message: "absolute path or drive prefix; entry skipped",
        });
    }
    let mut path = String::with_capacity(text.len());
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Rejected {
                    kind: NoteKind::PathTraversal,
                    message: "`..` component; entry skipped",
                });
            }
            _ => {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(part);
            }
        }
    }
    Ok(Clean { path, lossy })
}

/// Whether a link target leaves the archive root. `base_depth` is how many
/// directories deep the target is resolved from: the symlink's parent for
/// symlinks, the root (0) for hardlinks. Both `/` and `\` count as separators
/// here, so a target that escapes on any platform is flagged.
pub(crate) fn link_escapes(base_depth: usize, target: &str) -> bool {
    let bytes = target.as_bytes();
    if bytes.first().is_some_and(|&b| b == b'/' || b == b'\\') || has_drive_prefix(bytes) {
        return true;
    }
    let mut depth = base_depth;
    for part in target.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth = depth.saturating_add(1),
        }
    }
    false
}

/// Number of directories above `path` (`a/b/c` → 2).
pub(crate) fn parent_depth(path: &str) -> usize {
    path.matches('/').count()
}

/// Last component of a `/`-separated path.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit(['/', '!']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        normalise(raw.as_bytes(), false)
            .map(|c| c.path)
            .unwrap_or_default()
    }

    fn kind(raw: &[u8], zip: bool) -> Option<NoteKind> {
        normalise(raw, zip).err().map(|r| r.kind)
    }

    #[test]
    fn strips_dot_and_empty_components() {
        assert_eq!(ok("./pkg//a/./b.js"), "pkg/a/b.js");
        assert_eq!(ok("pkg/"), "pkg");
        assert_eq!(ok("./"), "");
    }

    #[test]
    fn rejects_hostile_names() {
        assert_eq!(kind(b"../../etc/x", false), Some(NoteKind::PathTraversal));
        assert_eq!(kind(b"a/../../x", false), Some(NoteKind::PathTraversal));
        assert_eq!(kind(b"a/..", false), Some(NoteKind::PathTraversal));
        assert_eq!(kind(b"/etc/passwd", false), Some(NoteKind::AbsolutePath));
        assert_eq!(kind(b"C:/x", false), Some(NoteKind::AbsolutePath));
        assert_eq!(kind(b"c:x", false), Some(NoteKind::AbsolutePath));
        assert_eq!(kind(b"a\0b", false), Some(NoteKind::BadName));
        assert_eq!(kind(b"a\nb", false), Some(NoteKind::BadName));
        assert_eq!(kind(b"..\\..\\x", true), Some(NoteKind::PathTraversal));
        assert_eq!(kind(b"\\x", true), Some(NoteKind::AbsolutePath));
        assert_eq!(kind(&[b'a'; 5000], false), Some(NoteKind::BadName));
    }

    #[test]
    fn backslash_is_plain_in_tar() {
        assert_eq!(ok("..\\x"), "..\\x");
    }

    #[test]
    fn lossy_names_are_kept() {
        let c = normalise(b"pkg/\xff.js", false).unwrap_or_else(|_| Clean {
            path: String::new(),
            lossy: false,
        });
        assert!(c.lossy);
        assert_eq!(c.path, "pkg/\u{fffd}.js");
    }

    #[test]
    fn link_escape_rules() {
        assert!(link_escapes(0, "/etc/shadow"));
        assert!(link_escapes(0, "../x"));
        assert!(link_escapes(1, "../../x"));
        assert!(!link_escapes(1, "../x"));
        assert!(!link_escapes(0, "a/../b"));
        assert!(link_escapes(3, "C:\\Windows"));
        assert!(link_escapes(0, "a/../../b"));
    }
}
