//! [`JobStore`] on SQLite: the `jobs` table, one conditional statement per transition,
//! in a transaction with the insert of its event into the outbox.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};

use trawl_core::events::{Event, EventKind};
use trawl_core::model::{CancelLevel, Job, JobLists, JobState, Outcome};
use trawl_core::ports::{JobCounts, JobStore, StoreError, StoreResult};

use super::events::push_event;
use super::*;

/// Reads a row selected with [`JOB_COLS`].
pub(super) fn job_from_row(row: &Row) -> rusqlite::Result<Job> {
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

/// Jobs in `state` (of `project`), in the list order of the port, at most `limit`.
fn select_jobs(
    c: &Connection,
    state: JobState,
    project: Option<&str>,
    limit: Option<usize>,
) -> StoreResult<Vec<Job>> {
    // Ties are broken by insertion order (rowid), which every index carries.
    let order = match state {
        JobState::Pending => "priority DESC, created_at, rowid",
        JobState::Running => "started_at, rowid",
        JobState::Finished => "finished_at DESC, rowid DESC",
    };
    let filter = if project.is_some() {
        "AND project = ?3"
    } else {
        ""
    };
    let sql =
        format!("SELECT {JOB_COLS} FROM jobs WHERE state = ?1 {filter} ORDER BY {order} LIMIT ?2");
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut s = c.prepare_cached(&sql).db()?;
    let rows = match project {
        Some(p) => s.query_map(params![state.as_str(), limit, p], job_from_row),
        None => s.query_map(params![state.as_str(), limit], job_from_row),
    }
    .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

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

/// Runs a `… RETURNING <JOB_COLS>` statement expected to touch at most one row.
fn job_returning(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<Job>> {
    let mut s = c.prepare_cached(sql).db()?;
    s.query_row(params, job_from_row).optional().db()
}

/// Runs a `… RETURNING <JOB_COLS>` transition and, when it happened, adds the event
/// `kind` of the job it returned, at `time` — both in one transaction.
fn transition(
    c: &mut Connection,
    sql: &str,
    params: impl rusqlite::Params,
    kind: EventKind,
    time: DateTime<Utc>,
) -> StoreResult<Option<Job>> {
    let tx = c.transaction().db()?;
    let job = job_returning(&tx, sql, params)?;
    if let Some(job) = &job {
        push_event(&tx, &Event::job(kind, job, time))?;
    }
    tx.commit().db()?;
    Ok(job)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_job(&self, job: &Job) -> StoreResult<()> {
        let row = JobRow::new(job)?;
        self.run(move |c| {
            let tx = c.transaction().db()?;
            match row.insert(&tx) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::Conflict(format!("job {}", row.job.id)));
                }
                Err(e) => return Err(StoreError::backend(e)),
            }
            let event = Event::job(EventKind::JobPending, &row.job, row.job.created_at);
            push_event(&tx, &event)?;
            tx.commit().db()
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
            let event = Event::job(EventKind::JobPending, &row.job, row.job.created_at);
            push_event(&tx, &event)?;
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
        self.run(move |c| select_jobs(c, state, project.as_deref(), None))
            .await
    }

    async fn head_jobs(&self, state: JobState, limit: usize) -> StoreResult<Vec<Job>> {
        self.run(move |c| select_jobs(c, state, None, Some(limit)))
            .await
    }

    async fn job_lists(&self, project: Option<&str>) -> StoreResult<JobLists> {
        let project = project.map(str::to_string);
        // One read transaction: the three lists are one snapshot.
        self.run(move |c| {
            let tx = c.transaction().db()?;
            let p = project.as_deref();
            let lists = JobLists {
                pending: select_jobs(&tx, JobState::Pending, p, None)?,
                running: select_jobs(&tx, JobState::Running, p, None)?,
                finished: select_jobs(&tx, JobState::Finished, p, None)?,
            };
            tx.commit().db()?;
            Ok(lists)
        })
        .await
    }

    fn generation(&self) -> Option<u64> {
        Some(SqliteStore::generation(self))
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
        let (id, runner, at) = (id.to_string(), runner.to_string(), now);
        let now = micros(at);
        self.run(move |c| {
            let sql = format!(
                "UPDATE jobs SET state = 'running', started_at = ?2, runner = ?3,
                   heartbeat_at = ?2, attempt = attempt + 1
                 WHERE id = ?1 AND state = 'pending' RETURNING {JOB_COLS}"
            );
            transition(c, &sql, params![id, now, runner], EventKind::JobRunning, at)
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
        let (id, at) = (id.to_string(), now);
        self.run(move |c| {
            let sql = format!(
                "UPDATE jobs SET state = 'finished', finished_at = ?3, outcome = ?4
                 WHERE id = ?1 AND state = 'running' AND attempt = ?2 RETURNING {JOB_COLS}"
            );
            let params = params![id, attempt, micros(at), outcome];
            Ok(transition(c, &sql, params, EventKind::JobFinished, at)?.is_some())
        })
        .await
    }

    async fn requeue_job(&self, id: &str, attempt: u32) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            // The next attempt starts afresh: no runner, heartbeat or cancel requests.
            let sql = format!(
                "UPDATE jobs SET state = 'pending', started_at = NULL, runner = NULL,
                   heartbeat_at = NULL, cancel_requests = 0
                 WHERE id = ?1 AND state = 'running' AND attempt = ?2 RETURNING {JOB_COLS}"
            );
            let params = params![id, attempt];
            Ok(transition(c, &sql, params, EventKind::JobPending, Utc::now())?.is_some())
        })
        .await
    }

    async fn resume_job(
        &self,
        id: &str,
        attempt: u32,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let (id, runner, at) = (id.to_string(), runner.to_string(), now);
        self.run(move |c| {
            let sql = format!(
                "UPDATE jobs SET attempt = attempt + 1, runner = ?3, heartbeat_at = ?4
                 WHERE id = ?1 AND state = 'running' AND attempt = ?2 RETURNING {JOB_COLS}"
            );
            let params = params![id, attempt, runner, micros(at)];
            transition(c, &sql, params, EventKind::JobContinued, at)
        })
        .await
    }

    async fn remove_pending(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let sql = format!(
                "DELETE FROM jobs WHERE id = ?1 AND state = 'pending' RETURNING {JOB_COLS}"
            );
            Ok(transition(c, &sql, [id], EventKind::JobRemoved, Utc::now())?.is_some())
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
