//! The runtime cache: `<runtime dir>/<key>/{rootfs/, manifest.json}`.
//!
//! A runtime directory appears only complete: it is built in a temporary sibling
//! (`.<key>.tmp-<pid>`) and renamed into place after its manifest was written and it
//! passed verification. An exclusive `flock` on `.<key>.lock` makes concurrent
//! `ossprey analyze` processes wait for one builder instead of building twice; the
//! winner's result is re-checked after the lock is taken. Leftovers of a crashed
//! build are deleted under the lock, but never while anything is mounted inside them.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::error::RuntimeError;
use crate::manifest::{MANIFEST_FILE, MANIFEST_FORMAT, Manifest, read_installed, verify_root};
use crate::progress::{Progress, Stage};
use crate::provision::{DebootstrapBuilder, RootfsBuilder};
use crate::recipe::{DEFAULT_MIRROR, Recipe};

/// Where runtimes live and how to build them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Directory holding one subdirectory per recipe key.
    pub runtime_dir: PathBuf,
    /// Debian mirror for a build.
    pub mirror: String,
    /// What to build.
    pub recipe: Recipe,
}

impl Options {
    /// Defaults with environment overrides: the runtime dir is `$OSSPREY_RUNTIME_DIR`,
    /// else `$OSSPREY_CACHE_DIR/runtime`, else `<user cache dir>/ossprey/runtime`
    /// (`~/.cache/ossprey/runtime`); the mirror is `$OSSPREY_RUNTIME_MIRROR`, else
    /// [`DEFAULT_MIRROR`].
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let runtime_dir = var("OSSPREY_RUNTIME_DIR")
            .map(PathBuf::from)
            .or_else(|| var("OSSPREY_CACHE_DIR").map(|d| PathBuf::from(d).join("runtime")))
            .unwrap_or_else(|| {
                dirs::cache_dir()
                    .unwrap_or_else(std::env::temp_dir)
                    .join("ossprey")
                    .join("runtime")
            });
        let mirror = var("OSSPREY_RUNTIME_MIRROR")
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_else(|| DEFAULT_MIRROR.to_owned());
        Self {
            runtime_dir,
            mirror,
            recipe: Recipe::bookworm(),
        }
    }

    /// The directory this recipe's runtime lives in.
    pub fn runtime_path(&self) -> PathBuf {
        self.runtime_dir.join(self.recipe.key())
    }
}

/// A verified, ready-to-use runtime root filesystem.
#[derive(Clone, Debug)]
pub struct Runtime {
    dir: PathBuf,
    manifest: Manifest,
}

impl Runtime {
    /// Returns the cached runtime for `options`, building it first if it is absent or
    /// damaged. The first build takes minutes (see the crate docs); later calls cost a
    /// manifest read and a dozen `stat`s.
    pub fn ensure(options: &Options, progress: &mut dyn Progress) -> Result<Self, RuntimeError> {
        Self::ensure_with(options, &DebootstrapBuilder, progress)
    }

    /// [`Runtime::ensure`] with a chosen builder.
    pub fn ensure_with(
        options: &Options,
        builder: &dyn RootfsBuilder,
        progress: &mut dyn Progress,
    ) -> Result<Self, RuntimeError> {
        if let Ok(Some(rt)) = Self::open(options) {
            return Ok(rt);
        }
        let base = &options.runtime_dir;
        fs::create_dir_all(base).map_err(RuntimeError::io("creating", base))?;
        let key = options.recipe.key();
        let lock_path = base.join(format!(".{key}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(RuntimeError::io("opening", &lock_path))?;
        take_lock(&lock, &lock_path, progress)?;

        // Someone else may have finished while we waited.
        match Self::open(options) {
            Ok(Some(rt)) => return Ok(rt),
            Ok(None) => {}
            Err(_) => {
                // Damaged: move it out of the way, then delete it.
                let broken = base.join(format!(".{key}.broken-{}", std::process::id()));
                fs::rename(options.runtime_path(), &broken)
                    .map_err(RuntimeError::io("moving aside", options.runtime_path()))?;
                remove_dir_checked(&broken)?;
            }
        }
        remove_leftovers(base, &key)?;

        let tmp = base.join(format!(".{key}.tmp-{}", std::process::id()));
        fs::create_dir(&tmp).map_err(RuntimeError::io("creating", &tmp))?;
        let result = build_into(options, builder, &tmp, progress);
        if let Err(e) = result {
            // Best effort: the next build under the lock cleans up anything left.
            let _ = remove_dir_checked(&tmp);
            return Err(e);
        }
        let dest = options.runtime_path();
        fs::rename(&tmp, &dest).map_err(RuntimeError::io("renaming into place", &dest))?;
        if let Ok(d) = File::open(base) {
            let _ = d.sync_all();
        }
        let rt = Self::open(options)?.ok_or_else(|| RuntimeError::Corrupt {
            dir: dest.clone(),
            reason: "vanished right after it was built".into(),
        })?;
        progress.stage(Stage::Done);
        Ok(rt)
    }

    /// The cached runtime if it exists; `Ok(None)` if it was never built; an error if
    /// it exists but fails verification. Never builds.
    pub fn open(options: &Options) -> Result<Option<Self>, RuntimeError> {
        let dir = options.runtime_path();
        if !dir.exists() {
            return Ok(None);
        }
        let corrupt = |reason: String| RuntimeError::Corrupt {
            dir: dir.clone(),
            reason,
        };
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&manifest_path).map_err(|e| corrupt(format!("no manifest: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("unreadable manifest: {e}")))?;
        if manifest.format != MANIFEST_FORMAT || manifest.key != options.recipe.key() {
            return Err(corrupt(format!(
                "manifest is for {} (format {}), expected {}",
                manifest.key,
                manifest.format,
                options.recipe.key()
            )));
        }
        let rt = Self { dir, manifest };
        rt.verify()?;
        Ok(Some(rt))
    }

    /// Re-checks that the key binaries and mount points are present.
    pub fn verify(&self) -> Result<(), RuntimeError> {
        verify_root(&self.root(), &self.manifest.recipe).map_err(|reason| RuntimeError::Corrupt {
            dir: self.dir.clone(),
            reason,
        })
    }

    /// The root filesystem to use as the sandbox's `/` (read-only).
    pub fn root(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The runtime's directory (holds `rootfs/` and `manifest.json`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What was installed.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The recipe key this runtime was built for.
    pub fn key(&self) -> &str {
        &self.manifest.key
    }
}

fn take_lock(lock: &File, path: &Path, progress: &mut dyn Progress) -> Result<(), RuntimeError> {
    match lock.try_lock() {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => {
            progress.stage(Stage::WaitingForLock);
            lock.lock().map_err(RuntimeError::io("locking", path))
        }
        Err(fs::TryLockError::Error(e)) => Err(RuntimeError::io("locking", path)(e)),
    }
}

fn build_into(
    options: &Options,
    builder: &dyn RootfsBuilder,
    tmp: &Path,
    progress: &mut dyn Progress,
) -> Result<(), RuntimeError> {
    let started = Instant::now();
    let root = tmp.join("rootfs");
    fs::create_dir(&root).map_err(RuntimeError::io("creating", &root))?;
    builder.build(&options.recipe, &options.mirror, &root, progress)?;

    progress.stage(Stage::Manifest);
    let (tools, packages) = read_installed(&root)?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        key: options.recipe.key(),
        recipe: options.recipe.clone(),
        mirror: options.mirror.clone(),
        built_at_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        build_seconds: started.elapsed().as_secs(),
        size_bytes: tree_size(&root),
        tools,
        packages,
    };

    progress.stage(Stage::Verify);
    verify_root(&root, &options.recipe).map_err(|reason| RuntimeError::Corrupt {
        dir: tmp.to_path_buf(),
        reason,
    })?;

    let path = tmp.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| RuntimeError::Io {
        context: "serialising",
        path: path.clone(),
        source: e.into(),
    })?;
    let mut file = File::create(&path).map_err(RuntimeError::io("creating", &path))?;
    std::io::Write::write_all(&mut file, &json).map_err(RuntimeError::io("writing", &path))?;
    file.sync_all()
        .map_err(RuntimeError::io("syncing", &path))?;
    Ok(())
}

/// Apparent size of the regular files under `dir`, not following symlinks.
fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for entry in rd.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

/// Deletes temporary and damaged directories of earlier, interrupted builds of `key`.
/// Only called with the build lock held, so none of them is in use.
fn remove_leftovers(base: &Path, key: &str) -> Result<(), RuntimeError> {
    let Ok(rd) = fs::read_dir(base) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(&format!(".{key}.tmp-"))
            || name.starts_with(&format!(".{key}.broken-"));
        if ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_dir_checked(&entry.path())?;
        }
    }
    Ok(())
}

/// `remove_dir_all`, refused when anything is mounted at or below `dir`: deleting
/// through a mounted `/proc` or a bind mount of the host would be a disaster.
pub(crate) fn remove_dir_checked(dir: &Path) -> Result<(), RuntimeError> {
    let canonical = dir
        .canonicalize()
        .map_err(RuntimeError::io("resolving", dir))?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if has_mount_inside(&mountinfo, &canonical) {
        return Err(RuntimeError::MountedInside(dir.to_path_buf()));
    }
    fs::remove_dir_all(dir).map_err(RuntimeError::io("deleting", dir))
}

/// True when a mount point in `mountinfo` is `dir` or lies below it.
pub(crate) fn has_mount_inside(mountinfo: &str, dir: &Path) -> bool {
    mount_points(mountinfo).iter().any(|m| m.starts_with(dir))
}

/// Mount points listed in a `/proc/self/mountinfo` text (field 5, octal escapes
/// such as `\040` for a space decoded).
pub(crate) fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|escaped| {
            let bytes = escaped.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\'
                    && i + 3 < bytes.len()
                    && let Ok(v) = u8::from_str_radix(&escaped[i + 1..i + 4], 8)
                {
                    out.push(v);
                    i += 4;
                    continue;
                }
                out.push(bytes[i]);
                i += 1;
            }
            PathBuf::from(String::from_utf8_lossy(&out).into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    /// Writes a tiny tree with everything `verify_root` checks; counts its builds.
    struct FakeBuilder {
        builds: AtomicUsize,
        delay: Duration,
        fail: bool,
    }

    impl FakeBuilder {
        fn new(delay_ms: u64) -> Self {
            Self {
                builds: AtomicUsize::new(0),
                delay: Duration::from_millis(delay_ms),
                fail: false,
            }
        }
    }

    impl RootfsBuilder for FakeBuilder {
        fn build(
            &self,
            recipe: &Recipe,
            _: &str,
            target: &Path,
            progress: &mut dyn Progress,
        ) -> Result<(), RuntimeError> {
            use std::os::unix::fs::{PermissionsExt, symlink};
            self.builds.fetch_add(1, Ordering::SeqCst);
            progress.stage(Stage::Debootstrap);
            progress.line("I: Retrieving InRelease");
            std::thread::sleep(self.delay);
            if self.fail {
                fs::write(target.join("half-built"), "").unwrap();
                return Err(RuntimeError::StepFailed {
                    step: "apt-get install".into(),
                    status: "exit status: 100".into(),
                    tail: "E: no".into(),
                });
            }
            for rel in crate::recipe::REQUIRED_FILES {
                let p = target.join(
                    rel.replace("bin/sh", "usr/bin/dash")
                        .replace("usr/usr", "usr"),
                );
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, "").unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            }
            symlink("dash", target.join("usr/bin/sh")).unwrap();
            symlink("usr/bin", target.join("bin")).unwrap();
            fs::write(
                target.join("var/lib/dpkg/status"),
                "Package: nodejs\nStatus: install ok installed\nVersion: 18.20.4+dfsg-1~deb12u2\n\n\
                 Package: python3.11\nStatus: install ok installed\nVersion: 3.11.2-6\n",
            )
            .unwrap();
            for m in &recipe.mount_points {
                fs::create_dir_all(target.join(m)).unwrap();
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Stages(Vec<Stage>);
    impl Progress for Stages {
        fn stage(&mut self, s: Stage) {
            self.0.push(s);
        }
        fn line(&mut self, _: &str) {}
    }

    fn options(dir: &Path) -> Options {
        Options {
            runtime_dir: dir.to_path_buf(),
            mirror: "http://mirror.invalid/debian".into(),
            recipe: Recipe::bookworm(),
        }
    }

    #[test]
    fn builds_once_then_reuses_with_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path());
        assert!(Runtime::open(&opts).unwrap().is_none());
        let builder = FakeBuilder::new(0);
        let mut stages = Stages::default();
        let rt = Runtime::ensure_with(&opts, &builder, &mut stages).unwrap();
        assert_eq!(stages.0.first(), Some(&Stage::Debootstrap));
        assert_eq!(stages.0.last(), Some(&Stage::Done));
        assert_eq!(rt.dir(), opts.runtime_path());
        assert_eq!(rt.root(), opts.runtime_path().join("rootfs"));
        assert_eq!(rt.manifest().tools.node.as_deref(), Some("18.20.4"));
        assert_eq!(rt.manifest().tools.python.as_deref(), Some("3.11.2"));
        assert_eq!(rt.manifest().mirror, "http://mirror.invalid/debian");
        assert_eq!(rt.key(), opts.recipe.key());
        // Nothing but the runtime and the lock file is left beside it.
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![format!(".{}.lock", opts.recipe.key()), opts.recipe.key()]
        );

        Runtime::ensure_with(&opts, &builder, &mut Stages::default()).unwrap();
        assert_eq!(builder.builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn concurrent_ensures_build_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Arc::new(options(dir.path()));
        let builder = Arc::new(FakeBuilder::new(300));
        let barrier = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (opts, builder, barrier) = (opts.clone(), builder.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut stages = Stages::default();
                    let rt = Runtime::ensure_with(&opts, &*builder, &mut stages).unwrap();
                    (rt.key().to_owned(), stages.0)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(builder.builds.load(Ordering::SeqCst), 1);
        let waited = results
            .iter()
            .filter(|(_, s)| s.contains(&Stage::WaitingForLock))
            .count();
        assert_eq!(waited, 2, "{results:?}");
    }

    #[test]
    fn a_failed_build_leaves_nothing_and_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path());
        let mut failing = FakeBuilder::new(0);
        failing.fail = true;
        let err = Runtime::ensure_with(&opts, &failing, &mut NoProgressCheck).unwrap_err();
        assert_eq!(err.code(), "runtime-build-failed");
        assert!(!opts.runtime_path().exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        Runtime::ensure_with(&opts, &FakeBuilder::new(0), &mut NoProgressCheck).unwrap();
    }

    struct NoProgressCheck;
    impl Progress for NoProgressCheck {
        fn stage(&mut self, _: Stage) {}
        fn line(&mut self, _: &str) {}
    }

    #[test]
    fn a_damaged_runtime_is_reported_then_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path());
        let builder = FakeBuilder::new(0);
        let rt = Runtime::ensure_with(&opts, &builder, &mut NoProgressCheck).unwrap();
        fs::remove_file(rt.root().join("usr/bin/node")).unwrap();
        let err = Runtime::open(&opts).unwrap_err();
        assert!(
            err.to_string().contains("/usr/bin/node is missing"),
            "{err}"
        );
        assert_eq!(err.code(), "runtime-corrupt");
        let rt = Runtime::ensure_with(&opts, &builder, &mut NoProgressCheck).unwrap();
        assert!(rt.root().join("usr/bin/node").exists());
        assert_eq!(builder.builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_manifest_of_another_recipe_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path());
        let rt = Runtime::ensure_with(&opts, &FakeBuilder::new(0), &mut NoProgressCheck).unwrap();
        let mut m = rt.manifest().clone();
        m.key = "bookworm-amd64-000000000000".into();
        fs::write(
            rt.dir().join(MANIFEST_FILE),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap();
        let err = Runtime::open(&opts).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
    }

    #[test]
    fn leftovers_of_an_interrupted_build_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path());
        let stale = dir
            .path()
            .join(format!(".{}.tmp-999999", opts.recipe.key()));
        fs::create_dir_all(stale.join("rootfs/usr")).unwrap();
        let unrelated = dir.path().join(".other-key.tmp-1");
        fs::create_dir_all(&unrelated).unwrap();
        Runtime::ensure_with(&opts, &FakeBuilder::new(0), &mut NoProgressCheck).unwrap();
        assert!(!stale.exists());
        assert!(
            unrelated.exists(),
            "another recipe's build must not be touched"
        );
    }

    #[test]
    fn mountinfo_parsing_decodes_escapes() {
        let text = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    40 22 0:5 / /tmp/with\\040space rw - tmpfs tmpfs rw\n";
        assert_eq!(
            mount_points(text),
            vec![PathBuf::from("/proc"), PathBuf::from("/tmp/with space")]
        );
    }

    #[test]
    fn mounts_at_or_below_a_directory_are_detected() {
        let text = "1 0 0:1 / / rw - ext4 /dev/vda rw\n\
                    2 1 0:2 / /cache/.k.tmp-1/rootfs/proc rw - proc proc rw\n";
        assert!(has_mount_inside(text, Path::new("/cache/.k.tmp-1")));
        assert!(has_mount_inside(
            text,
            Path::new("/cache/.k.tmp-1/rootfs/proc")
        ));
        assert!(!has_mount_inside(text, Path::new("/cache/.k.tmp-2")));
        assert!(!has_mount_inside(
            text,
            Path::new("/cache/.k.tmp-1/rootfs/usr")
        ));
    }

    #[test]
    fn deletion_is_refused_when_something_is_mounted_inside() {
        // /proc is always a mount point, so it stands in for a stray mount (and
        // nothing under it could be deleted even if the check were broken).
        let err = remove_dir_checked(Path::new("/proc")).unwrap_err();
        assert!(matches!(err, RuntimeError::MountedInside(_)), "{err:?}");
    }

    #[test]
    fn options_honour_the_environment_order() {
        // Only reads the variables; the process environment is not modified here
        // because tests run in parallel threads.
        let o = Options::from_env();
        assert!(
            o.runtime_dir.ends_with("runtime") || std::env::var_os("OSSPREY_RUNTIME_DIR").is_some()
        );
        assert!(o.runtime_path().starts_with(&o.runtime_dir));
    }
}
