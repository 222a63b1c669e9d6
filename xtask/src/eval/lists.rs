//! The pinned benign corpus: reading `xtask/eval/benign-*.txt`, and making them
//! (`cargo xtask eval make-lists`) from the registry rankings in
//! `../.library/env/packages/{pypi,npm}.tsv`.
//!
//! Selection, all deterministic so that a rerun on the same rankings writes the
//! same files byte for byte:
//!
//! * **popular**: ranks 251–1000 (PyPI: `rank_among_15000_most_downloaded`; npm:
//!   position when sorted by `downloads_a_month` descending, name ascending), keeping
//!   the ranks `r` with `(r - 251) % 5` in `{0, 2}` — two of every five, 300 of 750.
//!   The top 250 are left out on purpose: they are the packages every rule author
//!   looks at first, so they say little about false positives.
//! * **sample**: 100 ordinary, less popular packages drawn with a seeded splitmix64
//!   shuffle ([`SAMPLE_SEED`]) from the candidates sorted by name. PyPI: no rank,
//!   a summary with at least three letters that is not `UNKNOWN`, last release month
//!   2022-01 or later. npm: 500–50,000 downloads a month and a non-empty summary.
//! * Any name that appears in a malicious corpus manifest is excluded (after name
//!   normalisation), in case a malicious name is also a ranked one.
//!
//! Versions are the ones in the ranking files (the version each list was made with),
//! so the corpus does not drift as packages release.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// Seed of the less-popular sample. Changing it changes the committed lists.
pub const SAMPLE_SEED: u64 = 0x0055_9E7E_2026_0001;
/// Popular ranks considered (inclusive).
pub const POPULAR_RANKS: (u64, u64) = (251, 1000);
/// How many less popular packages are sampled per ecosystem.
pub const SAMPLE_SIZE: usize = 100;

/// The two ecosystems with a benign corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Eco {
    Pypi,
    Npm,
}

impl Eco {
    pub const ALL: [Eco; 2] = [Eco::Pypi, Eco::Npm];

    pub fn as_str(self) -> &'static str {
        match self {
            Eco::Pypi => "pypi",
            Eco::Npm => "npm",
        }
    }

    /// `name==version` for PyPI (pip's pin syntax), `name@version` for npm.
    fn separator(self) -> &'static str {
        match self {
            Eco::Pypi => "==",
            Eco::Npm => "@",
        }
    }

    /// Name as the registry compares it: PEP 503 for PyPI, lowercase for npm.
    pub fn normalize(self, name: &str) -> String {
        match self {
            Eco::Pypi => {
                let mut out = String::with_capacity(name.len());
                let mut in_sep = false;
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !in_sep {
                            out.push('-');
                        }
                        in_sep = true;
                    } else {
                        out.extend(c.to_lowercase());
                        in_sep = false;
                    }
                }
                out
            }
            Eco::Npm => name.trim().to_lowercase(),
        }
    }
}

/// One pinned package of a benign list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub name: String,
    pub version: String,
    /// The `# group: NAME` section it was listed under (`popular`, `sample`), if any.
    pub group: String,
}

/// Parses a benign list: blank lines and `#` comments are skipped, except
/// `# group: NAME`, which labels the pins after it. Errors name the line.
pub fn parse_list(eco: Eco, text: &str) -> anyhow::Result<Vec<Pin>> {
    let mut pins = Vec::new();
    let mut group = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(g) = comment.trim().strip_prefix("group:") {
                group = g.trim().to_owned();
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let split = match eco {
            Eco::Pypi => line.split_once("=="),
            // A scoped name starts with `@`: the version separator is the last `@` after it.
            Eco::Npm => line
                .rfind('@')
                .filter(|&at| at > 0)
                .map(|at| (&line[..at], &line[at + 1..])),
        };
        let Some((name, version)) = split else {
            anyhow::bail!(
                "line {}: expected name{}version, got {line:?}",
                i + 1,
                eco.separator()
            );
        };
        let (name, version) = (name.trim(), version.trim());
        if name.is_empty() || version.is_empty() || version.contains(char::is_whitespace) {
            anyhow::bail!(
                "line {}: expected name{}version, got {line:?}",
                i + 1,
                eco.separator()
            );
        }
        pins.push(Pin {
            name: name.to_owned(),
            version: version.to_owned(),
            group: group.clone(),
        });
    }
    Ok(pins)
}

/// One row of a ranking file, reduced to what the selection needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub name: String,
    pub version: String,
    /// Popularity rank, 1 = most popular; `None` when unranked.
    pub rank: Option<u64>,
    /// PyPI: `YYYY-MM` of the listed release; empty for npm.
    pub month: String,
    /// npm: downloads a month; 0 for PyPI.
    pub downloads: u64,
    pub summary: String,
}

/// Reads `pypi.tsv` (name, version, month, rank, summary). Malformed rows are skipped.
pub fn parse_pypi_tsv(text: &str) -> Vec<Ranked> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.splitn(5, '\t');
            let name = cols.next()?.trim();
            let version = cols.next()?.trim();
            let month = cols.next()?.trim();
            let rank = cols.next()?.trim();
            let summary = cols.next().unwrap_or("").trim();
            if name.is_empty() || version.is_empty() {
                return None;
            }
            Some(Ranked {
                name: name.to_owned(),
                version: version.to_owned(),
                rank: rank.parse().ok(),
                month: month.to_owned(),
                downloads: 0,
                summary: summary.to_owned(),
            })
        })
        .collect()
}

/// Reads `npm.tsv` (name, version, downloads_a_month, summary) and assigns ranks
/// by downloads, descending, ties broken by name. Malformed rows are skipped.
pub fn parse_npm_tsv(text: &str) -> Vec<Ranked> {
    let mut rows: Vec<Ranked> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.splitn(4, '\t');
            let name = cols.next()?.trim();
            let version = cols.next()?.trim();
            let downloads = cols.next()?.trim().parse().ok()?;
            let summary = cols.next().unwrap_or("").trim();
            if name.is_empty() || version.is_empty() {
                return None;
            }
            Some(Ranked {
                name: name.to_owned(),
                version: version.to_owned(),
                rank: None,
                month: String::new(),
                downloads,
                summary: summary.to_owned(),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.downloads
            .cmp(&a.downloads)
            .then_with(|| a.name.cmp(&b.name))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = Some(i as u64 + 1);
    }
    rows
}

/// Whether a popular rank is kept: inside [`POPULAR_RANKS`] and two of every five.
pub fn keep_rank(rank: u64) -> bool {
    let (lo, hi) = POPULAR_RANKS;
    (lo..=hi).contains(&rank) && matches!((rank - lo) % 5, 0 | 2)
}

/// The popular selection, in rank order, without excluded or repeated names.
pub fn select_popular(eco: Eco, rows: &[Ranked], exclude: &HashSet<String>) -> Vec<Ranked> {
    let mut picked: Vec<Ranked> = rows
        .iter()
        .filter(|r| r.rank.is_some_and(keep_rank))
        .cloned()
        .collect();
    picked.sort_by_key(|r| r.rank);
    dedup_excluding(eco, picked, exclude)
}

/// Whether a row is an "ordinary, less popular" candidate for the sample.
pub fn is_sample_candidate(eco: Eco, row: &Ranked) -> bool {
    match eco {
        Eco::Pypi => {
            row.rank.is_none()
                && row.month.as_str() >= "2022-01"
                && row.summary != "UNKNOWN"
                && row.summary.chars().filter(|c| c.is_alphabetic()).count() >= 3
        }
        Eco::Npm => (500..=50_000).contains(&row.downloads) && !row.summary.is_empty(),
    }
}

/// `n` candidates drawn without replacement by a seeded shuffle of the
/// candidates sorted by name, returned sorted by name.
pub fn sample(
    eco: Eco,
    rows: &[Ranked],
    n: usize,
    seed: u64,
    exclude: &HashSet<String>,
) -> Vec<Ranked> {
    let mut candidates: Vec<Ranked> = rows
        .iter()
        .filter(|r| is_sample_candidate(eco, r))
        .cloned()
        .collect();
    // Sorting first makes the draw independent of the ranking file's row order.
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let mut candidates = dedup_excluding(eco, candidates, exclude);
    let mut rng = SplitMix64(seed);
    let take = n.min(candidates.len());
    for i in 0..take {
        let remaining = (candidates.len() - i) as u64;
        let j = i + (rng.next() % remaining) as usize;
        candidates.swap(i, j);
    }
    candidates.truncate(take);
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    candidates
}

fn dedup_excluding(eco: Eco, rows: Vec<Ranked>, exclude: &HashSet<String>) -> Vec<Ranked> {
    let mut seen = HashSet::new();
    rows.into_iter()
        .filter(|r| {
            let key = eco.normalize(&r.name);
            !exclude.contains(&key) && seen.insert(key)
        })
        .collect()
}

/// splitmix64: tiny, well known, and stable across Rust and crate versions,
/// which a committed sample needs more than statistical quality.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Normalised names of every package in the malicious corpus manifests of `eco`.
/// PyPI's manifest has a `name` column; npm's only file names (`name-1.2.3.tgz`).
pub fn malicious_names(eco: Eco, manifest: &str) -> HashSet<String> {
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let name_col = header.iter().position(|h| h.trim() == "name");
    let file_col = header.iter().position(|h| h.trim() == "file");
    lines
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            if let Some(name) = name_col.and_then(|i| cols.get(i)) {
                return Some(eco.normalize(name));
            }
            file_col
                .and_then(|i| cols.get(i))
                .and_then(|f| name_from_file(f))
                .map(|n| eco.normalize(&n))
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// `left-pad-1.3.0.tgz` → `left-pad`: the name ends at the last `-` before a digit.
pub fn name_from_file(file: &str) -> Option<String> {
    let stem = file.trim();
    let stem = [".tar.gz", ".tgz", ".zip", ".whl", ".tar.bz2", ".egg"]
        .iter()
        .find_map(|s| stem.strip_suffix(s))
        .unwrap_or(stem);
    let bytes = stem.as_bytes();
    let cut = (0..bytes.len()).rev().find(|&i| {
        bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    })?;
    stem.get(..cut).map(str::to_owned).filter(|n| !n.is_empty())
}

/// Renders one list file: header comment, then the popular and sample groups.
pub fn render(
    eco: Eco,
    source: &str,
    popular: &[Ranked],
    sampled: &[Ranked],
    excluded: usize,
) -> String {
    let (lo, hi) = POPULAR_RANKS;
    let sep = eco.separator();
    let mut out = String::new();
    let rank_how = match eco {
        Eco::Pypi => "the rank_among_15000_most_downloaded column",
        Eco::Npm => "position by downloads_a_month, descending (ties by name)",
    };
    let sample_how = match eco {
        Eco::Pypi => {
            "unranked, summary with >= 3 letters and not UNKNOWN, listed release month >= 2022-01"
        }
        Eco::Npm => "500-50,000 downloads a month, non-empty summary",
    };
    let _ = writeln!(
        out,
        "# Benign {} corpus for `cargo xtask eval`: one pinned name{sep}version a line.",
        eco.as_str()
    );
    let _ = writeln!(
        out,
        "# Generated by `cargo xtask eval make-lists` from {source} (do not edit by hand)."
    );
    let _ = writeln!(out, "# popular: ranks {lo}-{hi} by {rank_how},");
    let _ = writeln!(
        out,
        "#   keeping ranks r with (r - {lo}) % 5 in {{0, 2}}: {} packages.",
        popular.len()
    );
    let _ = writeln!(
        out,
        "# sample: {} drawn by a splitmix64 shuffle (seed {SAMPLE_SEED:#018x}) of the",
        sampled.len()
    );
    let _ = writeln!(out, "#   candidates sorted by name: {sample_how}.");
    let _ = writeln!(
        out,
        "# Versions are those of the ranking file. Names in ../shared/corpus/*/manifest.csv"
    );
    let _ = writeln!(
        out,
        "#   are excluded ({excluded} such names seen among the candidates)."
    );
    let _ = writeln!(out, "# group: popular");
    for r in popular {
        let _ = writeln!(out, "{}{sep}{}", r.name, r.version);
    }
    let _ = writeln!(out, "# group: sample");
    for r in sampled {
        let _ = writeln!(out, "{}{sep}{}", r.name, r.version);
    }
    if eco == Eco::Npm {
        let _ = writeln!(
            out,
            "# hooks: popular packages whose pinned version has a preinstall, install or"
        );
        let _ = writeln!(
            out,
            "#   postinstall script (checked with `npm view NAME@VERSION scripts`): the"
        );
        let _ = writeln!(
            out,
            "#   groups above hold almost none, so install-hook rules' false positives need these."
        );
        let _ = writeln!(out, "# group: hooks");
        for pin in NPM_WITH_INSTALL_HOOKS {
            let _ = writeln!(out, "{pin}");
        }
    }
    out
}

/// Popular npm packages with install-time scripts (native builds, binary
/// downloads, notices), pinned; chosen by hand on 2026-11-25 from well-known
/// packages, each checked to declare `preinstall`, `install` or `postinstall`.
pub const NPM_WITH_INSTALL_HOOKS: &[&str] = &[
    "esbuild@0.28.2",
    "pnpm@12.21.0",
    "core-js@3.51.0",
    "bcrypt@6.0.0",
    "sqlite3@6.0.1",
    "canvas@3.2.3",
    "@swc/core@1.16.22",
    "cypress@15.3.0",
    "es5-ext@0.10.64",
    "core-js-pure@3.51.0",
    "node-sass@9.0.0",
    "prisma@7.10.1",
    "ngrok@4.3.3",
    "phantomjs-prebuilt@2.1.16",
    "chromedriver@157.0.0",
    "@sentry/cli@3.8.0",
    "puppeteer@25.16.0",
    "nx@24.0.6",
    "lefthook@2.2.2",
    "bufferutil@4.1.0",
    "utf-8-validate@6.0.6",
    "leveldown@6.1.1",
    "re2@1.27.1",
    "argon2@0.45.1",
    "cpu-features@0.0.10",
    "ssh2@1.17.0",
    "@parcel/watcher@2.6.0",
    "deasync@0.1.32",
    "dtrace-provider@0.8.8",
];

/// `cargo xtask eval make-lists [--from DIR] [--corpus DIR] [--out DIR]`.
pub fn make_lists(from: &Path, corpus: &Path, out_dir: &Path) -> anyhow::Result<()> {
    for eco in Eco::ALL {
        let tsv = from.join(format!("{}.tsv", eco.as_str()));
        let text =
            std::fs::read_to_string(&tsv).with_context(|| format!("reading {}", tsv.display()))?;
        let rows = match eco {
            Eco::Pypi => parse_pypi_tsv(&text),
            Eco::Npm => parse_npm_tsv(&text),
        };
        let mut exclude = HashSet::new();
        for sub in ["pypi-malicious", "npm-malicious"] {
            let manifest = corpus.join(sub).join("manifest.csv");
            match std::fs::read_to_string(&manifest) {
                Ok(m) => exclude.extend(malicious_names(eco, &m)),
                Err(e) => eprintln!(
                    "eval: warning: {}: {e} (no exclusions from it)",
                    manifest.display()
                ),
            }
        }
        let excluded_seen = rows
            .iter()
            .filter(|r| {
                (r.rank.is_some_and(keep_rank) || is_sample_candidate(eco, r))
                    && exclude.contains(&eco.normalize(&r.name))
            })
            .count();
        let popular = select_popular(eco, &rows, &exclude);
        let popular_names: HashSet<String> =
            popular.iter().map(|r| eco.normalize(&r.name)).collect();
        let mut exclude_sample = exclude.clone();
        exclude_sample.extend(popular_names);
        let sampled = sample(eco, &rows, SAMPLE_SIZE, SAMPLE_SEED, &exclude_sample);
        let source = format!("../.library/env/packages/{}.tsv", eco.as_str());
        let text = render(eco, &source, &popular, &sampled, excluded_seen);
        let out = out_dir.join(format!("benign-{}.txt", eco.as_str()));
        std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "eval: {}: {} popular + {} sampled → {} ({} rows read, {excluded_seen} excluded as malicious names)",
            eco.as_str(),
            popular.len(),
            sampled.len(),
            out.display(),
            rows.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, rank: Option<u64>) -> Ranked {
        Ranked {
            name: name.into(),
            version: "1.0".into(),
            rank,
            month: "2023-05".into(),
            downloads: 0,
            summary: "A useful thing".into(),
        }
    }

    #[test]
    fn parses_pypi_and_npm_lists_with_groups_and_scopes() {
        let pypi =
            "# header\n# group: popular\nrequests==2.32.3\n\n# group: sample\n tiny_pkg == 0.1 \n";
        let pins = parse_list(Eco::Pypi, pypi).unwrap();
        assert_eq!(pins.len(), 2);
        assert_eq!(
            (
                pins[0].name.as_str(),
                pins[0].version.as_str(),
                pins[0].group.as_str()
            ),
            ("requests", "2.32.3", "popular")
        );
        assert_eq!(
            (
                pins[1].name.as_str(),
                pins[1].version.as_str(),
                pins[1].group.as_str()
            ),
            ("tiny_pkg", "0.1", "sample")
        );

        let npm = "@babel/core@7.24.0\nleft-pad@1.3.0\n";
        let pins = parse_list(Eco::Npm, npm).unwrap();
        assert_eq!(pins[0].name, "@babel/core");
        assert_eq!(pins[0].version, "7.24.0");
        assert_eq!(pins[1].name, "left-pad");
    }

    #[test]
    fn rejects_unpinned_lines() {
        assert!(parse_list(Eco::Pypi, "requests\n").is_err());
        assert!(parse_list(Eco::Npm, "@babel/core\n").is_err());
        assert!(parse_list(Eco::Npm, "left-pad@\n").is_err());
        let err = parse_list(Eco::Pypi, "a==1\nb 2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn rank_selection_keeps_two_of_five_between_251_and_1000() {
        assert!(!keep_rank(250));
        assert!(keep_rank(251));
        assert!(!keep_rank(252));
        assert!(keep_rank(253));
        assert!(!keep_rank(254));
        assert!(!keep_rank(255));
        assert!(keep_rank(256));
        assert!(!keep_rank(1001));
        assert_eq!((1..=2000).filter(|&r| keep_rank(r)).count(), 300);

        let rows: Vec<Ranked> = (1..=1200).map(|r| row(&format!("p{r}"), Some(r))).collect();
        let mut exclude = HashSet::new();
        exclude.insert("p253".to_owned());
        let picked = select_popular(Eco::Pypi, &rows, &exclude);
        assert_eq!(picked.len(), 299);
        assert_eq!(picked[0].name, "p251");
        assert_eq!(picked[1].name, "p256", "p253 is excluded");
    }

    #[test]
    fn npm_ranks_follow_downloads_then_name() {
        let tsv = "name\tversion\tdownloads\tsummary\nb\t1\t10\tx\na\t1\t10\ty\nc\t2\t99\t\nbad\t1\tnope\tz\n";
        let rows = parse_npm_tsv(tsv);
        let order: Vec<(&str, Option<u64>)> =
            rows.iter().map(|r| (r.name.as_str(), r.rank)).collect();
        assert_eq!(order, vec![("c", Some(1)), ("a", Some(2)), ("b", Some(3))]);
    }

    #[test]
    fn pypi_tsv_keeps_rankless_rows() {
        let tsv = "name\tversion\tmonth\trank\tsummary\nfoo\t1.0\t2023-01\t\tA foo\nbar\t2.0\t2020-01\t7\tBar\tlib\n";
        let rows = parse_pypi_tsv(tsv);
        assert_eq!(rows[0].rank, None);
        assert_eq!(rows[1].rank, Some(7));
        assert_eq!(rows[1].summary, "Bar\tlib");
        assert!(is_sample_candidate(Eco::Pypi, &rows[0]));
        assert!(!is_sample_candidate(Eco::Pypi, &rows[1]));
    }

    #[test]
    fn sample_is_deterministic_seeded_and_independent_of_row_order() {
        let rows: Vec<Ranked> = (0..500).map(|i| row(&format!("pkg{i:03}"), None)).collect();
        let none = HashSet::new();
        let a = sample(Eco::Pypi, &rows, 10, 7, &none);
        let mut reversed = rows.clone();
        reversed.reverse();
        let b = sample(Eco::Pypi, &reversed, 10, 7, &none);
        let c = sample(Eco::Pypi, &rows, 10, 8, &none);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0].name < w[1].name));
        // Not simply the first ten names.
        assert_ne!(
            a.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            (0..10).map(|i| format!("pkg{i:03}")).collect::<Vec<_>>()
        );
        assert_eq!(sample(Eco::Pypi, &rows[..3], 10, 7, &none).len(), 3);
    }

    #[test]
    fn malicious_manifests_and_normalisation() {
        let pypi = "name,source_path,file\nBeautiful_Soop,x,y.tar.gz\n";
        assert!(malicious_names(Eco::Pypi, pypi).contains("beautiful-soop"));
        let npm = "source_path,file\ndataset/1ru-cache-0.0.2.tgz,1ru-cache-0.0.2.tgz\n";
        assert!(malicious_names(Eco::Npm, npm).contains("1ru-cache"));
        assert_eq!(
            name_from_file("2e6d5f64604be31-1.0.0.tgz").as_deref(),
            Some("2e6d5f64604be31")
        );
        assert_eq!(name_from_file("1.0.0.tgz"), None);
        assert_eq!(Eco::Pypi.normalize("Zope.Interface__x"), "zope-interface-x");
    }
}
