//! [`JobStore`] on the table: job items and their conditional transitions.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use trawl_core::model::{CancelLevel, Job, JobState, Outcome};
use trawl_core::ports::{JobCounts, JobStore, StoreError, StoreResult};

use super::items::{self, get_map, get_n, get_s, get_time, n, opt_n, opt_s, opt_time, put_opt, s};
use super::keys::{self, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK};
use super::outbox::Expr;
use super::{is_condition_failed, sdk_error, DynamoStore, Item};

/// The job's item, with its keys.
fn job_item(j: &Job) -> StoreResult<Item> {
    let order = keys::job_order(
        j.state,
        &j.id,
        j.priority,
        j.created_at,
        j.started_at,
        j.finished_at,
    );
    let queue = keys::pending_order(&j.id, j.priority, j.created_at);
    let mut item = Item::from([
        (PK.into(), s(keys::job_pk(&j.id))),
        (SK.into(), s(keys::JOB_SK)),
        (GSI1PK.into(), s(keys::jobs_by_state(j.state))),
        (GSI1SK.into(), s(order.clone())),
        (GSI2PK.into(), s(keys::jobs_by_project(&j.project))),
        (GSI2SK.into(), s(keys::project_order(j.state, &order))),
        (
            keys::QUEUE_PSK.into(),
            s(keys::project_order(JobState::Pending, &queue)),
        ),
        (keys::QUEUE_SK.into(), s(queue)),
        ("id".into(), s(&j.id)),
        ("project".into(), s(&j.project)),
        ("spider".into(), s(&j.spider)),
        ("args".into(), items::map(&j.args)?),
        ("settings".into(), items::map(&j.settings)?),
        ("priority".into(), items::priority(j.priority)?),
        ("state".into(), s(j.state.as_str())),
        ("created_at".into(), items::time(j.created_at)),
        ("attempt".into(), n(j.attempt)),
        ("cancel_requests".into(), n(j.cancel_requests)),
    ]);
    put_opt(&mut item, "version", j.version.as_deref().map(s));
    put_opt(&mut item, "started_at", j.started_at.map(items::time));
    put_opt(&mut item, "finished_at", j.finished_at.map(items::time));
    put_opt(&mut item, "runner", j.runner.as_deref().map(s));
    put_opt(&mut item, "heartbeat_at", j.heartbeat_at.map(items::time));
    put_opt(&mut item, "schedule_id", j.schedule_id.as_deref().map(s));
    if let Some(o) = &j.outcome {
        item.insert("outcome".into(), s(outcome_json(o)?));
    }
    Ok(item)
}

fn outcome_json(o: &Outcome) -> StoreResult<String> {
    serde_json::to_string(o).map_err(StoreError::backend)
}

/// Reads a job item.
fn job_from_item(item: &Item) -> StoreResult<Job> {
    let state = get_s(item, "state")?;
    let outcome = match opt_s(item, "outcome")? {
        None => None,
        Some(text) => Some(serde_json::from_str(&text).map_err(StoreError::backend)?),
    };
    Ok(Job {
        id: get_s(item, "id")?,
        project: get_s(item, "project")?,
        spider: get_s(item, "spider")?,
        version: opt_s(item, "version")?,
        args: get_map(item, "args")?,
        settings: get_map(item, "settings")?,
        priority: items::get_priority(item, "priority")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state {state:?}")))?,
        created_at: get_time(item, "created_at")?,
        started_at: opt_time(item, "started_at")?,
        finished_at: opt_time(item, "finished_at")?,
        outcome,
        attempt: get_n(item, "attempt")?,
        runner: opt_s(item, "runner")?,
        heartbeat_at: opt_time(item, "heartbeat_at")?,
        cancel_requests: opt_n(item, "cancel_requests")?.unwrap_or(0),
        schedule_id: opt_s(item, "schedule_id")?,
    })
}

impl DynamoStore {
    pub(crate) fn job_key(&self, id: &str) -> Item {
        Item::from([
            (PK.into(), s(keys::job_pk(id))),
            (SK.into(), s(keys::JOB_SK)),
        ])
    }

    /// The `expires_at` TTL of a job finishing now (wall clock, epoch seconds).
    pub(crate) fn expires_at(&self) -> i64 {
        let retention = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_add_signed(retention)
            .map_or(i64::MAX, |t| t.timestamp())
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn insert_job(&self, job: &Job) -> StoreResult<()> {
        let item = job_item(job)?;
        let written = self
            .put_job_with_event(item, job, "attribute_not_exists(PK)", Expr::default())
            .await?;
        if written {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!("job {}", job.id)))
        }
    }

    async fn replace_finished_job(&self, job: &Job) -> StoreResult<bool> {
        // One conditional put: the new item (without the old one's TTL) replaces the
        // finished one only while it is finished with this attempt.
        let expr = Expr::default()
            .name("#st", "state")
            .value(":finished", s("finished"))
            .value(":attempt", n(job.attempt));
        self.put_job_with_event(
            job_item(job)?,
            job,
            "#st = :finished AND attempt = :attempt",
            expr,
        )
        .await
    }

    async fn get_job(&self, id: &str) -> StoreResult<Option<Job>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.job_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item.as_ref().map(job_from_item).transpose()
    }

    async fn list_jobs(&self, state: JobState, project: Option<&str>) -> StoreResult<Vec<Job>> {
        let items = match project {
            None => {
                self.query_all(
                    Some(keys::GSI1),
                    "GSI1PK = :pk",
                    &[],
                    vec![(":pk", s(keys::jobs_by_state(state)))],
                    true,
                    false,
                )
                .await?
            }
            Some(p) => {
                self.query_all(
                    Some(keys::GSI2),
                    "GSI2PK = :pk AND begins_with(GSI2SK, :state)",
                    &[],
                    vec![
                        (":pk", s(keys::jobs_by_project(p))),
                        (":state", s(format!("{}#", state.as_str()))),
                    ],
                    true,
                    false,
                )
                .await?
            }
        };
        items
            .iter()
            .map(job_from_item)
            // The index may briefly lag a transition: keep what the key promised.
            .filter(|j| j.as_ref().map_or(true, |j| j.state == state))
            .collect()
    }

    async fn head_jobs(&self, state: JobState, limit: usize) -> StoreResult<Vec<Job>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let want = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("GSI1PK = :pk")
                .expression_attribute_values(":pk", s(keys::jobs_by_state(state)))
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                let job = job_from_item(&item)?;
                // The index may briefly lag a transition: keep what the key promised.
                if job.state == state {
                    out.push(job);
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn count_jobs(&self) -> StoreResult<JobCounts> {
        let (pending, running, finished) = tokio::try_join!(
            self.count(keys::GSI1, GSI1PK, keys::jobs_by_state(JobState::Pending)),
            self.count(keys::GSI1, GSI1PK, keys::jobs_by_state(JobState::Running)),
            self.count(keys::GSI1, GSI1PK, keys::jobs_by_state(JobState::Finished)),
        )?;
        Ok(JobCounts {
            pending,
            running,
            finished,
        })
    }

    async fn start_job(
        &self,
        id: &str,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        self.start_with_event(id, runner, now).await
    }

    async fn finish_job(
        &self,
        id: &str,
        attempt: u32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.finish_with_event(id, attempt, outcome, now).await
    }

    async fn requeue_job(&self, id: &str, attempt: u32) -> StoreResult<bool> {
        self.requeue_with_event(id, attempt).await
    }

    async fn resume_job(
        &self,
        id: &str,
        attempt: u32,
        runner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        self.resume_with_event(id, attempt, runner, now).await
    }

    async fn remove_pending(&self, id: &str) -> StoreResult<bool> {
        self.remove_pending_with_event(id).await
    }

    async fn request_cancel(&self, id: &str, level: CancelLevel) -> StoreResult<Option<u32>> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.job_key(id)))
            .update_expression("ADD cancel_requests :n")
            .condition_expression("#st = :running")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":n", n(level.requests()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        cancel_count_result(res.map(|out| out.attributes))
    }

    async fn heartbeat(
        &self,
        id: &str,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<u32>> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.job_key(id)))
            .update_expression("SET heartbeat_at = :now")
            .condition_expression("#st = :running AND attempt = :attempt")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":attempt", n(attempt))
            .expression_attribute_values(":now", items::time(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        cancel_count_result(res.map(|out| out.attributes))
    }

    async fn claim_job(
        &self,
        id: &str,
        attempt: u32,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.job_key(id)))
            .update_expression("SET runner = :to, heartbeat_at = :now")
            .condition_expression("#st = :running AND attempt = :attempt AND runner = :from")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":attempt", n(attempt))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":now", items::time(now))
            .send()
            .await;
        condition_result(res)
    }

    async fn prune_finished(&self, keep: usize) -> StoreResult<Vec<Job>> {
        let finished = self
            .query_all(
                Some(keys::GSI1),
                "GSI1PK = :pk",
                &[],
                vec![(":pk", s(keys::jobs_by_state(JobState::Finished)))],
                true,
                false,
            )
            .await?;
        let mut pruned = Vec::new();
        for item in finished.iter().skip(keep) {
            let id = get_s(item, "id")?;
            // Conditional, so a job that changed meanwhile (or was pruned by another
            // caller) is left alone; the deleted record is returned whole.
            let res = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(self.job_key(&id)))
                .condition_expression("#st = :finished")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":finished", s("finished"))
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            match res {
                Ok(out) => {
                    if let Some(old) = out.attributes.as_ref() {
                        pruned.push(job_from_item(old)?);
                    }
                }
                Err(e) if is_condition_failed(&e) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Ok(pruned)
    }
}

/// `Ok(true)` for a write that happened, `Ok(false)` for a failed condition.
/// The cancel count an update returned, `None` when its condition failed.
fn cancel_count_result<E, R>(
    res: Result<Option<Item>, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> StoreResult<Option<u32>>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match res {
        Ok(attributes) => cancel_count(attributes.as_ref()).map(Some),
        Err(e) if is_condition_failed(&e) => Ok(None),
        Err(e) => Err(sdk_error(e)),
    }
}

fn condition_result<O, E, R>(
    res: Result<O, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> StoreResult<bool>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(sdk_error(e)),
    }
}

fn cancel_count(attrs: Option<&Item>) -> StoreResult<u32> {
    match attrs {
        Some(a) => Ok(opt_n(a, "cancel_requests")?.unwrap_or(0)),
        None => Err(StoreError::Corrupt(
            "dynamodb: update returned no attributes".into(),
        )),
    }
}
