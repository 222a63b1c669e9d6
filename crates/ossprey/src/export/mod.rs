//! Exports of reports for other tools: `jsonl` (dynamic results in the reference
//! system's field names, see [`jsonl`]), `osv` (one OSV report per malicious
//! package, see [`osv`]) and `sarif` (the findings, as `--format sarif` prints them).
//!
//! Conversions are pure functions of [`Report`]s; this module only adds where the
//! documents go (a stream, or a directory laid out like the OpenSSF
//! malicious-packages repository). It must never write outside the directory it is
//! given: file names derive from validated name parts or from hashes.

pub mod indicators;
pub mod jsonl;
pub mod osv;
#[cfg(test)]
mod testdata;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ossprey_model::{Ecosystem, Report};

/// What `ossprey export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Osv,
    Sarif,
}

/// One report to export, with where it came from.
#[derive(Clone, Copy, Debug)]
pub struct ExportItem<'a> {
    pub report: &'a Report,
    /// The store's analysis id, when exported from a store.
    pub analysis_id: Option<i64>,
    /// When the analysis was stored, in Unix seconds.
    pub created_unix: i64,
}

/// Writes the export of `items` as one stream: JSON lines, a JSON array of OSV
/// reports (malicious verdicts only), or one SARIF document.
pub fn write_stream(
    items: &[ExportItem<'_>],
    format: ExportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        ExportFormat::Jsonl => {
            for item in items {
                let record = jsonl::record(item.report, item.created_unix, item.analysis_id);
                serde_json::to_writer(&mut *out, &record)?;
                out.write_all(b"\n")?;
            }
        }
        ExportFormat::Osv => {
            let docs: Vec<_> = osv_docs(items).into_iter().map(|(doc, _)| doc).collect();
            serde_json::to_writer_pretty(&mut *out, &docs)?;
            out.write_all(b"\n")?;
        }
        ExportFormat::Sarif => {
            let reports: Vec<Report> = items.iter().map(|i| i.report.clone()).collect();
            serde_json::to_writer_pretty(&mut *out, &crate::output::sarif::document(&reports))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush().context("writing the export")
}

/// Writes the export of `items` into `dir` and returns the files written:
/// `dynamic-analysis.jsonl`, `ossprey.sarif`, or for OSV one file per malicious
/// package version at `<ecosystem>/<name>/<ID>.json`, the layout of
/// `osv/malicious/` in the OpenSSF malicious-packages repository.
pub fn write_dir(
    items: &[ExportItem<'_>],
    format: ExportFormat,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the export directory {}", dir.display()))?;
    let single = |name: &str| -> anyhow::Result<Vec<PathBuf>> {
        let path = dir.join(name);
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        );
        write_stream(items, format, &mut file)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(vec![path])
    };
    match format {
        ExportFormat::Jsonl => single("dynamic-analysis.jsonl"),
        ExportFormat::Sarif => single("ossprey.sarif"),
        ExportFormat::Osv => {
            let mut written = Vec::new();
            for (doc, item) in osv_docs(items) {
                let Some(package) = item.report.package.as_ref() else {
                    continue;
                };
                let id = doc["id"].as_str().unwrap_or("MAL-0000-ossprey");
                let mut path = dir.join(malicious_packages_dir(package.ecosystem));
                path.push(name_dir(&package.name));
                std::fs::create_dir_all(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                path.push(format!("{id}.json"));
                let mut bytes = serde_json::to_vec_pretty(&doc)?;
                bytes.push(b'\n');
                std::fs::write(&path, bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push(path);
            }
            Ok(written)
        }
    }
}

/// The OSV documents of the malicious items, one per package version: the id is
/// per version, so of several analyses of one version only the first (the newest,
/// in the store's order) is kept.
fn osv_docs<'i, 'r>(items: &'i [ExportItem<'r>]) -> Vec<(serde_json::Value, &'i ExportItem<'r>)> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter_map(|item| {
            let doc = osv::report_at(item.report, &rfc3339(item.created_unix))?;
            let id = doc["id"].as_str()?.to_owned();
            seen.insert(id).then_some((doc, item))
        })
        .collect()
}

/// The ecosystem's directory under `osv/malicious/` in malicious-packages.
fn malicious_packages_dir(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Pypi => "pypi",
        Ecosystem::Npm => "npm",
        Ecosystem::Crates => "crates-io",
        Ecosystem::Rubygems => "rubygems",
    }
}

/// A relative directory for a package name: its `/`-separated parts (npm scopes)
/// when every part is a plain file name, else a digest of the name, so a hostile
/// name (`../../x`, control characters) cannot leave the export directory.
fn name_dir(name: &str) -> PathBuf {
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part.len() <= 214
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+'))
    };
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() <= 2 && parts.iter().all(|p| plain(p)) {
        parts.iter().collect()
    } else {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(name.as_bytes());
        PathBuf::from(format!(
            "_name-{}",
            digest
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 in UTC with a `Z` and whole seconds (the form OSV's schema requires).
pub fn rfc3339(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let d = t.date();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_whole_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_093_600), "2025-11-25T18:00:00Z");
    }

    #[test]
    fn hostile_package_names_stay_inside_the_export_directory() {
        assert_eq!(name_dir("evil"), PathBuf::from("evil"));
        assert_eq!(name_dir("@scope/pkg"), PathBuf::from("@scope/pkg"));
        for hostile in ["../../etc", "/abs", "a/../../b", "x\ny", "", "a/b/c"] {
            let dir = name_dir(hostile);
            assert!(
                dir.to_str().unwrap().starts_with("_name-"),
                "{hostile:?} gave {dir:?}"
            );
        }
    }

    #[test]
    fn osv_directory_export_writes_one_file_per_malicious_version() {
        let malicious = testdata::analysed_malicious();
        let mut benign = testdata::analysed_malicious();
        benign.verdict = Some(ossprey_model::Verdict::Benign);
        benign.package.as_mut().unwrap().name = "plain".into();
        // Newest first, as the store returns them: the older analysis of the same
        // version must not replace the newer one's document.
        let items = [
            ExportItem {
                report: &malicious,
                analysis_id: Some(3),
                created_unix: 1_764_093_600,
            },
            ExportItem {
                report: &benign,
                analysis_id: Some(2),
                created_unix: 1_764_093_600,
            },
            ExportItem {
                report: &malicious,
                analysis_id: Some(1),
                created_unix: 1_700_000_000,
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let files = write_dir(&items, ExportFormat::Osv, dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        let rel = files[0].strip_prefix(dir.path()).unwrap();
        assert!(rel.starts_with("pypi/evil"), "{rel:?}");
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        assert_eq!(doc["published"], "2025-11-25T18:00:00Z");
        assert_eq!(
            rel.file_name().unwrap().to_str().unwrap(),
            format!("{}.json", doc["id"].as_str().unwrap())
        );
    }
}
