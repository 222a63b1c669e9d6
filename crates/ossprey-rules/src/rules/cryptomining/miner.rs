use ossprey_model::{Category, FileKind, Finding, Severity};

use crate::rules::catalog::{PROCESS_EXEC, is};
use crate::{Input, Rule, finding};

/// Strong markers: a mining protocol URL, a miner's command-line flag, or a
/// mining pool host.
const STRONG: &[&str] = &[
    "stratum+tcp://",
    "stratum+ssl://",
    "stratum+tls://",
    "stratum2+tcp://",
    "--donate-level",
    "--cpu-max-threads-hint",
    "--randomx-mode",
    "minexmr.",
    "nanopool.org",
    "supportxmr.",
    "moneroocean.",
    "hashvault.pro",
    "2miners.com",
    "herominers.com",
    "c3pool.",
    "f2pool.com",
    "unmineable.com",
    "xmrpool.",
    "nicehash.com",
    "ethermine.org",
    "miningpoolhub.",
];

/// Weak markers: miner and algorithm names, which security tools and
/// documentation also mention.
const WEAK: &[&str] = &[
    "xmrig",
    "cryptonight",
    "xmr-stak",
    "cpuminer",
    "t-rex",
    "nbminer",
    "phoenixminer",
];

/// ## What it does
/// Finds cryptocurrency-miner markers in code and scripts: `stratum+tcp://`
/// pool URLs, miner flags such as `--donate-level`, well-known mining pool hosts,
/// and miner names (`xmrig`, `cryptonight`) in a file that also starts processes.
///
/// ## Why is this bad?
/// A package that mines on its users' machines steals their electricity and
/// compute; there is no legitimate library use for a mining pool address.
///
/// ## Example
/// ```python
/// subprocess.Popen(["./xmrig", "-o", "stratum+tcp://pool.example.invalid:3333",
///                   "--donate-level", "1"])
/// ```
#[derive(Debug)]
pub struct CryptoMiner;

/// Every marker, for the pre-filter.
/// (`None` only if the automaton could not be built; then every file is checked in full.)
/// Every marker, lowercased, for a case-sensitive search of lowercased text:
/// the same matches as a case-insensitive search of the original, but an
/// automaton without ASCII case folding can use its SIMD prefilter, which
/// makes the one pass every code file gets several times faster.
static ANY_MARKER: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::new(STRONG.iter().chain(WEAK).map(|m| m.to_ascii_lowercase()))
            .ok()
    });

/// Whether `content` mentions any marker, ASCII case ignored.
fn mentions_marker(content: &[u8]) -> bool {
    let Some(ac) = ANY_MARKER.as_ref() else {
        return true;
    };
    // Lowercased in blocks, so a large file costs no second copy of itself;
    // blocks overlap by the longest marker so none is missed at a seam.
    const BLOCK: usize = 64 << 10;
    let overlap = STRONG
        .iter()
        .chain(WEAK)
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    let mut lower = Vec::with_capacity(BLOCK + overlap);
    let mut start = 0;
    while start < content.len() {
        let end = (start + BLOCK + overlap).min(content.len());
        lower.clear();
        lower.extend(
            content
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(u8::to_ascii_lowercase),
        );
        if ac.is_match(&lower) {
            return true;
        }
        start += BLOCK;
    }
    false
}

fn is_code(kind: FileKind) -> bool {
    kind.is_source() || matches!(kind, FileKind::Json)
}

impl Rule for CryptoMiner {
    fn id(&self) -> &'static str {
        "CRYPTO-MINER"
    }
    fn category(&self) -> Category {
        Category::CRYPTOMINING
    }
    fn summary(&self) -> &'static str {
        "cryptocurrency miner: pool URLs, miner flags or miner binaries run by the package"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for hook in &input.manifest.install_hooks {
            let Some(command) = hook.command.as_deref() else {
                continue;
            };
            let lower = command.to_ascii_lowercase();
            if let Some(m) = STRONG.iter().chain(WEAK).find(|m| lower.contains(*m)) {
                out.push(finding(
                    self.id(),
                    Severity::Critical,
                    self.category(),
                    format!("an install script mentions miner marker `{m}`"),
                    Some(&hook.path),
                    input.line_of(&hook.path, command),
                    Some(command),
                ));
            }
        }
        for file in &input.facts.files {
            if !is_code(file.kind) || file.kind == FileKind::Json {
                continue;
            }
            let Some(content) = input.files.content(&file.path) else {
                continue;
            };
            // One case-insensitive pass over the bytes decides whether the file
            // mentions any marker at all; almost no file does.
            if !mentions_marker(content) {
                continue;
            }
            let text = String::from_utf8_lossy(content);
            let lower = text.to_ascii_lowercase();
            let strong = STRONG.iter().find_map(|m| lower.find(m).map(|at| (*m, at)));
            let runs = file
                .source
                .as_ref()
                .is_some_and(|s| s.calls.iter().any(|c| is(PROCESS_EXEC, &c.callee)))
                || matches!(
                    file.kind,
                    FileKind::Shell | FileKind::Batch | FileKind::Powershell
                );
            let weak = WEAK.iter().find_map(|m| {
                lower
                    .match_indices(m)
                    .find(|(at, _)| word_bounded(&lower, *at, m.len()))
                    .map(|(at, _)| (*m, at))
            });
            let (marker, at, severity) = match (strong, weak) {
                (Some((m, at)), _) => (m, at, Severity::High),
                (None, Some((m, at))) if runs => (m, at, Severity::High),
                (None, Some((m, at))) => (m, at, Severity::Low),
                (None, None) => continue,
            };
            let line = u32::try_from(lower[..at].matches('\n').count() + 1).unwrap_or(u32::MAX);
            let snippet = text.lines().nth(usize::try_from(line - 1).unwrap_or(0));
            let severity = crate::rules::obfuscation::raise_unprompted(
                severity,
                crate::rules::obfuscation::runs_at(input, file),
            );
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!(
                    "miner marker `{marker}`{}",
                    if runs && strong.is_none() {
                        " in a file that starts processes"
                    } else {
                        ""
                    }
                ),
                Some(&file.path),
                Some(line),
                snippet.map(|s| &s[..s.len().min(400)]),
            ));
        }
    }
}

/// `xmrig` as a word, not inside `xmrigger`-style identifiers of something else.
fn word_bounded(text: &str, at: usize, len: usize) -> bool {
    let bytes = text.as_bytes();
    let before = at.checked_sub(1).and_then(|i| bytes.get(i));
    let after = bytes.get(at + len);
    let is_word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    !is_word(before) && !is_word(after)
}

#[cfg(test)]
mod tests {
    use super::mentions_marker;

    #[test]
    fn marker_search_ignores_case_and_block_seams() {
        assert!(mentions_marker(b"url = 'STRATUM+TCP://pool:3333'"));
        assert!(mentions_marker(b"run XMRig now"));
        assert!(!mentions_marker(b"stratum tcp xmr rig"));
        // A marker straddling the 64 KiB block boundary.
        let mut big = vec![b'a'; (64 << 10) - 3];
        big.extend_from_slice(b"NbMiner");
        big.extend(vec![b'a'; 100]);
        assert!(mentions_marker(&big));
        assert!(!mentions_marker(&vec![b'a'; 200 << 10]));
    }
}
