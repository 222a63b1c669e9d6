-- Reports and what can be pivoted on: packages, versions, artifacts, analyses,
-- findings, network indicators; plus the registry feeds' cursors and gaps.
-- Timestamps are UTC RFC 3339 text with a fixed width (2026-11-25T17:55:15.123456Z),
-- so they sort and compare as text on both backends.

CREATE TABLE IF NOT EXISTS packages (
    id        INTEGER PRIMARY KEY,
    ecosystem TEXT NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (ecosystem, name)
);

CREATE TABLE IF NOT EXISTS versions (
    id         INTEGER PRIMARY KEY,
    package_id INTEGER NOT NULL REFERENCES packages (id),
    version    TEXT NOT NULL,
    UNIQUE (package_id, version)
);

-- The archive bytes stay in the content-addressed cache; this row names them.
CREATE TABLE IF NOT EXISTS artifacts (
    sha256          TEXT PRIMARY KEY,
    size            INTEGER NOT NULL,
    source_kind     TEXT NOT NULL,
    url             TEXT,
    filename        TEXT,
    verified_digest TEXT,
    path            TEXT,
    version_id      INTEGER REFERENCES versions (id),
    first_seen      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS analyses (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    target          TEXT NOT NULL,
    version_id      INTEGER REFERENCES versions (id),
    ecosystem       TEXT,
    name            TEXT,
    version         TEXT,
    artifact_sha256 TEXT REFERENCES artifacts (sha256),
    verdict         TEXT,
    score           REAL,
    duration_ms     INTEGER NOT NULL,
    install_ms      INTEGER,
    import_ms       INTEGER,
    execute_ms      INTEGER,
    error_code      TEXT,
    error_message   TEXT,
    schema_version  INTEGER NOT NULL,
    report_sha256   TEXT NOT NULL,
    report          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (kind, report_sha256)
);
CREATE INDEX IF NOT EXISTS analyses_created ON analyses (created_at);
CREATE INDEX IF NOT EXISTS analyses_verdict ON analyses (verdict, created_at);
CREATE INDEX IF NOT EXISTS analyses_package ON analyses (ecosystem, name, version);
CREATE INDEX IF NOT EXISTS analyses_artifact ON analyses (artifact_sha256);

CREATE TABLE IF NOT EXISTS findings (
    id          INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    rule        TEXT NOT NULL,
    category    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_rule ON findings (rule);
CREATE INDEX IF NOT EXISTS findings_category ON findings (category);
CREATE INDEX IF NOT EXISTS findings_analysis ON findings (analysis_id);

-- One row per observed destination. `source` says where it was seen:
-- static (a literal in the package's files), dns, connection, datagram, http, tls.
CREATE TABLE IF NOT EXISTS indicators (
    id          INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    domain      TEXT,
    ip          TEXT,
    port        INTEGER,
    url         TEXT
);
CREATE INDEX IF NOT EXISTS indicators_domain ON indicators (domain);
CREATE INDEX IF NOT EXISTS indicators_ip ON indicators (ip);
CREATE INDEX IF NOT EXISTS indicators_analysis ON indicators (analysis_id);

CREATE TABLE IF NOT EXISTS feed_cursors (
    feed       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS feed_gaps (
    id         INTEGER PRIMARY KEY,
    feed       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_gaps_feed ON feed_gaps (feed, created_at);
