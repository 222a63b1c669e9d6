//! Pure decoding of syscall arguments: socket addresses, open flags, paths.
//!
//! Kept apart from the tracer so it can be tested on byte strings: everything decoded
//! here comes from a hostile process's memory and must never panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use crate::event::SocketAddress;

/// Decode a `sockaddr` read from the tracee (`bytes` is at most `addrlen` long).
pub(crate) fn sockaddr(bytes: &[u8]) -> Option<SocketAddress> {
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SocketAddress::Inet {
                address: IpAddr::V4(Ipv4Addr::from(ip)),
                port,
            })
        }
        libc::AF_INET6 => {
            let port = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some(SocketAddress::Inet {
                address: IpAddr::V6(Ipv6Addr::from(ip)),
                port,
            })
        }
        libc::AF_UNIX => {
            let path = bytes.get(2..).unwrap_or_default();
            let (abstract_name, path) = match path.first() {
                Some(0) => (true, &path[1..]),
                _ => (false, path),
            };
            let end = if abstract_name {
                path.len()
            } else {
                path.iter().position(|&b| b == 0).unwrap_or(path.len())
            };
            Some(SocketAddress::Unix {
                path: String::from_utf8_lossy(&path[..end]).into_owned(),
                abstract_name,
            })
        }
        _ => Some(SocketAddress::Other {
            family_number: family,
        }),
    }
}

/// Access intent of `open` flags: `(read, write, create, truncate)`.
pub(crate) fn open_intent(flags: u64) -> (bool, bool, bool, bool) {
    let flags = flags as i32;
    let acc = flags & libc::O_ACCMODE;
    let read = acc == libc::O_RDONLY || acc == libc::O_RDWR;
    let write = acc == libc::O_WRONLY || acc == libc::O_RDWR || flags & libc::O_TRUNC != 0;
    let create = flags & (libc::O_CREAT | libc::O_TMPFILE) != 0;
    // O_PATH opens neither read nor write.
    if flags & libc::O_PATH != 0 {
        return (false, false, false, false);
    }
    (read, write, create, flags & libc::O_TRUNC != 0)
}

/// Name of an address family.
pub(crate) fn family_name(family: i32) -> String {
    match family {
        libc::AF_UNIX => "unix".into(),
        libc::AF_INET => "inet".into(),
        libc::AF_INET6 => "inet6".into(),
        libc::AF_NETLINK => "netlink".into(),
        libc::AF_PACKET => "packet".into(),
        other => other.to_string(),
    }
}

/// Name of a socket type (flags like `SOCK_CLOEXEC` stripped).
pub(crate) fn socket_type_name(ty: i32) -> String {
    match ty & 0xf {
        libc::SOCK_STREAM => "stream".into(),
        libc::SOCK_DGRAM => "dgram".into(),
        libc::SOCK_RAW => "raw".into(),
        libc::SOCK_SEQPACKET => "seqpacket".into(),
        other => other.to_string(),
    }
}

/// Join `path` onto `base` (when relative) and normalise `.` and `..` lexically.
///
/// Lexical on purpose: the tracer must not follow the sandboxed program's symlinks (they
/// may point anywhere, and resolving them would race with the program anyway).
pub(crate) fn resolve(base: &Path, path: &str) -> String {
    let joined = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        base.join(path)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_inet_sockaddr() {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&4444u16.to_be_bytes());
        b[4..8].copy_from_slice(&[203, 0, 113, 7]);
        assert_eq!(
            sockaddr(&b),
            Some(SocketAddress::Inet {
                address: "203.0.113.7".parse().unwrap(),
                port: 4444
            })
        );
    }

    #[test]
    fn decodes_inet6_and_unix_and_abstract() {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&443u16.to_be_bytes());
        b[23] = 1;
        assert_eq!(
            sockaddr(&b),
            Some(SocketAddress::Inet {
                address: "::1".parse().unwrap(),
                port: 443
            })
        );
        let mut u = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        u.extend_from_slice(b"/run/x.sock\0garbage");
        assert_eq!(
            sockaddr(&u),
            Some(SocketAddress::Unix {
                path: "/run/x.sock".into(),
                abstract_name: false
            })
        );
        let mut a = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        a.extend_from_slice(b"\0hidden");
        assert_eq!(
            sockaddr(&a),
            Some(SocketAddress::Unix {
                path: "hidden".into(),
                abstract_name: true
            })
        );
    }

    #[test]
    fn truncated_sockaddrs_do_not_panic() {
        for len in 0..8 {
            let mut b = vec![0u8; len];
            if len >= 2 {
                b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            }
            assert!(sockaddr(&b).is_none() || len >= 2);
        }
        let mut b = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(&[0; 10]);
        assert_eq!(sockaddr(&b), None);
    }

    #[test]
    fn open_flags_give_intent() {
        assert_eq!(
            open_intent(libc::O_RDONLY as u64),
            (true, false, false, false)
        );
        assert_eq!(
            open_intent((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64),
            (false, true, true, true)
        );
        assert_eq!(open_intent(libc::O_RDWR as u64), (true, true, false, false));
        assert_eq!(
            open_intent(libc::O_PATH as u64),
            (false, false, false, false)
        );
    }

    #[test]
    fn paths_resolve_lexically() {
        assert_eq!(resolve(Path::new("/home/u"), "a/../b/./c"), "/home/u/b/c");
        assert_eq!(resolve(Path::new("/home/u"), "/etc/passwd"), "/etc/passwd");
        assert_eq!(resolve(Path::new("/"), "../../x"), "/x");
    }
}
