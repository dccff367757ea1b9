//! [`SqliteStore`]: projects, jobs, schedules, events and job frontiers in one SQLite
//! database (WAL mode).
//!
//! Times are stored as integer microseconds since the Unix epoch (UTC), so they
//! round-trip exactly to the microsecond and compare as plain integers in the
//! conditional updates. Maps (`args`, `settings`, `spiders`) and the outcome are JSON
//! text. Every job or schedule transition is a single `UPDATE … WHERE id = ? AND
//! state = ? [AND attempt = ?]` (or `AND next_run = ?`) whose change count decides
//! whether it happened, so concurrent callers can never both win; in the same
//! transaction, a transition that happened inserts its event into the `outbox` table.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, Row};

use trawl_core::ports::{StoreError, StoreResult};

mod events;
mod frontier;
mod history;
mod jobs;
mod projects;
mod schedules;

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 5;

/// Migration steps: `MIGRATIONS[n]` moves a database from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the initial schema.
    r#"
    CREATE TABLE versions (
        project    TEXT NOT NULL,
        version    TEXT NOT NULL,
        spiders    TEXT NOT NULL,
        bundle_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (project, version)
    );
    CREATE TABLE jobs (
        id              TEXT PRIMARY KEY NOT NULL,
        project         TEXT NOT NULL,
        spider          TEXT NOT NULL,
        version         TEXT,
        args            TEXT NOT NULL,
        settings        TEXT NOT NULL,
        priority        REAL NOT NULL,
        state           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        started_at      INTEGER,
        finished_at     INTEGER,
        outcome         TEXT,
        attempt         INTEGER NOT NULL,
        runner          TEXT,
        heartbeat_at    INTEGER,
        cancel_requests INTEGER NOT NULL,
        schedule_id     TEXT
    );
    CREATE INDEX jobs_queue ON jobs (state, priority DESC, created_at);
    CREATE INDEX jobs_finished ON jobs (state, finished_at DESC);
    CREATE INDEX jobs_project ON jobs (project, state);
    CREATE TABLE schedules (
        id         TEXT PRIMARY KEY NOT NULL,
        project    TEXT NOT NULL,
        spider     TEXT NOT NULL,
        cron       TEXT NOT NULL,
        timezone   TEXT NOT NULL,
        args       TEXT NOT NULL,
        settings   TEXT NOT NULL,
        priority   REAL NOT NULL,
        enabled    INTEGER NOT NULL,
        overlap    TEXT NOT NULL,
        next_run   INTEGER,
        last_run   INTEGER,
        last_job   TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX schedules_project ON schedules (project, created_at);
    "#,
    // 1 → 2: item fingerprints of incremental spiders.
    r#"
    CREATE TABLE seen_items (
        project TEXT NOT NULL,
        spider  TEXT NOT NULL,
        fp      BLOB NOT NULL,
        PRIMARY KEY (project, spider, fp)
    ) WITHOUT ROWID;
    "#,
    // 2 → 3: the event outbox, webhooks and their deliveries.
    r#"
    CREATE TABLE outbox (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        id        TEXT NOT NULL UNIQUE,
        body      TEXT NOT NULL,
        attempts  INTEGER NOT NULL DEFAULT 0,
        next_at   INTEGER NOT NULL,
        delivered TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX outbox_due ON outbox (next_at);
    CREATE TABLE webhooks (
        id         TEXT PRIMARY KEY NOT NULL,
        project    TEXT NOT NULL,
        body       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX webhooks_project ON webhooks (project, created_at);
    CREATE TABLE deliveries (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id TEXT NOT NULL,
        body       TEXT NOT NULL
    );
    CREATE INDEX deliveries_webhook ON deliveries (webhook_id, seq);
    "#,
    // 3 → 4: the partitioned frontiers of jobs crawled by several crawlers.
    r#"
    CREATE TABLE frontier_partitions (
        job       TEXT NOT NULL,
        partition TEXT NOT NULL,
        token     INTEGER NOT NULL DEFAULT 0,
        holder    TEXT,
        expires   INTEGER,
        pending   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job, partition)
    );
    CREATE TABLE frontier_batches (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        job       TEXT NOT NULL,
        partition TEXT NOT NULL,
        id        TEXT NOT NULL,
        requests  TEXT NOT NULL,
        consumed  INTEGER NOT NULL DEFAULT 0,
        UNIQUE (job, partition, id)
    );
    CREATE INDEX frontier_inbox ON frontier_batches (job, partition, consumed, seq);
    "#,
    // 4 → 5: who closes a partitioned job's crawl; its counts across crawlers.
    r#"
    CREATE TABLE frontier_closes (
        job     TEXT PRIMARY KEY NOT NULL,
        holder  TEXT NOT NULL,
        expires INTEGER NOT NULL
    );
    CREATE TABLE frontier_counts (
        job    TEXT PRIMARY KEY NOT NULL,
        items  INTEGER NOT NULL,
        pages  INTEGER NOT NULL,
        errors INTEGER NOT NULL
    );
    "#,
];

/// The job columns, in the order [`job_from_row`] reads them.
const JOB_COLS: &str = "id, project, spider, version, args, settings, priority, state, \
     created_at, started_at, finished_at, outcome, attempt, runner, heartbeat_at, \
     cancel_requests, schedule_id";

/// The schedule columns, in the order [`schedule_from_row`] reads them.
const SCHEDULE_COLS: &str = "id, project, spider, cron, timezone, args, settings, priority, \
     enabled, overlap, next_run, last_run, last_job, created_at";

/// Projects, jobs and schedules in SQLite: one connection behind a mutex, used from
/// `tokio::task::spawn_blocking` so the async methods never block runtime threads.
///
/// Cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// The connection's total changes after the last call (the job store's
    /// generation: every write through the one connection moves it).
    changes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) the database at
    /// `path`, in WAL mode, and brings its schema up to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::backend(format!("creating {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path).db()?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::backend(format!(
                "{}: could not enable WAL mode (got {mode})",
                path.display()
            )));
        }
        Self::setup(conn)
    }

    /// A private in-memory database (for tests and throwaway runs).
    pub fn in_memory() -> StoreResult<Self> {
        Self::setup(Connection::open_in_memory().db()?)
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.conn
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .db()
    }

    fn setup(mut conn: Connection) -> StoreResult<Self> {
        conn.busy_timeout(Duration::from_secs(5)).db()?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )
        .db()?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            changes: Arc::default(),
        })
    }

    /// Rows changed through this store so far (the job store's generation).
    pub fn generation(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Runs `f` on the connection on the blocking thread pool.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (conn, changes) = (self.conn.clone(), self.changes.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock();
            let out = f(&mut conn);
            changes.store(conn.total_changes(), std::sync::atomic::Ordering::Release);
            out
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Applies the missing [`MIGRATIONS`], each in its own transaction.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .db()?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::backend(format!(
            "database schema version {current} is newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().db()?;
        tx.execute_batch(sql).db()?;
        tx.pragma_update(None, "user_version", from as i64 + 1)
            .db()?;
        tx.commit().db()?;
    }
    Ok(())
}

/// `rusqlite::Result` → [`StoreResult`].
trait Db<T> {
    fn db(self) -> StoreResult<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> StoreResult<T> {
        self.map_err(db_error)
    }
}

/// A SQLite error as a store error: a busy or locked database (another process holds
/// the write lock past the busy timeout) is transient; the rest is not.
fn db_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => StoreError::unavailable(e),
        _ => StoreError::backend(e),
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn opt_micros(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(micros)
}

fn conversion_error(
    col: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadValue(String);

fn time_at(row: &Row, col: usize) -> rusqlite::Result<DateTime<Utc>> {
    let us: i64 = row.get(col)?;
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| conversion_error(col, BadValue(format!("time out of range: {us}"))))
}

fn opt_time_at(row: &Row, col: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<i64>>(col)? {
        None => Ok(None),
        Some(_) => time_at(row, col).map(Some),
    }
}

fn map_to_json(m: &BTreeMap<String, String>) -> StoreResult<String> {
    if m.is_empty() {
        return Ok("{}".to_string());
    }
    serde_json::to_string(m).map_err(StoreError::backend)
}

fn map_at(row: &Row, col: usize) -> rusqlite::Result<BTreeMap<String, String>> {
    let s = row.get_ref(col)?.as_str()?;
    if s == "{}" {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(s).map_err(|e| conversion_error(col, e))
}

fn finite(priority: f64) -> StoreResult<f64> {
    if priority.is_finite() {
        Ok(priority)
    } else {
        Err(StoreError::backend(format!(
            "priority must be a finite number, not {priority}"
        )))
    }
}
