-- The job queue (see docs/store.md, "Queue and workers").
--
-- The `*_ms` columns are integer milliseconds since the Unix epoch, taken from the
-- database's clock inside each statement, so every worker agrees on when a lease
-- expires (lease arithmetic on integers, the same on both backends).
-- A job moves queued -> leased -> done, or back to queued (retry after a failure,
-- release, expired lease), or to dead after too many attempts.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    ecosystem        TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'leased', 'done', 'dead')),
    -- Leases taken so far (a lease that expired counts: a job that keeps killing its
    -- worker must end up dead, not loop forever). `release` gives one back.
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Not leasable before this time (retry backoff).
    not_before_ms    INTEGER NOT NULL DEFAULT 0,
    leased_by        TEXT,
    lease_token      TEXT,
    lease_expires_ms INTEGER,
    last_error       TEXT,
    -- The stored result, set in the same transaction that marks the job done.
    analysis_id      INTEGER,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    finished_ms      INTEGER
);

-- Idempotent enqueue: one job per package version and kind, whatever its state.
CREATE UNIQUE INDEX jobs_identity ON jobs (ecosystem, name, version, kind);
-- What `lease` scans, in order: the jobs that may be ready, by priority, then age.
-- Partial, so done and dead jobs (most of the table after a while) cost nothing,
-- and the first row that passes the filter is the answer (no sort).
CREATE INDEX jobs_ready ON jobs (priority DESC, id) WHERE state IN ('queued', 'leased');
-- Leases by expiry (the dead-letter sweep of expired last attempts).
CREATE INDEX jobs_leased ON jobs (lease_expires_ms) WHERE state = 'leased';

-- A job's result: set by `complete` in the transaction that marks the job done.
-- Unique, so one job can never have two result rows.
ALTER TABLE analyses ADD COLUMN job_id INTEGER REFERENCES jobs (id);
CREATE UNIQUE INDEX analyses_job ON analyses (job_id);
