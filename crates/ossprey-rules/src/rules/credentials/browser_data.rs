use ossprey_model::{Category, Finding};
use ossprey_static::facts::text::SecretClass;

use crate::{Input, Rule};

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
        // A profile directory and `Local State` (profile names, and the key) are what
        // browser automation reads too; it takes a secret store, or three places.
        super::store_reads(
            self,
            input,
            SecretClass::Browser,
            "browser secret stores",
            |distinct| distinct.iter().any(|f| STORES.contains(f)) || distinct.len() >= 3,
            |fragment| STORES.contains(&fragment),
            out,
        );
    }
}
