//! A crawler joining a job crawled over partitions by crawlers in processes of their
//! own ([`FanOut::Dispatched`](crate::control::FanOut::Dispatched), the crawler
//! functions on AWS). The job's first crawler seeds the frontier and hands over; the
//! poller ([`Control::scale_crawlers`]) and the crawlers themselves
//! ([`PartitionedRun::scale`]) send a join message per partition waiting for a crawler; each joined crawler crawls partitions until none is
//! free for a while or its deadline nears, and the one that proves the crawl over (or
//! finds every crawler stopped after a cancel) closes the job: one feed, summed stats,
//! the crawlers' logs merged, the outcome recorded.

use std::sync::Arc;

use tracing::Instrument;
use trawl_engine::{CrawlOutcome, FinishReason};

use super::PartitionedRun;
use crate::control::Control;
use crate::joblog::{merge_logs, JOB_SPAN};
use crate::model::{CancelLevel, Dispatch, Job, JobState};
use crate::ports::StoreResult;
use crate::runner::{ended, LogTarget, RunResult, RunnerConfig, Skip};

/// Where a joined crawler writes its log while it crawls: beside the job's log, merged
/// into it when the job closes.
fn log_part_key(job: &Job, me: &str) -> String {
    format!("{}.parts/{}.log", job.log_key(), super::run::safe(me))
}

impl Control {
    /// Takes part, as crawler `me`, in the crawl of the job a join message names (see
    /// the module docs). Never claims the job: any number of crawlers join it.
    pub(crate) async fn join_job(
        &self,
        dispatch: &Dispatch,
        me: &str,
        cfg: &RunnerConfig,
    ) -> StoreResult<RunResult> {
        let Some(job) = self.stores.jobs.get_job(&dispatch.job_id).await? else {
            return Ok(RunResult::Skipped(Skip::UnknownJob));
        };
        if job.state != JobState::Running || job.attempt != dispatch.attempt {
            return Ok(RunResult::Skipped(Skip::NotThisAttempt));
        }
        let now = self.stores.clock.now();
        let Some(cancels) = self
            .stores
            .jobs
            .heartbeat(&job.id, job.attempt, now)
            .await?
        else {
            return Ok(RunResult::Skipped(Skip::NotThisAttempt));
        };
        // The crawler's own log, keyed apart from the job's (crawlers of one job may
        // share a process).
        let log_id = format!("{}#{me}", job.id);
        let span = tracing::info_span!(JOB_SPAN, id = %log_id, crawler = %me);
        let log = LogTarget::open_at(self, &job, log_part_key(&job, me), &log_id).await;
        let joined = self
            .crawl_joined(&job, me, cfg, cancels)
            .instrument(span.clone())
            .await;
        match joined {
            Ok(None) => {
                log.finish(self).await;
                Ok(RunResult::Continues)
            }
            Ok(Some((run, outcome))) => {
                let mut outcome = ended(&job, outcome);
                log.finish(self).await;
                let blobs = self.stores.blobs.as_ref();
                match merge_logs(blobs, &job.log_key()).await {
                    Ok(counts) => {
                        for (k, n) in counts {
                            outcome.stats.insert(k, n.into());
                        }
                    }
                    Err(e) => {
                        tracing::error!(job = %job.id, "cannot merge the crawlers' logs: {e}")
                    }
                }
                let (result, recorded) = self.record(&job, outcome).await;
                if recorded {
                    run.cleanup().await;
                }
                Ok(result)
            }
            Err(e) => {
                span.in_scope(|| {
                    tracing::error!("crawler failed: {e:#}; its partitions go to other crawlers when their leases lapse")
                });
                log.finish(self).await;
                Ok(RunResult::Continues)
            }
        }
    }

    async fn crawl_joined(
        &self,
        job: &Job,
        me: &str,
        cfg: &RunnerConfig,
        cancels: u32,
    ) -> anyhow::Result<Option<(Arc<PartitionedRun>, CrawlOutcome)>> {
        let loaded = self.load_spider(job).await?;
        let crawlers = self.crawlers_of(&loaded.effective)?;
        let run = PartitionedRun::new(self, job.clone(), &loaded, cfg, crawlers)?;
        if let Some(level) = CancelLevel::from_requests(cancels) {
            run.cancels_seen(cancels);
            run.stop(FinishReason::Cancelled, level == CancelLevel::Forced);
        }
        tracing::info!("Crawler {me} joins the crawl");
        let closed = run.join(me, false).await;
        if let Some(p) = loaded.incremental {
            let n = p
                .save(self.stores.history.as_ref(), &job.project, &job.spider)
                .await?;
            tracing::info!("Incremental crawl: {n} new item(s) recorded");
        }
        Ok(closed?.map(|o| (run, o)))
    }
}
