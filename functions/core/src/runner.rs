//! The crawler side: runs one started job to its end — loads the spider from the
//! version's bundle or the control plane's registry ([`crate::spiders`]), runs the
//! engine with the job's settings, streams items to the blob store, writes the job's
//! log, heartbeats (learning of cancels), and records the outcome.
//!
//! Job logs are written by [`crate::joblog::JobLogLayer`], which the process must install
//! in its global `tracing` subscriber (`trawl serve` and the crawler function do).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tracing::Instrument;
use trawl_engine::checkpoint;
use trawl_engine::engine::sleep_until_opt;
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, UriParams};
use trawl_engine::workers::WorkerPool;
use trawl_engine::{CrawlBuilder, CrawlHandle, CrawlOutcome, DestinationPolicy, FinishReason};

use crate::checkpoints::{created, BlobCheckpoints, ATTEMPT_LABEL, CREATED_LABEL};
use crate::control::Control;
use crate::incremental::SkipSeenItems;
use crate::joblog::{job_logs, level_from_scrapy, JOB_SPAN};
use crate::model::{CancelLevel, Dispatch, Job, JobState, Outcome};
use crate::ports::{BlobStore, StoreResult};
use crate::spiders::{job_settings, JobSpider, SpiderSource};

/// What a runner did with a dispatched job.
#[derive(Debug, Clone, PartialEq)]
pub enum RunResult {
    /// The job ran and ended with this outcome (recorded in the job store).
    Ran(Outcome),
    /// The job stopped at a checkpoint with work left (the process is going away, or
    /// the crawler's deadline is near): it stays running, and continues from the
    /// checkpoint in a new segment ([`Control::continue_job`], or the reaper).
    Paused,
    /// This crawler's part of a job crawled over partitions by crawlers of their own
    /// ([`crate::control::FanOut::Dispatched`]) is over; the job goes on in the other
    /// crawlers, and the one that closes it records its outcome.
    Continues,
    /// Nothing ran: the message was not, or no longer, this runner's to act on.
    Skipped(Skip),
}

/// Why a dispatched job was not run (each means the message is done with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No such job (deleted since).
    UnknownJob,
    /// The job is not running with the message's attempt: it already ran, or was
    /// cancelled, reaped or requeued.
    NotThisAttempt,
    /// Another runner claimed the job first (a redelivered message).
    Claimed,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skip::UnknownJob => "unknown job",
            Skip::NotThisAttempt => "job not running with this attempt: already handled",
            Skip::Claimed => "job already taken by another runner",
        })
    }
}

/// A running job, for its dispatcher to stop: its crawl, or the partition crawls of a
/// job crawled by several crawlers.
#[derive(Clone)]
pub enum JobHandle {
    /// One crawl.
    Crawl(CrawlHandle),
    /// A job over several crawlers.
    Partitioned(Arc<crate::frontier::PartitionedRun>),
}

impl JobHandle {
    /// Stops at a checkpoint with the work left: the job resumes at the next start.
    pub fn pause(&self) {
        match self {
            JobHandle::Crawl(h) => h.pause(),
            JobHandle::Partitioned(r) => r.pause(),
        }
    }

    /// Stops gracefully (in-flight requests finish) with `reason`.
    pub fn stop(&self, reason: FinishReason) {
        match self {
            JobHandle::Crawl(h) => h.stop(reason),
            JobHandle::Partitioned(r) => r.stop(reason, false),
        }
    }

    /// Stops at once with `reason`.
    pub fn kill(&self, reason: FinishReason) {
        match self {
            JobHandle::Crawl(h) => h.kill(reason),
            JobHandle::Partitioned(r) => r.stop(reason, true),
        }
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        match self {
            JobHandle::Crawl(h) => h.is_stopping(),
            JobHandle::Partitioned(r) => r.is_stopping(),
        }
    }
}

/// How a crawler runs jobs.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Heartbeat (and cancel check) period.
    pub heartbeat_every: Duration,
    /// How often a log kept in a remote blob store is uploaded while the job runs.
    pub log_upload_every: Duration,
    /// Pause at a checkpoint at this instant (a Lambda deadline): the job continues in
    /// a new segment ([`RunResult::Paused`]).
    pub deadline: Option<tokio::time::Instant>,
    /// The callback thread pool, shared by every job of the process.
    pub pool: Arc<WorkerPool>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            heartbeat_every: Duration::from_secs(5),
            log_upload_every: Duration::from_secs(10),
            deadline: None,
            pool: Arc::new(WorkerPool::per_core()),
        }
    }
}

impl Control {
    /// Takes a job from the dispatcher that sent `dispatch` and runs it: the crawl
    /// queue's consumer in one call. The job must exist, be running with the message's
    /// attempt and still be held by its dispatcher; the claim (a conditional write) makes
    /// `me` its runner, so a redelivered message finds it taken and runs nothing.
    ///
    /// A store error is returned before anything ran: the caller leaves the message
    /// for redelivery ([`StoreError::is_retryable`] tells whether a retry may help).
    pub async fn claim_and_run(
        &self,
        dispatch: &Dispatch,
        me: &str,
        cfg: &RunnerConfig,
    ) -> StoreResult<RunResult> {
        if dispatch.crawler.is_some() {
            return self.join_job(dispatch, me, cfg).await;
        }
        let Some(mut job) = self.stores.jobs.get_job(&dispatch.job_id).await? else {
            return Ok(RunResult::Skipped(Skip::UnknownJob));
        };
        if job.state != JobState::Running || job.attempt != dispatch.attempt {
            return Ok(RunResult::Skipped(Skip::NotThisAttempt));
        }
        let from = dispatch.runner.as_deref().unwrap_or_default();
        let now = self.stores.clock.now();
        if !self
            .stores
            .jobs
            .claim_job(&job.id, job.attempt, from, me, now)
            .await?
        {
            return Ok(RunResult::Skipped(Skip::Claimed));
        }
        job.runner = Some(me.to_string());
        let result = self.run_job(job.clone(), cfg, |_| {}).await?;
        if result == RunResult::Paused {
            // The next segment: a new attempt, dispatched by this crawler and claimed from
            // it by the next one (a redelivered message then finds it taken).
            self.resume_segment(&job, me, "the crawler's time limit is near")
                .await?;
        }
        Ok(result)
    }

    /// Runs a job that [`Control::poll_once`] started (state running, this attempt), and
    /// records its outcome. `on_start` receives the crawl's handle (for immediate
    /// cancels). Returns the outcome, or [`Skip::NotThisAttempt`] if the job was not
    /// this runner's to run (a redelivered message for a job that already ran).
    pub async fn run_job(
        &self,
        job: Job,
        cfg: &RunnerConfig,
        on_start: impl FnOnce(JobHandle) + Send,
    ) -> StoreResult<RunResult> {
        // Only the attempt that was started may run: a heartbeat on another attempt, or
        // on a job that is no longer running, says no.
        let now = self.stores.clock.now();
        if self
            .stores
            .jobs
            .heartbeat(&job.id, job.attempt, now)
            .await?
            .is_none()
        {
            return Ok(RunResult::Skipped(Skip::NotThisAttempt));
        }
        let span = tracing::info_span!(JOB_SPAN, id = %job.id);
        let log = LogTarget::open(self, &job).await;
        let upload = log.temp.clone().map(|p| (log.key.clone(), p));
        let outcome = self
            .run_crawl(&job, cfg, upload, on_start)
            .instrument(span.clone())
            .await;
        let outcome = match outcome {
            Ok(Crawled::Continues) => {
                log.finish(self).await;
                self.kicker.kick();
                return Ok(RunResult::Continues);
            }
            Ok(Crawled::Ended(o)) if o.resumable && o.finish_reason == FinishReason::Shutdown => {
                let _entered = span.enter();
                tracing::info!("Paused at a checkpoint: the job continues in a new segment");
                drop(_entered);
                log.finish(self).await;
                return Ok(RunResult::Paused);
            }
            Ok(Crawled::Ended(o)) => ended(&job, o),
            Err(e) => {
                let _entered = span.enter();
                tracing::error!("job failed: {e:#}");
                Outcome::reason(FinishReason::Failed, Some(format!("{e:#}")))
            }
        };
        log.finish(self).await;
        Ok(self.record(&job, outcome).await.0)
    }

    /// Records a job's outcome, deletes its checkpoint, wakes the poller; and whether
    /// the outcome was recorded (false: the job no longer ran this attempt).
    pub(crate) async fn record(&self, job: &Job, outcome: Outcome) -> (RunResult, bool) {
        let now = self.stores.clock.now();
        let recorded = self
            .stores
            .jobs
            .finish_job(&job.id, job.attempt, &outcome, now)
            .await;
        let done = matches!(recorded, Ok(true));
        match recorded {
            Ok(true) => {
                let ck = BlobCheckpoints::of(self.stores.blobs.clone(), job);
                if let Err(e) = ck.clear().await {
                    tracing::warn!(job = %job.id, "cannot delete the job's checkpoint: {e}");
                }
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "job was no longer running when it ended (reaped?)")
            }
            Err(e) => tracing::error!(job = %job.id, "cannot record the outcome: {e}"),
        }
        self.kicker.kick();
        (RunResult::Ran(outcome), done)
    }

    async fn run_crawl(
        &self,
        job: &Job,
        cfg: &RunnerConfig,
        log_upload: Option<(String, PathBuf)>,
        on_start: impl FnOnce(JobHandle) + Send,
    ) -> anyhow::Result<Crawled> {
        let loaded = self.load_spider(job).await?;

        // A job may be crawled by several crawlers, partition by partition.
        let crawlers = self.crawlers_of(&loaded.effective)?;
        if crawlers > 1 {
            let run =
                crate::frontier::PartitionedRun::new(self, job.clone(), &loaded, cfg, crawlers)?;
            if self.config().fan_out == crate::control::FanOut::Dispatched {
                // The crawlers run in processes of their own, started by the poller
                // while partitions wait: this one seeds the frontier and hands over.
                if run.seed().await? == 0 {
                    // No start request: nothing for other crawlers; close it here.
                    tracing::info!("No start request: the job is over");
                    if let Some(outcome) = run
                        .join(job.runner.as_deref().unwrap_or("first"), true)
                        .await?
                    {
                        run.cleanup().await;
                        return Ok(Crawled::Ended(outcome));
                    }
                    return Ok(Crawled::Continues);
                }
                run.scale(true).await;
                tracing::info!(
                    "Crawling over partitions with up to {crawlers} crawlers, started as partitions wait"
                );
                return Ok(Crawled::Continues);
            }
            on_start(JobHandle::Partitioned(run.clone()));
            let outcome = run.run(crawlers).await?;
            if let Some(p) = loaded.incremental {
                let n = p
                    .save(self.stores.history.as_ref(), &job.project, &job.spider)
                    .await?;
                tracing::info!("Incremental crawl: {n} new item(s) recorded");
            }
            return Ok(Crawled::Ended(outcome));
        }

        let Loaded {
            spider,
            incremental,
            ..
        } = loaded;
        // A served job reaches public addresses only, plus the ranges the operator allowed.
        let destinations = DestinationPolicy::public_only()
            .allow_ranges(self.config().allowed_destinations.clone());
        let builder =
            CrawlBuilder::new(spider, job_settings(&job.settings)).destinations(destinations);
        let interval = builder.settings().get_duration("CHECKPOINT_INTERVAL")?;
        crate::policy::check_checkpoint_interval(Some(interval.as_secs_f64()))?;
        let blobs = &self.stores.blobs;
        let mut feeds = FeedConfig::from_settings(builder.settings())?;
        let mut items = FeedConfig::new(&blobs.feed_uri(&job.items_key()), FeedFormat::JsonLines);
        items.overwrite = true;
        feeds.push(items);
        // A job resumes from its own checkpoint, if a previous segment left one.
        let ck = Arc::new(BlobCheckpoints::of(blobs.clone(), job));
        let resume = match ck.attempt_of(job).await? {
            Some(_) => checkpoint::load(ck.as_ref()).await?,
            None => None,
        };
        let params = UriParams::new(&job.spider).with("job", job.id.clone());
        let sink = Arc::new(match &resume {
            Some(r) => FeedSink::resume(feeds, &blobs.feed_storages(), params, r.snapshot.sink(0))?,
            None => FeedSink::new(feeds, &blobs.feed_storages(), params)?,
        });
        let builder = builder
            .checkpoints(ck)
            .checkpoint_label(ATTEMPT_LABEL, job.attempt)
            .checkpoint_label(CREATED_LABEL, created(job));
        let builder = match resume {
            Some(r) => builder.resume_from(r),
            None => builder,
        };
        let builder = match &incremental {
            Some(p) => builder.pipeline(p.clone()),
            None => builder,
        };
        let crawl = builder
            .sink(sink.clone())
            .worker_pool(cfg.pool.clone())
            .build()?;
        let handle = crawl.handle();
        job_logs().attach_stats(&job.id, handle.stats().clone());
        on_start(JobHandle::Crawl(handle.clone()));

        let watcher = tokio::spawn(
            watch_job(
                self.stores.clone(),
                job.clone(),
                handle,
                cfg.clone(),
                log_upload,
                sink,
            )
            .instrument(tracing::Span::current()),
        );
        let outcome = crawl.run().await;
        watcher.abort();
        if let Some(p) = incremental {
            // Whatever was emitted counts as seen, even when the crawl was cut short.
            let n = p
                .save(self.stores.history.as_ref(), &job.project, &job.spider)
                .await?;
            tracing::info!("Incremental crawl: {n} new item(s) recorded");
        }
        Ok(Crawled::Ended(outcome))
    }

    /// The job's spider (from its version's bundle or the registry, logged), the
    /// incremental pipeline of a spec with `incremental = true`, and the effective
    /// settings (the job's over the spider's).
    pub(crate) async fn load_spider(&self, job: &Job) -> anyhow::Result<Loaded> {
        let JobSpider {
            version,
            spider,
            source,
        } = self
            .job_spider(
                &job.project,
                job.version.as_deref(),
                &job.spider,
                &job.args,
                &job.settings,
            )
            .await
            .with_context(|| format!("cannot load spider '{}'", job.spider))?;
        let incremental = if source == (SpiderSource::Bundle { incremental: true }) {
            let history = self.stores.history.as_ref();
            Some(SkipSeenItems::load(history, &job.project, &job.spider).await?)
        } else {
            None
        };
        tracing::info!(
            project = %job.project, spider = %job.spider, version = %version.version,
            rust = source == SpiderSource::Registry,
            "Starting job {} (attempt {})", job.id, job.attempt
        );
        let mut effective = job_settings(&job.settings);
        effective.set_all(
            &spider.custom_settings(),
            trawl_engine::settings::Priority::Spider,
        );
        Ok(Loaded {
            spider,
            incremental,
            effective,
        })
    }

    /// A job's `CONCURRENT_CRAWLERS` from its effective settings, capped by
    /// `max_crawlers_per_job` and [`crate::frontier::MAX_CRAWLERS`].
    pub(crate) fn crawlers_of(&self, effective: &trawl_engine::Settings) -> anyhow::Result<usize> {
        Ok(effective.get_usize("CONCURRENT_CRAWLERS")?.clamp(
            1,
            self.config()
                .max_crawlers_per_job
                .clamp(1, crate::frontier::MAX_CRAWLERS),
        ))
    }
}

/// A job's spider, loaded ([`Control::load_spider`]).
pub(crate) struct Loaded {
    /// The spider.
    pub spider: Arc<dyn trawl_engine::Spider>,
    /// The pipeline dropping items earlier runs emitted (`incremental = true`).
    pub incremental: Option<Arc<SkipSeenItems>>,
    /// The job's settings over the spider's.
    pub effective: trawl_engine::Settings,
}

/// How a job's crawl in this process ended.
pub(crate) enum Crawled {
    /// The job's crawl is over.
    Ended(CrawlOutcome),
    /// The job goes on in other crawlers.
    Continues,
}

/// The outcome of an ended crawl, with the job log's counts in its stats.
pub(crate) fn ended(job: &Job, o: CrawlOutcome) -> Outcome {
    let mut stats = o.stats;
    for (k, n) in job_logs().counts(&job.id) {
        stats.insert(k, n.into());
    }
    Outcome {
        finish_reason: o.finish_reason,
        stats,
        error: None,
    }
}

/// Heartbeats; flushes items and log; turns cancel requests and the deadline into stops.
async fn watch_job(
    stores: crate::ports::Stores,
    job: Job,
    handle: CrawlHandle,
    cfg: RunnerConfig,
    log_upload: Option<(String, PathBuf)>,
    sink: Arc<FeedSink>,
) {
    let mut tick = tokio::time::interval(cfg.heartbeat_every);
    // Upload the log at the first heartbeat, then every `log_upload_every`.
    let mut last_upload = tokio::time::Instant::now() - cfg.log_upload_every;
    let mut acted_on = 0;
    let mut deadline_hit = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = sleep_until_opt(cfg.deadline), if !deadline_hit => {
                deadline_hit = true;
                tracing::info!("Approaching the crawler's time limit: pausing at a checkpoint");
                handle.pause();
                continue;
            }
        }
        // A crash loses nothing older than one heartbeat: items and log reach the disk.
        sink.flush_async().await;
        job_logs().flush(&job.id);
        if let Some((key, path)) = &log_upload {
            if last_upload.elapsed() >= cfg.log_upload_every {
                last_upload = tokio::time::Instant::now();
                upload_log(stores.blobs.as_ref(), key, path).await;
            }
        }
        match stores
            .jobs
            .heartbeat(&job.id, job.attempt, stores.clock.now())
            .await
        {
            Ok(Some(n)) if n > acted_on => {
                acted_on = n;
                if let Some(level) = CancelLevel::from_requests(n) {
                    apply_cancel(&JobHandle::Crawl(handle.clone()), level);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::error!("The job is no longer running (reaped): stopping now");
                handle.kill(FinishReason::Shutdown);
            }
            Err(e) => tracing::warn!("heartbeat failed: {e}"),
        }
    }
}

/// Applies a cancel request to a running crawl. Applying the same graceful level
/// twice (the dispatcher's notice, then the heartbeat's count) stops gracefully once:
/// only [`CancelLevel::Forced`] abandons in-flight requests.
pub fn apply_cancel(handle: &JobHandle, level: CancelLevel) {
    match level {
        CancelLevel::Forced => {
            tracing::warn!("Cancelled again: stopping now");
            handle.kill(FinishReason::Cancelled);
        }
        CancelLevel::Graceful if handle.is_stopping() => {}
        CancelLevel::Graceful => {
            tracing::info!("Cancelled: finishing in-flight requests");
            handle.stop(FinishReason::Cancelled);
        }
    }
}

/// Where a job's log goes: straight into the blob store's file, or a temporary file that
/// is uploaded at the end (and periodically, by [`upload_log`]).
pub(crate) struct LogTarget {
    job_id: String,
    key: String,
    temp: Option<PathBuf>,
}

impl LogTarget {
    /// Opens the job's log for appending. A log kept remotely continues from what
    /// earlier segments of the job uploaded (one log across segments).
    async fn open(control: &Control, job: &Job) -> Self {
        Self::open_at(control, job, job.log_key(), &job.id).await
    }

    /// Opens a log of the job at `key` for the events of spans whose `id` is `log_id`
    /// (a crawler's part of a job crawled over partitions: its own id, so that crawlers
    /// of one job in one process keep apart).
    pub(crate) async fn open_at(control: &Control, job: &Job, key: String, log_id: &str) -> Self {
        let (path, temp) = match control.stores.blobs.local_path(&key) {
            Some(p) => (p, None),
            None => {
                let p = std::env::temp_dir().join(format!("trawl-{}", key.replace('/', "_")));
                let earlier = match control.stores.blobs.get(&key).await {
                    Ok(b) => b.unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!(job = %job.id, "cannot read the job's earlier log: {e}");
                        Bytes::new()
                    }
                };
                if let Err(e) = tokio::fs::write(&p, &earlier).await {
                    tracing::error!(job = %job.id, "cannot write {}: {e}", p.display());
                }
                (p.clone(), Some(p))
            }
        };
        let level = job
            .settings
            .get("LOG_LEVEL")
            .map(|l| level_from_scrapy(l))
            .unwrap_or(tracing::Level::INFO);
        if let Err(e) = job_logs().open(log_id, &path, level) {
            tracing::error!(job = %job.id, "cannot open the job log {}: {e}", path.display());
        }
        LogTarget {
            job_id: log_id.to_string(),
            key,
            temp,
        }
    }

    pub(crate) async fn finish(self, control: &Control) {
        job_logs().close(&self.job_id);
        if let Some(temp) = &self.temp {
            upload_log(control.stores.blobs.as_ref(), &self.key, temp).await;
            let _ = tokio::fs::remove_file(temp).await;
        }
    }
}

/// Uploads a log kept in a temporary file to the blob store.
pub async fn upload_log(blobs: &dyn BlobStore, key: &str, path: &std::path::Path) {
    match tokio::fs::read(path).await {
        Ok(data) => {
            if let Err(e) = blobs.put(key, Bytes::from(data)).await {
                tracing::error!(key, "cannot upload the job log: {e}");
            }
        }
        Err(e) => tracing::error!(key, "cannot read the job log: {e}"),
    }
}
