//! The scoring model: findings → a 0–10 score → a verdict.
//!
//! 1. Each rule contributes the weight of its most severe finding
//!    (info 0, low 0.5, medium 1.25, high 3, critical 7), plus 0.25 for each
//!    further finding of that rule, at most 0.5.
//! 2. Capabilities combined with an intent add more than either alone, because
//!    real malware is a chain, and each link alone is common in benign code:
//!    * credential access + network or exfiltration (at medium or worse): +3
//!    * an install hook + execution, network, download or obfuscation: +2, when the
//!      hook finding is low or worse and the capability high or worse, or both are
//!      medium or worse
//!    * typosquatting or dependency confusion (low or worse) + a high execution,
//!      network, download, obfuscation, exfiltration or credential finding: +2
//!    * obfuscation + execution (medium or worse each): +2
//! 3. The score is the sum, capped at 10, rounded to one decimal.
//! 4. Proof: a finding of a rule in [`SCORE_PROOF_RULES`] (a planted honeytoken seen
//!    leaving the sandbox) sets the score to 10, whatever else is known.
//! 5. `malicious` from [`SCORE_MALICIOUS`] up, `suspicious` from [`SCORE_SUSPICIOUS`], else `benign`.
//!
//! So one critical finding is enough for `malicious`, one high finding makes a
//! package `suspicious`, and two mediums do not — unless they chain.
//!
//! # Behaviour findings (`analyze`)
//!
//! Findings of the behaviour rules (`DYN-…`, over the sandbox's events) are scored
//! with static and metadata findings by this same model ([`crate::fusion::fuse`]):
//! their categories join the chains above, so a planted credential read
//! (`credential-access`, high) in a run that also reached the network (`network`,
//! high) chains to `malicious`, as does an install hook whose network capability the
//! sandbox saw used. What the sandbox saw is weighed by context in the rules
//! themselves: network at install or import is high, a release-download host medium;
//! a compiler's shells or a thank-you `echo` in the hook itself are not findings at
//! all. A static suspicion the sandbox did not see happen keeps its weight and gets a
//! note (see `fusion`).

use std::collections::BTreeMap;

use ossprey_model::{Category, Finding, Severity, Verdict};
use serde::Serialize;

pub const SCORE_MALICIOUS: f64 = 7.0;
pub const SCORE_SUSPICIOUS: f64 = 3.0;

/// Rules whose findings are proof rather than suspicion: any one of them makes the
/// score 10 (`malicious`).
pub const SCORE_PROOF_RULES: &[&str] = &["DYN-HONEYTOKEN-EGRESS"];

/// Findings with their score and verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub score: f64,
    pub verdict: Verdict,
}

fn weight(s: Severity) -> f64 {
    match s {
        Severity::Info => 0.0,
        Severity::Low => 0.5,
        Severity::Medium => 1.25,
        Severity::High => 3.0,
        Severity::Critical => 7.0,
    }
}

/// Scores findings per the model above. Findings are sorted most severe first.
pub fn evaluate_findings(mut findings: Vec<Finding>) -> Evaluation {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
    });
    let mut per_rule: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for f in &findings {
        let e = per_rule.entry(f.rule.as_str()).or_insert((f.severity, 0));
        e.0 = e.0.max(f.severity);
        e.1 += 1;
    }
    let mut score: f64 = per_rule
        .values()
        .map(|&(sev, n)| {
            let extra = if sev >= Severity::Low {
                (n.saturating_sub(1) as f64 * 0.25).min(0.5)
            } else {
                0.0
            };
            weight(sev) + extra
        })
        .sum();

    let has = |cats: &[Category]| {
        findings
            .iter()
            .any(|f| f.severity >= Severity::Medium && cats.contains(&f.category))
    };
    if has(&[Category::CREDENTIAL_ACCESS]) && has(&[Category::NETWORK, Category::EXFILTRATION]) {
        score += 3.0;
    }
    let has_at = |min: Severity, cats: &[Category]| {
        findings
            .iter()
            .any(|f| f.severity >= min && cats.contains(&f.category))
    };
    let capability = [
        Category::EXECUTION,
        Category::NETWORK,
        Category::DOWNLOAD_EXECUTE,
        Category::OBFUSCATION,
    ];
    // An install hook makes a capability run on every install: any declared hook
    // with a high capability finding, or a medium hook finding with a medium one.
    if (has_at(Severity::Low, &[Category::INSTALL_HOOK]) && has_at(Severity::High, &capability))
        || (has(&[Category::INSTALL_HOOK]) && has(&capability))
    {
        score += 2.0;
    }
    // A name chosen to be mistaken for another package (typosquat, dependency
    // confusion) that also does something dangerous.
    let dangerous = [
        Category::EXECUTION,
        Category::NETWORK,
        Category::DOWNLOAD_EXECUTE,
        Category::OBFUSCATION,
        Category::EXFILTRATION,
        Category::CREDENTIAL_ACCESS,
    ];
    if has_at(
        Severity::Low,
        &[Category::TYPOSQUATTING, Category::DEPENDENCY_CONFUSION],
    ) && has_at(Severity::High, &dangerous)
    {
        score += 2.0;
    }
    if has(&[Category::OBFUSCATION]) && has(&[Category::EXECUTION]) {
        score += 2.0;
    }
    if findings
        .iter()
        .any(|f| SCORE_PROOF_RULES.contains(&f.rule.as_str()))
    {
        score = 10.0;
    }
    // `+ 0.0` turns the -0.0 that an empty float sum gives into 0.0.
    let score = (score.clamp(0.0, 10.0) * 10.0).round() / 10.0 + 0.0;
    let verdict = if score >= SCORE_MALICIOUS {
        Verdict::Malicious
    } else if score >= SCORE_SUSPICIOUS {
        Verdict::Suspicious
    } else {
        Verdict::Benign
    };
    Evaluation {
        findings,
        score,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ossprey_model::Evidence;

    fn f(rule: &str, severity: Severity, category: Category) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            category,
            message: String::new(),
            evidence: Evidence::default(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn no_findings_is_benign_zero() {
        let e = evaluate_findings(vec![]);
        assert_eq!((e.score, e.verdict), (0.0, Verdict::Benign));
        assert!(
            e.score.is_sign_positive(),
            "score of a clean package prints as 0.0, not -0.0"
        );
    }

    #[test]
    fn one_critical_is_malicious_one_high_suspicious_two_mediums_benign() {
        assert_eq!(
            evaluate_findings(vec![f("A", Severity::Critical, Category::EXECUTION)]).verdict,
            Verdict::Malicious
        );
        assert_eq!(
            evaluate_findings(vec![f("A", Severity::High, Category::EXECUTION)]).verdict,
            Verdict::Suspicious
        );
        let two_mediums = vec![
            f("A", Severity::Medium, Category::METADATA),
            f("B", Severity::Medium, Category::TYPOSQUATTING),
        ];
        assert_eq!(evaluate_findings(two_mediums).verdict, Verdict::Benign);
    }

    #[test]
    fn repeated_findings_of_one_rule_add_little() {
        let many: Vec<Finding> = (0..50)
            .map(|_| f("A", Severity::Medium, Category::NETWORK))
            .collect();
        assert_eq!(evaluate_findings(many).score, 1.8);
    }

    #[test]
    fn credential_access_plus_network_chains_to_malicious() {
        let e = evaluate_findings(vec![
            f("CRED", Severity::High, Category::CREDENTIAL_ACCESS),
            f("NET", Severity::Medium, Category::NETWORK),
        ]);
        assert_eq!(e.score, 7.3);
        assert_eq!(e.verdict, Verdict::Malicious);
        assert_eq!(e.findings[0].rule, "CRED", "most severe first");
    }

    #[test]
    fn a_low_install_hook_chains_only_with_a_high_capability() {
        let hook = f("HOOK", Severity::Low, Category::INSTALL_HOOK);
        let medium = evaluate_findings(vec![
            hook.clone(),
            f("NET", Severity::Medium, Category::NETWORK),
        ]);
        assert_eq!(medium.score, 1.8, "no chain: {medium:?}");
        let high = evaluate_findings(vec![hook, f("NET", Severity::High, Category::NETWORK)]);
        assert_eq!(high.score, 5.5);
    }

    #[test]
    fn a_typosquat_that_also_runs_code_chains() {
        let e = evaluate_findings(vec![
            f("SQUAT", Severity::Low, Category::TYPOSQUATTING),
            f("OBF", Severity::High, Category::OBFUSCATION),
            f("EXEC", Severity::Medium, Category::EXECUTION),
        ]);
        // 0.5 + 3 + 1.25, obfuscation+execution +2, typosquat+high obfuscation +2
        assert_eq!(e.score, 8.8);
        assert_eq!(e.verdict, Verdict::Malicious);
    }

    #[test]
    fn proof_of_exfiltration_outweighs_everything() {
        let e = evaluate_findings(vec![f(
            "DYN-HONEYTOKEN-EGRESS",
            Severity::Low,
            Category::EXFILTRATION,
        )]);
        assert_eq!((e.score, e.verdict), (10.0, Verdict::Malicious));
        let e = evaluate_findings(vec![f("OTHER", Severity::Low, Category::EXFILTRATION)]);
        assert_eq!(e.verdict, Verdict::Benign);
    }

    #[test]
    fn score_is_capped_at_ten() {
        let e = evaluate_findings(
            (0..5)
                .map(|i| f(&format!("R{i}"), Severity::Critical, Category::EXECUTION))
                .collect(),
        );
        assert_eq!(e.score, 10.0);
    }
}
