//! A size cap on the package's persistent writable directories.
//!
//! The home directory, `/work` and `/tmp` of a package's phases are host directories
//! (they must outlive each phase's sandbox so `import` sees what `install` left). Without
//! a cap, a package could fill the host's disk: `RLIMIT_FSIZE` bounds one file, not how
//! many. As root, [`CappedDir::mount`] puts a size-limited tmpfs on the scratch base for
//! the package's lifetime, so writes fail with `ENOSPC` inside the cap and the host's
//! disk never sees them. The mount is made private (no propagation to other mount
//! namespaces' peers) and is detached on drop, also when the analysis fails, before the
//! directory itself is removed. Without root the mount is impossible; the caller records
//! a note and relies on `RLIMIT_FSIZE`.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// A tmpfs mounted on a directory, unmounted when dropped.
#[derive(Debug)]
pub(crate) struct CappedDir {
    path: PathBuf,
}

impl CappedDir {
    /// Mount a tmpfs of at most `size_bytes` on `path` (owner-only access).
    pub(crate) fn mount(path: &Path, size_bytes: u64) -> Result<Self, String> {
        let options = format!("size={size_bytes},mode=0700");
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
        .map_err(|e| {
            format!(
                "mounting a {size_bytes}-byte tmpfs on {}: {e}",
                path.display()
            )
        })?;
        let guard = CappedDir {
            path: path.to_owned(),
        };
        // Private: the scratch mount must not appear in (or be unmounted through) any
        // other mount namespace sharing the host's peer group.
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("making {} private: {e}", path.display()))?;
        Ok(guard)
    }
}

impl Drop for CappedDir {
    fn drop(&mut self) {
        // Detach: a straggling reference (none should exist: every sandbox process is
        // dead by now) must not keep the tmpfs, and its memory, alive on the host.
        let _ = umount2(&self.path, MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_beyond_the_cap_fail_with_enospc_and_the_mount_goes_away() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: mounting a tmpfs needs root (CI runs as root)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let cap = CappedDir::mount(dir.path(), 1 << 20).unwrap();
        let err = std::fs::write(dir.path().join("big"), vec![0u8; 2 << 20]).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(nix::errno::Errno::ENOSPC as i32),
            "{err}"
        );
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let p = dir.path().display().to_string();
        assert!(mounts.lines().any(|l| l.contains(&p)));
        drop(cap);
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.lines().any(|l| l.contains(&p)), "still mounted");
        assert!(!dir.path().join("big").exists());
    }
}
