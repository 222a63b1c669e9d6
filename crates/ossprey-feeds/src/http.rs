//! The feeds' HTTP client: timeouts, retries with backoff on transient faults, a cap
//! on every response body.
//!
//! `ossprey-registry` keeps its agent private and only GETs, while the PyPI changelog
//! is an XML-RPC POST, so this is a second small client built the same way (ureq,
//! system root certificates, 429/5xx and connection errors retried, 404 an answer).
//! It must never read more than `max_bytes` of a body, whatever `Content-Length` says.

use std::io::Read as _;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use ureq::Agent;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::FeedConfig;

/// Longest single wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Http {
    agent: Agent,
    retries: u32,
    backoff: Duration,
    max_bytes: u64,
}

/// How one attempt ended when it did not succeed.
enum Failure {
    /// Worth another try (connection error, timeout, 429, 5xx, truncated body).
    Transient(String),
    /// Final (4xx other than 404/410/429, body too large).
    Fatal(anyhow::Error),
}

impl Http {
    pub(crate) fn new(cfg: &FeedConfig) -> Self {
        let mut tls = TlsConfig::builder();
        if let Some(roots) = system_roots() {
            tls = tls.root_certs(roots);
        }
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(cfg.timeout))
            .timeout_connect(Some(cfg.connect_timeout))
            .user_agent(cfg.user_agent.as_str())
            .tls_config(tls.build())
            .build()
            .into();
        Self {
            agent,
            retries: cfg.retries,
            backoff: cfg.backoff,
            max_bytes: cfg.max_response_bytes,
        }
    }

    /// GETs `url`. `Ok(None)` when the server says it does not exist (404/410).
    pub(crate) fn get(&self, url: &str, accept: &str) -> Result<Option<Vec<u8>>> {
        self.retrying(url, || {
            let resp = self
                .agent
                .get(url)
                .header("Accept", accept)
                .call()
                .map_err(transport)?;
            self.body(url, resp)
        })
    }

    /// GETs a feed document that must exist: a 404/410 is an error naming the URL
    /// (a feed endpoint does not disappear; a wrong `--endpoint` does).
    pub(crate) fn get_feed(&self, url: &str, accept: &str) -> Result<Vec<u8>> {
        self.get(url, accept)?
            .ok_or_else(|| anyhow!("{url}: the feed answered 404"))
    }

    /// POSTs an XML-RPC call to `url` and returns the response body.
    pub(crate) fn post_xml(&self, url: &str, body: &str) -> Result<Vec<u8>> {
        let got = self.retrying(url, || {
            let resp = self
                .agent
                .post(url)
                .header("Content-Type", "text/xml")
                .header("Accept", "text/xml")
                .send(body)
                .map_err(transport)?;
            self.body(url, resp)
        })?;
        got.ok_or_else(|| anyhow!("POST {url}: the server answered 404"))
    }

    fn body(
        &self,
        url: &str,
        resp: ureq::http::Response<ureq::Body>,
    ) -> Result<Option<Vec<u8>>, Failure> {
        let status = resp.status().as_u16();
        match status {
            200..=299 => {}
            404 | 410 => return Ok(None),
            429 | 500..=599 => return Err(Failure::Transient(format!("HTTP {status}"))),
            _ => return Err(Failure::Fatal(anyhow!("{url}: unexpected HTTP {status}"))),
        }
        let mut buf = Vec::new();
        resp.into_body()
            .into_reader()
            .take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Transient(format!("reading the response failed: {e}")))?;
        if buf.len() as u64 > self.max_bytes {
            return Err(Failure::Fatal(anyhow!(
                "{url}: response is larger than the limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(Some(buf))
    }

    fn retrying<T>(&self, url: &str, mut attempt: impl FnMut() -> Result<T, Failure>) -> Result<T> {
        let mut wait = self.backoff;
        let mut tries = 0u32;
        loop {
            tries += 1;
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(detail)) if tries > self.retries => {
                    bail!("{url}: {detail} (gave up after {tries} attempts)")
                }
                Err(Failure::Transient(_)) => {
                    thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

fn transport(e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Failure::Transient(e.to_string()),
        other => Failure::Fatal(anyhow!("{other}")),
    }
}

/// Root certificates from the system store (`SSL_CERT_FILE`, else the usual bundle
/// paths), so TLS-intercepting proxies whose CA only the system knows still work.
/// `None` falls back to ureq's bundled roots.
fn system_roots() -> Option<RootCerts> {
    let file = match std::env::var_os("SSL_CERT_FILE") {
        Some(f) if !f.is_empty() => Some(PathBuf::from(f)),
        _ => [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file()),
    }?;
    let pem = std::fs::read(file).ok()?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    (!certs.is_empty()).then(|| RootCerts::new_with_certs(&certs))
}
