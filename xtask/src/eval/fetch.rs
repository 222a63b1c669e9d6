//! Downloads the pinned benign corpus into the eval cache, in parallel, through
//! the same registry clients the CLI uses (verified digests, content-addressed
//! store, PyPI sdist preference). A failure is recorded, never fatal.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use ossprey_model::PackageSpec;
use ossprey_registry::{Registries, RegistryConfig};

use super::lists::{Eco, Pin};

/// Archives larger than this are skipped (and counted): the benign corpus is
/// about ordinary packages, and the 50 MB bundle case has its own benchmark.
pub const MAX_ARTIFACT_BYTES: u64 = 50 * 1000 * 1000;

/// One benign package ready to scan.
#[derive(Clone, Debug)]
pub struct Cached {
    pub pin: Pin,
    /// The archive under its registry file name (the CLI detects formats by name).
    pub path: PathBuf,
    pub size: u64,
}

/// What fetching one ecosystem's list came to.
#[derive(Debug, Default)]
pub struct FetchReport {
    pub cached: Vec<Cached>,
    /// Packages whose artifact is over [`MAX_ARTIFACT_BYTES`].
    pub too_large: Vec<Pin>,
    /// Everything else that failed: pin, error code, message.
    pub failed: Vec<(Pin, String, String)>,
    /// How many needed a download this run (the rest came from the cache).
    pub downloaded: usize,
}

/// Fetches every pin with `jobs` threads into `<eval_dir>/registry`, and links
/// each archive to `<eval_dir>/benign/<eco>/<name>@<version>/<filename>`.
pub fn fetch_all(
    eco: Eco,
    pins: &[Pin],
    eval_dir: &Path,
    jobs: usize,
) -> anyhow::Result<FetchReport> {
    let mut cfg = RegistryConfig::default_for_user().with_env_overrides();
    cfg.cache_dir = eval_dir.join("registry");
    cfg.max_download_bytes = MAX_ARTIFACT_BYTES;
    let registries = Registries::new(cfg).context("setting up registry clients")?;
    let link_root = eval_dir.join("benign").join(eco.as_str());
    std::fs::create_dir_all(&link_root)
        .with_context(|| format!("creating {}", link_root.display()))?;

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let report = Mutex::new(FetchReport::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, pins.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(pin) = pins.get(i) else { break };
                    let result = fetch_one(&registries, eco, pin, &link_root);
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut r = report
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match result {
                        Ok((cached, downloaded)) => {
                            r.downloaded += usize::from(downloaded);
                            r.cached.push(cached);
                        }
                        Err((code, msg)) if code == "download-too-large" => {
                            eprintln!(
                                "eval: {}: skip {}@{}: over {} MB",
                                eco.as_str(),
                                pin.name,
                                pin.version,
                                MAX_ARTIFACT_BYTES / 1_000_000
                            );
                            r.too_large.push(pin.clone());
                            let _ = msg;
                        }
                        Err((code, msg)) => {
                            eprintln!(
                                "eval: {}: fetch failed {}@{}: {code}: {msg}",
                                eco.as_str(),
                                pin.name,
                                pin.version
                            );
                            r.failed.push((pin.clone(), code, msg));
                        }
                    }
                    if finished.is_multiple_of(50) || finished == pins.len() {
                        eprintln!(
                            "eval: {}: fetched {finished}/{} ({} ok, {} too large, {} failed)",
                            eco.as_str(),
                            pins.len(),
                            r.cached.len(),
                            r.too_large.len(),
                            r.failed.len()
                        );
                    }
                }
            });
        }
    });
    let mut report = report
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Threads finish in any order; keep the list's order for stable output.
    let order: std::collections::HashMap<(&str, &str), usize> = pins
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.name.as_str(), p.version.as_str()), i))
        .collect();
    report.cached.sort_by_key(|c| {
        order
            .get(&(c.pin.name.as_str(), c.pin.version.as_str()))
            .copied()
    });
    Ok(report)
}

fn fetch_one(
    registries: &Registries,
    eco: Eco,
    pin: &Pin,
    link_root: &Path,
) -> Result<(Cached, bool), (String, String)> {
    let spec: PackageSpec = format!("{}:{}@{}", eco.as_str(), pin.name, pin.version)
        .parse()
        .map_err(|e: ossprey_model::SpecError| ("invalid-spec".to_owned(), e.to_string()))?;
    let fetched = registries
        .fetch(&spec)
        .map_err(|e| (e.code().to_owned(), e.to_string()))?;
    if fetched.artifact.size > MAX_ARTIFACT_BYTES {
        // A cache populated with a higher limit must not smuggle big ones in.
        return Err((
            "download-too-large".into(),
            format!("{} bytes", fetched.artifact.size),
        ));
    }
    // The registry's file name, reduced to its last component: it is remote input.
    let filename = Path::new(&fetched.filename)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .filter(|f| !f.is_empty() && f != "..")
        .ok_or_else(|| ("bad-filename".to_owned(), fetched.filename.clone()))?;
    let dir = link_root.join(format!("{}@{}", pin.name.replace('/', "+"), pin.version));
    let io = |e: std::io::Error| ("io".to_owned(), format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let path = dir.join(&filename);
    let fresh = std::fs::metadata(&path).is_ok_and(|m| m.len() == fetched.artifact.size);
    if !fresh {
        let _ = std::fs::remove_file(&path);
        // A hard link costs no space; another file system needs a copy.
        if std::fs::hard_link(&fetched.path, &path).is_err() {
            std::fs::copy(&fetched.path, &path).map_err(io)?;
        }
    }
    Ok((
        Cached {
            pin: pin.clone(),
            path,
            size: fetched.artifact.size,
        },
        !fetched.from_cache,
    ))
}
