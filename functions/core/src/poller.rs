//! The poller: fires due cron schedules, reaps crawlers whose heartbeat stopped, and
//! starts pending jobs in global priority order within `max_proc` and the per-project
//! limit. Safe to run in several places at once: every step is a conditional update.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::checkpoints::BlobCheckpoints;
use crate::control::{Control, FanOut};
use crate::cron::CronSchedule;
use crate::events::{Event, EventKind};
use crate::model::{Job, JobState, Outcome, OverlapPolicy, Schedule};
use crate::ports::StoreError;
use trawl_engine::FinishReason;

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// Jobs created by schedules.
    pub fired: Vec<String>,
    /// Due schedule runs skipped (overlap, or missed during downtime).
    pub skipped: usize,
    /// Running jobs resumed from their checkpoint, marked failed or requeued because
    /// their heartbeat stopped.
    pub reaped: Vec<String>,
    /// Jobs started.
    pub started: Vec<String>,
    /// Crawlers asked to join jobs crawled over partitions (job id, crawlers).
    pub joined: Vec<(String, usize)>,
}

/// The id of the job a schedule fires for its run due at `due`: two pollers firing the
/// same run insert the same id, and only one insert can succeed.
pub fn scheduled_job_id(schedule_id: &str, due: DateTime<Utc>) -> String {
    format!("{schedule_id}-{}", due.format("%Y%m%dT%H%M%SZ"))
}

impl Control {
    /// One poll: schedules, reaping, dispatch.
    pub async fn poll_once(&self, runner_id: &str) -> Result<PollReport, StoreError> {
        let mut report = PollReport::default();
        self.fire_schedules(&mut report).await?;
        self.reap_stale(runner_id, &mut report).await?;
        self.scale_crawlers(&mut report).await?;
        self.dispatch_pending(runner_id, &mut report).await?;
        Ok(report)
    }

    async fn fire_schedules(&self, report: &mut PollReport) -> Result<(), StoreError> {
        let now = self.stores.clock.now();
        for s in self.stores.schedules.list_schedules(None).await? {
            let Some(due) = s.next_run.filter(|t| s.enabled && *t <= now) else {
                continue;
            };
            let next = match CronSchedule::parse(&s.cron, &s.timezone) {
                Ok(c) => c.next_after(now),
                Err(e) => {
                    tracing::error!(schedule = %s.id, "invalid cron, disabling: {e}");
                    None
                }
            };
            if now - due > self.cfg.schedule_grace {
                tracing::warn!(schedule = %s.id, %due, "missed run older than the grace period: skipped");
                let event = Event::schedule(EventKind::ScheduleMissed, &s, due, None, now);
                self.stores
                    .schedules
                    .advance_schedule(&s.id, due, next, None, Some(&event))
                    .await?;
                report.skipped += 1;
                continue;
            }
            if s.overlap == OverlapPolicy::Skip && self.previous_still_active(&s).await? {
                tracing::info!(schedule = %s.id, "previous run still active: skipped");
                let event = Event::schedule(EventKind::ScheduleSkipped, &s, due, None, now);
                self.stores
                    .schedules
                    .advance_schedule(&s.id, due, next, None, Some(&event))
                    .await?;
                report.skipped += 1;
                continue;
            }
            let job = self.job_for(&s, due, now);
            let inserted = match self.stores.jobs.insert_job(&job).await {
                Ok(()) => true,
                Err(StoreError::Conflict(_)) => false,
                Err(e) => return Err(e),
            };
            // Whoever inserted the job fired the run; either poller may move the
            // schedule on (the other's conditional update then fails harmlessly).
            let event = Event::schedule(EventKind::ScheduleFired, &s, due, Some(&job.id), now);
            self.stores
                .schedules
                .advance_schedule(&s.id, due, next, Some((now, job.id.clone())), Some(&event))
                .await?;
            if inserted {
                tracing::info!(schedule = %s.id, job = %job.id, "schedule fired");
                report.fired.push(job.id);
            }
        }
        Ok(())
    }

    async fn previous_still_active(&self, s: &Schedule) -> Result<bool, StoreError> {
        let Some(last) = &s.last_job else {
            return Ok(false);
        };
        Ok(self
            .stores
            .jobs
            .get_job(last)
            .await?
            .is_some_and(|j| j.state != JobState::Finished))
    }

    fn job_for(&self, s: &Schedule, due: DateTime<Utc>, now: DateTime<Utc>) -> Job {
        let mut job = Job::new(
            scheduled_job_id(&s.id, due),
            s.project.clone(),
            s.spider.clone(),
            now,
        );
        job.args = s.args.clone();
        job.settings = s.settings.clone();
        job.priority = s.priority;
        job.schedule_id = Some(s.id.clone());
        job
    }

    async fn reap_stale(&self, runner_id: &str, report: &mut PollReport) -> Result<(), StoreError> {
        let now = self.stores.clock.now();
        for job in self.stores.jobs.list_jobs(JobState::Running, None).await? {
            let last = job
                .heartbeat_at
                .or(job.started_at)
                .unwrap_or(job.created_at);
            if now - last <= self.cfg.heartbeat_timeout {
                continue;
            }
            if self
                .interrupt(&job, runner_id, "crawler stopped sending heartbeats")
                .await?
            {
                report.reaped.push(job.id);
            }
        }
        Ok(())
    }

    /// Deals with a running job whose crawler is gone. A job with a checkpoint of its
    /// own resumes from it as a new attempt dispatched by `runner_id` (unless
    /// `max_failed_segments` segments in a row died without writing one); any other is
    /// requeued, or finished as `failed` with whatever log and items it left.
    pub async fn interrupt(
        &self,
        job: &Job,
        runner_id: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let jobs = &self.stores.jobs;
        let ck = BlobCheckpoints::of(self.stores.blobs.clone(), job);
        // A job crawled over partitions continues from their checkpoints.
        let partitioned = self
            .stores
            .frontier
            .partitions(&job.id)
            .await
            .is_ok_and(|p| !p.is_empty());
        if self.cfg.resume_interrupted && partitioned {
            return self.resume_segment(job, runner_id, why).await;
        }
        if self.cfg.resume_interrupted {
            if let Some(written_by) = ck.attempt_of(job).await? {
                let failed = job.attempt.saturating_sub(written_by);
                if failed < self.cfg.max_failed_segments {
                    return self.resume_segment(job, runner_id, why).await;
                }
                tracing::error!(
                    job = %job.id,
                    "{why}: {failed} segment(s) in a row ended without a checkpoint: giving up"
                );
            }
        }
        if let Err(e) = ck.clear().await {
            tracing::warn!(job = %job.id, "cannot delete the job's checkpoint: {e}");
        }
        // Keep what the crawler flushed before it died.
        match self.stores.blobs.recover_feed(&job.items_key()).await {
            Ok(true) => tracing::info!(job = %job.id, "recovered the items of an interrupted job"),
            Ok(false) => {}
            Err(e) => tracing::error!(job = %job.id, "cannot recover the items: {e}"),
        }
        if self.cfg.requeue_interrupted {
            let ok = jobs.requeue_job(&job.id, job.attempt).await?;
            if ok {
                tracing::warn!(job = %job.id, "{why}: requeued");
            }
            return Ok(ok);
        }
        let outcome = Outcome::reason(FinishReason::Failed, Some(why.to_string()));
        let ok = jobs
            .finish_job(&job.id, job.attempt, &outcome, self.stores.clock.now())
            .await?;
        if ok {
            tracing::warn!(job = %job.id, "{why}: marked failed");
        }
        Ok(ok)
    }

    /// Continues a running job from its checkpoint as its next attempt, dispatched by
    /// `runner_id`; `false` if someone else resumed or ended it first.
    pub(crate) async fn resume_segment(
        &self,
        job: &Job,
        runner_id: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let now = self.stores.clock.now();
        let Some(resumed) = self
            .stores
            .jobs
            .resume_job(&job.id, job.attempt, runner_id, now)
            .await?
        else {
            return Ok(false);
        };
        tracing::warn!(
            job = %job.id,
            "{why}: resuming from its checkpoint as attempt {}", resumed.attempt
        );
        if let Err(e) = self.dispatcher.dispatch(&resumed).await {
            tracing::error!(job = %job.id, "dispatch failed: {e:#}");
            let outcome = Outcome::reason(
                FinishReason::Failed,
                Some(format!("dispatch failed: {e:#}")),
            );
            self.stores
                .jobs
                .finish_job(&job.id, resumed.attempt, &outcome, self.stores.clock.now())
                .await?;
        }
        Ok(true)
    }

    /// Starts crawlers for the running jobs crawled over partitions by crawlers of
    /// their own ([`FanOut::Dispatched`]): as many as partitions wait for one, up to the
    /// job's crawlers; one to close a job whose crawl is over (or cancelled) when no
    /// crawler holds a partition. A crawler beyond the job's `CONCURRENT_CRAWLERS`
    /// (when the spec, not the job, sets it) leaves at once.
    pub async fn scale_crawlers(&self, report: &mut PollReport) -> Result<(), StoreError> {
        if self.cfg.fan_out != FanOut::Dispatched {
            return Ok(());
        }
        let now = self.stores.clock.now();
        for job in self.stores.jobs.list_jobs(JobState::Running, None).await? {
            let summary = match self.stores.frontier.frontier_summary(&job.id, now).await {
                Ok(s) if s.partitions > 0 => s,
                Ok(_) => continue, // one crawler, or not seeded yet
                Err(e) => {
                    tracing::warn!(job = %job.id, "cannot read the job's frontier: {e}");
                    continue;
                }
            };
            let limit = self.crawler_limit(&job) as u64;
            let want = if job.cancel_requests > 0 || summary.is_done() {
                u64::from(summary.leased == 0)
            } else {
                summary.crawlers_wanted(limit)
            };
            for n in 0..want {
                if let Err(e) = self.dispatcher.dispatch_crawler(&job, n as u32).await {
                    tracing::error!(job = %job.id, "cannot start a crawler: {e:#}");
                    break;
                }
            }
            if want > 0 {
                tracing::info!(job = %job.id, waiting = summary.waiting, leased = summary.leased, "asked {want} crawler(s) to join");
                report.joined.push((job.id.clone(), want as usize));
            }
        }
        Ok(())
    }

    /// The most crawlers the poller starts for a job: its `CONCURRENT_CRAWLERS` job
    /// setting, else `max_crawlers_per_job` (the crawlers themselves keep to a value
    /// the spider sets); never more than `max_proc`.
    fn crawler_limit(&self, job: &Job) -> usize {
        let cap = self
            .cfg
            .max_crawlers_per_job
            .clamp(1, crate::frontier::MAX_CRAWLERS);
        self.crawlers_asked(job, cap)
    }

    /// The `max_proc` slots a job takes: its crawlers (`CONCURRENT_CRAWLERS` given as a
    /// job setting, capped by `max_crawlers_per_job` and `max_proc`); one otherwise.
    fn slots_of(&self, job: &Job) -> usize {
        self.crawlers_asked(job, 1)
    }

    /// The job setting `CONCURRENT_CRAWLERS` (`unset` without it), capped by
    /// `max_crawlers_per_job` (and [`crate::frontier::MAX_CRAWLERS`]) and `max_proc`.
    fn crawlers_asked(&self, job: &Job, unset: usize) -> usize {
        let cap = self
            .cfg
            .max_crawlers_per_job
            .clamp(1, crate::frontier::MAX_CRAWLERS);
        job.settings
            .get("CONCURRENT_CRAWLERS")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(unset)
            .clamp(1, cap)
            .min(self.cfg.max_proc.max(1))
    }

    async fn dispatch_pending(
        &self,
        runner_id: &str,
        report: &mut PollReport,
    ) -> Result<(), StoreError> {
        let running = self.stores.jobs.list_jobs(JobState::Running, None).await?;
        // max_proc counts crawlers: a job crawled by N crawlers takes N slots.
        let mut total: usize = running.iter().map(|j| self.slots_of(j)).sum();
        if total >= self.cfg.max_proc {
            return Ok(());
        }
        let mut per_project: HashMap<String, usize> = HashMap::new();
        for j in &running {
            *per_project.entry(j.project.clone()).or_default() += 1;
        }
        let per_project_max = match self.cfg.max_proc_per_project {
            0 => usize::MAX,
            n => n,
        };
        // Read only as much of the queue as the free slots can take; read further only
        // when jobs of projects at their limit had to be passed over.
        let mut want = self.cfg.max_proc - total;
        let mut tried = std::collections::HashSet::new();
        loop {
            let head = self.stores.jobs.head_jobs(JobState::Pending, want).await?;
            let exhausted = head.len() < want;
            for job in head {
                if total >= self.cfg.max_proc {
                    return Ok(());
                }
                if !tried.insert(job.id.clone()) {
                    continue;
                }
                let slots = self.slots_of(&job);
                if total > 0 && total + slots > self.cfg.max_proc {
                    continue;
                }
                if self
                    .try_start(job, runner_id, &mut per_project, per_project_max, report)
                    .await?
                {
                    total += slots;
                }
            }
            if exhausted || total >= self.cfg.max_proc {
                return Ok(());
            }
            want = tried.len() + (self.cfg.max_proc - total) * 2;
        }
    }

    /// Starts and dispatches one pending job unless its project is at its limit (or
    /// another poller took it); `true` if it now runs here.
    async fn try_start(
        &self,
        job: Job,
        runner_id: &str,
        per_project: &mut HashMap<String, usize>,
        per_project_max: usize,
        report: &mut PollReport,
    ) -> Result<bool, StoreError> {
        let count = per_project.entry(job.project.clone()).or_default();
        if *count >= per_project_max {
            return Ok(false);
        }
        let now = self.stores.clock.now();
        let Some(started) = self.stores.jobs.start_job(&job.id, runner_id, now).await? else {
            return Ok(false); // another poller took it, or it was cancelled
        };
        *count += 1;
        if let Err(e) = self.dispatcher.dispatch(&started).await {
            tracing::error!(job = %started.id, "dispatch failed: {e:#}");
            let outcome = Outcome::reason(
                FinishReason::Failed,
                Some(format!("dispatch failed: {e:#}")),
            );
            self.stores
                .jobs
                .finish_job(
                    &started.id,
                    started.attempt,
                    &outcome,
                    self.stores.clock.now(),
                )
                .await?;
            // The slot is free again.
            *count -= 1;
            return Ok(false);
        }
        report.started.push(started.id);
        Ok(true)
    }

    /// After a restart: every job still marked running lost its crawler (or was paused
    /// at a checkpoint by the shutdown); `runner_id` dispatches those that resume.
    pub async fn recover_interrupted(&self, runner_id: &str) -> Result<usize, StoreError> {
        let mut n = 0;
        for job in self.stores.jobs.list_jobs(JobState::Running, None).await? {
            if self
                .interrupt(
                    &job,
                    runner_id,
                    "the server stopped while the job was running",
                )
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Drops finished jobs beyond `finished_to_keep`, with their logs and items.
    pub async fn prune(&self) -> Result<usize, StoreError> {
        let pruned = self
            .stores
            .jobs
            .prune_finished(self.cfg.finished_to_keep)
            .await?;
        for job in &pruned {
            self.stores.blobs.delete(&job.log_key()).await?;
            self.stores.blobs.delete(&job.items_key()).await?;
            BlobCheckpoints::of(self.stores.blobs.clone(), job)
                .clear()
                .await?;
        }
        Ok(pruned.len())
    }
}
