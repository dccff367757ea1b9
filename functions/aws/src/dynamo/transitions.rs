//! The job transitions that write an event. Each one is ONE `TransactWriteItems`: the
//! conditional write of the job item and the `Put` of its event. The event shows the
//! job as it is after the transition, so the transition first reads the job (strongly
//! consistent) and its write is conditioned on what it read (state, attempt, creation
//! time): if the job changed in between, nothing is written and the transition is
//! decided again on a fresh read.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use trawl_core::events::{Event, EventKind};
use trawl_core::model::{Job, JobState, Outcome};
use trawl_core::ports::{StoreError, StoreResult};

use super::items::{self, n, s};
use super::keys;
use super::outbox::Expr;
use super::DynamoStore;

/// Reads of a job that kept changing before a transition gives up (as unavailable).
const READ_RETRIES: usize = 5;

/// The condition every planned write has: the job is still as it was read.
const PINNED: &str = "#st = :was AND attempt = :was_attempt AND created_at = :was_created";

/// One planned transition of a job read from the table.
struct Plan {
    write: TransactWriteItem,
    after: Job,
    kind: EventKind,
    time: DateTime<Utc>,
}

/// `t` as the table keeps it (whole microseconds), so the job returned is the job read.
fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The values of [`PINNED`] for `job`.
fn pinned(job: &Job) -> Expr {
    Expr::default()
        .name("#st", "state")
        .value(":was", s(job.state.as_str()))
        .value(":was_attempt", n(job.attempt))
        .value(":was_created", items::time(job.created_at))
}

impl DynamoStore {
    /// An `Update` of the job item `id`, conditioned on `condition`.
    fn job_update(
        &self,
        id: &str,
        update: &str,
        condition: &str,
        expr: Expr,
    ) -> StoreResult<TransactWriteItem> {
        let u = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.job_key(id)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().update(u).build())
    }

    /// Reads the job, plans its transition, writes it with its event; `None` if the
    /// job is absent or `plan` says the transition does not apply.
    async fn transition(
        &self,
        id: &str,
        plan: impl Fn(Job) -> StoreResult<Option<Plan>>,
    ) -> StoreResult<Option<Job>> {
        use trawl_core::ports::JobStore;
        for _ in 0..READ_RETRIES {
            let Some(job) = self.get_job(id).await? else {
                return Ok(None);
            };
            let Some(p) = plan(job)? else {
                return Ok(None);
            };
            let event = Event::job(p.kind, &p.after, p.time);
            if self.write_with_event(p.write, Some(&event)).await? {
                return Ok(Some(p.after));
            }
        }
        Err(StoreError::unavailable(format!(
            "dynamodb: job {id} kept changing during a transition"
        )))
    }

    /// `insert_job` (no condition but absence) or `replace_finished_job` (`condition`
    /// on the finished job): the whole item and `job.pending`.
    pub(crate) async fn put_job_with_event(
        &self,
        item: super::Item,
        job: &Job,
        condition: &str,
        expr: Expr,
    ) -> StoreResult<bool> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(StoreError::backend)?;
        let event = Event::job(EventKind::JobPending, job, job.created_at);
        let write = TransactWriteItem::builder().put(put).build();
        self.write_with_event(write, Some(&event)).await
    }

    /// pending → running, with `job.running`.
    pub(crate) async fn start_with_event(
        &self,
        id: &str,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let now = stored(now);
        self.transition(id, |job| {
            if job.state != JobState::Pending {
                return Ok(None);
            }
            let order = keys::job_order(JobState::Running, id, 0.0, now, Some(now), None);
            let expr = pinned(&job)
                .value(":running", s("running"))
                .value(":now", items::time(now))
                .value(":runner", s(runner))
                .value(":one", n(1))
                .value(":g1pk", s(keys::jobs_by_state(JobState::Running)))
                .value(":g2sk", s(keys::project_order(JobState::Running, &order)))
                .value(":g1sk", s(order));
            let write = self.job_update(
                id,
                "SET #st = :running, started_at = :now, heartbeat_at = :now, runner = :runner, \
                 attempt = attempt + :one, GSI1PK = :g1pk, GSI1SK = :g1sk, GSI2SK = :g2sk",
                PINNED,
                expr,
            )?;
            let after = Job {
                state: JobState::Running,
                started_at: Some(now),
                heartbeat_at: Some(now),
                runner: Some(runner.to_string()),
                attempt: job.attempt + 1,
                ..job
            };
            Ok(Some(Plan {
                write,
                after,
                kind: EventKind::JobRunning,
                time: now,
            }))
        })
        .await
    }

    /// running (this attempt) → finished, with `job.finished`.
    pub(crate) async fn finish_with_event(
        &self,
        id: &str,
        attempt: u32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let now = stored(now);
        let outcome_json = serde_json::to_string(outcome).map_err(StoreError::backend)?;
        let expires = self.expires_at();
        let done = self
            .transition(id, |job| {
                if job.state != JobState::Running || job.attempt != attempt {
                    return Ok(None);
                }
                let order = keys::job_order(JobState::Finished, id, 0.0, now, None, Some(now));
                let expr = pinned(&job)
                    .value(":finished", s("finished"))
                    .value(":now", items::time(now))
                    .value(":outcome", s(outcome_json.clone()))
                    .value(":expires", n(expires))
                    .value(":g1pk", s(keys::jobs_by_state(JobState::Finished)))
                    .value(":g2sk", s(keys::project_order(JobState::Finished, &order)))
                    .value(":g1sk", s(order));
                let write = self.job_update(
                    id,
                    "SET #st = :finished, finished_at = :now, outcome = :outcome, \
                     expires_at = :expires, GSI1PK = :g1pk, GSI1SK = :g1sk, GSI2SK = :g2sk",
                    PINNED,
                    expr,
                )?;
                let after = Job {
                    state: JobState::Finished,
                    finished_at: Some(now),
                    outcome: Some(outcome.clone()),
                    ..job
                };
                Ok(Some(Plan {
                    write,
                    after,
                    kind: EventKind::JobFinished,
                    time: now,
                }))
            })
            .await?;
        Ok(done.is_some())
    }

    /// running (this attempt) → pending at its queue place, with `job.pending`.
    pub(crate) async fn requeue_with_event(&self, id: &str, attempt: u32) -> StoreResult<bool> {
        let now = Utc::now();
        let done = self
            .transition(id, |job| {
                if job.state != JobState::Running || job.attempt != attempt {
                    return Ok(None);
                }
                let expr = pinned(&job)
                    .value(":pending", s("pending"))
                    .value(":zero", n(0))
                    .value(":g1pk", s(keys::jobs_by_state(JobState::Pending)));
                let write = self.job_update(
                    id,
                    "SET #st = :pending, cancel_requests = :zero, GSI1PK = :g1pk, \
                     GSI1SK = queue_sk, GSI2SK = queue_psk \
                     REMOVE started_at, runner, heartbeat_at",
                    PINNED,
                    expr,
                )?;
                let after = Job {
                    state: JobState::Pending,
                    started_at: None,
                    runner: None,
                    heartbeat_at: None,
                    cancel_requests: 0,
                    ..job
                };
                Ok(Some(Plan {
                    write,
                    after,
                    kind: EventKind::JobPending,
                    time: now,
                }))
            })
            .await?;
        Ok(done.is_some())
    }

    /// running (this attempt) → running (next attempt), with `job.continued`. The
    /// cancel count read is pinned too, so the job returned is exact.
    pub(crate) async fn resume_with_event(
        &self,
        id: &str,
        attempt: u32,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        let now = stored(now);
        self.transition(id, |job| {
            if job.state != JobState::Running || job.attempt != attempt {
                return Ok(None);
            }
            let expr = pinned(&job)
                .value(":one", n(1))
                .value(":runner", s(runner))
                .value(":now", items::time(now))
                .value(":cancels", n(job.cancel_requests));
            let write = self.job_update(
                id,
                "SET attempt = attempt + :one, runner = :runner, heartbeat_at = :now",
                &format!("{PINNED} AND cancel_requests = :cancels"),
                expr,
            )?;
            let after = Job {
                attempt: job.attempt + 1,
                runner: Some(runner.to_string()),
                heartbeat_at: Some(now),
                ..job
            };
            Ok(Some(Plan {
                write,
                after,
                kind: EventKind::JobContinued,
                time: now,
            }))
        })
        .await
    }

    /// Deletes a pending job, with `job.removed`.
    pub(crate) async fn remove_pending_with_event(&self, id: &str) -> StoreResult<bool> {
        let now = Utc::now();
        let done = self
            .transition(id, |job| {
                if job.state != JobState::Pending {
                    return Ok(None);
                }
                let expr = pinned(&job);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(self.job_key(id)))
                    .condition_expression(PINNED)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(StoreError::backend)?;
                Ok(Some(Plan {
                    write: TransactWriteItem::builder().delete(delete).build(),
                    after: job,
                    kind: EventKind::JobRemoved,
                    time: now,
                }))
            })
            .await?;
        Ok(done.is_some())
    }
}
