//! Just enough PEP 440 to pick PyPI's latest release and match a typed version.
//!
//! Input comes from registry file names and JSON: parsing must never panic, and a
//! string that is not PEP 440 is simply `None` (legacy versions still exist on PyPI).

use std::cmp::Ordering;

/// A parsed PEP 440 version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<String>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) -> bool {
        matches!(self.peek(), Some(b'.' | b'-' | b'_')) && {
            self.i += 1;
            true
        }
    }

    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// An optional separator followed by one of `words`; rewinds when absent.
    fn sep_word(&mut self, words: &[&str]) -> Option<usize> {
        let save = self.i;
        self.eat_sep();
        for (n, w) in words.iter().enumerate() {
            if self.eat(w) {
                return Some(n);
            }
        }
        self.i = save;
        None
    }

    /// An optional separator and number after a pre/post/dev word (implicit 0).
    fn implicit_number(&mut self) -> u64 {
        let save = self.i;
        self.eat_sep();
        match self.number() {
            Some(n) => n,
            None => {
                self.i = save;
                0
            }
        }
    }
}

impl Pep440 {
    pub(crate) fn parse(input: &str) -> Option<Self> {
        let lower = input.trim().to_ascii_lowercase();
        let body = lower.strip_prefix('v').unwrap_or(&lower);
        let (public, local) = match body.split_once('+') {
            Some((p, l)) => (p, Some(l)),
            None => (body, None),
        };
        let mut c = Cursor {
            s: public.as_bytes(),
            i: 0,
        };
        let mut epoch = 0;
        let first = c.number()?;
        let mut release = vec![first];
        if c.peek() == Some(b'!') {
            c.i += 1;
            epoch = first;
            release = vec![c.number()?];
        }
        while c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
            c.i += 1;
            release.push(c.number()?);
        }
        // Longer spellings first so `alpha` is not read as `a` + junk.
        let pre = c
            .sep_word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"])
            .map(|w| {
                (
                    match w {
                        0 | 5 => 0,
                        1 | 6 => 1,
                        _ => 2,
                    },
                    c.implicit_number(),
                )
            });
        let post = if c.peek() == Some(b'-') && c.s.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
            c.i += 1;
            c.number()
        } else {
            c.sep_word(&["post", "rev", "r"])
                .map(|_| c.implicit_number())
        };
        let dev = c.sep_word(&["dev"]).map(|_| c.implicit_number());
        if c.i != c.s.len() {
            return None;
        }
        let local = match local {
            Some(l) => {
                let parts: Vec<&str> = l.split(['.', '-', '_']).collect();
                if parts
                    .iter()
                    .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
                {
                    return None;
                }
                Some(parts.join("."))
            }
            None => None,
        };
        Some(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// Pre-releases and development releases are not "latest" material.
    pub(crate) fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// PEP 440 normal form. Release segments are kept as written (`1.0` stays
    /// `1.0`), because a user who typed `1.0` did not ask for a file named `1.0.0`.
    pub(crate) fn normalized(&self) -> String {
        let mut s = String::new();
        if self.epoch != 0 {
            s.push_str(&format!("{}!", self.epoch));
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        s.push_str(&release.join("."));
        if let Some((kind, n)) = self.pre {
            s.push_str(["a", "b", "rc"][usize::from(kind.min(2))]);
            s.push_str(&n.to_string());
        }
        if let Some(n) = self.post {
            s.push_str(&format!(".post{n}"));
        }
        if let Some(n) = self.dev {
            s.push_str(&format!(".dev{n}"));
        }
        if let Some(l) = &self.local {
            s.push('+');
            s.push_str(l);
        }
        s
    }

    fn trimmed_release(&self) -> &[u64] {
        let end = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..end]
    }
}

impl Ord for Pep440 {
    fn cmp(&self, other: &Self) -> Ordering {
        // A bare `.devN` sorts before every pre-release of the same release.
        let pre_key = |v: &Self| match (v.pre, v.post, v.dev) {
            (None, None, Some(_)) => (0u8, 0u8, 0u64),
            (Some((k, n)), _, _) => (1, k, n),
            (None, _, _) => (2, 0, 0),
        };
        let post_key = |v: &Self| v.post.map_or((0u8, 0u64), |n| (1, n));
        let dev_key = |v: &Self| v.dev.map_or((1u8, 0u64), |n| (0, n));
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| pre_key(self).cmp(&pre_key(other)))
            .then_with(|| post_key(self).cmp(&post_key(other)))
            .then_with(|| dev_key(self).cmp(&dev_key(other)))
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Pep440 {
        Pep440::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn orders_like_pip() {
        let ordered = [
            "1.0.dev0",
            "1.0a1",
            "1.0a2.dev1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0.post1",
            "1.0.1",
            "1.10",
            "2!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0").cmp(&v("1.0.0")), Ordering::Equal);
    }

    #[test]
    fn normal_form_keeps_release_length() {
        assert_eq!(v("V1.0-ALPHA.1").normalized(), "1.0a1");
        assert_eq!(v("1.0-1").normalized(), "1.0.post1");
        assert_eq!(v("1.01.0_rc2").normalized(), "1.1.0rc2");
        assert_eq!(v("1.0.dev").normalized(), "1.0.dev0");
        assert_ne!(v("1.0").normalized(), v("1.0.0").normalized());
        assert!(v("2.0b1").is_prerelease());
        assert!(!v("2.0.post3").is_prerelease());
    }

    #[test]
    fn junk_is_none_not_a_panic() {
        for junk in [
            "",
            "abc",
            "1.0-",
            "1..0",
            "1.0+",
            "1.0+a..b",
            "99999999999999999999999",
            "1!",
            "1.0foo",
        ] {
            assert!(Pep440::parse(junk).is_none(), "{junk}");
        }
    }
}
