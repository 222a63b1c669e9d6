//! The one HTTP client: timeouts, retries with backoff, size caps, system root certificates.
//!
//! Everything that leaves the machine goes through here. This module must never
//! retry a 404 (a missing package is an answer, not a fault), never trust a
//! `Content-Length` as a bound, and never buffer a download in memory.

use std::io::{self, Read};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use tempfile::NamedTempFile;
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::RegistryError;
use crate::config::RegistryConfig;
use crate::digest::{ExpectedDigest, Hashed};
use crate::store::ArchiveStore;

/// Longest single wait between retries, however many retries are configured.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const CHUNK: usize = 64 * 1024;

#[derive(Debug)]
pub(crate) struct Http {
    /// Built on first use: loading and parsing the system's root certificates is a
    /// large share of a small local scan's start-up, and local targets never need it.
    agent: std::sync::OnceLock<Agent>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    retries: u32,
    backoff: Duration,
    max_download: u64,
    max_metadata: u64,
    offline: bool,
}

/// How one attempt failed: worth another try, or final.
enum Failure {
    Retry(String),
    Fatal(RegistryError),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Self::Fatal(e)
    }
}

impl Http {
    pub(crate) fn new(cfg: &RegistryConfig) -> Self {
        Self {
            agent: std::sync::OnceLock::new(),
            timeout: cfg.timeout,
            connect_timeout: cfg.connect_timeout,
            user_agent: cfg.user_agent.clone(),
            retries: cfg.retries,
            backoff: cfg.backoff,
            max_download: cfg.max_download_bytes,
            max_metadata: cfg.max_metadata_bytes,
            offline: cfg.offline,
        }
    }

    fn agent(&self) -> &Agent {
        self.agent.get_or_init(|| {
            let mut tls = TlsConfig::builder();
            if let Some(roots) = system_roots() {
                tls = tls.root_certs(roots);
            }
            Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(self.timeout))
                .timeout_connect(Some(self.connect_timeout))
                .user_agent(self.user_agent.as_str())
                .tls_config(tls.build())
                .build()
                .into()
        })
    }

    /// GETs a metadata document. `Ok(None)` when the registry says it does not exist.
    pub(crate) fn get_metadata(
        &self,
        url: &str,
        accept: &str,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        self.retrying(url, || {
            let Some(resp) = self.send(url, accept, false)? else {
                return Ok(None);
            };
            let mut reader = resp.into_body().into_reader();
            let mut buf = Vec::new();
            (&mut reader)
                .take(self.max_metadata.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Retry(format!("reading the response failed: {e}")))?;
            if buf.len() as u64 > self.max_metadata {
                return Err(RegistryError::TooLarge {
                    url: url.to_owned(),
                    limit: self.max_metadata,
                }
                .into());
            }
            Ok(Some(buf))
        })
    }

    /// Streams `url` into a staged file of `store`, hashing as it goes. The caller
    /// verifies the digest and commits; dropping the result deletes the file.
    pub(crate) fn download(
        &self,
        url: &str,
        store: &ArchiveStore,
        expected: &ExpectedDigest,
    ) -> Result<(NamedTempFile, Hashed), RegistryError> {
        // The URL comes from registry JSON: only ever fetch it over HTTP(S), so a
        // `file://` or other scheme can never make ossprey read something local.
        if !is_http_url(url) {
            return Err(RegistryError::bad(
                url,
                "refusing to download a file whose URL is not http:// or https://",
            ));
        }
        self.retrying(url, || {
            let Some(resp) = self.send(url, "*/*", true)? else {
                return Err(RegistryError::bad(
                    url,
                    "the registry lists this file but serves 404 for it",
                )
                .into());
            };
            let limit = self.max_download;
            if resp.body().content_length().is_some_and(|len| len > limit) {
                return Err(RegistryError::TooLarge {
                    url: url.to_owned(),
                    limit,
                }
                .into());
            }
            let mut staged = store.stage(expected.algo)?;
            let mut reader = resp.into_body().into_reader();
            let mut buf = vec![0; CHUNK];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Failure::Retry(format!("download interrupted: {e}"))),
                };
                if staged.len().saturating_add(n as u64) > limit {
                    return Err(RegistryError::TooLarge {
                        url: url.to_owned(),
                        limit,
                    }
                    .into());
                }
                staged.write(&buf[..n])?;
            }
            Ok(staged.finish())
        })
    }

    /// One request. `Ok(None)` for "not found" statuses; 429 and 5xx are retryable.
    fn send(
        &self,
        url: &str,
        accept: &str,
        raw: bool,
    ) -> Result<Option<Response<ureq::Body>>, Failure> {
        if self.offline {
            return Err(Failure::Fatal(RegistryError::Unreachable {
                url: url.to_owned(),
                detail: "offline mode: registries are not contacted and this is not in the cache"
                    .into(),
            }));
        }
        let mut req = self.agent().get(url).header("Accept", accept);
        if raw {
            // Archives are hashed byte for byte: a transparently decompressed
            // `.tgz` would never match its published digest.
            req = req.header("Accept-Encoding", "identity");
        }
        let resp = req.call().map_err(|e| classify(url, e))?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(Some(resp)),
            404 | 410 | 451 => Ok(None),
            429 | 500..=599 => Err(Failure::Retry(format!("HTTP {}", resp.status()))),
            _ => Err(Failure::Fatal(RegistryError::bad(
                url,
                format!("unexpected HTTP {}", resp.status()),
            ))),
        }
    }

    fn retrying<T>(
        &self,
        url: &str,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, RegistryError> {
        let mut wait = self.backoff;
        let mut tries = 0u32;
        loop {
            tries += 1;
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(detail)) if tries > self.retries => {
                    let detail = format!("{detail} (gave up after {tries} attempts)");
                    return Err(RegistryError::Unreachable {
                        url: url.to_owned(),
                        detail,
                    });
                }
                Err(Failure::Retry(_)) => {
                    thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// An absolute `http://` or `https://` URL with a host.
pub(crate) fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

fn classify(url: &str, e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Failure::Retry(e.to_string()),
        other => Failure::Fatal(RegistryError::Unreachable {
            url: url.to_owned(),
            detail: other.to_string(),
        }),
    }
}

/// Root certificates from the system store, honouring `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`. Bundled webpki roots would reject the TLS-intercepting proxies of
/// corporate networks (and of CI sandboxes), whose CA only the system store knows.
/// `None` (ureq's bundled roots) only when no system certificate can be read.
fn system_roots() -> Option<RootCerts> {
    let mut files: Vec<PathBuf> = Vec::new();
    match std::env::var_os("SSL_CERT_FILE") {
        Some(f) if !f.is_empty() => files.push(f.into()),
        _ => files.extend(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/ssl/cert.pem",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
        ),
    }
    if let Some(dir) = std::env::var_os("SSL_CERT_DIR").filter(|d| !d.is_empty())
        && let Ok(entries) = std::fs::read_dir(PathBuf::from(dir))
    {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    for file in files {
        let Ok(pem) = std::fs::read(&file) else {
            continue;
        };
        certs.extend(ureq::tls::parse_pem(&pem).filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        }));
    }
    certs.sort_by(|a, b| a.der().cmp(b.der()));
    certs.dedup_by(|a, b| a.der() == b.der());
    (!certs.is_empty()).then(|| RootCerts::new_with_certs(&certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_are_downloadable() {
        for ok in [
            "https://files.example/x.tgz",
            "HTTP://h:8080/x",
            "http://127.0.0.1/a",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "../../packages/x.tar.gz",
            "ftp://h/x",
            "https:///x",
            "https://",
            "",
            "ht",
            "é",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}
