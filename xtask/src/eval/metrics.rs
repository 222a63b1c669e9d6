//! Pure computations over per-package outcomes: recall, false-positive rates,
//! percentiles, rule counts. Kept free of I/O so the tests can pin them down.

use std::collections::{BTreeMap, BTreeSet};

/// ossprey's judgement on one package, as read from its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Benign,
    Suspicious,
    Malicious,
}

impl Verdict {
    /// `None` for null, missing or unknown values: "not judged".
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s? {
            "benign" => Some(Self::Benign),
            "suspicious" => Some(Self::Suspicious),
            "malicious" => Some(Self::Malicious),
            _ => None,
        }
    }
}

/// What one scanner said about one package.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// `None`: not judged (null verdict, or an error).
    pub verdict: Option<Verdict>,
    /// The scanner failed on this package (report `error`, crash, timeout).
    pub error: bool,
    pub duration_ms: Option<f64>,
    /// Rule ids that fired, deduplicated.
    pub rules: BTreeSet<String>,
}

impl Outcome {
    fn at_least(&self, level: Verdict) -> bool {
        self.verdict.is_some_and(|v| v >= level)
    }
}

/// A count out of a total, printed as `12.3% (12/98)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub hits: usize,
    pub of: usize,
}

impl Ratio {
    pub fn rate(self) -> Option<f64> {
        (self.of > 0).then(|| self.hits as f64 / self.of as f64)
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rate() {
            Some(r) => write!(f, "{:.1}% ({}/{})", r * 100.0, self.hits, self.of),
            None => write!(f, "n/a (0/0)"),
        }
    }
}

/// Summary of one scanner over one corpus (one ecosystem, benign or malicious).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub errors: usize,
    /// Packages without a verdict, errors included.
    pub not_judged: usize,
    /// Packages judged `malicious`, out of all `n`.
    pub at_malicious: Ratio,
    /// Packages judged `suspicious` or `malicious`, out of all `n`.
    pub at_suspicious: Ratio,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// Summarises outcomes. The denominator is every package, so that on the
/// malicious corpus an error or a missing verdict counts as a miss (recall is
/// never flattered by failures), and on the benign corpus the rate is over every
/// package asked about (errors are reported beside it, not hidden).
pub fn summarize(outcomes: &[&Outcome]) -> Summary {
    let n = outcomes.len();
    let mut durations: Vec<f64> = outcomes.iter().filter_map(|o| o.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    Summary {
        n,
        errors: outcomes.iter().filter(|o| o.error).count(),
        not_judged: outcomes.iter().filter(|o| o.verdict.is_none()).count(),
        at_malicious: Ratio {
            hits: outcomes
                .iter()
                .filter(|o| o.at_least(Verdict::Malicious))
                .count(),
            of: n,
        },
        at_suspicious: Ratio {
            hits: outcomes
                .iter()
                .filter(|o| o.at_least(Verdict::Suspicious))
                .count(),
            of: n,
        },
        median_ms: percentile(&durations, 50.0),
        p95_ms: percentile(&durations, 95.0),
    }
}

/// Nearest-rank percentile of an ascending slice: the smallest value with at
/// least `p`% of the values at or below it. `None` on an empty slice.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Rules by the number of packages they fire on (each package counted once per
/// rule), most first, ties by rule id; at most `top`.
pub fn top_rules(outcomes: &[&Outcome], top: usize) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in outcomes {
        for rule in &o.rules {
            *counts.entry(rule).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().map(|(r, c)| (r.to_owned(), c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(top);
    v
}

/// `ossprey / other`, or `None` when either side is undefined or the other is 0.
pub fn ratio(ours: Option<f64>, theirs: Option<f64>) -> Option<f64> {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(verdict: Option<Verdict>, error: bool, ms: Option<f64>, rules: &[&str]) -> Outcome {
        Outcome {
            verdict,
            error,
            duration_ms: ms,
            rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn recall_counts_errors_and_null_verdicts_as_misses() {
        let v = [
            o(Some(Verdict::Malicious), false, Some(1.0), &[]),
            o(Some(Verdict::Suspicious), false, Some(2.0), &[]),
            o(Some(Verdict::Benign), false, Some(3.0), &[]),
            o(None, false, Some(4.0), &[]),
            o(None, true, None, &[]),
        ];
        let refs: Vec<&Outcome> = v.iter().collect();
        let s = summarize(&refs);
        assert_eq!(s.n, 5);
        assert_eq!(s.at_malicious, Ratio { hits: 1, of: 5 });
        assert_eq!(s.at_suspicious, Ratio { hits: 2, of: 5 });
        assert_eq!(s.errors, 1);
        assert_eq!(s.not_judged, 2);
        assert_eq!(s.median_ms, Some(2.0));
        assert_eq!(s.p95_ms, Some(4.0));
        assert_eq!(s.at_suspicious.to_string(), "40.0% (2/5)");
    }

    #[test]
    fn false_positive_rate_on_benign() {
        let mut v: Vec<Outcome> = (0..199)
            .map(|_| o(Some(Verdict::Benign), false, Some(1.0), &[]))
            .collect();
        v.push(o(Some(Verdict::Malicious), false, Some(1.0), &[]));
        let refs: Vec<&Outcome> = v.iter().collect();
        let s = summarize(&refs);
        assert_eq!(s.at_malicious.rate(), Some(0.005));
        assert_eq!(s.at_suspicious.rate(), Some(0.005));
        assert_eq!(s.not_judged, 0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), Some(50.0));
        assert_eq!(percentile(&xs, 95.0), Some(95.0));
        assert_eq!(percentile(&xs, 100.0), Some(100.0));
        assert_eq!(percentile(&xs, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
        let empty: Vec<&Outcome> = Vec::new();
        assert_eq!(summarize(&empty).at_malicious.rate(), None);
    }

    #[test]
    fn top_rules_count_packages_not_findings() {
        let v = [
            o(None, false, None, &["B", "A"]),
            o(None, false, None, &["B"]),
            o(None, false, None, &["C", "B"]),
            o(None, false, None, &["A"]),
        ];
        let refs: Vec<&Outcome> = v.iter().collect();
        let top = top_rules(&refs, 2);
        assert_eq!(top, vec![("B".to_owned(), 3), ("A".to_owned(), 2)]);
    }

    #[test]
    fn verdict_parsing_and_ratios() {
        assert_eq!(Verdict::parse(Some("malicious")), Some(Verdict::Malicious));
        assert_eq!(Verdict::parse(Some("MALICIOUS")), None);
        assert_eq!(Verdict::parse(None), None);
        assert_eq!(ratio(Some(0.9), Some(0.6)), Some(1.5));
        assert_eq!(ratio(Some(0.9), Some(0.0)), None);
        assert_eq!(ratio(None, Some(0.5)), None);
    }
}
