//! Rules of the `network` group: where code sends data or fetches code from —
//! webhooks, bot APIs, tunnels and OAST hosts, paste sites and raw code hosts, file
//! drops, literal IPs, IP-lookup and dynamic-DNS services.

pub mod bot_api;
pub mod dynamic_dns;
pub mod file_drop;
pub mod ip_lookup;
pub mod paste_code_host;
pub mod raw_ip;
pub mod tunnel_oast;
pub(crate) mod util;
pub mod webhook;

use crate::Rule;

pub static RULES: &[&dyn Rule] = &[
    &webhook::WebhookExfil,
    &bot_api::BotApi,
    &tunnel_oast::TunnelOast,
    &paste_code_host::PasteCodeHost,
    &file_drop::FileDrop,
    &raw_ip::RawIp,
    &ip_lookup::IpLookup,
    &dynamic_dns::DynamicDns,
];
