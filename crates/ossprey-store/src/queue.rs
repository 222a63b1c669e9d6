//! The job queue: jobs with leases, retries with backoff, a dead letter, and
//! idempotent enqueue, on both backends.
//!
//! A job is one `(ecosystem, name, version, kind)`; enqueueing it again does
//! nothing, whatever state it is in. A worker *leases* the ready job with the
//! highest priority (then the oldest): the job gets a random lease token and an
//! expiry. The worker then either
//!
//! * [`complete`](Store::complete)s it: the report is saved through the store's
//!   normal save path and the job marked done in the same transaction, so "done"
//!   ⇔ "stored" and a job has at most one result row (`analyses.job_id` is unique);
//! * [`fail`](Store::fail)s it: queued again after an exponential backoff, or
//!   dead-lettered (state `dead`, last error kept) after the last attempt;
//! * [`release`](Store::release)s it (shutdown): queued again at once, the attempt
//!   not counted.
//!
//! Each of these checks the lease token in the same statement that changes the
//! job, so a worker whose lease expired and was taken by another cannot write
//! anything: it gets [`StoreError::LeaseLost`]. An expired lease makes the job
//! leasable again, and counts as an attempt: a job that kills its worker every time
//! ends up dead instead of looping.
//!
//! PostgreSQL leases with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers
//! never wait on each other's rows. SQLite has one writer at a time: every queue
//! transaction starts with `BEGIN IMMEDIATE` (taking the write lock up front, so a
//! reader-turned-writer never fails with `SQLITE_BUSY` mid-transaction) and waits on
//! the busy timeout. Times come from the database's clock (integer milliseconds), so
//! workers on different machines agree on expiry.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use ossprey_model::{Ecosystem, Report};
use sqlx::Row;

use crate::{Pool, Store, StoreError, clean_text, reports};

/// Dead-letter after this many attempts unless told otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Longest package name or version a job may carry (registries allow far less).
const MAX_IDENTITY_BYTES: usize = 1024;

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// `scan`, `analyze`, or `fake` (a test/benchmark kind); lowercase ASCII letters,
    /// digits and `-`.
    pub kind: String,
    /// Higher runs first; equal priorities run oldest first.
    pub priority: i32,
}

/// What [`Store::enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job with this id.
    New(i64),
    /// The job already existed (in any state, done and dead included): nothing changed.
    Existing(i64),
}

impl Enqueued {
    /// The job's id either way.
    pub fn id(self) -> i64 {
        match self {
            Self::New(id) | Self::Existing(id) => id,
        }
    }
}

/// A leased job. The lease token proves ownership to `complete`, `fail`,
/// `release` and `renew`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub kind: String,
    pub priority: i32,
    /// Attempts including this one.
    pub attempts: u32,
    pub lease_token: String,
    /// When the lease runs out unless renewed (ms since the Unix epoch, database clock).
    pub lease_expires_ms: i64,
}

/// Which jobs [`Store::lease_with`] may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// Only these kinds; empty means every kind.
    pub kinds: Vec<String>,
    /// Jobs already leased this many times are not leased again; an expired lease on
    /// the last attempt dead-letters its job.
    pub max_attempts: u32,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            kinds: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// How [`Store::fail_with`] retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The attempt that fails with `attempts >= max_attempts` dead-letters the job.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    pub base_backoff: Duration,
    /// Longest delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before retrying after failed attempt number `attempt` (1-based):
    /// `base · 2^(attempt-1)`, capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.base_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }
}

/// What [`Store::fail_with`] did with the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, leasable after this delay.
    Retry { after: Duration },
    /// Out of attempts: dead-lettered with its last error.
    Dead,
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Leased,
    Done,
    Dead,
}

impl JobState {
    /// The spelling in the `jobs.state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(Self::Queued),
            "leased" => Ok(Self::Leased),
            "done" => Ok(Self::Done),
            "dead" => Ok(Self::Dead),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

/// A job as stored, for inspection (tools, tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub kind: String,
    pub priority: i32,
    pub state: JobState,
    pub attempts: u32,
    pub not_before_ms: i64,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    /// The stored result (`analyses.id`) once done.
    pub analysis_id: Option<i64>,
}

/// How many jobs are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub queued: u64,
    pub leased: u64,
    pub done: u64,
    pub dead: u64,
}

/// The queue's statements for one backend. They differ only in the clock, the
/// random token and `SKIP LOCKED`, so they are written once and specialised.
struct Statements {
    /// How write transactions start.
    begin: &'static str,
    enqueue: String,
    find: String,
    dead_letter_expired: String,
    lease: String,
    renew: String,
    mark_done: String,
    link_analysis: String,
    set_analysis: String,
    fail: String,
    release: String,
    pending: String,
    counts: String,
    record: String,
}

impl Statements {
    /// `ready_index` pins the lease's plan to the partial index `jobs_ready` where the
    /// backend has the syntax (SQLite: without statistics its planner may prefer an
    /// OR over two indexes plus a sort of every ready job).
    fn new(
        begin: &'static str,
        now: &str,
        token: &str,
        skip_locked: &str,
        ready_index: &str,
    ) -> Self {
        let job_columns = "id, ecosystem, name, version, kind, CAST(priority AS BIGINT) AS priority, \
                           CAST(attempts AS BIGINT) AS attempts, lease_token, lease_expires_ms";
        // `$k` is `,kind1,kind2,` or empty for every kind; kinds are validated to be
        // `[a-z0-9-]`, so LIKE sees no wildcard in them.
        let kind_filter = |k: u8| format!("(${k} = '' OR ${k} LIKE '%,' || kind || ',%')");
        Self {
            begin,
            enqueue: format!(
                "INSERT INTO jobs (ecosystem, name, version, kind, priority, created_ms, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, {now}, {now}) \
                 ON CONFLICT (ecosystem, name, version, kind) DO NOTHING RETURNING id"
            ),
            find: "SELECT id FROM jobs WHERE ecosystem = $1 AND name = $2 AND version = $3 AND kind = $4"
                .to_string(),
            dead_letter_expired: format!(
                "UPDATE jobs SET state = 'dead', finished_ms = {now}, updated_ms = {now}, \
                 lease_token = NULL, lease_expires_ms = NULL, \
                 last_error = 'lease held by ' || COALESCE(leased_by, '?') || \
                   ' expired on attempt ' || CAST(attempts AS TEXT) || \
                   ' (the worker died or stalled)' || COALESCE('; before: ' || last_error, '') \
                 WHERE id IN (SELECT id FROM jobs WHERE state = 'leased' \
                   AND lease_expires_ms <= {now} AND attempts >= $1 {skip_locked})"
            ),
            lease: format!(
                "UPDATE jobs SET state = 'leased', attempts = attempts + 1, leased_by = $1, \
                 lease_token = {token}, lease_expires_ms = {now} + $2, updated_ms = {now} \
                 WHERE id = (SELECT id FROM jobs {ready_index} \
                   WHERE state IN ('queued', 'leased') \
                     AND ((state = 'queued' AND not_before_ms <= {now}) \
                          OR (state = 'leased' AND lease_expires_ms <= {now})) \
                     AND attempts < $3 AND {} \
                   ORDER BY priority DESC, id LIMIT 1 {skip_locked}) \
                 RETURNING {job_columns}",
                kind_filter(4)
            ),
            renew: format!(
                "UPDATE jobs SET lease_expires_ms = {now} + $3, updated_ms = {now} \
                 WHERE id = $1 AND lease_token = $2 AND state = 'leased' RETURNING lease_expires_ms"
            ),
            mark_done: format!(
                "UPDATE jobs SET state = 'done', lease_token = NULL, lease_expires_ms = NULL, \
                 finished_ms = {now}, updated_ms = {now} \
                 WHERE id = $1 AND lease_token = $2 AND state = 'leased' RETURNING id"
            ),
            link_analysis: "UPDATE analyses SET job_id = $1 WHERE id = $2 AND job_id IS NULL".to_string(),
            set_analysis: "UPDATE jobs SET analysis_id = $2 WHERE id = $1".to_string(),
            fail: format!(
                "UPDATE jobs SET \
                   state = CASE WHEN attempts >= $3 THEN 'dead' ELSE 'queued' END, \
                   finished_ms = CASE WHEN attempts >= $3 THEN {now} ELSE NULL END, \
                   not_before_ms = {now} + $4, last_error = $5, leased_by = NULL, \
                   lease_token = NULL, lease_expires_ms = NULL, updated_ms = {now} \
                 WHERE id = $1 AND lease_token = $2 AND state = 'leased' RETURNING state"
            ),
            release: format!(
                "UPDATE jobs SET state = 'queued', \
                   attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                   not_before_ms = {now}, leased_by = NULL, lease_token = NULL, \
                   lease_expires_ms = NULL, updated_ms = {now} \
                 WHERE id = $1 AND lease_token = $2 AND state = 'leased' RETURNING id"
            ),
            pending: format!(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'leased') AND {}",
                kind_filter(1)
            ),
            counts: "SELECT state, COUNT(*) FROM jobs GROUP BY state".to_string(),
            record: "SELECT id, ecosystem, name, version, kind, CAST(priority AS BIGINT) AS priority, \
                     state, CAST(attempts AS BIGINT) AS attempts, not_before_ms, leased_by, last_error, \
                     analysis_id FROM jobs WHERE id = $1"
                .to_string(),
        }
    }
}

static SQLITE: LazyLock<Statements> = LazyLock::new(|| {
    Statements::new(
        "BEGIN IMMEDIATE",
        // julianday('now') is fixed for one statement and works on every SQLite.
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        "lower(hex(randomblob(16)))",
        "",
        "INDEXED BY jobs_ready",
    )
});

static POSTGRES: LazyLock<Statements> = LazyLock::new(|| {
    Statements::new(
        "BEGIN",
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        "md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)",
        "FOR UPDATE SKIP LOCKED",
        "",
    )
});

/// Runs `$body` with `$pool` bound to the backend's pool and `$sql` to its
/// [`Statements`]; the body is written once and compiled for each backend.
macro_rules! on_backend {
    ($store:expr, |$pool:ident, $sql:ident| $body:expr) => {
        match $store.pool() {
            Pool::Sqlite($pool) => {
                let $sql: &Statements = &SQLITE;
                $store.block_on(async { $body })
            }
            Pool::Postgres($pool) => {
                let $sql: &Statements = &POSTGRES;
                $store.block_on(async { $body })
            }
        }
    };
}

impl Store {
    /// Adds a job unless the same `(ecosystem, name, version, kind)` exists, in any
    /// state (a done or dead job is not queued again).
    pub fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        validate_kind(&job.kind)?;
        // Names come from registry feeds: bound what one row may hold (the worker's
        // spec parser validates them fully before any use).
        for (what, value) in [("name", &job.name), ("version", &job.version)] {
            if value.is_empty() || value.len() > MAX_IDENTITY_BYTES {
                return Err(StoreError::InvalidFilter(format!(
                    "job {what} must be 1-{MAX_IDENTITY_BYTES} bytes, got {}",
                    value.len()
                )));
            }
        }
        let what = || {
            format!(
                "enqueueing {}:{}@{} ({})",
                job.ecosystem.as_str(),
                job.name,
                job.version,
                job.kind
            )
        };
        let name = clean_text(&job.name);
        let version = clean_text(&job.version);
        let eco = job.ecosystem.as_str();
        on_backend!(self, |pool, sql| {
            // Look first: feeds poll overlapping windows, so most enqueues of a busy
            // watcher are repeats, and a read takes no write lock (SQLite).
            let find = || {
                sqlx::query_scalar::<_, i64>(sql.find.as_str())
                    .bind(eco)
                    .bind(name.as_ref())
                    .bind(version.as_ref())
                    .bind(&job.kind)
            };
            if let Some(id) = find().fetch_optional(pool).await? {
                return Ok(Enqueued::Existing(id));
            }
            let inserted: Option<i64> = sqlx::query_scalar(sql.enqueue.as_str())
                .bind(eco)
                .bind(name.as_ref())
                .bind(version.as_ref())
                .bind(&job.kind)
                .bind(job.priority)
                .fetch_optional(pool)
                .await?;
            if let Some(id) = inserted {
                return Ok(Enqueued::New(id));
            }
            // Another enqueuer won the race; its row is never deleted.
            let id = find().fetch_one(pool).await?;
            Ok::<Enqueued, sqlx::Error>(Enqueued::Existing(id))
        })
        .map_err(|e| self.db_error(e, what()))
    }

    /// Leases the next ready job of any kind for `lease`; `None` when none is ready.
    /// See [`Store::lease_with`].
    pub fn lease(&self, worker: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        self.lease_with(worker, lease, &LeaseOptions::default())
    }

    /// Leases the ready job with the highest priority, then the oldest: a queued job
    /// past its backoff, or a leased one whose lease expired. Before that, jobs
    /// whose lease expired on their last attempt are dead-lettered.
    pub fn lease_with(
        &self,
        worker: &str,
        lease: Duration,
        options: &LeaseOptions,
    ) -> Result<Option<Job>, StoreError> {
        for kind in &options.kinds {
            validate_kind(kind)?;
        }
        let kinds = kind_list(&options.kinds);
        let lease_ms = millis(lease);
        let max_attempts = i64::from(options.max_attempts);
        let worker = clean_text(worker);
        let row = on_backend!(self, |pool, sql| {
            let mut tx = pool.begin_with(sql.begin).await?;
            sqlx::query(sql.dead_letter_expired.as_str())
                .bind(max_attempts)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(sql.lease.as_str())
                .bind(worker.as_ref())
                .bind(lease_ms)
                .bind(max_attempts)
                .bind(&kinds)
                .fetch_optional(&mut *tx)
                .await?;
            let job = row.map(|r| decode_job(&r)).transpose()?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(job)
        })
        .map_err(|e| self.db_error(e, format!("leasing a job for {worker}")))?;
        row.map(|r| r.into_job(self)).transpose()
    }

    /// Extends the lease of a running job to `lease` from now. Fails with
    /// [`StoreError::LeaseLost`] when the job is no longer this lease's.
    pub fn renew(&self, job: &Job, lease: Duration) -> Result<(), StoreError> {
        let lease_ms = millis(lease);
        let renewed: Option<i64> = on_backend!(self, |pool, sql| {
            sqlx::query_scalar(sql.renew.as_str())
                .bind(job.id)
                .bind(&job.lease_token)
                .bind(lease_ms)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(e, format!("renewing the lease of job {}", job.id)))?;
        match renewed {
            Some(_) => Ok(()),
            None => Err(lease_lost(job, "renew")),
        }
    }

    /// Saves `report` as the job's result and marks the job done, in one
    /// transaction. Refuses (with [`StoreError::LeaseLost`], writing nothing) when
    /// the lease is no longer this worker's.
    pub fn complete(&self, job: &Job, report: &Report) -> Result<(), StoreError> {
        // The same body for both backends; only the save function differs.
        macro_rules! complete_body {
            ($pool:expr, $sql:expr, $insert:path) => {{
                let sql: &Statements = $sql;
                let mut tx = $pool.begin_with(sql.begin).await?;
                let marked: Option<i64> = sqlx::query_scalar(sql.mark_done.as_str())
                    .bind(job.id)
                    .bind(&job.lease_token)
                    .fetch_optional(&mut *tx)
                    .await?;
                if marked.is_none() {
                    // Dropping the transaction rolls it back: nothing was written.
                    return Ok(false);
                }
                let saved = $insert(&mut tx, report, &job.kind).await?;
                sqlx::query(sql.link_analysis.as_str())
                    .bind(job.id)
                    .bind(saved.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql.set_analysis.as_str())
                    .bind(job.id)
                    .bind(saved.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(true)
            }};
        }
        let done = match self.pool() {
            Pool::Sqlite(pool) => self
                .block_on(async { complete_body!(pool, &SQLITE, reports::insert_report_sqlite) }),
            Pool::Postgres(pool) => {
                self.block_on(async { complete_body!(pool, &POSTGRES, reports::insert_report_pg) })
            }
        }
        .map_err(|e| self.db_error(e, format!("completing job {}", job.id)))?;
        if done {
            Ok(())
        } else {
            Err(lease_lost(job, "complete"))
        }
    }

    /// Fails the job with the default [`RetryPolicy`].
    pub fn fail(&self, job: &Job, error: &str) -> Result<(), StoreError> {
        self.fail_with(job, error, &RetryPolicy::default())
            .map(drop)
    }

    /// Records `error` as the job's last error and queues it again after
    /// [`RetryPolicy::backoff`], or dead-letters it when this was its last attempt.
    pub fn fail_with(
        &self,
        job: &Job,
        error: &str,
        policy: &RetryPolicy,
    ) -> Result<FailOutcome, StoreError> {
        let backoff = policy.backoff(job.attempts);
        let error = clean_text(error);
        let state: Option<String> = on_backend!(self, |pool, sql| {
            sqlx::query_scalar(sql.fail.as_str())
                .bind(job.id)
                .bind(&job.lease_token)
                .bind(i64::from(policy.max_attempts))
                .bind(millis(backoff))
                .bind(error.as_ref())
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(e, format!("failing job {}", job.id)))?;
        match state.as_deref() {
            None => Err(lease_lost(job, "fail")),
            Some("dead") => Ok(FailOutcome::Dead),
            Some(_) => Ok(FailOutcome::Retry { after: backoff }),
        }
    }

    /// Gives the job back to the queue, leasable at once, without counting the
    /// attempt (a worker shutting down).
    pub fn release(&self, job: &Job) -> Result<(), StoreError> {
        let released: Option<i64> = on_backend!(self, |pool, sql| {
            sqlx::query_scalar(sql.release.as_str())
                .bind(job.id)
                .bind(&job.lease_token)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(e, format!("releasing job {}", job.id)))?;
        match released {
            Some(_) => Ok(()),
            None => Err(lease_lost(job, "release")),
        }
    }

    /// Jobs still to do (queued, backoff included, or leased) among `kinds` (empty:
    /// every kind).
    pub fn pending_jobs(&self, kinds: &[String]) -> Result<u64, StoreError> {
        for kind in kinds {
            validate_kind(kind)?;
        }
        let kinds = kind_list(kinds);
        let n: i64 = on_backend!(self, |pool, sql| {
            sqlx::query_scalar(sql.pending.as_str())
                .bind(&kinds)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| self.db_error(e, "counting pending jobs"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many jobs are in each state.
    pub fn queue_counts(&self) -> Result<QueueCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_backend!(self, |pool, sql| {
            sqlx::query_as(sql.counts.as_str()).fetch_all(pool).await
        })
        .map_err(|e| self.db_error(e, "counting jobs"))?;
        let mut counts = QueueCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match state.parse::<JobState>() {
                Ok(JobState::Queued) => counts.queued = n,
                Ok(JobState::Leased) => counts.leased = n,
                Ok(JobState::Done) => counts.done = n,
                Ok(JobState::Dead) => counts.dead = n,
                // The CHECK constraint rules this out; ignore rather than fail a count.
                Err(_) => {}
            }
        }
        Ok(counts)
    }

    /// One job as stored, if it exists.
    pub fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let what = || format!("reading job {id}");
        let record = on_backend!(self, |pool, sql| {
            let row = sqlx::query(sql.record.as_str())
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| decode_record(&r)).transpose()
        })
        .map_err(|e| self.db_error(e, what()))?;
        record
            .map(|(r, state)| {
                let state = state.parse().map_err(|e: String| corrupt(self, id, &e))?;
                Ok(JobRecord { state, ..r })
            })
            .transpose()
    }
}

/// A leased row before its ecosystem is parsed (which needs the store for errors).
struct LeasedRow {
    id: i64,
    ecosystem: String,
    name: String,
    version: String,
    kind: String,
    priority: i64,
    attempts: i64,
    lease_token: String,
    lease_expires_ms: i64,
}

impl LeasedRow {
    fn into_job(self, store: &Store) -> Result<Job, StoreError> {
        let ecosystem = Ecosystem::from_str(&self.ecosystem).map_err(|e| {
            corrupt(
                store,
                self.id,
                &format!("ecosystem {:?}: {e}", self.ecosystem),
            )
        })?;
        Ok(Job {
            id: self.id,
            ecosystem,
            name: self.name,
            version: self.version,
            kind: self.kind,
            priority: i32::try_from(self.priority).unwrap_or(0),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            lease_token: self.lease_token,
            lease_expires_ms: self.lease_expires_ms,
        })
    }
}

fn decode_job<R: Row>(r: &R) -> Result<LeasedRow, sqlx::Error>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(LeasedRow {
        id: r.try_get("id")?,
        ecosystem: r.try_get("ecosystem")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        kind: r.try_get("kind")?,
        priority: r.try_get("priority")?,
        attempts: r.try_get("attempts")?,
        lease_token: r.try_get("lease_token")?,
        lease_expires_ms: r.try_get("lease_expires_ms")?,
    })
}

fn decode_record<R: Row>(r: &R) -> Result<(JobRecord, String), sqlx::Error>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    let priority: i64 = r.try_get("priority")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok((
        JobRecord {
            id: r.try_get("id")?,
            ecosystem: r.try_get("ecosystem")?,
            name: r.try_get("name")?,
            version: r.try_get("version")?,
            kind: r.try_get("kind")?,
            priority: i32::try_from(priority).unwrap_or(0),
            state: JobState::Queued,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            not_before_ms: r.try_get("not_before_ms")?,
            leased_by: r.try_get("leased_by")?,
            last_error: r.try_get("last_error")?,
            analysis_id: r.try_get("analysis_id")?,
        },
        r.try_get("state")?,
    ))
}

impl StoreError {
    /// Whether retrying the same call later may succeed without anyone acting: the
    /// database restarting or unreachable for a moment, a lock timeout, a
    /// serialization failure. Read-only, out of space, lost leases and bad input
    /// are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database { source, .. } => sqlx_error_is_transient(source),
            // Opening hides the source; a server that is down or starting up says so.
            StoreError::Open { message, .. } => {
                let m = message.to_ascii_lowercase();
                [
                    "connection refused",
                    "connection reset",
                    "timed out",
                    "starting up",
                    "shutting down",
                    "database is locked",
                    "broken pipe",
                ]
                .iter()
                .any(|needle| m.contains(needle))
            }
            _ => false,
        }
    }

    /// Whether this is [`StoreError::LeaseLost`].
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }
}

fn sqlx_error_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(dbe) => {
            let code = dbe.code().unwrap_or_default();
            if let Ok(sqlite) = code.parse::<i64>() {
                // SQLITE_BUSY, SQLITE_LOCKED (primary codes, low byte).
                matches!(sqlite & 0xff, 5 | 6)
            } else {
                // PostgreSQL: connection exceptions (08…), serialization failure,
                // deadlock, too many connections, admin/crash shutdown, cannot
                // connect now.
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03"
                    )
            }
        }
        _ => false,
    }
}

fn lease_lost(job: &Job, operation: &str) -> StoreError {
    StoreError::LeaseLost {
        job: job.id,
        reason: format!(
            "cannot {operation}: the lease expired and was taken by another worker, or the \
             job was released or finished"
        ),
    }
}

fn corrupt(store: &Store, id: i64, detail: &str) -> StoreError {
    // Only a hand-edited row gets here (the columns have CHECK constraints or are
    // written from validated values).
    store.db_error(
        sqlx::Error::Decode(format!("job {id} holds an invalid value: {detail}").into()),
        format!("reading job {id}"),
    )
}

/// Job kinds are short lowercase words: they go into a LIKE pattern and logs.
fn validate_kind(kind: &str) -> Result<(), StoreError> {
    let ok = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidFilter(format!(
            "job kind {kind:?} must be 1-32 of a-z, 0-9 and -"
        )))
    }
}

/// `,a,b,` for the kind filter, or empty for every kind.
fn kind_list(kinds: &[String]) -> String {
    if kinds.is_empty() {
        String::new()
    } else {
        format!(",{},", kinds.join(","))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(100),
        };
        assert_eq!(p.backoff(1), Duration::from_secs(30));
        assert_eq!(p.backoff(2), Duration::from_secs(60));
        assert_eq!(p.backoff(3), Duration::from_secs(100));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(100));
    }

    #[test]
    fn kinds_are_plain_words() {
        assert!(validate_kind("scan").is_ok());
        assert!(validate_kind("fake").is_ok());
        for bad in ["", "Scan", "a%", "a_b", "a,b", &"x".repeat(33)] {
            assert!(validate_kind(bad).is_err(), "{bad:?}");
        }
        assert_eq!(kind_list(&[]), "");
        assert_eq!(kind_list(&["scan".into(), "fake".into()]), ",scan,fake,");
    }
}
