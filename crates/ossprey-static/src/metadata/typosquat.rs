//! Typosquatting: is a package name a near-miss of a popular one?
//!
//! A name is compared with its ecosystem's popular list ([`super::popular`]) by
//! several techniques attackers use: edit distance and adjacent swaps, separator
//! confusion, affixes such as `python-` or `-js`, look-alike characters,
//! duplicated characters and npm scope confusion.
//!
//! What it must never do: flag a popular package (anything on the list is
//! never a typosquat, including of a more popular name), or take more than
//! linear work in an attacker-chosen name. The per-ecosystem index is built
//! once per process; a lookup costs a few hash-map probes plus, for edit
//! distance, a binary search per deletion variant of the name (symmetric
//! deletion), not a scan of the list.

use std::collections::HashMap;
use std::sync::LazyLock;

use ossprey_model::Ecosystem;
use serde::{Deserialize, Serialize};

use super::popular::{PopularList, normalize_name, popular};

/// How a name imitates a popular one. Ordered by how specific the technique
/// is: when two techniques find the same target, the earlier one is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Technique {
    /// Same name with separators added, removed or swapped (`python-dateutil`
    /// / `pythondateutil`, `lodash.merge` / `lodash-merge`).
    Separator,
    /// Same name with look-alike characters (`rn`/`m`, `1`/`l`, `0`/`o`,
    /// `vv`/`w`, capital `I`/`l`, Cyrillic or full-width letters).
    Homoglyph,
    /// npm scope confusion: `@foo/bar` for `foo-bar`, `babel-core` for
    /// `@babel/core`, or a popular scoped name under a different scope.
    ScopeConfusion,
    /// A character repeated or un-repeated (`requestss`, `reqquests`).
    DuplicatedChar,
    /// Two adjacent characters swapped (`reqeusts`).
    AdjacentSwap,
    /// A popular name plus or minus an affix (`python-requests`,
    /// `requests-utils`, `lodash-js`, `requests3`).
    Affix,
    /// Damerau–Levenshtein (optimal string alignment) distance 1, or 2 when
    /// both names are at least 10 characters long.
    EditDistance,
}

impl Technique {
    /// Short kebab-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Separator => "separator",
            Self::Homoglyph => "homoglyph",
            Self::ScopeConfusion => "scope-confusion",
            Self::DuplicatedChar => "duplicated-char",
            Self::AdjacentSwap => "adjacent-swap",
            Self::Affix => "affix",
            Self::EditDistance => "edit-distance",
        }
    }
}

/// A popular package that a name imitates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TyposquatMatch {
    /// The popular name, normalised as the registry compares names.
    pub target: String,
    pub technique: Technique,
    /// Optimal-string-alignment distance between the two normalised names.
    pub distance: u32,
    /// The target's 0-based popularity rank (0 = most popular): a near-miss
    /// of a top-50 package is worth more than one of the 4,000th.
    pub target_rank: usize,
}

/// Names shorter than this are only matched by exact separator or look-alike
/// confusion: one edit away from a three-letter name is most three-letter names.
const MIN_FUZZY_LEN: usize = 4;
/// Names at least this long may be two edits from their target.
const MIN_LEN_FOR_DISTANCE_2: usize = 10;
/// No popular name is near this long; longer inputs are not compared at all,
/// which also bounds the quadratic distance computation.
const MAX_NAME_LEN: usize = 256;

/// Prefixes attackers add to a popular name (`python-requests`).
const PREFIXES: &[&str] = &[
    "python-", "python3-", "python2-", "py-", "py3-", "node-", "js-",
];
/// Suffixes attackers add to a popular name (`requests-py`, `lodash-utils`).
const SUFFIXES: &[&str] = &[
    "-python", "-python3", "-py", "-py3", "-js", "js", "-node", "-utils", "-util", "-lib", "-dev",
    "-sdk", "-api", "-2", "-3", "2", "3",
];
/// Language markers attackers *remove* from a popular name (`dateutil` for
/// `python-dateutil`, `highlight` for `highlight.js`). Only these: removing
/// `-utils` or `2` from a popular name gives ordinary words far too often.
const MARKER_PREFIXES: &[&str] = &["python-", "py-", "node-"];
const MARKER_SUFFIXES: &[&str] = &["-python", "-py", "-js", "js", "-node"];

/// Finds the popular package of `ecosystem` that `name` imitates, if any.
///
/// Returns `None` for popular names themselves. When several popular names
/// match, the most popular wins (then the most specific technique).
pub fn typosquat(ecosystem: Ecosystem, name: &str) -> Option<TyposquatMatch> {
    index(ecosystem).find(name)
}

static INDEXES: [LazyLock<SquatIndex>; 4] = [
    LazyLock::new(|| SquatIndex::build(popular(Ecosystem::Pypi))),
    LazyLock::new(|| SquatIndex::build(popular(Ecosystem::Npm))),
    LazyLock::new(|| SquatIndex::build(popular(Ecosystem::Crates))),
    LazyLock::new(|| SquatIndex::build(popular(Ecosystem::Rubygems))),
];

fn index(ecosystem: Ecosystem) -> &'static SquatIndex {
    match ecosystem {
        Ecosystem::Pypi => &INDEXES[0],
        Ecosystem::Npm => &INDEXES[1],
        Ecosystem::Crates => &INDEXES[2],
        Ecosystem::Rubygems => &INDEXES[3],
    }
}

/// Lookup tables over one popular list, each mapping a derived key to the
/// best (lowest) rank that has it.
struct SquatIndex {
    list: &'static PopularList,
    /// Name without `-`, `_`, `.`.
    separator: HashMap<String, usize>,
    /// Separator-free name with look-alikes folded ([`skeleton`]).
    glyph: HashMap<String, usize>,
    /// Skeleton with runs of one character collapsed.
    collapsed: HashMap<String, usize>,
    /// npm scoped names flattened: `@babel/core` → `babelcore`.
    flat_scoped: HashMap<String, usize>,
    /// Every 0/1-deletion variant of each name (and 2-deletion variants of
    /// long names) as ([`tag`] of its hash, rank of the name), grouped by
    /// [`bucket`]: 8 bytes an entry, about a million entries for npm.
    deletions: Vec<(u32, u32)>,
    /// `bucket_starts[k]` is the first index in `deletions` whose hash has
    /// top bits `k`: a lookup scans one small bucket (one to three entries)
    /// instead of binary-searching millions, and building it is one pass.
    bucket_starts: Vec<u32>,
}

fn keep_best(map: &mut HashMap<String, usize>, key: String, rank: usize) {
    map.entry(key)
        .and_modify(|r| *r = (*r).min(rank))
        .or_insert(rank);
}

impl SquatIndex {
    fn build(list: &'static PopularList) -> Self {
        let mut index = Self {
            list,
            separator: HashMap::new(),
            glyph: HashMap::new(),
            collapsed: HashMap::new(),
            flat_scoped: HashMap::new(),
            deletions: Vec::new(),
            bucket_starts: Vec::new(),
        };
        for (rank, name) in list.names().iter().enumerate() {
            keep_best(&mut index.separator, separator_key(name), rank);
            let skel = skeleton(name);
            if char_len(name) >= MIN_FUZZY_LEN {
                keep_best(&mut index.collapsed, collapse_runs(&skel), rank);
            }
            keep_best(&mut index.glyph, skel, rank);
            if let Some((scope, bare)) = split_scope(name) {
                let flat = separator_key(&format!("{scope}{bare}"));
                if flat.len() >= MIN_FUZZY_LEN {
                    keep_best(&mut index.flat_scoped, flat, rank);
                }
            }
        }
        // Counting sort by bucket, in two passes over the deletion variants:
        // count each bucket, then place each entry. Lookups scan their bucket
        // linearly, so entries need grouping, not ordering; and generating the
        // variants twice is cheaper than holding them all in a second, wider
        // vector (or sorting about a million of them, which dominated the
        // start-up of a one-package scan).
        // bucket_starts[k + 1] counts bucket k, then prefix sums.
        let mut starts = vec![0u32; (1usize << BUCKET_BITS) + 1];
        for_each_deletion(list, |h, _| {
            if let Some(slot) = starts.get_mut(bucket(h) + 1) {
                *slot = slot.saturating_add(1);
            }
        });
        for k in 1..starts.len() {
            starts[k] = starts[k].saturating_add(starts[k - 1]);
        }
        let total = starts.last().map_or(0, |&n| n as usize);
        let mut cursor = starts.clone();
        let mut grouped = vec![(0u32, 0u32); total];
        for_each_deletion(list, |h, rank| {
            let Some(next) = cursor.get_mut(bucket(h)) else {
                return;
            };
            if let Some(slot) = grouped.get_mut(*next as usize) {
                *slot = (tag(h), rank);
            }
            *next = next.saturating_add(1);
        });
        index.deletions = grouped;
        index.bucket_starts = starts;
        index
    }

    fn find(&self, raw: &str) -> Option<TyposquatMatch> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_NAME_LEN {
            return None;
        }
        let eco = self.list.ecosystem();
        let norm = normalize_name(eco, raw);
        if self.list.contains(&norm) {
            return None;
        }
        let names = self.list.names();
        let cand_scope = split_scope(&norm).map(|(s, _)| s);
        let mut best: Option<(usize, Technique)> = None;
        let mut consider = |rank: usize, technique: Technique| {
            let Some(target) = names.get(rank) else {
                return;
            };
            // A scope has one owner: a near-miss inside the same scope was
            // published by the owner of the popular package.
            if cand_scope.is_some() && split_scope(target).map(|(s, _)| s) == cand_scope {
                return;
            }
            if best.is_none_or(|b| (rank, technique) < b) {
                best = Some((rank, technique));
            }
        };

        let sep = separator_key(&norm);
        if let Some(&rank) = self.separator.get(&sep) {
            consider(rank, Technique::Separator);
        }
        // The skeleton is taken from the raw name: a capital `I` standing for
        // `l` is gone once the name is lowercased.
        let skel = skeleton(raw);
        if let Some(&rank) = self.glyph.get(&skel) {
            consider(rank, Technique::Homoglyph);
        }

        let long_enough = char_len(&norm) >= MIN_FUZZY_LEN;
        if long_enough {
            self.scope_confusion(&norm, &mut consider);
            if let Some(&rank) = self.collapsed.get(&collapse_runs(&skel))
                && names
                    .get(rank)
                    .is_some_and(|t| char_len(t) >= MIN_FUZZY_LEN)
            {
                consider(rank, Technique::DuplicatedChar);
            }
            if cand_scope.is_none() {
                self.affixes(&norm, &mut consider);
            }
            self.edit_distance(&norm, &mut consider);
        }

        let (rank, technique) = best?;
        let target = names.get(rank)?;
        Some(TyposquatMatch {
            target: target.clone(),
            technique,
            distance: osa_distance(
                &norm.chars().collect::<Vec<_>>(),
                &target.chars().collect::<Vec<_>>(),
            ),
            target_rank: rank,
        })
    }

    fn scope_confusion(&self, norm: &str, consider: &mut impl FnMut(usize, Technique)) {
        match split_scope(norm) {
            // `@foo/bar` imitating the unscoped `foo-bar`.
            Some((scope, bare)) => {
                let flat = separator_key(&format!("{scope}{bare}"));
                if let Some(&rank) = self.separator.get(&flat)
                    && !self
                        .list
                        .names()
                        .get(rank)
                        .is_some_and(|t| t.starts_with('@'))
                {
                    consider(rank, Technique::ScopeConfusion);
                }
            }
            // `babel-core` or `types-node` imitating `@babel/core`, `@types/node`.
            None => {
                if let Some(&rank) = self.flat_scoped.get(&separator_key(norm)) {
                    consider(rank, Technique::ScopeConfusion);
                }
            }
        }
    }

    fn affixes(&self, norm: &str, consider: &mut impl FnMut(usize, Technique)) {
        // Affixes are written with `-`; compare in a form where every
        // separator run is one `-`.
        let dashed = normalize_name(Ecosystem::Pypi, norm);
        let mut lookup = |stem: &str| {
            if char_len(stem) < MIN_FUZZY_LEN {
                return;
            }
            if let Some(&rank) = self.separator.get(&separator_key(stem))
                && self
                    .list
                    .names()
                    .get(rank)
                    .is_some_and(|t| char_len(t) >= MIN_FUZZY_LEN)
            {
                consider(rank, Technique::Affix);
            }
        };
        for prefix in PREFIXES {
            if let Some(stem) = dashed.strip_prefix(prefix) {
                lookup(stem);
            }
        }
        for suffix in SUFFIXES {
            if let Some(stem) = dashed.strip_suffix(suffix) {
                lookup(stem);
            }
        }
        for prefix in MARKER_PREFIXES {
            lookup(&format!("{prefix}{dashed}"));
        }
        for suffix in MARKER_SUFFIXES {
            lookup(&format!("{dashed}{suffix}"));
        }
    }

    fn edit_distance(&self, norm: &str, consider: &mut impl FnMut(usize, Technique)) {
        let cand = norm.as_bytes();
        let cand_chars = char_len(norm);
        let max_del = if cand.len() >= MIN_LEN_FOR_DISTANCE_2 {
            2
        } else {
            1
        };
        let mut hashes = Vec::new();
        deletion_hashes(cand, max_del, &mut hashes);
        hashes.sort_unstable();
        hashes.dedup();
        let mut seen: Vec<u32> = Vec::new();
        for h in hashes {
            let b = bucket(h);
            let (Some(&start), Some(&end)) =
                (self.bucket_starts.get(b), self.bucket_starts.get(b + 1))
            else {
                continue;
            };
            let run = self
                .deletions
                .get(start as usize..end as usize)
                .unwrap_or_default();
            for &(_, rank) in run.iter().filter(|&&(k, _)| k == tag(h)) {
                if !seen.contains(&rank) {
                    seen.push(rank);
                }
            }
        }
        for rank in seen {
            let rank = rank as usize;
            let Some(target) = self.list.names().get(rank) else {
                continue;
            };
            let t = target.as_bytes();
            let allowed = if cand_chars >= MIN_LEN_FOR_DISTANCE_2
                && char_len(target) >= MIN_LEN_FOR_DISTANCE_2
            {
                2
            } else {
                1
            };
            let d = osa_distance(cand, t);
            if d == 0 || d > allowed {
                continue;
            }
            let technique = if d == 1 && is_adjacent_swap(cand, t) {
                Technique::AdjacentSwap
            } else if d == 1 && is_doubled(cand, t) {
                Technique::DuplicatedChar
            } else if let (Some((_, a)), Some((_, b))) = (split_scope(norm), split_scope(target))
                && a == b
            {
                Technique::ScopeConfusion
            } else {
                Technique::EditDistance
            };
            consider(rank, technique);
        }
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `@scope/bare` → `(scope, bare)`.
fn split_scope(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix('@')?.split_once('/')
}

fn separator_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect()
}

/// The name as it looks: Unicode and ASCII look-alikes folded to one
/// spelling, lowercased, separators and invisible characters dropped.
fn skeleton(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars() {
        // Capital I reads as a lowercase l in most sans-serif fonts.
        let c = if c == 'I' { 'l' } else { c };
        match fold_confusable(c) {
            Some(mapped) => folded.push(mapped),
            None if is_invisible(c) || matches!(c, '-' | '_' | '.') => {}
            None => folded.extend(c.to_lowercase()),
        }
    }
    let folded = folded.replace("rn", "m").replace("vv", "w");
    folded
        .chars()
        .map(|c| match c {
            '1' | 'i' | '|' => 'l',
            '0' => 'o',
            c => c,
        })
        .collect()
}

/// Zero-width and combining characters: invisible in a terminal or a browser.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}' | '\u{0300}'..='\u{036f}')
}

/// The ASCII letter a non-ASCII character imitates (a pragmatic subset of
/// Unicode's confusables: Cyrillic, Greek, full-width and accented Latin).
fn fold_confusable(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    // Full-width ASCII block.
    if ('\u{ff01}'..='\u{ff5e}').contains(&c) {
        return char::from_u32(u32::from(c) - 0xfee0).map(|a| a.to_ascii_lowercase());
    }
    Some(match c {
        'а' | 'А' | 'α' | 'Α' | 'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ɑ' => 'a',
        'В' | 'Β' | 'ь' | 'Ь' => 'b',
        'с' | 'С' | 'ϲ' | 'ç' => 'c',
        'ԁ' | 'ɗ' => 'd',
        'е' | 'Е' | 'ε' | 'Ε' | 'è' | 'é' | 'ê' | 'ë' | 'ё' => 'e',
        'ɡ' => 'g',
        'һ' | 'Н' | 'Η' => 'h',
        'і' | 'І' | 'ι' | 'Ι' | 'ì' | 'í' | 'î' | 'ï' | 'ı' | 'ӏ' | 'ℓ' => 'l',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'М' | 'Μ' => 'm',
        'п' | 'η' | 'Ν' | 'ñ' => 'n',
        'о' | 'О' | 'ο' | 'Ο' | 'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'σ' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' | 'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'γ' | 'Υ' | 'ý' | 'ÿ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

fn collapse_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = None;
    for c in s.chars() {
        if last != Some(c) {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Multiplier of the polynomial hash (odd, so multiplication mod 2^64 is a
/// bijection and no information is lost).
const HASH_BASE: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes of `bytes` with up to `max_del` (1 or 2) bytes deleted.
///
/// A polynomial hash over prefixes gives the hash of every substring in O(1),
/// so each deletion variant costs O(1) instead of O(n): a 2-deletion sweep is
/// O(n²), not O(n³). Distinct positions can give equal strings (`aa` minus
/// either `a`); callers dedup. Collisions only cost an extra verification.
fn deletion_hashes(bytes: &[u8], max_del: usize, out: &mut Vec<u64>) {
    let n = bytes.len();
    let mut prefix = Vec::with_capacity(n + 1);
    let mut pow = Vec::with_capacity(n + 1);
    prefix.push(0u64);
    pow.push(1u64);
    let (mut h, mut p) = (0u64, 1u64);
    for &b in bytes {
        h = h.wrapping_mul(HASH_BASE).wrapping_add(u64::from(b) + 1);
        p = p.wrapping_mul(HASH_BASE);
        prefix.push(h);
        pow.push(p);
    }
    // Hash of bytes[a..b]; every index is ≤ n by construction of the loops.
    let sub = |a: usize, b: usize| prefix[b].wrapping_sub(prefix[a].wrapping_mul(pow[b - a]));
    let finish = |h: u64, len: usize| mix(h ^ (len as u64).wrapping_mul(0xff51_afd7_ed55_8ccd));
    out.push(finish(sub(0, n), n));
    for i in 0..n {
        let without_i = sub(0, i)
            .wrapping_mul(pow[n - i - 1])
            .wrapping_add(sub(i + 1, n));
        out.push(finish(without_i, n - 1));
        if max_del >= 2 {
            for j in i + 1..n {
                let head = sub(0, i)
                    .wrapping_mul(pow[j - i - 1])
                    .wrapping_add(sub(i + 1, j));
                let h = head
                    .wrapping_mul(pow[n - j - 1])
                    .wrapping_add(sub(j + 1, n));
                out.push(finish(h, n - 2));
            }
        }
    }
}

/// A 64-bit finaliser (splitmix64) so that the index can use the hash as is.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const BUCKET_BITS: u32 = 20;

/// The low 32 bits of a variant hash, stored to tell a bucket's entries apart:
/// with the bucket's 20 bits that is 52 bits of the hash; a collision only
/// costs one distance computation, which decides.
fn tag(hash: u64) -> u32 {
    hash as u32
}

/// Calls `f(hash, rank)` for each distinct deletion variant of each popular
/// name long enough to be matched by distance.
fn for_each_deletion(list: &PopularList, mut f: impl FnMut(u64, u32)) {
    let mut variants = Vec::new();
    for (rank, name) in list.names().iter().enumerate() {
        let bytes = name.as_bytes();
        if char_len(name) < MIN_FUZZY_LEN || bytes.len() > MAX_NAME_LEN {
            continue;
        }
        let max_del = if bytes.len() >= MIN_LEN_FOR_DISTANCE_2 {
            2
        } else {
            1
        };
        variants.clear();
        deletion_hashes(bytes, max_del, &mut variants);
        variants.sort_unstable();
        variants.dedup();
        let rank = u32::try_from(rank).unwrap_or(u32::MAX);
        for &h in &variants {
            f(h, rank);
        }
    }
}

/// The bucket of a (mixed, so uniformly spread) hash: its top bits.
fn bucket(hash: u64) -> usize {
    (hash >> (64 - BUCKET_BITS)) as usize
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions). Quadratic: callers bound the lengths.
fn osa_distance<T: PartialEq>(a: &[T], b: &[T]) -> u32 {
    let (n, m) = (a.len(), b.len());
    let width = m + 1;
    // Three rows: the transposition step looks two rows back.
    let mut prev2 = vec![0u32; width];
    let mut prev: Vec<u32> = (0..=m)
        .map(|j| u32::try_from(j).unwrap_or(u32::MAX))
        .collect();
    let mut cur = vec![0u32; width];
    for i in 1..=n {
        cur[0] = u32::try_from(i).unwrap_or(u32::MAX);
        for j in 1..=m {
            let cost = u32::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

fn is_adjacent_swap(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    matches!(diffs.as_slice(), [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i])
}

/// `a` is `b` with one character doubled, or the other way round.
fn is_doubled(a: &[u8], b: &[u8]) -> bool {
    let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
    if long.len() != short.len() + 1 {
        return false;
    }
    let i = (0..short.len())
        .find(|&i| long[i] != short[i])
        .unwrap_or(short.len());
    // Inserted byte at `i` must repeat a neighbour, and the rest must line up.
    let repeats = (i > 0 && long[i] == long[i - 1]) || long.get(i + 1) == Some(&long[i]);
    repeats && long[i + 1..] == short[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squat(eco: Ecosystem, name: &str) -> Option<(String, Technique)> {
        typosquat(eco, name).map(|m| (m.target, m.technique))
    }

    fn assert_squat(eco: Ecosystem, name: &str, target: &str, technique: Technique) {
        assert_eq!(
            squat(eco, name),
            Some((target.to_owned(), technique)),
            "{eco}:{name}"
        );
    }

    #[test]
    fn osa_distance_counts_swaps_as_one() {
        assert_eq!(osa_distance(b"requests", b"reqeusts"), 1);
        assert_eq!(osa_distance(b"requests", b"request"), 1);
        assert_eq!(osa_distance(b"requests", b"requests"), 0);
        assert_eq!(osa_distance(b"abc", b""), 3);
        assert_eq!(osa_distance(b"kitten", b"sitting"), 3);
    }

    #[test]
    fn edit_distance_one_and_adjacent_swap() {
        use Technique::*;
        assert_squat(Ecosystem::Pypi, "reqeusts", "requests", AdjacentSwap);
        assert_squat(Ecosystem::Pypi, "requezts", "requests", EditDistance);
        assert_squat(Ecosystem::Npm, "lodahs", "lodash", AdjacentSwap);
        assert_squat(Ecosystem::Crates, "tokoi", "tokio", AdjacentSwap);
        assert_squat(Ecosystem::Rubygems, "nokogir", "nokogiri", EditDistance);
    }

    #[test]
    fn distance_two_only_for_long_names() {
        // 15 characters, two substitutions.
        assert_squat(
            Ecosystem::Pypi,
            "pythom-dateutik",
            "python-dateutil",
            Technique::EditDistance,
        );
        // `numpy` → `nampi` is two edits on a short name: not a match.
        assert_eq!(squat(Ecosystem::Pypi, "nampi"), None);
    }

    #[test]
    fn separator_confusion() {
        assert_squat(
            Ecosystem::Pypi,
            "pythondateutil",
            "python-dateutil",
            Technique::Separator,
        );
        assert_squat(
            Ecosystem::Npm,
            "cross_env",
            "cross-env",
            Technique::Separator,
        );
        assert_squat(
            Ecosystem::Npm,
            "crossenv",
            "cross-env",
            Technique::Separator,
        );
        assert_squat(
            Ecosystem::Crates,
            "serdejson",
            "serde-json",
            Technique::Separator,
        );
    }

    #[test]
    fn affix_confusion_both_ways() {
        use Technique::Affix;
        assert_squat(Ecosystem::Pypi, "python-requests", "requests", Affix);
        assert_squat(Ecosystem::Pypi, "requests-py", "requests", Affix);
        assert_squat(Ecosystem::Pypi, "numpy-utils", "numpy", Affix);
        assert_squat(Ecosystem::Pypi, "requests3", "requests", Affix);
        assert_squat(Ecosystem::Npm, "node-lodash", "lodash", Affix);
        assert_squat(Ecosystem::Npm, "express-js", "express", Affix);
        assert_squat(Ecosystem::Npm, "expressjs", "express", Affix);
        // Removing a language marker from a popular name.
        assert_squat(Ecosystem::Pypi, "dateutil", "python-dateutil", Affix);
    }

    #[test]
    fn homoglyphs_and_lookalikes() {
        use Technique::Homoglyph;
        assert_squat(Ecosystem::Pypi, "jeIlyfish", "jellyfish", Homoglyph);
        assert_squat(Ecosystem::Pypi, "f1ask", "flask", Homoglyph);
        assert_squat(Ecosystem::Pypi, "b0to3", "boto3", Homoglyph);
        assert_squat(Ecosystem::Npm, "rnocha", "mocha", Homoglyph);
        assert_squat(Ecosystem::Npm, "vvebpack", "webpack", Homoglyph);
        // Cyrillic `е` and `о`.
        assert_squat(Ecosystem::Pypi, "rеquеsts", "requests", Homoglyph);
        assert_squat(Ecosystem::Npm, "lоdash", "lodash", Homoglyph);
        // Full-width letters and a zero-width space.
        assert_squat(Ecosystem::Npm, "ｒｅａｃｔ", "react", Homoglyph);
        assert_squat(Ecosystem::Npm, "re\u{200b}act", "react", Homoglyph);
    }

    #[test]
    fn duplicated_characters() {
        use Technique::DuplicatedChar;
        assert_squat(Ecosystem::Pypi, "requestss", "requests", DuplicatedChar);
        assert_squat(Ecosystem::Pypi, "requestsss", "requests", DuplicatedChar);
        assert_squat(Ecosystem::Npm, "expresss", "express", DuplicatedChar);
    }

    #[test]
    fn npm_scope_confusion() {
        use Technique::ScopeConfusion;
        // Unscoped spelling of a popular scoped package.
        assert_squat(Ecosystem::Npm, "types-node", "@types/node", ScopeConfusion);
        // Scoped spelling of a popular unscoped package.
        assert_squat(
            Ecosystem::Npm,
            "@lodash/merge",
            "lodash.merge",
            ScopeConfusion,
        );
        assert_squat(Ecosystem::Npm, "@cross/env", "cross-env", ScopeConfusion);
        // Look-alike scope.
        let m = typosquat(Ecosystem::Npm, "@babe1/core").expect("look-alike scope");
        assert_eq!(m.target, "@babel/core");
        // `babel-core` is itself popular, so it is not a squat of `@babel/core`.
        assert!(popular(Ecosystem::Npm).contains("babel-core"));
        assert_eq!(typosquat(Ecosystem::Npm, "babel-core"), None);
    }

    #[test]
    fn same_scope_is_never_a_squat() {
        // Only the owner of `@types` can publish there.
        assert!(!popular(Ecosystem::Npm).contains("@types/nodee"));
        assert_eq!(typosquat(Ecosystem::Npm, "@types/nodee"), None);
    }

    #[test]
    fn short_names_only_match_exactly() {
        // `ms` and `six` are popular; one edit from them is not reported…
        assert_eq!(squat(Ecosystem::Npm, "mz"), None);
        assert_eq!(squat(Ecosystem::Pypi, "sx"), None);
        assert_eq!(squat(Ecosystem::Pypi, "six-utils"), None);
        // …but a look-alike of them is.
        assert_squat(Ecosystem::Pypi, "s1x", "six", Technique::Homoglyph);
    }

    #[test]
    fn popular_names_are_never_flagged() {
        // Benign look-alikes that are popular in their own right.
        for (eco, name) in [
            (Ecosystem::Pypi, "requests"),
            (Ecosystem::Pypi, "numpy"),
            (Ecosystem::Pypi, "djangorestframework"),
            (Ecosystem::Pypi, "Django"),
            (Ecosystem::Pypi, "python_dateutil"),
            (Ecosystem::Npm, "request"),
            (Ecosystem::Npm, "react-dom"),
            (Ecosystem::Npm, "JSONStream"),
            (Ecosystem::Crates, "serde_json"),
            (Ecosystem::Rubygems, "rails"),
        ] {
            assert!(
                popular(eco).contains(name),
                "{eco}:{name} should be popular"
            );
            assert_eq!(typosquat(eco, name), None, "{eco}:{name}");
        }
        // `requests` is not on npm's list: there it is one edit from `request`.
        assert!(!popular(Ecosystem::Npm).contains("requests"));
        assert_squat(
            Ecosystem::Npm,
            "requests",
            "request",
            Technique::EditDistance,
        );
    }

    #[test]
    fn no_top_500_name_is_its_own_or_anothers_typosquat() {
        for eco in Ecosystem::ALL {
            for name in popular(eco).names().iter().take(500) {
                assert_eq!(typosquat(eco, name), None, "{eco}:{name}");
                // The same name in other capitalisation is the same package.
                assert_eq!(typosquat(eco, &name.to_uppercase()), None, "{eco}:{name}");
            }
        }
    }

    #[test]
    fn unrelated_names_do_not_match() {
        for (eco, name) in [
            (Ecosystem::Pypi, "ossprey-internal-tool-xyz"),
            (Ecosystem::Npm, "my-very-own-widget-kit"),
            (Ecosystem::Crates, "zzz-frobnicator"),
            (Ecosystem::Rubygems, "acme-ledger"),
        ] {
            assert_eq!(typosquat(eco, name), None, "{eco}:{name}");
        }
    }

    #[test]
    fn most_popular_target_wins() {
        // `reqests` is one edit from `requests` (rank 6) and from nothing
        // more popular; the reported rank is the best one found.
        let m = typosquat(Ecosystem::Pypi, "reqests").expect("match");
        assert_eq!(m.target, "requests");
        assert_eq!(
            Some(m.target_rank),
            popular(Ecosystem::Pypi).rank("requests")
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let long = "a".repeat(100_000);
        for eco in Ecosystem::ALL {
            for name in [
                "",
                " ",
                "@",
                "@/",
                "@a/",
                "-",
                "ʼn̈",
                "\u{0}",
                long.as_str(),
                &"ab".repeat(120),
            ] {
                let _ = typosquat(eco, name);
            }
        }
    }
}
