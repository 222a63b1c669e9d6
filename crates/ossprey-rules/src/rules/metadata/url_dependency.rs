use ossprey_model::{Category, Dependency, Finding, Severity};

use super::manifest_line;
use crate::{Input, Rule, finding};

/// ## What it does
/// Reports dependencies fetched from a URL, tarball or git repository
/// instead of the registry (`"x": "https://host/x.tgz"`, `x @ git+https://…`,
/// `{ git = "…" }`).
///
/// ## Why is this bad?
/// A URL dependency escapes the registry's malware takedowns, version
/// immutability and review, and can change under the same reference at any
/// time; attackers use one to pull the real payload at install time. A
/// development dependency from GitHub and a local path are common in ordinary
/// projects and are low.
///
/// ## Example
/// ```json
/// { "dependencies": { "helper": "https://files.example.invalid/helper.tgz" } }
/// ```
#[derive(Debug)]
pub struct UrlDependency;

fn severity(dep: &Dependency, url: &str) -> Severity {
    let lower = url.to_ascii_lowercase();
    let local = lower.starts_with("file:")
        || lower.starts_with("link:")
        || lower.starts_with('.')
        || lower.starts_with('/')
        || lower.starts_with('~')
        || !lower.contains(':') && !lower.contains('/');
    let runtime = matches!(dep.kind.as_str(), "runtime" | "optional" | "peer");
    if local || !runtime {
        Severity::Low
    } else {
        Severity::Medium
    }
}

impl Rule for UrlDependency {
    fn id(&self) -> &'static str {
        "META-URL-DEPENDENCY"
    }
    fn category(&self) -> Category {
        Category::METADATA
    }
    fn summary(&self) -> &'static str {
        "dependencies fetched from a URL, tarball or git repository"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for dep in &input.metadata.url_dependencies {
            let Some(url) = dep.url.as_deref() else {
                continue;
            };
            let (path, line) = manifest_line(input, url);
            out.push(finding(
                self.id(),
                severity(dep, url),
                self.category(),
                format!(
                    "{} dependency `{}` comes from `{url}`, not the registry",
                    dep.kind, dep.name
                ),
                path.as_deref(),
                line,
                Some(url),
            ));
        }
    }
}
