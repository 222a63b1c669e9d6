//! Reads every real malicious package of the shared corpus with default
//! limits. Errors are allowed (and summarised); a panic fails the test. The
//! files are only read as bytes, never extracted, installed or run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ossprey_archive::{Limits, read_path};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("OSSPREY_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    }
}

#[test]
fn corpus_reads_without_panicking() {
    let root = corpus_dir();
    let Ok(folders) = std::fs::read_dir(&root) else {
        println!("skipped: corpus not found at {}", root.display());
        return;
    };
    let mut files = Vec::new();
    for folder in folders.filter_map(Result::ok) {
        let Ok(items) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for item in items.filter_map(Result::ok) {
            let path = item.path();
            let is_data = path.extension().is_some_and(|e| e != "csv" && e != "md");
            if path.is_file() && is_data {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut read_ok, mut entries, mut bytes, mut notes) = (0u64, 0u64, 0u64, 0u64);
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut note_kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for path in &files {
        match read_path(path, &Limits::default(), &mut |_| Ok(())) {
            Ok(summary) => {
                read_ok += 1;
                entries += summary.entries;
                bytes += summary.total_bytes;
                notes += summary.notes.len() as u64;
                for n in &summary.notes {
                    *note_kinds.entry(n.kind.as_str()).or_default() += 1;
                }
            }
            Err(e) => failures
                .entry(e.code().to_owned())
                .or_default()
                .push(e.to_string()),
        }
    }
    let failed: usize = failures.values().map(Vec::len).sum();
    println!(
        "corpus: {} files, {read_ok} read ok ({entries} entries, {bytes} bytes, {notes} notes), {failed} rejected",
        files.len()
    );
    println!("notes by kind: {note_kinds:?}");
    for (code, list) in &failures {
        println!("  {code}: {}", list.len());
        for msg in list.iter().take(10) {
            println!("    {msg}");
        }
    }
}
