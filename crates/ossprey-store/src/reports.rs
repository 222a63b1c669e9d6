//! Saving reports (with their findings and network indicators) and finding them again.
//!
//! A report is saved in one transaction: its package and version rows, its artifact
//! row, the analysis row with the report JSON, one row per finding and one per
//! network indicator. Either all of that is committed or none of it.
//!
//! Saving is idempotent on content: the same `kind` and a byte-identical report
//! (same serialized JSON, hence same sha256) give back the id of the row already
//! stored and add nothing. A re-analysis of the same package is a different report
//! (at least its timings differ) and is kept as a new row: the store is a history.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ossprey_model::{Ecosystem, Report, Verdict};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::{Pool, Store, StoreError, clean_text, format_time, now_rfc3339};

/// At most this many indicator rows per report: a package that resolves a million
/// random names must not make its own save fail or balloon the database.
const MAX_INDICATORS: usize = 5_000;

/// What [`Store::find_analyses`] matches. Every set field must match (AND); unset
/// fields match everything. Results come newest first.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub verdict: Option<Verdict>,
    /// A finding with exactly this rule id.
    pub rule: Option<String>,
    /// A finding in exactly this category.
    pub category: Option<String>,
    /// A network indicator with this domain or a subdomain of it (case-insensitive).
    pub domain: Option<String>,
    /// A network indicator with exactly this IP address.
    pub ip: Option<String>,
    /// `eco:name`, `eco:name@version`, `name` or `name@version`; names match
    /// case-insensitively.
    pub package: Option<String>,
    /// Saved at or after this time.
    pub since: Option<time::OffsetDateTime>,
    /// Saved at or before this time.
    pub until: Option<time::OffsetDateTime>,
    /// The sha256 of the analysed artifact.
    pub sha256: Option<String>,
    /// At most this many results.
    pub limit: Option<u64>,
}

/// A parsed [`Filter::package`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFilter {
    pub ecosystem: Option<Ecosystem>,
    pub name: String,
    pub version: Option<String>,
}

impl PackageFilter {
    /// Parses `eco:name[@version]` or `name[@version]`. An `@` at the start of the
    /// name is npm's scope (`npm:@scope/pkg@1.0`), not a version separator.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        let (ecosystem, rest) = match s.split_once(':') {
            Some((eco, rest)) => match eco.parse::<Ecosystem>() {
                Ok(eco) => (Some(eco), rest),
                Err(_) => {
                    return Err(StoreError::InvalidFilter(format!(
                        "`{eco}` in package `{s}` is not an ecosystem (pypi, npm, crates, rubygems)"
                    )));
                }
            },
            None => (None, s),
        };
        let (name, version) = match rest.rfind('@') {
            Some(at) if at > 0 => {
                let (name, version) = rest.split_at(at);
                (name, Some(version.trim_start_matches('@').to_owned()))
            }
            _ => (rest, None),
        };
        if name.is_empty() || version.as_deref() == Some("") {
            return Err(StoreError::InvalidFilter(format!(
                "package `{s}` needs a name (and a version after `@`)"
            )));
        }
        Ok(Self {
            ecosystem,
            name: name.to_owned(),
            version,
        })
    }
}

/// One saved analysis.
#[derive(Clone, Debug)]
pub struct StoredAnalysis {
    pub id: i64,
    /// `scan`, `analyze`, or whatever kind the saver gave.
    pub kind: String,
    /// When it was saved, UTC RFC 3339 (`2026-11-25T17:55:15.123456Z`).
    pub created_at: String,
    pub report: Report,
}

/// The result of inserting a report inside a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Saved {
    pub id: i64,
    /// False when an identical report of the same kind was already stored.
    #[allow(dead_code)] // read by the queue and the tests
    pub new: bool,
}

impl Store {
    /// Saves `report` as an analysis of `kind` (`scan`, `analyze`, …) in one
    /// transaction and returns its id. Saving a byte-identical report of the same
    /// kind again returns the first id and stores nothing (see the module docs).
    pub fn save_report(&self, report: &Report, kind: &str) -> Result<i64, StoreError> {
        let what = || format!("saving the report of {} ({kind})", report.target);
        let saved = self
            .block_on(async {
                match self.pool() {
                    Pool::Sqlite(p) => {
                        let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                        let saved = insert_report_sqlite(&mut tx, report, kind).await?;
                        tx.commit().await?;
                        Ok::<_, sqlx::Error>(saved)
                    }
                    Pool::Postgres(p) => {
                        let mut tx = p.begin().await?;
                        let saved = insert_report_pg(&mut tx, report, kind).await?;
                        tx.commit().await?;
                        Ok(saved)
                    }
                }
            })
            .map_err(|e| self.db_error(e, what()))?;
        Ok(saved.id)
    }

    /// The analyses matching `filter`, newest first.
    pub fn find_analyses(&self, filter: &Filter) -> Result<Vec<StoredAnalysis>, StoreError> {
        let report_expr = match self.pool() {
            Pool::Sqlite(_) => "a.report",
            Pool::Postgres(_) => "a.report::text",
        };
        let (sql, binds) = filter_sql(filter, report_expr)?;
        let what = "searching analyses";
        let rows: Vec<(i64, String, String, String)> = self
            .block_on(async {
                match self.pool() {
                    Pool::Sqlite(p) => {
                        let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str()));
                        for b in &binds {
                            q = match b {
                                Bind::Text(s) => q.bind(s.as_str()),
                                Bind::Int(i) => q.bind(*i),
                            };
                        }
                        q.fetch_all(p).await
                    }
                    Pool::Postgres(p) => {
                        let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str()));
                        for b in &binds {
                            q = match b {
                                Bind::Text(s) => q.bind(s.as_str()),
                                Bind::Int(i) => q.bind(*i),
                            };
                        }
                        q.fetch_all(p).await
                    }
                }
            })
            .map_err(|e| self.db_error(e, what))?;
        rows.into_iter()
            .map(|(id, kind, created_at, json)| {
                let report =
                    serde_json::from_str(&json).map_err(|source| StoreError::CorruptReport {
                        db: self.display_url().to_owned(),
                        id,
                        source,
                    })?;
                Ok(StoredAnalysis {
                    id,
                    kind,
                    created_at,
                    report,
                })
            })
            .collect()
    }

    /// How many rows `table` holds (for tests and status output). `table` must be
    /// one of the store's own tables.
    pub fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: &[&str] = &[
            "packages",
            "versions",
            "artifacts",
            "analyses",
            "findings",
            "indicators",
            "feed_cursors",
            "feed_gaps",
        ];
        if !TABLES.contains(&table) {
            return Err(StoreError::InvalidFilter(format!(
                "`{table}` is not a table of the store"
            )));
        }
        let sql = format!("SELECT COUNT(*) FROM {table}");
        self.block_on(async {
            match self.pool() {
                Pool::Sqlite(p) => {
                    sqlx::query_scalar(AssertSqlSafe(sql.as_str()))
                        .fetch_one(p)
                        .await
                }
                Pool::Postgres(p) => {
                    sqlx::query_scalar(AssertSqlSafe(sql.as_str()))
                        .fetch_one(p)
                        .await
                }
            }
        })
        .map_err(|e| self.db_error(e, format!("counting rows of {table}")))
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Builds the `find_analyses` query. Every value is a bind parameter; only fixed
/// SQL fragments are concatenated.
fn filter_sql(filter: &Filter, report_expr: &str) -> Result<(String, Vec<Bind>), StoreError> {
    let mut binds: Vec<Bind> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let param = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(v) = filter.verdict {
        let p = param(&mut binds, Bind::Text(v.as_str().to_owned()));
        conds.push(format!("a.verdict = {p}"));
    }
    if let Some(rule) = &filter.rule {
        let p = param(&mut binds, Bind::Text(rule.clone()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM findings f WHERE f.analysis_id = a.id AND f.rule = {p})"
        ));
    }
    if let Some(category) = &filter.category {
        let p = param(&mut binds, Bind::Text(category.clone()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM findings f WHERE f.analysis_id = a.id AND f.category = {p})"
        ));
    }
    if let Some(domain) = &filter.domain {
        let domain = normalize_domain(domain);
        let exact = param(&mut binds, Bind::Text(domain.clone()));
        let suffix = param(
            &mut binds,
            Bind::Text(format!("%.{}", escape_like(&domain))),
        );
        conds.push(format!(
            "EXISTS (SELECT 1 FROM indicators i WHERE i.analysis_id = a.id \
             AND (i.domain = {exact} OR i.domain LIKE {suffix} ESCAPE '\\'))"
        ));
    }
    if let Some(ip) = &filter.ip {
        // Canonical form, so `::ffff:1.2.3.4`-style spellings of one address agree.
        let ip = ip
            .trim()
            .parse::<IpAddr>()
            .map(|a| a.to_canonical().to_string())
            .unwrap_or_else(|_| ip.trim().to_owned());
        let p = param(&mut binds, Bind::Text(ip));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM indicators i WHERE i.analysis_id = a.id AND i.ip = {p})"
        ));
    }
    if let Some(package) = &filter.package {
        let pkg = PackageFilter::parse(package)?;
        if let Some(eco) = pkg.ecosystem {
            let p = param(&mut binds, Bind::Text(eco.as_str().to_owned()));
            conds.push(format!("a.ecosystem = {p}"));
        }
        let p = param(&mut binds, Bind::Text(pkg.name.to_lowercase()));
        conds.push(format!("LOWER(a.name) = {p}"));
        if let Some(version) = pkg.version {
            let p = param(&mut binds, Bind::Text(version));
            conds.push(format!("a.version = {p}"));
        }
    }
    if let Some(since) = filter.since {
        let p = param(&mut binds, Bind::Text(format_time(since)));
        conds.push(format!("a.created_at >= {p}"));
    }
    if let Some(until) = filter.until {
        let p = param(&mut binds, Bind::Text(format_time(until)));
        conds.push(format!("a.created_at <= {p}"));
    }
    if let Some(sha) = &filter.sha256 {
        let p = param(&mut binds, Bind::Text(sha.trim().to_ascii_lowercase()));
        conds.push(format!("a.artifact_sha256 = {p}"));
    }
    let mut sql = format!("SELECT a.id, a.kind, a.created_at, {report_expr} FROM analyses a");
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY a.created_at DESC, a.id DESC");
    if let Some(limit) = filter.limit {
        let p = param(
            &mut binds,
            Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
        );
        sql.push_str(&format!(" LIMIT {p}"));
    }
    Ok((sql, binds))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn normalize_domain(d: &str) -> String {
    d.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Everything one report adds to the database, computed before the transaction.
#[derive(Debug)]
pub(crate) struct ReportRows {
    kind: String,
    status: &'static str,
    target: String,
    ecosystem: Option<&'static str>,
    name: Option<String>,
    version: Option<String>,
    artifact: Option<ArtifactRow>,
    verdict: Option<&'static str>,
    score: Option<f64>,
    duration_ms: i64,
    phase_ms: [Option<i64>; 3],
    error_code: Option<String>,
    error_message: Option<String>,
    schema_version: i64,
    report_sha256: String,
    report_json: String,
    findings: Vec<FindingRow>,
    indicators: Vec<Indicator>,
    created_at: String,
}

#[derive(Debug)]
struct ArtifactRow {
    sha256: String,
    size: i64,
    source_kind: &'static str,
    url: Option<String>,
    filename: Option<String>,
    verified_digest: Option<String>,
    path: Option<String>,
}

#[derive(Debug)]
struct FindingRow {
    rule: String,
    category: String,
    severity: &'static str,
    message: String,
}

/// One network indicator row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Indicator {
    pub source: &'static str,
    pub domain: Option<String>,
    pub ip: Option<String>,
    pub port: Option<i64>,
    pub url: Option<String>,
}

fn opt_clean(s: Option<&str>) -> Option<String> {
    s.map(|s| clean_text(s).into_owned())
}

impl ReportRows {
    pub(crate) fn new(report: &Report, kind: &str) -> Result<Self, serde_json::Error> {
        let report_json = serde_json::to_string(report)?;
        let report_sha256 = hex::encode(Sha256::digest(report_json.as_bytes()));
        let artifact = report.artifact.as_ref().map(|a| {
            use ossprey_model::ArtifactSource as S;
            let (source_kind, url, filename, verified_digest, path) = match &a.source {
                S::Registry {
                    url,
                    filename,
                    verified_digest,
                } => (
                    "registry",
                    Some(url.as_str()),
                    Some(filename.as_str()),
                    Some(verified_digest.as_str()),
                    None,
                ),
                S::File { path } => ("file", None, None, None, Some(path.as_str())),
                S::Directory { path } => ("directory", None, None, None, Some(path.as_str())),
            };
            ArtifactRow {
                sha256: clean_text(&a.sha256.to_ascii_lowercase()).into_owned(),
                size: i64::try_from(a.size).unwrap_or(i64::MAX),
                source_kind,
                url: opt_clean(url),
                filename: opt_clean(filename),
                verified_digest: opt_clean(verified_digest),
                path: opt_clean(path),
            }
        });
        let phase_ms = match &report.dynamic {
            Some(d) => [&d.install, &d.import, &d.execute].map(|p| {
                p.as_ref()
                    .map(|p| i64::try_from(p.duration_ms).unwrap_or(i64::MAX))
            }),
            None => [None; 3],
        };
        let findings = report
            .findings
            .iter()
            .map(|f| FindingRow {
                rule: clean_text(&f.rule).into_owned(),
                category: clean_text(f.category.as_str()).into_owned(),
                severity: f.severity.as_str(),
                message: clean_text(&f.message).into_owned(),
            })
            .collect();
        Ok(Self {
            kind: clean_text(kind).into_owned(),
            status: if report.error.is_some() {
                "error"
            } else {
                "done"
            },
            target: clean_text(&report.target).into_owned(),
            ecosystem: report.package.as_ref().map(|p| p.ecosystem.as_str()),
            name: report
                .package
                .as_ref()
                .map(|p| clean_text(&p.name).into_owned()),
            version: report
                .package
                .as_ref()
                .and_then(|p| opt_clean(p.version.as_deref())),
            // The artifact row is keyed by the report's sha256 when the report has
            // no artifact details (it still names the bytes).
            artifact,
            verdict: report.verdict.map(Verdict::as_str),
            score: report.score.filter(|s| s.is_finite()),
            duration_ms: i64::try_from(report.duration_ms).unwrap_or(i64::MAX),
            phase_ms,
            error_code: report
                .error
                .as_ref()
                .map(|e| clean_text(&e.code).into_owned()),
            error_message: report
                .error
                .as_ref()
                .map(|e| clean_text(&e.message).into_owned()),
            schema_version: i64::from(report.schema_version),
            report_sha256,
            report_json,
            findings,
            indicators: indicators(report),
            created_at: now_rfc3339(),
        })
    }

    fn artifact_sha256(&self) -> Option<&str> {
        self.artifact.as_ref().map(|a| a.sha256.as_str())
    }
}

/// The body of a report insert, written once for both backends: the statements and
/// binds are identical, only the connection type differs.
macro_rules! insert_report_body {
    ($conn:expr, $rows:expr, $analysis_sql:expr) => {{
        let conn = $conn;
        let rows: &ReportRows = $rows;
        let package_id: Option<i64> = match (rows.ecosystem, rows.name.as_deref()) {
            (Some(eco), Some(name)) => Some(
                sqlx::query_scalar(
                    "INSERT INTO packages (ecosystem, name) VALUES ($1, $2) \
                     ON CONFLICT (ecosystem, name) DO UPDATE SET name = excluded.name \
                     RETURNING id",
                )
                .bind(eco)
                .bind(name)
                .fetch_one(&mut *conn)
                .await?,
            ),
            _ => None,
        };
        let version_id: Option<i64> = match (package_id, rows.version.as_deref()) {
            (Some(pid), Some(version)) => Some(
                sqlx::query_scalar(
                    "INSERT INTO versions (package_id, version) VALUES ($1, $2) \
                     ON CONFLICT (package_id, version) DO UPDATE SET version = excluded.version \
                     RETURNING id",
                )
                .bind(pid)
                .bind(version)
                .fetch_one(&mut *conn)
                .await?,
            ),
            _ => None,
        };
        if let Some(a) = &rows.artifact {
            sqlx::query(
                "INSERT INTO artifacts (sha256, size, source_kind, url, filename, \
                 verified_digest, path, version_id, first_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (sha256) DO UPDATE SET \
                 version_id = COALESCE(artifacts.version_id, excluded.version_id)",
            )
            .bind(a.sha256.as_str())
            .bind(a.size)
            .bind(a.source_kind)
            .bind(a.url.as_deref())
            .bind(a.filename.as_deref())
            .bind(a.verified_digest.as_deref())
            .bind(a.path.as_deref())
            .bind(version_id)
            .bind(rows.created_at.as_str())
            .execute(&mut *conn)
            .await?;
        }
        let inserted: Option<i64> = sqlx::query_scalar($analysis_sql)
            .bind(rows.kind.as_str())
            .bind(rows.status)
            .bind(rows.target.as_str())
            .bind(version_id)
            .bind(rows.ecosystem)
            .bind(rows.name.as_deref())
            .bind(rows.version.as_deref())
            .bind(rows.artifact_sha256())
            .bind(rows.verdict)
            .bind(rows.score)
            .bind(rows.duration_ms)
            .bind(rows.phase_ms[0])
            .bind(rows.phase_ms[1])
            .bind(rows.phase_ms[2])
            .bind(rows.error_code.as_deref())
            .bind(rows.error_message.as_deref())
            .bind(rows.schema_version)
            .bind(rows.report_sha256.as_str())
            .bind(rows.report_json.as_str())
            .bind(rows.created_at.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        match inserted {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "SELECT id FROM analyses WHERE kind = $1 AND report_sha256 = $2",
                )
                .bind(rows.kind.as_str())
                .bind(rows.report_sha256.as_str())
                .fetch_one(&mut *conn)
                .await?;
                Ok(Saved { id, new: false })
            }
            Some(id) => {
                for f in &rows.findings {
                    sqlx::query(
                        "INSERT INTO findings (analysis_id, rule, category, severity, message) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(f.rule.as_str())
                    .bind(f.category.as_str())
                    .bind(f.severity)
                    .bind(f.message.as_str())
                    .execute(&mut *conn)
                    .await?;
                }
                for i in &rows.indicators {
                    sqlx::query(
                        "INSERT INTO indicators (analysis_id, source, domain, ip, port, url) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(i.source)
                    .bind(i.domain.as_deref())
                    .bind(i.ip.as_deref())
                    .bind(i.port)
                    .bind(i.url.as_deref())
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(Saved { id, new: true })
            }
        }
    }};
}

/// Inserts `report` inside the caller's SQLite transaction (start it with
/// `BEGIN IMMEDIATE`). Nothing is visible until the caller commits.
pub(crate) async fn insert_report_sqlite(
    conn: &mut sqlx::SqliteConnection,
    report: &Report,
    kind: &str,
) -> Result<Saved, sqlx::Error> {
    let rows = ReportRows::new(report, kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    insert_report_body!(
        conn,
        &rows,
        "INSERT INTO analyses (kind, status, target, version_id, ecosystem, name, version, \
         artifact_sha256, verdict, score, duration_ms, install_ms, import_ms, execute_ms, \
         error_code, error_message, schema_version, report_sha256, report, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20) ON CONFLICT (kind, report_sha256) DO NOTHING RETURNING id"
    )
}

/// Inserts `report` inside the caller's PostgreSQL transaction. Nothing is visible
/// until the caller commits.
pub(crate) async fn insert_report_pg(
    conn: &mut sqlx::PgConnection,
    report: &Report,
    kind: &str,
) -> Result<Saved, sqlx::Error> {
    let rows = ReportRows::new(report, kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    // The report goes in as text and is cast to `json` (exact text; jsonb would
    // reject the \u0000 escapes hostile packages put in their output).
    insert_report_body!(
        conn,
        &rows,
        "INSERT INTO analyses (kind, status, target, version_id, ecosystem, name, version, \
         artifact_sha256, verdict, score, duration_ms, install_ms, import_ms, execute_ms, \
         error_code, error_message, schema_version, report_sha256, report, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19::text::json, $20) ON CONFLICT (kind, report_sha256) DO NOTHING RETURNING id"
    )
}

/// The network indicators of a report: literals that rules quoted as evidence
/// (static), and what the sandbox saw (DNS names, connection and datagram
/// destinations, HTTP hosts and URLs, TLS server names). Deduplicated and capped.
pub(crate) fn indicators(report: &Report) -> Vec<Indicator> {
    let mut out: BTreeSet<Indicator> = BTreeSet::new();
    let mut add = |i: Indicator| {
        if out.len() < MAX_INDICATORS {
            out.insert(i);
        }
    };
    for f in &report.findings {
        for text in [Some(f.message.as_str()), f.evidence.snippet.as_deref()]
            .into_iter()
            .flatten()
        {
            for i in static_indicators(text) {
                add(i);
            }
        }
    }
    if let Some(d) = &report.dynamic {
        for phase in [&d.install, &d.import, &d.execute].into_iter().flatten() {
            for q in &phase.network.dns {
                if let Some(domain) = host_to_domain(&q.hostname) {
                    add(Indicator {
                        source: "dns",
                        domain: Some(domain),
                        ip: None,
                        port: None,
                        url: None,
                    });
                }
            }
            for c in &phase.network.connections {
                let ip = canonical_ip(&c.address);
                let domain = c.hostname.as_deref().and_then(host_to_domain);
                add(Indicator {
                    source: "connection",
                    domain: domain.clone(),
                    ip: ip.clone(),
                    port: Some(i64::from(c.port)),
                    url: None,
                });
                if let Some(sni) = c.tls_sni.as_deref().and_then(host_to_domain) {
                    add(Indicator {
                        source: "tls",
                        domain: Some(sni),
                        ip: ip.clone(),
                        port: Some(i64::from(c.port)),
                        url: None,
                    });
                }
                for h in &c.http {
                    let host = h.host.as_deref().map(str::trim).filter(|h| !h.is_empty());
                    let authority =
                        host.map_or_else(|| format!("{}:{}", c.address, c.port), |h| h.to_owned());
                    let url = format!("http://{authority}{}", h.path);
                    let host_domain = host
                        .map(|h| split_host_port(h).0)
                        .and_then(host_to_domain)
                        .or_else(|| domain.clone());
                    add(Indicator {
                        source: "http",
                        domain: host_domain,
                        ip: ip.clone(),
                        port: Some(i64::from(c.port)),
                        url: Some(clean_text(&url).into_owned()),
                    });
                }
            }
            for g in &phase.network.datagrams {
                add(Indicator {
                    source: "datagram",
                    domain: g.hostname.as_deref().and_then(host_to_domain),
                    ip: canonical_ip(&g.address),
                    port: Some(i64::from(g.port)),
                    url: None,
                });
            }
            for s in &phase.sockets {
                if s.op == "connect" && (s.family == "inet" || s.family == "inet6") {
                    add(Indicator {
                        source: "socket",
                        domain: s.hostnames.first().and_then(|h| host_to_domain(h)),
                        ip: canonical_ip(&s.address),
                        port: s.port.map(i64::from),
                        url: None,
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

/// An IP address in canonical text form; anything else is kept as given (cleaned)
/// so a malformed address is still searchable.
fn canonical_ip(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    if s.is_empty() {
        return None;
    }
    Some(match s.parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical().to_string(),
        Err(_) => clean_text(s).into_owned(),
    })
}

/// A hostname as an indicator domain (lowercase, no trailing dot), or `None` for
/// IP literals and empty names.
fn host_to_domain(host: &str) -> Option<String> {
    let d = normalize_domain(host);
    if d.is_empty() || d.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some(clean_text(&d).into_owned())
}

/// `host:port` / `[v6]:port` / `host` → (host, port).
fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host, port);
        }
        return (s, None);
    }
    match s.rsplit_once(':') {
        // Only one colon: host:port. Several mean a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (s, None),
        },
        _ => (s, None),
    }
}

/// URLs and IPv4 literals quoted in a finding's message or snippet.
fn static_indicators(text: &str) -> Vec<Indicator> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for scheme in ["http://", "https://", "ftp://", "ws://", "wss://"] {
        let mut from = 0;
        while let Some(pos) = lower.get(from..).and_then(|t| t.find(scheme)) {
            let start = from + pos;
            let end = text
                .get(start..)
                .and_then(|t| {
                    t.find(|c: char| {
                        c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')' | '\\')
                    })
                })
                .map_or(text.len(), |n| start + n);
            from = end.max(start + scheme.len());
            let Some(url) = text.get(start..end) else {
                break;
            };
            let Some(after) = url.get(scheme.len()..) else {
                continue;
            };
            let authority = after.split(['/', '?', '#']).next().unwrap_or("");
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = split_host_port(hostport);
            if host.is_empty() {
                continue;
            }
            covered.push((start, end));
            out.push(Indicator {
                source: "static",
                domain: host_to_domain(host),
                ip: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .ok()
                    .map(|ip| ip.to_canonical().to_string()),
                port: port.map(i64::from),
                url: Some(clean_text(url).into_owned()),
            });
        }
    }
    // Bare IPv4 literals outside URLs (`socket.connect(("203.0.113.7", 4444))`).
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes.get(i).is_some_and(u8::is_ascii_digit)
            && (i == 0
                || bytes
                    .get(i - 1)
                    .is_some_and(|b| !b.is_ascii_alphanumeric() && *b != b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let len = bytes.get(i..).map_or(0, |rest| {
            rest.iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count()
        });
        let end = i + len;
        let candidate = text.get(i..end).unwrap_or("").trim_end_matches('.');
        let inside_url = covered.iter().any(|&(s, e)| i >= s && i < e);
        if !inside_url
            && candidate.matches('.').count() == 3
            && let Ok(ip) = candidate.parse::<std::net::Ipv4Addr>()
        {
            out.push(Indicator {
                source: "static",
                domain: None,
                ip: Some(ip.to_string()),
                port: None,
                url: None,
            });
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_filters_parse() {
        let p = |s: &str| PackageFilter::parse(s).ok();
        assert_eq!(
            p("npm:@scope/pkg@1.0.0"),
            Some(PackageFilter {
                ecosystem: Some(Ecosystem::Npm),
                name: "@scope/pkg".into(),
                version: Some("1.0.0".into())
            })
        );
        assert_eq!(
            p("requests"),
            Some(PackageFilter {
                ecosystem: None,
                name: "requests".into(),
                version: None
            })
        );
        assert_eq!(
            p("@scope/pkg").map(|f| (f.name, f.version)),
            Some(("@scope/pkg".into(), None))
        );
        assert!(p("cpan:Foo").is_none());
        assert!(p("pypi:x@").is_none());
        assert!(p("pypi:").is_none());
    }

    #[test]
    fn static_literals_become_indicators() {
        let found = static_indicators(
            "posts to https://Evil.example:8443/x?a=1 and connects to 203.0.113.7; \
             version 1.2.3.4.5 is not an IP, http://[2001:db8::1]/p is",
        );
        let domains: Vec<_> = found.iter().filter_map(|i| i.domain.clone()).collect();
        let ips: Vec<_> = found.iter().filter_map(|i| i.ip.clone()).collect();
        assert_eq!(domains, vec!["evil.example"]);
        assert!(ips.contains(&"203.0.113.7".to_owned()), "{ips:?}");
        assert!(ips.contains(&"2001:db8::1".to_owned()), "{ips:?}");
        assert!(!ips.iter().any(|i| i.starts_with("1.2.3")), "{ips:?}");
        assert!(found.iter().any(|i| i.port == Some(8443)));
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for s in [
            "http://",
            "https://@",
            "http://[",
            "1.",
            "...",
            "é1.2.3.4é",
            "http://a:99999/",
        ] {
            let _ = static_indicators(s);
        }
    }
}
