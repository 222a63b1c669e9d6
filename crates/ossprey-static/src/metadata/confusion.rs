//! Dependency-confusion signals: version numbers chosen to outrank any private
//! release, and names that look like a company's internal package.
//!
//! Both are weak alone (some public packages have huge majors; some have
//! "internal" in the name) and are meant to be combined by rules with other
//! signals, such as an install hook that contacts the network.

use ossprey_model::Ecosystem;
use serde::{Deserialize, Serialize};

use super::popular::popular;

/// Majors at or above this are rare outside dependency confusion, where an
/// attacker publishes `99.0.0` so that it wins over any private `1.x`.
const ABSURD_MAJOR: u64 = 90;

/// A version whose major number is high enough to outrank private releases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsurdVersion {
    pub version: String,
    pub major: u64,
}

/// Returns the version's major when it is ≥ 90 and not a calendar version.
///
/// Calendar versions are not absurd: a major that reads as a year
/// (2000–2100), a year and month (`202411`) or a full date (`20241105`).
/// A PEP 440 epoch (`1!2.0`) and a leading `v` are skipped.
pub fn absurd_version(version: &str) -> Option<AbsurdVersion> {
    let v = version.trim();
    let v = v.split_once('!').map_or(v, |(_, rest)| rest);
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let digits = v.get(..end).unwrap_or_default();
    if digits.is_empty() || digits.len() > 18 {
        // No number, or one too long to be anything but a date-stamp or junk;
        // 19+ digit majors do not occur in real releases and would overflow.
        return None;
    }
    let major: u64 = digits.parse().ok()?;
    if major < ABSURD_MAJOR || is_calendar_major(major) {
        return None;
    }
    Some(AbsurdVersion {
        version: version.to_owned(),
        major,
    })
}

fn is_calendar_major(major: u64) -> bool {
    let year = |y: u64| (2000..=2100).contains(&y);
    let month = |m: u64| (1..=12).contains(&m);
    match major {
        y if year(y) => true,
        // YYYYMM
        100_000..=999_999 => year(major / 100) && month(major % 100),
        // YYYYMMDD
        10_000_000..=99_999_999 => {
            year(major / 10_000) && month(major / 100 % 100) && (1..=31).contains(&(major % 100))
        }
        _ => false,
    }
}

/// Words that companies put in the names of packages meant for their own
/// registry. Matched as whole `-`/`_`/`.`/`/`-separated words of the name, so
/// `internals` or `privately` do not count.
const INTERNAL_WORDS: &[&str] = &[
    "internal",
    "private",
    "corp",
    "corporate",
    "intranet",
    "inhouse",
    "company",
    "confidential",
    "proprietary",
    "onprem",
];

/// Why a name looks like an internal package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalName {
    /// The word of the name that gave it away.
    pub word: String,
}

/// Whether `name` reads like a private, company-internal package name.
///
/// Conservative by design: only whole words from a short list count, and a
/// name on the ecosystem's popular list never does (`internal-ip` is a public
/// package used by millions). An unknown npm scope alone does not count —
/// most scoped packages are public and their scopes are unknown to us.
pub fn internal_looking_name(ecosystem: Ecosystem, name: &str) -> Option<InternalName> {
    if popular(ecosystem).contains(name) {
        return None;
    }
    let lower = name.to_lowercase();
    lower
        .split(['-', '_', '.', '/', '@'])
        .find(|w| INTERNAL_WORDS.contains(w))
        .map(|w| InternalName { word: w.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_majors_are_absurd() {
        for v in ["99.0.0", "100.0.0", "9999.1", "v99.9.9", "1!99.0", "90.0.0"] {
            assert!(absurd_version(v).is_some(), "{v}");
        }
        assert_eq!(absurd_version("9999.1").map(|a| a.major), Some(9999));
    }

    #[test]
    fn calendar_and_ordinary_versions_are_not_absurd() {
        for v in [
            "2024.11.0",
            "2024.1",
            "2100.0",
            "202411.1",
            "20241105",
            "1.0.0",
            "89.9.9",
            "24.1.0",
            "0.0.99",
            "",
            "dev",
            "v",
            "123456789012345678901234567890",
        ] {
            assert_eq!(absurd_version(v), None, "{v}");
        }
        // Not a date: month 13.
        assert!(absurd_version("202413.0").is_some());
    }

    #[test]
    fn internal_words_are_whole_words() {
        for n in [
            "acme-internal",
            "@acme/internal-auth",
            "billing_corp_utils",
            "company.sdk",
            "private-config",
        ] {
            assert!(internal_looking_name(Ecosystem::Npm, n).is_some(), "{n}");
        }
        for n in [
            "internals",
            "privately",
            "corpus-tools",
            "companyon",
            "react",
        ] {
            assert_eq!(internal_looking_name(Ecosystem::Npm, n), None, "{n}");
        }
    }

    #[test]
    fn popular_names_with_internal_words_are_not_internal() {
        assert!(popular(Ecosystem::Npm).contains("internal-ip"));
        assert_eq!(internal_looking_name(Ecosystem::Npm, "internal-ip"), None);
    }
}
