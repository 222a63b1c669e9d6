//! Fixed-string tables for the text pass.
//!
//! The service domains below are public, well-known services that malware favours
//! because they are free, anonymous and rarely blocked: webhook receivers, paste sites,
//! tunnels, out-of-band (OAST) collaborators, bot APIs, file drops, raw-code hosts,
//! IP-lookup endpoints and dynamic-DNS providers. They describe *behaviour classes*
//! (where data can be sent or code fetched from), not indicators of any one campaign;
//! no campaign-specific host belongs here.
//!
//! The sensitive paths are the documented default locations of credential and secret
//! stores (SSH, cloud CLIs, package registries, browsers, chat clients, wallets).

use serde::Serialize;

/// The kind of service a URL or host belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceClass {
    /// Receives arbitrary HTTP posts: Discord/Slack/Teams webhooks, webhook.site, pipedream.
    Webhook,
    /// Paste sites, used to host second stages and to exfiltrate.
    Paste,
    /// Reverse tunnels exposing a host behind NAT (ngrok, cloudflared quick tunnels).
    Tunnel,
    /// Out-of-band interaction / collaborator / canary hosts (DNS and HTTP callbacks).
    Oast,
    /// Chat bot APIs that accept messages and files (Telegram).
    BotApi,
    /// Anonymous file-drop hosts.
    FileDrop,
    /// Hosts that serve raw files from repositories, gists or chat attachments.
    CodeHost,
    /// Services that return the caller's public IP (host fingerprinting).
    IpLookup,
    /// Dynamic-DNS providers' shared suffixes.
    DynamicDns,
}

/// The kind of secret store a path mention points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretClass {
    Ssh,
    Cloud,
    Registry,
    Browser,
    Discord,
    Telegram,
    Wallet,
    Keychain,
    System,
    History,
}

/// Host suffixes (or host+path prefixes, when they contain `/`) per service class.
/// Matched case-insensitively at a host boundary: `x.ngrok.io` matches `ngrok.io`,
/// `notngrok.io` does not.
pub const SERVICES: &[(&str, ServiceClass)] = &[
    // Webhooks (Discord webhooks are classed here rather than as a bot API: the URL alone
    // is a write-only drop box).
    ("discord.com/api/webhooks", ServiceClass::Webhook),
    ("discordapp.com/api/webhooks", ServiceClass::Webhook),
    ("hooks.slack.com", ServiceClass::Webhook),
    ("webhook.office.com", ServiceClass::Webhook),
    ("outlook.office.com/webhook", ServiceClass::Webhook),
    ("webhook.site", ServiceClass::Webhook),
    ("pipedream.net", ServiceClass::Webhook),
    ("requestbin.net", ServiceClass::Webhook),
    ("requestbin.com", ServiceClass::Webhook),
    ("hookbin.com", ServiceClass::Webhook),
    ("beeceptor.com", ServiceClass::Webhook),
    ("mockbin.org", ServiceClass::Webhook),
    // Paste sites.
    ("pastebin.com", ServiceClass::Paste),
    ("pastebin.pl", ServiceClass::Paste),
    ("paste.ee", ServiceClass::Paste),
    ("hastebin.com", ServiceClass::Paste),
    ("toptal.com/developers/hastebin", ServiceClass::Paste),
    ("rentry.co", ServiceClass::Paste),
    ("rentry.org", ServiceClass::Paste),
    ("ghostbin.com", ServiceClass::Paste),
    ("ghostbin.co", ServiceClass::Paste),
    ("paste.rs", ServiceClass::Paste),
    ("dpaste.com", ServiceClass::Paste),
    ("dpaste.org", ServiceClass::Paste),
    ("controlc.com", ServiceClass::Paste),
    ("justpaste.it", ServiceClass::Paste),
    ("pastes.io", ServiceClass::Paste),
    ("privatebin.net", ServiceClass::Paste),
    ("termbin.com", ServiceClass::Paste),
    ("ix.io", ServiceClass::Paste),
    ("textbin.net", ServiceClass::Paste),
    ("bpa.st", ServiceClass::Paste),
    ("paste.c-net.org", ServiceClass::Paste),
    // Tunnels.
    ("ngrok.io", ServiceClass::Tunnel),
    ("ngrok-free.app", ServiceClass::Tunnel),
    ("ngrok-free.dev", ServiceClass::Tunnel),
    ("ngrok.app", ServiceClass::Tunnel),
    ("ngrok.dev", ServiceClass::Tunnel),
    ("trycloudflare.com", ServiceClass::Tunnel),
    ("serveo.net", ServiceClass::Tunnel),
    ("localtunnel.me", ServiceClass::Tunnel),
    ("loca.lt", ServiceClass::Tunnel),
    ("portmap.io", ServiceClass::Tunnel),
    ("portmap.host", ServiceClass::Tunnel),
    ("bore.pub", ServiceClass::Tunnel),
    ("localhost.run", ServiceClass::Tunnel),
    ("lhr.life", ServiceClass::Tunnel),
    ("pinggy.io", ServiceClass::Tunnel),
    ("pinggy.link", ServiceClass::Tunnel),
    ("telebit.cloud", ServiceClass::Tunnel),
    ("tunnelmole.net", ServiceClass::Tunnel),
    ("loclx.io", ServiceClass::Tunnel),
    ("pagekite.me", ServiceClass::Tunnel),
    // Out-of-band interaction (OAST) and canaries.
    ("burpcollaborator.net", ServiceClass::Oast),
    ("oastify.com", ServiceClass::Oast),
    ("interact.sh", ServiceClass::Oast),
    ("interactsh.com", ServiceClass::Oast),
    ("oast.fun", ServiceClass::Oast),
    ("oast.pro", ServiceClass::Oast),
    ("oast.live", ServiceClass::Oast),
    ("oast.site", ServiceClass::Oast),
    ("oast.online", ServiceClass::Oast),
    ("oast.me", ServiceClass::Oast),
    ("canarytokens.com", ServiceClass::Oast),
    ("dnslog.cn", ServiceClass::Oast),
    ("ceye.io", ServiceClass::Oast),
    ("requestcatcher.com", ServiceClass::Oast),
    ("requestrepo.com", ServiceClass::Oast),
    ("pingb.in", ServiceClass::Oast),
    // Bot / message APIs.
    ("api.telegram.org", ServiceClass::BotApi),
    // Anonymous file drops.
    ("transfer.sh", ServiceClass::FileDrop),
    ("file.io", ServiceClass::FileDrop),
    ("anonfiles.com", ServiceClass::FileDrop),
    ("gofile.io", ServiceClass::FileDrop),
    ("temp.sh", ServiceClass::FileDrop),
    ("0x0.st", ServiceClass::FileDrop),
    ("catbox.moe", ServiceClass::FileDrop),
    ("bashupload.com", ServiceClass::FileDrop),
    ("oshi.at", ServiceClass::FileDrop),
    ("tmpfiles.org", ServiceClass::FileDrop),
    ("filebin.net", ServiceClass::FileDrop),
    ("keep.sh", ServiceClass::FileDrop),
    ("uguu.se", ServiceClass::FileDrop),
    ("pixeldrain.com", ServiceClass::FileDrop),
    ("mega.nz", ServiceClass::FileDrop),
    // Raw code hosts.
    ("raw.githubusercontent.com", ServiceClass::CodeHost),
    ("gist.githubusercontent.com", ServiceClass::CodeHost),
    ("cdn.discordapp.com/attachments", ServiceClass::CodeHost),
    ("media.discordapp.net/attachments", ServiceClass::CodeHost),
    ("raw.githack.com", ServiceClass::CodeHost),
    // Public-IP lookups.
    ("ipinfo.io", ServiceClass::IpLookup),
    ("api.ipify.org", ServiceClass::IpLookup),
    ("api64.ipify.org", ServiceClass::IpLookup),
    ("ifconfig.me", ServiceClass::IpLookup),
    ("ifconfig.co", ServiceClass::IpLookup),
    ("checkip.amazonaws.com", ServiceClass::IpLookup),
    ("ip-api.com", ServiceClass::IpLookup),
    ("icanhazip.com", ServiceClass::IpLookup),
    ("ipapi.co", ServiceClass::IpLookup),
    ("ident.me", ServiceClass::IpLookup),
    ("myexternalip.com", ServiceClass::IpLookup),
    ("wtfismyip.com", ServiceClass::IpLookup),
    ("ipecho.net", ServiceClass::IpLookup),
    ("api.myip.com", ServiceClass::IpLookup),
    ("ipwho.is", ServiceClass::IpLookup),
    ("geolocation-db.com", ServiceClass::IpLookup),
    // Dynamic DNS.
    ("duckdns.org", ServiceClass::DynamicDns),
    ("no-ip.com", ServiceClass::DynamicDns),
    ("no-ip.org", ServiceClass::DynamicDns),
    ("no-ip.biz", ServiceClass::DynamicDns),
    ("ddns.net", ServiceClass::DynamicDns),
    ("hopto.org", ServiceClass::DynamicDns),
    ("zapto.org", ServiceClass::DynamicDns),
    ("sytes.net", ServiceClass::DynamicDns),
    ("serveftp.com", ServiceClass::DynamicDns),
    ("servehttp.com", ServiceClass::DynamicDns),
    ("myftp.biz", ServiceClass::DynamicDns),
    ("myftp.org", ServiceClass::DynamicDns),
    ("redirectme.net", ServiceClass::DynamicDns),
    ("dynu.net", ServiceClass::DynamicDns),
    ("freeddns.org", ServiceClass::DynamicDns),
    ("dyndns.org", ServiceClass::DynamicDns),
    ("dynv6.net", ServiceClass::DynamicDns),
    ("mooo.com", ServiceClass::DynamicDns),
    ("chickenkiller.com", ServiceClass::DynamicDns),
];

/// Secret-store path fragments. `/` stands for any separator: each entry is also matched
/// with `\` and with `\\` (a backslash escaped inside a string literal).
/// Entries marked `true` are matched case-sensitively, because their lowercase form is
/// ordinary prose (`local state`, `user data`, `login data`).
///
/// `id_rsa.pub` (and other `.pub` keys) is deliberately *not* reported: a public key is
/// not a secret, and deploy tooling documents it constantly. `id_rsa` alone is.
pub const SECRET_PATHS: &[(&str, SecretClass, bool)] = &[
    (".ssh", SecretClass::Ssh, false),
    ("id_rsa", SecretClass::Ssh, false),
    ("id_ed25519", SecretClass::Ssh, false),
    ("id_ecdsa", SecretClass::Ssh, false),
    ("id_dsa", SecretClass::Ssh, false),
    ("authorized_keys", SecretClass::Ssh, false),
    (".aws/credentials", SecretClass::Cloud, false),
    (".aws/config", SecretClass::Cloud, false),
    (".aws", SecretClass::Cloud, false),
    (".azure", SecretClass::Cloud, false),
    (".config/gcloud", SecretClass::Cloud, false),
    (
        "application_default_credentials.json",
        SecretClass::Cloud,
        false,
    ),
    (".kube/config", SecretClass::Cloud, false),
    (".kube", SecretClass::Cloud, false),
    (".docker/config.json", SecretClass::Cloud, false),
    (".s3cfg", SecretClass::Cloud, false),
    (".boto", SecretClass::Cloud, false),
    (".npmrc", SecretClass::Registry, false),
    (".pypirc", SecretClass::Registry, false),
    (".git-credentials", SecretClass::Registry, false),
    (".netrc", SecretClass::Registry, false),
    (".gem/credentials", SecretClass::Registry, false),
    (".cargo/credentials", SecretClass::Registry, false),
    (".cargo/credentials.toml", SecretClass::Registry, false),
    ("Google/Chrome/User Data", SecretClass::Browser, false),
    ("Chrome/User Data", SecretClass::Browser, false),
    ("Chromium/User Data", SecretClass::Browser, false),
    ("Microsoft/Edge/User Data", SecretClass::Browser, false),
    ("BraveSoftware/Brave-Browser", SecretClass::Browser, false),
    ("Opera Software/Opera Stable", SecretClass::Browser, false),
    ("Opera Stable", SecretClass::Browser, true),
    ("Opera GX Stable", SecretClass::Browser, true),
    ("Yandex/YandexBrowser", SecretClass::Browser, false),
    ("Vivaldi/User Data", SecretClass::Browser, false),
    (
        "Application Support/Google/Chrome",
        SecretClass::Browser,
        false,
    ),
    ("User Data", SecretClass::Browser, true),
    ("Login Data", SecretClass::Browser, true),
    ("Local State", SecretClass::Browser, true),
    ("Web Data", SecretClass::Browser, true),
    ("Default/Cookies", SecretClass::Browser, false),
    ("Network/Cookies", SecretClass::Browser, false),
    (".mozilla/firefox", SecretClass::Browser, false),
    ("Mozilla/Firefox/Profiles", SecretClass::Browser, false),
    ("logins.json", SecretClass::Browser, false),
    ("key4.db", SecretClass::Browser, false),
    ("key3.db", SecretClass::Browser, false),
    ("cookies.sqlite", SecretClass::Browser, false),
    ("discord/Local Storage/leveldb", SecretClass::Discord, false),
    ("Local Storage/leveldb", SecretClass::Discord, false),
    ("discordcanary", SecretClass::Discord, false),
    ("discordptb", SecretClass::Discord, false),
    ("Telegram Desktop", SecretClass::Telegram, false),
    ("/tdata", SecretClass::Telegram, false),
    ("Exodus/exodus.wallet", SecretClass::Wallet, false),
    ("exodus.wallet", SecretClass::Wallet, false),
    ("Exodus", SecretClass::Wallet, true),
    ("Electrum/wallets", SecretClass::Wallet, false),
    (".electrum", SecretClass::Wallet, false),
    ("atomic/Local Storage", SecretClass::Wallet, false),
    ("com.liberty.jaxx", SecretClass::Wallet, false),
    ("Coinomi", SecretClass::Wallet, true),
    ("wallet.dat", SecretClass::Wallet, false),
    (".bitcoin", SecretClass::Wallet, false),
    ("Ethereum/keystore", SecretClass::Wallet, false),
    // Browser-extension ids of popular wallets (public Chrome Web Store ids):
    // MetaMask, Phantom, Coinbase Wallet, Binance Wallet, TronLink.
    (
        "nkbihfbeogaeaoehlefnkodbefgpgknn",
        SecretClass::Wallet,
        false,
    ),
    (
        "bfnaelmomeimhlpmgjnjophhpkkoljpa",
        SecretClass::Wallet,
        false,
    ),
    (
        "hnfanknocfeofbddgcijnmhnfnkdnaad",
        SecretClass::Wallet,
        false,
    ),
    (
        "fhbohimaelbohpjbbldcngcnapndodjp",
        SecretClass::Wallet,
        false,
    ),
    (
        "ibnejdfjmmkpcnlpebklmnkoeoihofec",
        SecretClass::Wallet,
        false,
    ),
    ("login.keychain", SecretClass::Keychain, false),
    ("Library/Keychains", SecretClass::Keychain, false),
    ("find-generic-password", SecretClass::Keychain, false),
    ("find-internet-password", SecretClass::Keychain, false),
    ("/etc/passwd", SecretClass::System, false),
    ("/etc/shadow", SecretClass::System, false),
    ("/etc/sudoers", SecretClass::System, false),
    (".bash_history", SecretClass::History, false),
    (".zsh_history", SecretClass::History, false),
    (".python_history", SecretClass::History, false),
    (".node_repl_history", SecretClass::History, false),
    ("ConsoleHost_history.txt", SecretClass::History, false),
];

/// Packer and obfuscator signatures, matched case-sensitively as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkerKind {
    /// javascript-obfuscator's string-array rotation loop (`while(!![])`).
    JsObfuscatorLoop,
    /// javascript-obfuscator's `arr['push'](arr['shift']())` rotation idiom.
    JsObfuscatorRotate,
    /// PyArmor runtime / bootstrap.
    Pyarmor,
    /// `exec(marshal.loads(...))`: running a serialised code object.
    MarshalExec,
    /// `zlib.decompress(base64.b64decode(` and similar decode-then-run one-liners.
    PythonDecodeExec,
    /// Lambda-chain obfuscators (`_ = lambda __ :`) and named Python obfuscator tools.
    PythonObfuscator,
}

/// Marker fragments. Several spellings per idiom cover the common whitespace variants.
pub const MARKERS: &[(&str, MarkerKind)] = &[
    ("while(!![])", MarkerKind::JsObfuscatorLoop),
    ("while (!![])", MarkerKind::JsObfuscatorLoop),
    ("['push'](_0x", MarkerKind::JsObfuscatorRotate),
    ("[\"push\"](_0x", MarkerKind::JsObfuscatorRotate),
    ("['shift']())", MarkerKind::JsObfuscatorRotate),
    ("[\"shift\"]())", MarkerKind::JsObfuscatorRotate),
    ("__pyarmor__", MarkerKind::Pyarmor),
    ("pyarmor_runtime", MarkerKind::Pyarmor),
    ("from pytransform import", MarkerKind::Pyarmor),
    ("__armor_enter__", MarkerKind::Pyarmor),
    ("exec(marshal.loads(", MarkerKind::MarshalExec),
    ("exec(__import__('marshal').loads(", MarkerKind::MarshalExec),
    (
        "exec(__import__(\"marshal\").loads(",
        MarkerKind::MarshalExec,
    ),
    (
        "zlib.decompress(base64.b64decode(",
        MarkerKind::PythonDecodeExec,
    ),
    ("exec(base64.b64decode(", MarkerKind::PythonDecodeExec),
    ("exec(zlib.decompress(", MarkerKind::PythonDecodeExec),
    ("exec(bytes.fromhex(", MarkerKind::PythonDecodeExec),
    ("exec(codecs.decode(", MarkerKind::PythonDecodeExec),
    ("_ = lambda __ :", MarkerKind::PythonObfuscator),
    ("_=lambda __:", MarkerKind::PythonObfuscator),
    ("pyobfuscate", MarkerKind::PythonObfuscator),
    ("py_obfuscator", MarkerKind::PythonObfuscator),
    ("Obfuscated with PyObfuscator", MarkerKind::PythonObfuscator),
];
