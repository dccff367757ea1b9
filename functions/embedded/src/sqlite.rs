//! [`SqliteStore`]: projects, jobs and schedules in one SQLite database (WAL mode).
//!
//! Times are stored as integer microseconds since the Unix epoch (UTC), so they
//! round-trip exactly to the microsecond and compare as plain integers in the
//! conditional updates. Maps (`args`, `settings`, `spiders`) and the outcome are JSON
//! text. Every job or schedule transition is a single `UPDATE … WHERE id = ? AND
//! state = ? [AND attempt = ?]` (or `AND next_run = ?`) whose change count decides
//! whether it happened, so concurrent callers can never both win.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};

use trawl_core::model::Outcome;
use trawl_core::model::{CancelLevel, Job, JobState, OverlapPolicy, Schedule, Version};
use trawl_core::ports::{
    ItemFingerprint, ItemHistory, JobCounts, JobStore, ProjectStore, ScheduleStore, StoreError,
    StoreResult,
};

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

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
];

/// The job columns, in the order [`job_from_row`] reads them.
const JOB_COLS: &str = "id, project, spider, version, args, settings, priority, state, \
     created_at, started_at, finished_at, outcome, attempt, runner, heartbeat_at, \
     cancel_requests, schedule_id";

/// The schedule columns, in the order [`schedule_from_row`] reads them.
const SCHEDULE_COLS: &str = "id, project, spider, cron, timezone, args, settings, priority, \
     enabled, overlap, next_run, last_run, last_job, created_at";

/// A job serialised for its row.
struct JobRow {
    job: Job,
    args: String,
    settings: String,
    outcome: Option<String>,
    priority: f64,
}

impl JobRow {
    fn new(job: &Job) -> StoreResult<Self> {
        Ok(JobRow {
            args: map_to_json(&job.args)?,
            settings: map_to_json(&job.settings)?,
            outcome: job
                .outcome
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::backend)?,
            priority: finite(job.priority)?,
            job: job.clone(),
        })
    }

    /// Inserts the row (a constraint violation if the id is taken).
    fn insert(&self, c: &Connection) -> rusqlite::Result<usize> {
        let j = &self.job;
        c.prepare_cached(
            "INSERT INTO jobs (id, project, spider, version, args, settings, priority,
               state, created_at, started_at, finished_at, outcome, attempt, runner,
               heartbeat_at, cancel_requests, schedule_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
               ?16, ?17)",
        )?
        .execute(params![
            j.id,
            j.project,
            j.spider,
            j.version,
            self.args,
            self.settings,
            self.priority,
            j.state.as_str(),
            micros(j.created_at),
            opt_micros(j.started_at),
            opt_micros(j.finished_at),
            self.outcome,
            j.attempt,
            j.runner,
            opt_micros(j.heartbeat_at),
            j.cancel_requests,
            j.schedule_id,
        ])
    }
}

/// Projects, jobs and schedules in SQLite: one connection behind a mutex, used from
/// `tokio::task::spawn_blocking` so the async methods never block runtime threads.
///
/// Cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
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
        })
    }

    /// Runs `f` on the connection on the blocking thread pool.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&mut conn.lock()))
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

/// Reads a row selected with [`JOB_COLS`].
fn job_from_row(row: &Row) -> rusqlite::Result<Job> {
    let state: String = row.get(7)?;
    let outcome = match row.get_ref(11)?.as_str_or_null()? {
        None => None,
        Some(s) => Some(serde_json::from_str::<Outcome>(s).map_err(|e| conversion_error(11, e))?),
    };
    Ok(Job {
        id: row.get(0)?,
        project: row.get(1)?,
        spider: row.get(2)?,
        version: row.get(3)?,
        args: map_at(row, 4)?,
        settings: map_at(row, 5)?,
        priority: row.get(6)?,
        state: JobState::parse(&state)
            .ok_or_else(|| conversion_error(7, BadValue(format!("unknown job state {state:?}"))))?,
        created_at: time_at(row, 8)?,
        started_at: opt_time_at(row, 9)?,
        finished_at: opt_time_at(row, 10)?,
        outcome,
        attempt: row.get(12)?,
        runner: row.get(13)?,
        heartbeat_at: opt_time_at(row, 14)?,
        cancel_requests: row.get(15)?,
        schedule_id: row.get(16)?,
    })
}

/// Reads a row selected with [`SCHEDULE_COLS`].
fn schedule_from_row(row: &Row) -> rusqlite::Result<Schedule> {
    let overlap: String = row.get(9)?;
    let overlap = match overlap.as_str() {
        "skip" => OverlapPolicy::Skip,
        "allow" => OverlapPolicy::Allow,
        other => {
            return Err(conversion_error(
                9,
                BadValue(format!("unknown overlap policy {other:?}")),
            ))
        }
    };
    Ok(Schedule {
        id: row.get(0)?,
        project: row.get(1)?,
        spider: row.get(2)?,
        cron: row.get(3)?,
        timezone: row.get(4)?,
        args: map_at(row, 5)?,
        settings: map_at(row, 6)?,
        priority: row.get(7)?,
        enabled: row.get(8)?,
        overlap,
        next_run: opt_time_at(row, 10)?,
        last_run: opt_time_at(row, 11)?,
        last_job: row.get(12)?,
        created_at: time_at(row, 13)?,
    })
}

fn version_from_row(row: &Row) -> rusqlite::Result<Version> {
    let spiders = row.get_ref(2)?.as_str()?;
    Ok(Version {
        project: row.get(0)?,
        version: row.get(1)?,
        spiders: serde_json::from_str(spiders).map_err(|e| conversion_error(2, e))?,
        bundle_key: row.get(3)?,
        created_at: time_at(row, 4)?,
    })
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn put_version(&self, version: &Version) -> StoreResult<()> {
        let v = version.clone();
        let spiders = serde_json::to_string(&v.spiders).map_err(StoreError::backend)?;
        self.run(move |c| {
            c.prepare_cached(
                "INSERT INTO versions (project, version, spiders, bundle_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, version) DO UPDATE SET
                   spiders = excluded.spiders, bundle_key = excluded.bundle_key,
                   created_at = excluded.created_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    v.project,
                    v.version,
                    spiders,
                    v.bundle_key,
                    micros(v.created_at)
                ])
            })
            .db()?;
            Ok(())
        })
        .await
    }

    async fn versions(&self, project: &str) -> StoreResult<Vec<Version>> {
        let project = project.to_string();
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT project, version, spiders, bundle_key, created_at FROM versions
                     WHERE project = ?1 ORDER BY created_at, version",
                )
                .db()?;
            let rows = s.query_map([project], version_from_row).db()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().db()
        })
        .await
    }

    async fn projects(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            let mut s = c
                .prepare_cached("SELECT DISTINCT project FROM versions ORDER BY project")
                .db()?;
            let rows = s.query_map([], |r| r.get(0)).db()?;
            rows.collect::<rusqlite::Result<Vec<String>>>().db()
        })
        .await
    }

    async fn delete_version(&self, project: &str, version: &str) -> StoreResult<bool> {
        let (project, version) = (project.to_string(), version.to_string());
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM versions WHERE project = ?1 AND version = ?2")
                .and_then(|mut s| s.execute([project, version]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_project(&self, project: &str) -> StoreResult<bool> {
        let project = project.to_string();
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM versions WHERE project = ?1")
                .and_then(|mut s| s.execute([project]))
                .db()?;
            Ok(n > 0)
        })
        .await
    }
}

/// Runs a `… RETURNING <JOB_COLS>` statement expected to touch at most one row.
fn job_returning(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<Job>> {
    let mut s = c.prepare_cached(sql).db()?;
    s.query_row(params, job_from_row).optional().db()
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_job(&self, job: &Job) -> StoreResult<()> {
        let row = JobRow::new(job)?;
        self.run(move |c| match row.insert(c) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::Conflict(format!("job {}", row.job.id)))
            }
            Err(e) => Err(StoreError::backend(e)),
        })
        .await
    }

    async fn replace_finished_job(&self, job: &Job) -> StoreResult<bool> {
        let row = JobRow::new(job)?;
        self.run(move |c| {
            let tx = c.transaction().db()?;
            let removed = tx
                .prepare_cached(
                    "DELETE FROM jobs WHERE id = ?1 AND state = 'finished' AND attempt = ?2",
                )
                .and_then(|mut s| s.execute(params![row.job.id, row.job.attempt]))
                .db()?;
            if removed == 0 {
                return Ok(false);
            }
            row.insert(&tx).db()?;
            tx.commit().db()?;
            Ok(true)
        })
        .await
    }

    async fn get_job(&self, id: &str) -> StoreResult<Option<Job>> {
        let id = id.to_string();
        self.run(move |c| {
            let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1");
            let mut s = c.prepare_cached(&sql).db()?;
            s.query_row([id], job_from_row).optional().db()
        })
        .await
    }

    async fn list_jobs(&self, state: JobState, project: Option<&str>) -> StoreResult<Vec<Job>> {
        let project = project.map(str::to_string);
        self.run(move |c| {
            // Ties are broken by insertion order (rowid), which every index carries.
            let order = match state {
                JobState::Pending => "priority DESC, created_at, rowid",
                JobState::Running => "started_at, rowid",
                JobState::Finished => "finished_at DESC, rowid DESC",
            };
            let filter = if project.is_some() {
                "AND project = ?2"
            } else {
                ""
            };
            let sql =
                format!("SELECT {JOB_COLS} FROM jobs WHERE state = ?1 {filter} ORDER BY {order}");
            let mut s = c.prepare_cached(&sql).db()?;
            let rows = match &project {
                Some(p) => s.query_map(params![state.as_str(), p], job_from_row),
                None => s.query_map(params![state.as_str()], job_from_row),
            }
            .db()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().db()
        })
        .await
    }

    async fn count_jobs(&self) -> StoreResult<JobCounts> {
        self.run(|c| {
            // One indexed count per state: cheaper than grouping the whole table.
            let mut s = c
                .prepare_cached("SELECT COUNT(*) FROM jobs WHERE state = ?1")
                .db()?;
            let mut count = |state: JobState| -> StoreResult<usize> {
                let n: i64 = s.query_row([state.as_str()], |r| r.get(0)).db()?;
                Ok(n as usize)
            };
            let counts = JobCounts {
                pending: count(JobState::Pending)?,
                running: count(JobState::Running)?,
                finished: count(JobState::Finished)?,
            };
            Ok(counts)
        })
        .await
    }

    async fn start_job(
        &self,
        id: &str,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let (id, runner, now) = (id.to_string(), runner.to_string(), micros(now));
        self.run(move |c| {
            let sql = format!(
                "UPDATE jobs SET state = 'running', started_at = ?2, runner = ?3,
                   heartbeat_at = ?2, attempt = attempt + 1
                 WHERE id = ?1 AND state = 'pending' RETURNING {JOB_COLS}"
            );
            job_returning(c, &sql, params![id, now, runner])
        })
        .await
    }

    async fn finish_job(
        &self,
        id: &str,
        attempt: u32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let outcome = serde_json::to_string(outcome).map_err(StoreError::backend)?;
        let (id, now) = (id.to_string(), micros(now));
        self.run(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE jobs SET state = 'finished', finished_at = ?3, outcome = ?4
                     WHERE id = ?1 AND state = 'running' AND attempt = ?2",
                )
                .and_then(|mut s| s.execute(params![id, attempt, now, outcome]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn requeue_job(&self, id: &str, attempt: u32) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            // The next attempt starts afresh: no runner, heartbeat or cancel requests.
            let n = c
                .prepare_cached(
                    "UPDATE jobs SET state = 'pending', started_at = NULL, runner = NULL,
                       heartbeat_at = NULL, cancel_requests = 0
                     WHERE id = ?1 AND state = 'running' AND attempt = ?2",
                )
                .and_then(|mut s| s.execute(params![id, attempt]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn remove_pending(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM jobs WHERE id = ?1 AND state = 'pending'")
                .and_then(|mut s| s.execute([id]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn request_cancel(&self, id: &str, level: CancelLevel) -> StoreResult<Option<u32>> {
        let (id, n) = (id.to_string(), level.requests());
        self.run(move |c| {
            c.prepare_cached(
                "UPDATE jobs SET cancel_requests = cancel_requests + ?2
                 WHERE id = ?1 AND state = 'running' RETURNING cancel_requests",
            )
            .and_then(|mut s| s.query_row(params![id, n], |r| r.get(0)).optional())
            .db()
        })
        .await
    }

    async fn heartbeat(
        &self,
        id: &str,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<u32>> {
        let (id, now) = (id.to_string(), micros(now));
        self.run(move |c| {
            c.prepare_cached(
                "UPDATE jobs SET heartbeat_at = ?3
                 WHERE id = ?1 AND state = 'running' AND attempt = ?2
                 RETURNING cancel_requests",
            )
            .and_then(|mut s| {
                s.query_row(params![id, attempt, now], |r| r.get(0))
                    .optional()
            })
            .db()
        })
        .await
    }

    async fn claim_job(
        &self,
        id: &str,
        attempt: u32,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (id, from, to, now) = (
            id.to_string(),
            from.to_string(),
            to.to_string(),
            micros(now),
        );
        self.run(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE jobs SET runner = ?4, heartbeat_at = ?5
                     WHERE id = ?1 AND state = 'running' AND attempt = ?2 AND runner = ?3",
                )
                .and_then(|mut s| s.execute(params![id, attempt, from, to, now]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn prune_finished(&self, keep: usize) -> StoreResult<Vec<Job>> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.run(move |c| {
            let tx = c.transaction().db()?;
            let pruned = {
                let sql = format!(
                    "DELETE FROM jobs WHERE rowid IN (
                       SELECT rowid FROM jobs WHERE state = 'finished'
                       ORDER BY finished_at DESC, rowid DESC LIMIT -1 OFFSET ?1)
                     RETURNING {JOB_COLS}"
                );
                let mut s = tx.prepare_cached(&sql).db()?;
                let rows = s.query_map([keep], job_from_row).db()?;
                rows.collect::<rusqlite::Result<Vec<_>>>().db()?
            };
            tx.commit().db()?;
            Ok(pruned)
        })
        .await
    }
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn put_schedule(&self, schedule: &Schedule) -> StoreResult<()> {
        let s = schedule.clone();
        let args = map_to_json(&s.args)?;
        let settings = map_to_json(&s.settings)?;
        let priority = finite(s.priority)?;
        self.run(move |c| {
            // An upsert (not `INSERT OR REPLACE`) keeps the row, so ties in the
            // creation-time order stay stable.
            c.prepare_cached(
                "INSERT INTO schedules (id, project, spider, cron, timezone, args, settings,
                   priority, enabled, overlap, next_run, last_run, last_job, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (id) DO UPDATE SET
                   project = excluded.project, spider = excluded.spider,
                   cron = excluded.cron, timezone = excluded.timezone,
                   args = excluded.args, settings = excluded.settings,
                   priority = excluded.priority, enabled = excluded.enabled,
                   overlap = excluded.overlap, next_run = excluded.next_run,
                   last_run = excluded.last_run, last_job = excluded.last_job,
                   created_at = excluded.created_at",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.id,
                    s.project,
                    s.spider,
                    s.cron,
                    s.timezone,
                    args,
                    settings,
                    priority,
                    s.enabled,
                    s.overlap.as_str(),
                    opt_micros(s.next_run),
                    opt_micros(s.last_run),
                    s.last_job,
                    micros(s.created_at),
                ])
            })
            .db()?;
            Ok(())
        })
        .await
    }

    async fn get_schedule(&self, id: &str) -> StoreResult<Option<Schedule>> {
        let id = id.to_string();
        self.run(move |c| {
            let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE id = ?1");
            let mut s = c.prepare_cached(&sql).db()?;
            s.query_row([id], schedule_from_row).optional().db()
        })
        .await
    }

    async fn list_schedules(&self, project: Option<&str>) -> StoreResult<Vec<Schedule>> {
        let project = project.map(str::to_string);
        self.run(move |c| {
            let rows = match &project {
                Some(p) => {
                    let sql = format!(
                        "SELECT {SCHEDULE_COLS} FROM schedules WHERE project = ?1
                         ORDER BY created_at, rowid"
                    );
                    let mut s = c.prepare_cached(&sql).db()?;
                    let rows = s.query_map([p], schedule_from_row).db()?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                }
                None => {
                    let sql =
                        format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY created_at, rowid");
                    let mut s = c.prepare_cached(&sql).db()?;
                    let rows = s.query_map([], schedule_from_row).db()?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                }
            };
            rows.db()
        })
        .await
    }

    async fn delete_schedule(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM schedules WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn advance_schedule(
        &self,
        id: &str,
        expected_next: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        fired: Option<(DateTime<Utc>, String)>,
    ) -> StoreResult<bool> {
        let (id, expected, next) = (id.to_string(), micros(expected_next), opt_micros(next));
        self.run(move |c| {
            let n = match fired {
                Some((at, job)) => c
                    .prepare_cached(
                        "UPDATE schedules SET next_run = ?3, last_run = ?4, last_job = ?5
                         WHERE id = ?1 AND next_run = ?2",
                    )
                    .and_then(|mut s| s.execute(params![id, expected, next, micros(at), job])),
                None => c
                    .prepare_cached(
                        "UPDATE schedules SET next_run = ?3 WHERE id = ?1 AND next_run = ?2",
                    )
                    .and_then(|mut s| s.execute(params![id, expected, next])),
            }
            .db()?;
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl ItemHistory for SqliteStore {
    async fn seen_items(&self, project: &str, spider: &str) -> StoreResult<Vec<ItemFingerprint>> {
        let (project, spider) = (project.to_string(), spider.to_string());
        self.run(move |c| {
            let mut s = c
                .prepare_cached("SELECT fp FROM seen_items WHERE project = ?1 AND spider = ?2")
                .db()?;
            let rows = s
                .query_map(params![project, spider], |r| r.get::<_, Vec<u8>>(0))
                .db()?;
            let mut out = Vec::new();
            for fp in rows {
                if let Ok(fp) = ItemFingerprint::try_from(fp.db()?.as_slice()) {
                    out.push(fp);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn add_seen_items(
        &self,
        project: &str,
        spider: &str,
        fingerprints: &[ItemFingerprint],
    ) -> StoreResult<()> {
        let (project, spider) = (project.to_string(), spider.to_string());
        let fps = fingerprints.to_vec();
        self.run(move |c| {
            let tx = c.transaction().db()?;
            {
                let mut s = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO seen_items (project, spider, fp) VALUES (?1, ?2, ?3)",
                    )
                    .db()?;
                for fp in &fps {
                    s.execute(params![project, spider, &fp[..]]).db()?;
                }
            }
            tx.commit().db()
        })
        .await
    }

    async fn forget_items(&self, project: &str) -> StoreResult<()> {
        let project = project.to_string();
        self.run(move |c| {
            c.execute(
                "DELETE FROM seen_items WHERE project = ?1",
                params![project],
            )
            .db()?;
            Ok(())
        })
        .await
    }
}
