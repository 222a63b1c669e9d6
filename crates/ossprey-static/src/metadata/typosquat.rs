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
    // A popular name is never a typosquat: answer that from the list alone,
    // before the lookup tables are built (a quarter of a one-package scan).
    if popular(ecosystem).contains(name) {
        return None;
    }
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
    /// Ranks of the names long enough to be matched by distance, by byte
    /// length. A lookup compares the candidate with the names whose length
    /// is within two of its own: a few thousand bounded, allocation-free
    /// distance checks (well under a millisecond), where a deletion-variant
    /// index cost a one-package scan some 20 ms of CPU to build.
    by_len: Vec<Vec<u32>>,
}

fn keep_best(map: &mut HashMap<String, usize>, key: String, rank: usize) {
    map.entry(key)
        .and_modify(|r| *r = (*r).min(rank))
        .or_insert(rank);
}

impl SquatIndex {
    fn build(list: &'static PopularList) -> Self {
        // Sized up front: growing four maps of thousands of keys one rehash at
        // a time was a tenth of a one-package scan's CPU.
        let n = list.names().len();
        let mut index = Self {
            list,
            separator: HashMap::with_capacity(n),
            glyph: HashMap::with_capacity(n),
            collapsed: HashMap::with_capacity(n),
            flat_scoped: HashMap::new(),
            by_len: vec![Vec::new(); MAX_NAME_LEN + 1],
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
        for (rank, name) in list.names().iter().enumerate() {
            if char_len(name) < MIN_FUZZY_LEN {
                continue;
            }
            if let (Some(slot), Ok(rank)) = (index.by_len.get_mut(name.len()), u32::try_from(rank))
            {
                slot.push(rank);
            }
        }
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
        // Two edits change the length by at most two.
        let lengths = cand.len().saturating_sub(2)..=cand.len() + 2;
        let seen = lengths
            .filter_map(|len| self.by_len.get(len))
            .flatten()
            .copied();
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
            if !osa_at_most(cand, t, allowed) {
                continue;
            }
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
    // Most names hold neither pair: skip the two copies `replace` makes.
    let folded = if folded.contains("rn") || folded.contains("vv") {
        folded.replace("rn", "m").replace("vv", "w")
    } else {
        folded
    };
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

/// Whether the optimal-string-alignment distance of `a` and `b` is at most
/// `k`, without allocating. Only cells within `k` of the diagonal are
/// computed: every edit path of cost at most `k` stays inside that band (only
/// insertions and deletions leave the diagonal, one step each), so inside the
/// band the distance is exact whenever it is at most `k`.
fn osa_at_most(a: &[u8], b: &[u8], k: u32) -> bool {
    const INF: u32 = u32::MAX / 2;
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > k || n > MAX_NAME_LEN || m > MAX_NAME_LEN {
        return false;
    }
    let mut rows = [[INF; MAX_NAME_LEN + 2]; 3];
    let [mut prev2, mut prev, mut cur] = [0usize, 1, 2];
    for (j, cell) in rows[prev].iter_mut().take(m.min(k) + 1).enumerate() {
        *cell = u32::try_from(j).unwrap_or(INF);
    }
    for i in 1..=n {
        let (lo, hi) = (i.saturating_sub(k), i.saturating_add(k).min(m));
        // Cells just outside the band read as unreachable.
        if lo > 0 {
            rows[cur][lo - 1] = INF;
        }
        rows[cur][hi + 1] = INF;
        for j in lo..=hi {
            let d = if j == 0 {
                u32::try_from(i).unwrap_or(INF)
            } else {
                let cost = u32::from(a[i - 1] != b[j - 1]);
                let mut d = (rows[prev][j] + 1)
                    .min(rows[cur][j - 1] + 1)
                    .min(rows[prev][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(rows[prev2][j - 2] + 1);
                }
                d
            };
            rows[cur][j] = d;
        }
        [prev2, prev, cur] = [prev, cur, prev2];
    }
    rows[prev][m] as usize <= k
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

    #[test]
    fn banded_distance_check_agrees_with_the_full_one() {
        // Every string over a small alphabet up to length 5 against a spread
        // of others: covers swaps, doubled letters and length changes.
        let alphabet = b"abc";
        let mut words: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=5 {
            let mut next = Vec::new();
            for w in words.iter().filter(|w| w.len() == len - 1) {
                for &c in alphabet {
                    let mut w = w.clone();
                    w.push(c);
                    next.push(w);
                }
            }
            words.extend(next);
        }
        for (x, a) in words.iter().enumerate() {
            for b in words.iter().skip(x % 7).step_by(7) {
                let d = osa_distance(a, b);
                for k in 0..=3 {
                    assert_eq!(osa_at_most(a, b, k), d <= k, "{a:?} {b:?} k={k}");
                }
            }
        }
    }

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
