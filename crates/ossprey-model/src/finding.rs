use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How bad one finding is on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lowercase name, as serialised (`info` … `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The judgement on a whole package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Benign,
    Suspicious,
    Malicious,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Benign => "benign",
            Self::Suspicious => "suspicious",
            Self::Malicious => "malicious",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "benign" => Ok(Self::Benign),
            "suspicious" => Ok(Self::Suspicious),
            "malicious" => Ok(Self::Malicious),
            _ => Err(format!(
                "`{s}` is not a verdict (benign, suspicious, malicious)"
            )),
        }
    }
}

/// What kind of behaviour a finding is about. The SPEC fixes the names of the
/// associated constants; a rule may name a category of its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(Cow<'static, str>);

impl Category {
    pub const INSTALL_HOOK: Self = Self::fixed("install-hook");
    pub const EXECUTION: Self = Self::fixed("execution");
    pub const NETWORK: Self = Self::fixed("network");
    pub const EXFILTRATION: Self = Self::fixed("exfiltration");
    pub const CREDENTIAL_ACCESS: Self = Self::fixed("credential-access");
    pub const PERSISTENCE: Self = Self::fixed("persistence");
    pub const OBFUSCATION: Self = Self::fixed("obfuscation");
    pub const DOWNLOAD_EXECUTE: Self = Self::fixed("download-execute");
    pub const EVASION: Self = Self::fixed("evasion");
    pub const TYPOSQUATTING: Self = Self::fixed("typosquatting");
    pub const DEPENDENCY_CONFUSION: Self = Self::fixed("dependency-confusion");
    pub const METADATA: Self = Self::fixed("metadata");
    pub const DESTRUCTION: Self = Self::fixed("destruction");
    pub const CRYPTOMINING: Self = Self::fixed("cryptomining");

    /// The categories named by the SPEC.
    pub const FIXED: [Self; 14] = [
        Self::INSTALL_HOOK,
        Self::EXECUTION,
        Self::NETWORK,
        Self::EXFILTRATION,
        Self::CREDENTIAL_ACCESS,
        Self::PERSISTENCE,
        Self::OBFUSCATION,
        Self::DOWNLOAD_EXECUTE,
        Self::EVASION,
        Self::TYPOSQUATTING,
        Self::DEPENDENCY_CONFUSION,
        Self::METADATA,
        Self::DESTRUCTION,
        Self::CRYPTOMINING,
    ];

    const fn fixed(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// A category of a rule's own; names are kebab-case by convention.
    pub fn custom(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Self::FIXED
            .into_iter()
            .find(|c| c.as_str() == name)
            .unwrap_or(Self(Cow::Owned(name))))
    }
}

/// What a rule saw: a place in a file, or a recorded event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// A dynamic event, as recorded by the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
}

/// One reason a package looks the way it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `OSS-PY-EXEC-B64`.
    pub rule: String,
    pub severity: Severity,
    pub category: Category,
    pub message: String,
    pub evidence: Evidence,
    /// What fusing static and dynamic evidence added: the static call site that made
    /// a connection, or that the sandbox never saw a static suspicion happen. Absent
    /// from reports written before fusion, hence the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A finding that the user's allowlist silenced, with the allowlist entry's reason.
/// Reported beside the findings, never counted in the score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_and_keep_custom_names() {
        for c in Category::FIXED {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Category>(&json).unwrap(), c);
        }
        let custom: Category = serde_json::from_str("\"supply-chain\"").unwrap();
        assert_eq!(custom, Category::custom("supply-chain"));
        assert_eq!(
            serde_json::to_string(&Category::INSTALL_HOOK).unwrap(),
            "\"install-hook\""
        );
    }

    #[test]
    fn findings_without_notes_parse_and_empty_notes_are_not_written() {
        let old =
            r#"{"rule":"R","severity":"low","category":"network","message":"m","evidence":{}}"#;
        let f: Finding = serde_json::from_str(old).unwrap();
        assert!(f.notes.is_empty());
        assert_eq!(serde_json::to_string(&f).unwrap(), old);
        let noted = Finding {
            notes: vec!["seen".into()],
            ..f
        };
        let json = serde_json::to_value(&noted).unwrap();
        assert_eq!(json["notes"], serde_json::json!(["seen"]));
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
        assert!(Verdict::Benign < Verdict::Suspicious && Verdict::Suspicious < Verdict::Malicious);
    }
}
