//! Digests a registry publishes, and checking downloaded bytes against them.
//!
//! Parsing here reads registry-controlled strings: it must never panic, and an
//! unparseable digest must never be treated as "nothing to verify".

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// A hash algorithm a registry may publish, weakest first so `Ord` picks the strongest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Algo {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algo {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sha1" => Self::Sha1,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }

    fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// What the registry says the file hashes to. Several values of one algorithm are
/// allowed (SRI may list more than one); matching any of them verifies the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpectedDigest {
    pub(crate) algo: Algo,
    pub(crate) values: Vec<Vec<u8>>,
}

impl ExpectedDigest {
    /// A hex digest such as PyPI's `digests.sha256` or npm's `shasum`.
    pub(crate) fn from_hex(algo: Algo, hex_digest: &str) -> Option<Self> {
        let bytes = hex::decode(hex_digest.trim()).ok()?;
        (bytes.len() == algo.len()).then(|| Self {
            algo,
            values: vec![bytes],
        })
    }

    /// `algo:hex`, the form stored in `ArtifactSource::Registry::verified_digest`.
    pub(crate) fn from_labelled(s: &str) -> Option<Self> {
        let (algo, hex_digest) = s.split_once(':')?;
        Self::from_hex(Algo::from_name(algo)?, hex_digest)
    }

    /// An SRI string (`sha512-<base64> sha1-<base64>`): keeps the strongest algorithm
    /// this crate supports. `None` when no entry is usable.
    pub(crate) fn from_sri(sri: &str) -> Option<Self> {
        let mut best: Option<Self> = None;
        for token in sri.split_ascii_whitespace() {
            let Some((algo, rest)) = token.split_once('-') else {
                continue;
            };
            let Some(algo) = Algo::from_name(algo) else {
                continue;
            };
            // SRI allows `?options` after the digest; none affect verification.
            let b64 = rest.split('?').next().unwrap_or_default();
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                continue;
            };
            if bytes.len() != algo.len() {
                continue;
            }
            match &mut best {
                Some(b) if b.algo == algo => b.values.push(bytes),
                Some(b) if b.algo > algo => {}
                _ => {
                    best = Some(Self {
                        algo,
                        values: vec![bytes],
                    })
                }
            }
        }
        best
    }

    /// The first published value in `algo:hex` form, for error messages.
    pub(crate) fn label(&self) -> String {
        let first = self.values.first().map(hex::encode).unwrap_or_default();
        format!("{}:{first}", self.algo.name())
    }
}

/// Hashes a stream once into sha256 (the store's address) and, when different,
/// the algorithm the registry published.
pub(crate) struct StreamHasher {
    sha256: Sha256,
    other: Option<Other>,
    len: u64,
}

enum Other {
    Sha1(Sha1),
    Sha384(Sha384),
    Sha512(Sha512),
}

/// The outcome of hashing a whole stream.
pub(crate) struct Hashed {
    pub(crate) sha256: String,
    pub(crate) len: u64,
    /// The digest in the registry's algorithm, raw bytes.
    pub(crate) published_algo: Vec<u8>,
}

impl StreamHasher {
    pub(crate) fn new(algo: Algo) -> Self {
        let other = match algo {
            Algo::Sha1 => Some(Other::Sha1(Sha1::new())),
            Algo::Sha256 => None,
            Algo::Sha384 => Some(Other::Sha384(Sha384::new())),
            Algo::Sha512 => Some(Other::Sha512(Sha512::new())),
        };
        Self {
            sha256: Sha256::new(),
            other,
            len: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.len += data.len() as u64;
        match &mut self.other {
            Some(Other::Sha1(h)) => h.update(data),
            Some(Other::Sha384(h)) => h.update(data),
            Some(Other::Sha512(h)) => h.update(data),
            None => {}
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn finish(self) -> Hashed {
        let sha256 = self.sha256.finalize().to_vec();
        let published_algo = match self.other {
            Some(Other::Sha1(h)) => h.finalize().to_vec(),
            Some(Other::Sha384(h)) => h.finalize().to_vec(),
            Some(Other::Sha512(h)) => h.finalize().to_vec(),
            None => sha256.clone(),
        };
        Hashed {
            sha256: hex::encode(sha256),
            len: self.len,
            published_algo,
        }
    }
}

/// Checks a hashed stream against the published digest. `Ok` carries the
/// `algo:hex` label of the value that matched, `Err` the actual digest's label.
pub(crate) fn verify(expected: &ExpectedDigest, hashed: &Hashed) -> Result<String, String> {
    let label = format!(
        "{}:{}",
        expected.algo.name(),
        hex::encode(&hashed.published_algo)
    );
    if expected.values.contains(&hashed.published_algo) {
        Ok(label)
    } else {
        Err(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(algo: Algo, data: &[u8]) -> Hashed {
        let mut h = StreamHasher::new(algo);
        h.update(data);
        h.finish()
    }

    #[test]
    fn sri_keeps_the_strongest_supported_algorithm() {
        let data = b"hello";
        let s512 = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(data));
        let s1 = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(data));
        let sri = format!("sha1-{s1} md5-zzzz sha512-{s512}?foo");
        let e = ExpectedDigest::from_sri(&sri).expect("parses");
        assert_eq!(e.algo, Algo::Sha512);
        assert!(verify(&e, &hash(e.algo, data)).is_ok());
        assert!(verify(&e, &hash(e.algo, b"other")).is_err());
    }

    #[test]
    fn garbage_digests_are_rejected_not_ignored() {
        assert!(ExpectedDigest::from_sri("").is_none());
        assert!(ExpectedDigest::from_sri("sha512-!!!notbase64").is_none());
        assert!(
            ExpectedDigest::from_sri("sha512-aGVsbG8=").is_none(),
            "wrong length"
        );
        assert!(ExpectedDigest::from_hex(Algo::Sha256, "abcd").is_none());
        assert!(ExpectedDigest::from_labelled("md5:00").is_none());
    }

    #[test]
    fn labelled_round_trips() {
        let h = hash(Algo::Sha256, b"x");
        let e = ExpectedDigest::from_labelled(&format!("sha256:{}", h.sha256)).expect("parses");
        assert_eq!(verify(&e, &h), Ok(format!("sha256:{}", h.sha256)));
    }
}
