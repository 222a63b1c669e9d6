use ossprey_model::{Category, Finding};
use ossprey_static::facts::text::SecretClass;

use crate::{Input, Rule};

/// Fragments that name a wallet's key store by themselves.
const WEAK: &[&str] = &["exodus", ".electrum", "coinomi", ".bitcoin"];

/// ## What it does
/// Finds code that reads cryptocurrency wallet stores: Exodus (`exodus.wallet`),
/// Electrum wallets, Atomic, Jaxx, Bitcoin Core's `wallet.dat`, Ethereum keystores,
/// and the extension-storage folders of browser wallets (MetaMask, Phantom, Coinbase,
/// Binance, TronLink by their extension ids). A store file or extension id, or two
/// different wallets, in code strings of a file that reads files.
///
/// ## Why is this bad?
/// A copied wallet file or extension vault is money the attacker can move without
/// the victim noticing until it is gone. Stealers walk a list of wallet folders and
/// zip whatever exists. Wallet software reads its own store; a package reading
/// several others' stores is collecting them.
///
/// ## Example
/// ```python
/// wallets = {"Exodus": appdata + "\\Exodus\\exodus.wallet",
///            "Metamask": local + "\\Google\\Chrome\\User Data\\Default\\Local Extension Settings\\nkbihfbeogaeaoehlefnkodbefgpgknn"}
/// for name, path in wallets.items(): shutil.copytree(path, dest + name)
/// ```
#[derive(Debug)]
pub struct CryptoWallets;

impl Rule for CryptoWallets {
    fn id(&self) -> &'static str {
        "CRED-CRYPTO-WALLETS"
    }
    fn category(&self) -> Category {
        Category::CREDENTIAL_ACCESS
    }
    fn summary(&self) -> &'static str {
        "code reads cryptocurrency wallet stores (Exodus, Electrum, MetaMask, wallet.dat, …)"
    }
    fn check(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        super::store_reads(
            self,
            input,
            SecretClass::Wallet,
            "cryptocurrency wallet stores",
            |distinct| distinct.iter().any(|f| !WEAK.contains(f)) || distinct.len() >= 2,
            |fragment| !WEAK.contains(&fragment),
            out,
        );
    }
}
