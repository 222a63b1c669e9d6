//! ossprey's database: reports, their findings and network indicators, registry feed
//! cursors and (in [`queue`]) the job queue, in an SQLite file or PostgreSQL.
//!
//! One [`Store`] type, two real backends chosen by URL (`sqlite://PATH`,
//! `postgres://…`). The API is synchronous because the CLI is: the store owns a
//! small tokio runtime and blocks on it. A `Store` is `Send + Sync`; share it across
//! worker threads with an `Arc`. Do not call it from inside another tokio runtime.
//!
//! Opening a store creates the database when needed and runs the migrations in
//! `migrations/{sqlite,postgres}/NNNN_*.sql` (embedded at compile time).
//!
//! SQLite runs in WAL mode with a busy timeout so several processes can share one
//! file; every write transaction starts with `BEGIN IMMEDIATE` so two writers queue
//! on the lock instead of failing with `SQLITE_BUSY` on a lock upgrade.
//!
//! For code inside this crate (the queue): `Store::pool` gives the backend's pool,
//! `Store::block_on` runs a future, and `reports::insert_report_sqlite` /
//! `reports::insert_report_pg` save a report inside a caller's transaction.
//!
//! This crate must never lose a report silently: every failure is a [`StoreError`],
//! and a report counts as saved only once its transaction committed.

pub mod queue;
mod raw;
pub(crate) mod reports;
mod url;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use ossprey_model::{Ecosystem, Report, Verdict};
pub use queue::{
    Enqueued, FailOutcome, Job, JobRecord, JobState, LeaseOptions, NewJob, QueueCounts, RetryPolicy,
};
pub use raw::JsonRow;
pub use reports::{Filter, PackageFilter, StoredAnalysis};
/// Re-exported so callers can build [`Filter`] times without depending on `time`.
pub use time;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How long an SQLite connection waits for another process's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Everything that can go wrong in the store. Messages name the database (without
/// its password) and the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not `sqlite://PATH` or `postgres://…`.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The database file or filesystem is read-only.
    #[error("database {db} is read-only ({what}): {message}")]
    ReadOnly {
        db: String,
        what: String,
        message: String,
    },
    /// The disk (or the database's quota) is full.
    #[error("database {db} is out of space ({what}): {message}")]
    DiskFull {
        db: String,
        what: String,
        message: String,
    },
    /// `raw_query` was given a statement that would change the database.
    #[error("raw queries are read-only; the database refused: {message}")]
    WriteRefused { message: String },
    /// A job's lease expired or was taken over before the worker finished it.
    #[error("job {job} lease lost: {reason}")]
    LeaseLost { job: i64, reason: String },
    /// A filter value that cannot match anything sensible (bad ecosystem, …).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A stored report that no longer parses as a [`Report`].
    #[error("analysis {id} in {db}: stored report does not parse: {source}")]
    CorruptReport {
        db: String,
        id: i64,
        source: serde_json::Error,
    },
    /// Creating the database, its directory, or running its migrations failed.
    #[error("cannot open database {db}: {message}")]
    Open { db: String, message: String },
    /// Any other database error.
    #[error("database {db} ({what}): {source}")]
    Database {
        db: String,
        what: String,
        source: sqlx::Error,
    },
}

// Workers share one store across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Store>();
};

/// The backend's connection pool, for code inside this crate.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on one database. See the crate docs.
#[derive(Debug)]
pub struct Store {
    runtime: tokio::runtime::Runtime,
    pool: Pool,
    /// SQLite only: a separate read-only pool for [`Store::raw_query`].
    sqlite_read_only: Option<SqlitePool>,
    /// The URL without its password, for messages.
    display_url: String,
    /// SQLite only: the database file, to diagnose I/O errors.
    sqlite_path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating and migrating when needed) the database at `url`:
    /// `sqlite://PATH` (`sqlite:///abs/path.db`, `sqlite://relative.db`) or
    /// `postgres://user:pass@host:port/db` (also `postgresql://`).
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let parsed = url::DbUrl::parse(url)?;
        let display_url = parsed.display();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ossprey-store")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Open {
                db: display_url.clone(),
                message: format!("cannot start the store's runtime: {e}"),
            })?;
        let (pool, sqlite_read_only) = match &parsed {
            url::DbUrl::Sqlite(path) => {
                let (rw, ro) = runtime.block_on(open_sqlite(path, &display_url))?;
                (Pool::Sqlite(rw), Some(ro))
            }
            url::DbUrl::Postgres(raw) => {
                let pool = runtime.block_on(open_postgres(raw, &display_url))?;
                (Pool::Postgres(pool), None)
            }
        };
        let sqlite_path = match parsed {
            url::DbUrl::Sqlite(path) => Some(path),
            url::DbUrl::Postgres(_) => None,
        };
        Ok(Store {
            runtime,
            pool,
            sqlite_read_only,
            display_url,
            sqlite_path,
        })
    }

    /// `$OSSPREY_DB` when set, else `sqlite://` + the user's data directory +
    /// `ossprey/ossprey.db` (`$XDG_DATA_HOME/ossprey/ossprey.db`, usually
    /// `~/.local/share/ossprey/ossprey.db`; `./ossprey.db` when there is no home).
    pub fn default_url() -> String {
        if let Ok(url) = std::env::var("OSSPREY_DB")
            && !url.trim().is_empty()
        {
            return url;
        }
        let dir = dirs::data_dir()
            .map(|d| d.join("ossprey"))
            .unwrap_or_else(|| PathBuf::from("."));
        format!("sqlite://{}", dir.join("ossprey.db").display())
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database URL with any password replaced by `***`.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// The current position of `feed` (whatever string the feed stored), if any.
    pub fn feed_cursor(&self, feed: &str) -> Result<Option<String>, StoreError> {
        let what = || format!("reading the cursor of feed {feed}");
        let sql = "SELECT cursor FROM feed_cursors WHERE feed = $1";
        self.block_on(async {
            match &self.pool {
                Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(feed).fetch_optional(p).await,
                Pool::Postgres(p) => sqlx::query_scalar(sql).bind(feed).fetch_optional(p).await,
            }
        })
        .map_err(|e| self.db_error(e, what()))
    }

    /// Stores `cursor` as the position of `feed` (replacing the previous one).
    pub fn set_feed_cursor(&self, feed: &str, cursor: &str) -> Result<(), StoreError> {
        let what = || format!("saving the cursor of feed {feed}");
        let sql = "INSERT INTO feed_cursors (feed, cursor, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor, \
                   updated_at = excluded.updated_at";
        let now = now_rfc3339();
        self.execute_text(sql, &[&clean_text(feed), &clean_text(cursor), &now])
            .map_err(|e| self.db_error(e, what()))
    }

    /// Records that `feed` may have dropped releases (`detail` says between what).
    pub fn record_feed_gap(&self, feed: &str, detail: &str) -> Result<(), StoreError> {
        let what = || format!("recording a gap in feed {feed}");
        let sql = "INSERT INTO feed_gaps (feed, detail, created_at) VALUES ($1, $2, $3)";
        let now = now_rfc3339();
        self.execute_text(sql, &[&clean_text(feed), &clean_text(detail), &now])
            .map_err(|e| self.db_error(e, what()))
    }

    /// The gaps recorded for `feed`, oldest first: `(created_at, detail)`.
    pub fn feed_gaps(&self, feed: &str) -> Result<Vec<(String, String)>, StoreError> {
        let what = || format!("reading the gaps of feed {feed}");
        let sql = "SELECT created_at, detail FROM feed_gaps WHERE feed = $1 ORDER BY id";
        self.block_on(async {
            match &self.pool {
                Pool::Sqlite(p) => sqlx::query_as(sql).bind(feed).fetch_all(p).await,
                Pool::Postgres(p) => sqlx::query_as(sql).bind(feed).fetch_all(p).await,
            }
        })
        .map_err(|e| self.db_error(e, what()))
    }

    /// Runs one statement whose parameters are all text, on either backend.
    fn execute_text(&self, sql: &'static str, params: &[&str]) -> Result<(), sqlx::Error> {
        self.block_on(async {
            match &self.pool {
                Pool::Sqlite(p) => params
                    .iter()
                    .fold(sqlx::query(sql), |q, v| q.bind(*v))
                    .execute(p)
                    .await
                    .map(drop),
                Pool::Postgres(p) => params
                    .iter()
                    .fold(sqlx::query(sql), |q, v| q.bind(*v))
                    .execute(p)
                    .await
                    .map(drop),
            }
        })
    }

    /// The backend's pool (for the queue and other modules of this crate).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `fut` to completion on the store's runtime.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// Classifies a database error: read-only and out-of-space get their own
    /// variants so callers (and users) can tell them apart.
    pub(crate) fn db_error(&self, source: sqlx::Error, what: impl Into<String>) -> StoreError {
        let what = what.into();
        match classify(source, &self.display_url, what.clone()) {
            // SQLite reports some full or read-only filesystems as a generic I/O
            // error (for instance when its shared-memory file cannot grow).
            StoreError::Database { db, what, source } if is_sqlite_ioerr(&source) => self
                .sqlite_path
                .as_deref()
                .and_then(|p| why_unwritable(p, &db, &what))
                .unwrap_or(StoreError::Database { db, what, source }),
            other => other,
        }
    }
}

fn is_sqlite_ioerr(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(dbe) => {
            dbe.try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
                && dbe
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(|c| c & 0xff == 10 || c & 0xff == 14)
        }
        sqlx::Error::Io(_) => true,
        _ => false,
    }
}

impl Drop for Store {
    /// Closes the pools before the runtime goes: SQLite connections then close
    /// cleanly (the last one checkpoints the WAL and removes `-wal`/`-shm`), and
    /// PostgreSQL sessions end instead of being cut.
    fn drop(&mut self) {
        // Blocking inside another runtime would panic; the pools then just drop.
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        let (pool, ro) = (self.pool.clone(), self.sqlite_read_only.clone());
        self.runtime.block_on(async move {
            if let Some(ro) = ro {
                ro.close().await;
            }
            match pool {
                Pool::Sqlite(p) => p.close().await,
                Pool::Postgres(p) => p.close().await,
            }
        });
    }
}

/// See [`Store::db_error`].
pub(crate) fn classify(source: sqlx::Error, db: &str, what: String) -> StoreError {
    let db = db.to_owned();
    if let sqlx::Error::Database(dbe) = &source {
        let code = dbe.code().map(|c| c.into_owned()).unwrap_or_default();
        let message = dbe.message().to_owned();
        let is_sqlite = dbe
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .is_some();
        if is_sqlite {
            // SQLite reports extended result codes; the low byte is the primary code.
            match code.parse::<i64>().ok().map(|c| c & 0xff) {
                // SQLITE_READONLY
                Some(8) => return StoreError::ReadOnly { db, what, message },
                // SQLITE_FULL
                Some(13) => return StoreError::DiskFull { db, what, message },
                _ => {}
            }
        } else {
            match code.as_str() {
                // read_only_sql_transaction
                "25006" => return StoreError::ReadOnly { db, what, message },
                // disk_full, and insufficient_resources in general
                "53100" => return StoreError::DiskFull { db, what, message },
                _ => {}
            }
        }
    }
    if let sqlx::Error::Io(io) = &source {
        let message = io.to_string();
        match io.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem => {
                return StoreError::ReadOnly { db, what, message };
            }
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                return StoreError::DiskFull { db, what, message };
            }
            _ => {}
        }
    }
    StoreError::Database { db, what, source }
}

async fn open_sqlite(path: &Path, db: &str) -> Result<(SqlitePool, SqlitePool), StoreError> {
    let open_err = |message: String| StoreError::Open {
        db: db.to_owned(),
        message,
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| open_err(format!("cannot create {}: {e}", parent.display())))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; a power loss can
        // only drop the last transactions, never corrupt the file.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    let rw = SqlitePoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options.clone())
        .await
        .map_err(|e| {
            // SQLite only says "unable to open database file" or "disk I/O error";
            // find out whether the filesystem is read-only or full.
            why_unwritable(path, db, "opening the SQLite file")
                .unwrap_or_else(|| classify_open(e, db, "opening the SQLite file"))
        })?;
    migrate(&SQLITE_MIGRATIONS, &rw, db).await?;
    let ro = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_lazy_with(
            options
                .create_if_missing(false)
                .read_only(true)
                .pragma("query_only", "ON"),
        );
    Ok((rw, ro))
}

/// A [`StoreError::ReadOnly`] or [`StoreError::DiskFull`] when the SQLite file at
/// `path` (or its directory) cannot be written, `None` when it can. SQLite's own
/// errors for these cases ("unable to open database file", "disk I/O error") do
/// not say which; this probe does. Only called after an error.
pub(crate) fn why_unwritable(path: &Path, db: &str, what: &str) -> Option<StoreError> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_probe = if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .err()
            .map(|e| (path.to_path_buf(), e))
    } else {
        None
    };
    // SQLite needs room for the -wal and -shm files next to the database: write
    // 64 KiB there (and remove it) to see whether it fits.
    let dir_probe = || {
        let test = dir.join(format!(".ossprey-write-test-{}", std::process::id()));
        let result = std::fs::File::create(&test).and_then(|mut f| {
            f.write_all(&[0u8; 64 * 1024])?;
            f.sync_all()
        });
        let _ = std::fs::remove_file(&test);
        result.err().map(|e| (dir.to_path_buf(), e))
    };
    let (place, err) = file_probe.or_else(dir_probe)?;
    let message = format!("{} is not writable: {err}", place.display());
    let (db, what) = (db.to_owned(), what.to_owned());
    match err.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
            Some(StoreError::ReadOnly { db, what, message })
        }
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some(StoreError::DiskFull { db, what, message })
        }
        _ => None,
    }
}

async fn open_postgres(url: &str, db: &str) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse().map_err(|e| StoreError::InvalidUrl {
        url: db.to_owned(),
        reason: format!("{e}"),
    })?;
    // One direct connection first: the pool retries refused connections until its
    // acquire timeout, and a wrong `--db` should fail at once, saying why.
    let probe = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| classify_open(e, db, "connecting to PostgreSQL"))?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| classify_open(e, db, "connecting to PostgreSQL"))?;
    migrate(&POSTGRES_MIGRATIONS, &pool, db).await?;
    Ok(pool)
}

fn classify_open(e: sqlx::Error, db: &str, what: &str) -> StoreError {
    match classify(e, db, what.to_owned()) {
        StoreError::Database { source, what, .. } => StoreError::Open {
            db: db.to_owned(),
            message: format!("{what}: {source}"),
        },
        other => other,
    }
}

/// Runs the migrations. Several processes may open a fresh SQLite file at once
/// (workers starting together); SQLite has no migration lock, so a loser of that
/// race sees the winner's tables and fails. Retrying then finds them applied.
async fn migrate<'a, A>(
    migrator: &sqlx::migrate::Migrator,
    pool: A,
    db: &str,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a> + Copy,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    let mut last = None;
    for attempt in 0..5u64 {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
    let message = last.map(|e| e.to_string()).unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let db = db.to_owned();
    let what = "running migrations".to_owned();
    if lower.contains("readonly") || lower.contains("read-only") {
        return Err(StoreError::ReadOnly { db, what, message });
    }
    if lower.contains("database or disk is full") || lower.contains("no space") {
        return Err(StoreError::DiskFull { db, what, message });
    }
    Err(StoreError::Open {
        db,
        message: format!("{what}: {message}"),
    })
}

/// Now as fixed-width UTC RFC 3339 text (microseconds), which sorts as text.
pub(crate) fn now_rfc3339() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// `t` as the store writes timestamps: UTC RFC 3339 with microseconds
/// (`2026-11-25T17:55:15.123456Z`), fixed width so it sorts as text.
pub fn format_time(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// PostgreSQL text cannot hold NUL; attacker-controlled strings (findings, URLs,
/// target names) may. Both backends store U+FFFD instead, so they agree.
pub(crate) fn clean_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}
