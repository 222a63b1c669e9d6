use ossprey_model::{Category, Finding, Severity};
use ossprey_static::analysis::FileAnalysis;
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, contains_ci, cred_severity, has_network_call, secret_mentions,
};
use crate::{Input, Rule, finding};

/// Whether a string literal is a Discord-token pattern: the three-part
/// `[\w-]{24}\.[\w-]{6}\.[\w-]{27}` shape, the old `mfa\.[\w-]{84}` one, or the
/// `dQw4w9WgXcQ:` prefix Discord's desktop client gives encrypted tokens.
fn is_token_pattern(s: &str) -> bool {
    (s.contains("{24") && s.contains("{6}") && s.contains("{27"))
        || (s.contains("{26}") && s.contains("{6}") && (s.contains("{38}") || s.contains("{25,")))
        || (s.contains("mfa") && s.contains("{84}"))
        || s.contains("dQw4w9WgXcQ:")
}

/// The first token-pattern literal of `file`, with its line.
fn token_pattern(file: &FileAnalysis) -> Option<(u32, &str)> {
    file.source.as_ref().and_then(|s| {
        s.strings
            .iter()
            .find(|l| is_token_pattern(&l.value))
            .map(|l| (l.line, l.value.as_str()))
    })
}

/// ## What it does
/// Finds Discord token grabbing: the Discord clients' token store (`Local
/// Storage/leveldb` under `discord`, `discordcanary`, `discordptb`) named in code,
/// and string literals that are Discord-token regular expressions
/// (`[\w-]{24}\.[\w-]{6}\.[\w-]{27}`, `mfa\.[\w-]{84}`, the `dQw4w9WgXcQ:` prefix of
/// encrypted tokens). The store with a token regex, or with a network call in the same
/// file, is the grabber shape and always critical.
///
/// ## Why is this bad?
/// A Discord token is the account: whoever holds it can read messages, spread the
/// malware to friends and drain payment methods. Scanning the client's LevelDB files
/// for token-shaped strings has one purpose. Secret scanners carry the regex too, so
/// the regex alone weighs less than the regex aimed at Discord's own store.
///
/// ## Example
/// ```python
/// path = os.getenv("APPDATA") + "\\discord\\Local Storage\\leveldb"
/// for f in os.listdir(path):
///     tokens += re.findall(r"[\w-]{24}\.[\w-]{6}\.[\w-]{27}", open(path + "\\" + f, errors="ignore").read())
/// ```
#[derive(Debug)]
pub struct DiscordTokens;

impl Rule for DiscordTokens {
    fn id(&self) -> &'static str {
        "CRED-DISCORD-TOKENS"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code grabs Discord tokens (client token store, token regexes)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mentions = secret_mentions(input, &[SecretClass::Discord]);
        let grouped = by_file(&mentions);
        let mut done = std::collections::HashSet::new();
        for (file, list) in &grouped {
            // `Local Storage/leveldb` is every Electron app's store; it is Discord's when
            // the file names Discord.
            let names_discord = file
                .source
                .as_ref()
                .is_some_and(|s| s.strings.iter().any(|l| contains_ci(&l.value, "discord")));
            let Some(store) = list
                .iter()
                .find(|m| m.fragment.contains("discord") || names_discord)
            else {
                continue;
            };
            done.insert(file.path.as_str());
            let pattern = token_pattern(file);
            let sends = file.source.as_ref().is_some_and(has_network_call);
            let severity = if pattern.is_some() || sends {
                Severity::Critical
            } else {
                cred_severity(Severity::Critical, file)
            };
            let with = match (pattern.is_some(), sends) {
                (true, _) => " and scans it with a token regex",
                (false, true) => " in a file that talks to the network",
                (false, false) => "",
            };
            out.push(finding(
                self.id(),
                severity,
                self.category(),
                format!("code reads the Discord client's token store{with}"),
                Some(&file.path),
                Some(store.line),
                Some(&store.text),
            ));
        }
        for file in &input.facts.files {
            if done.contains(file.path.as_str()) {
                continue;
            }
            let Some((line, value)) = token_pattern(file) else {
                continue;
            };
            out.push(finding(
                self.id(),
                cred_severity(Severity::High, file),
                self.category(),
                "code holds a Discord token regular expression",
                Some(&file.path),
                Some(line),
                Some(value),
            ));
        }
    }
}
