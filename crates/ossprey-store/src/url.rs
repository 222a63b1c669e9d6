//! Parsing of `--db` URLs.

use std::path::PathBuf;

use crate::StoreError;

/// A parsed database URL.
#[derive(Debug)]
pub(crate) enum DbUrl {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// The URL as given, for sqlx's own parser.
    Postgres(String),
}

impl DbUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite:") {
            // `sqlite:///abs`, `sqlite://rel`, and the short `sqlite:rel` all name a file.
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(invalid("no file path after `sqlite://`"));
            }
            if path == ":memory:" || path.starts_with(":memory:") {
                return Err(invalid(
                    "in-memory SQLite is not supported: each connection would see its own empty database; use a file",
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(invalid("expected sqlite://PATH or postgres://USER@HOST/DB"))
    }

    /// The URL with any password hidden.
    pub(crate) fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact(url),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (main, query) = match rest.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (rest, None),
    };
    // The userinfo ends at the last `@` before the query: a password may itself hold
    // `/` or `@` when it was not percent-encoded, and must still be hidden (an `@` in
    // the path hides a little more than needed, the safe side).
    let main = match main.rfind('@') {
        Some(at) => {
            let (userinfo, host) = main.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:***{host}"),
                None => main.to_owned(),
            }
        }
        None => main.to_owned(),
    };
    match query {
        // libpq also takes the password as a parameter: `?password=…`.
        Some(query) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{scheme}://{main}?{}", params.join("&"))
        }
        None => format!("{scheme}://{main}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_files() {
        for (url, path) in [
            ("sqlite:///var/lib/o.db", "/var/lib/o.db"),
            ("sqlite://rel/o.db", "rel/o.db"),
            ("sqlite:o.db", "o.db"),
        ] {
            match DbUrl::parse(url) {
                Ok(DbUrl::Sqlite(p)) => assert_eq!(p, PathBuf::from(path), "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(DbUrl::parse("sqlite://").is_err());
        assert!(DbUrl::parse("sqlite::memory:").is_err());
        assert!(DbUrl::parse("mysql://x/y").is_err());
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://me:s3cr@t@db.example:5432/o"),
            "postgres://me:***@db.example:5432/o"
        );
        assert_eq!(redact("postgres://me@h/o"), "postgres://me@h/o");
        // Unencoded `/` and `@` in the password, and libpq's `password` parameter.
        assert_eq!(
            redact("postgres://me:a/b@c@db.example/o"),
            "postgres://me:***@db.example/o"
        );
        assert_eq!(
            redact("postgres://db.example/o?sslmode=require&password=hunter2"),
            "postgres://db.example/o?sslmode=require&password=***"
        );
        let err = DbUrl::parse("mysql://me:hunter2@h/o")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| !e.contains("hunter2")));
    }
}
