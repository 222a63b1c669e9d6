use std::collections::BTreeSet;

use ossprey_model::{Category, Finding, Severity};
use ossprey_static::facts::text::SecretClass;

use crate::rules::network::util::{
    by_file, cred_severity, line_text, reads_files, secret_mentions,
};
use crate::{Input, Rule, finding};

/// The stores that hold secrets by themselves (a profile directory alone does not).
const STORES: &[&str] = &[
    "login data",
    "web data",
    "logins.json",
    "key4.db",
    "key3.db",
    "cookies.sqlite",
    "default/cookies",
    "network/cookies",
];

/// ## What it does
/// Finds code that reads browsers' credential and cookie stores: Chromium's
/// `Login Data`, `Cookies` and `Web Data`, Firefox's `logins.json`, `key4.db` and
/// `cookies.sqlite`; or three different browser locations (profile folders, `Local
/// State`, which holds the key that decrypts the stores). They must be in code strings
/// of a file that reads files.
///
/// ## Why is this bad?
/// Saved passwords, session cookies and card data are what info-stealers are for;
/// with the cookies an attacker walks into the victim's accounts past two-factor
/// authentication. Reading them on one's own, at install or import time, is theft;
/// tools that export cookies for their user do it only when asked.
///
/// ## Example
/// ```python
/// path = os.path.join(os.environ["LOCALAPPDATA"], "Google", "Chrome", "User Data")
/// key = json.load(open(path + "\\Local State"))["os_crypt"]["encrypted_key"]
/// shutil.copy(path + "\\Default\\Login Data", tmp)
/// ```
#[derive(Debug)]
pub struct BrowserData;

impl Rule for BrowserData {
    fn id(&self) -> &'static str {
        "CRED-BROWSER-DATA"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code reads browser password, cookie or key stores"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mentions = secret_mentions(input, &[SecretClass::Browser]);
        for (file, list) in by_file(&mentions) {
            let distinct: BTreeSet<&str> = list.iter().map(|m| m.fragment.as_str()).collect();
            let stores = distinct.iter().filter(|f| STORES.contains(f)).count();
            // A profile directory and `Local State` (profile names, and the key) are what
            // browser automation reads too; it takes a secret store, or three places.
            if stores == 0 && distinct.len() < 3 {
                continue;
            }
            let first = list
                .iter()
                .find(|m| STORES.contains(&m.fragment.as_str()))
                .unwrap_or(&list[0]);
            let line = line_text(input, &file.path, first.line);
            if !reads_files(file, line.as_deref()) {
                continue;
            }
            out.push(finding(
                self.id(),
                cred_severity(Severity::High, file),
                self.category(),
                format!(
                    "code reads browser secret stores (`{}`)",
                    distinct.into_iter().collect::<Vec<_>>().join("`, `")
                ),
                Some(&file.path),
                Some(first.line),
                Some(&first.text),
            ));
        }
    }
}
