//! The crawler side: runs one started job to its end — loads the spider from the
//! version's bundle, runs the engine with the job's settings, streams items to the blob
//! store, writes the job's log, heartbeats (learning of cancels), and records the outcome.
//!
//! Job logs are written by [`crate::joblog::JobLogLayer`], which the process must install
//! in its global `tracing` subscriber (`trawl serve` and the crawler function do).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tracing::Instrument;
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, UriParams};
use trawl_engine::settings::Priority;
use trawl_engine::workers::WorkerPool;
use trawl_engine::{CrawlBuilder, CrawlHandle, CrawlOutcome, Settings};

use crate::control::Control;
use crate::incremental::SkipSeenItems;
use crate::joblog::{job_logs, level_from_scrapy, JOB_SPAN};
use crate::model::{Job, Outcome};
use crate::ports::BlobStore;

/// How a crawler runs jobs.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Heartbeat (and cancel check) period.
    pub heartbeat_every: Duration,
    /// How often a log kept in a remote blob store is uploaded while the job runs.
    pub log_upload_every: Duration,
    /// Stop gracefully (finish reason `timeout`) at this instant (a Lambda deadline).
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
    /// Runs a job that [`Control::poll_once`] started (state running, this attempt), and
    /// records its outcome. `on_start` receives the crawl's handle (for immediate
    /// cancels). Returns the outcome, or `None` if the job was not this runner's to run
    /// (a redelivered message for a job that already ran).
    pub async fn run_job(
        &self,
        job: Job,
        cfg: &RunnerConfig,
        on_start: impl FnOnce(CrawlHandle) + Send,
    ) -> Option<Outcome> {
        // Only the attempt that was started may run: a heartbeat on another attempt, or
        // on a job that is no longer running, says no.
        let now = self.stores.clock.now();
        match self.stores.jobs.heartbeat(&job.id, job.attempt, now).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::warn!(job = %job.id, attempt = job.attempt, "job is not running with this attempt: not run again");
                return None;
            }
            Err(e) => {
                tracing::error!(job = %job.id, "cannot read the job: {e}");
                return None;
            }
        }
        let span = tracing::info_span!(JOB_SPAN, id = %job.id);
        let log = LogTarget::open(self, &job);
        let upload = log.temp.clone().map(|p| (log.key.clone(), p));
        let outcome = self
            .run_crawl(&job, cfg, upload, on_start)
            .instrument(span.clone())
            .await;
        let outcome = match outcome {
            Ok(o) => {
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
            Err(e) => {
                let _entered = span.enter();
                tracing::error!("job failed: {e:#}");
                Outcome::reason("failed", Some(format!("{e:#}")))
            }
        };
        log.finish(self).await;
        let now = self.stores.clock.now();
        match self
            .stores
            .jobs
            .finish_job(&job.id, job.attempt, &outcome, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, "job was no longer running when it ended (reaped?)")
            }
            Err(e) => tracing::error!(job = %job.id, "cannot record the outcome: {e}"),
        }
        self.kicker.kick();
        Some(outcome)
    }

    async fn run_crawl(
        &self,
        job: &Job,
        cfg: &RunnerConfig,
        log_upload: Option<(String, PathBuf)>,
        on_start: impl FnOnce(CrawlHandle) + Send,
    ) -> anyhow::Result<CrawlOutcome> {
        let version = self
            .resolve_version(&job.project, job.version.as_deref())
            .await?;
        let bundle = self.bundle(&version).await?;
        let spec = bundle.get(&job.spider).with_context(|| {
            format!(
                "spider '{}' not found in version {}",
                job.spider, version.version
            )
        })?;
        let args: Vec<(String, String)> = job.args.clone().into_iter().collect();
        let spider = Arc::new(spec.spider(&args)?);
        let incremental = if spider.spec().incremental {
            let history = self.stores.history.as_ref();
            Some(SkipSeenItems::load(history, &job.project, &job.spider).await?)
        } else {
            None
        };
        tracing::info!(
            project = %job.project, spider = %job.spider, version = %version.version,
            "Starting job {} (attempt {})", job.id, job.attempt
        );

        let mut settings = Settings::new();
        for (k, v) in &job.settings {
            settings.set(k, v.clone(), Priority::Cmdline);
        }
        let builder = CrawlBuilder::new(spider, settings);
        let blobs = &self.stores.blobs;
        let mut feeds = FeedConfig::from_settings(builder.settings())?;
        let mut items = FeedConfig::new(&blobs.feed_uri(&job.items_key()), FeedFormat::JsonLines);
        items.overwrite = true;
        feeds.push(items);
        let sink = Arc::new(FeedSink::new(
            feeds,
            &blobs.feed_storages(),
            UriParams::new(&job.spider).with("job", job.id.clone()),
        )?);
        let builder = match &incremental {
            Some(p) => builder.pipeline(p.clone()),
            None => builder,
        };
        let crawl = builder
            .sink(sink.clone())
            .worker_pool(cfg.pool.clone())
            .build()?;
        let handle = crawl.handle();
        on_start(handle.clone());

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
        Ok(outcome)
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
                tracing::warn!("Approaching the crawler's time limit: stopping gracefully");
                handle.stop("timeout");
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
                apply_cancel(&handle, n);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::error!("The job is no longer running (reaped): stopping now");
                handle.kill("shutdown");
            }
            Err(e) => tracing::warn!("heartbeat failed: {e}"),
        }
    }
}

/// Applies the `n`-th cancel request to a running crawl: 1 stops gracefully, 2+ at once.
pub fn apply_cancel(handle: &CrawlHandle, n: u32) {
    if n >= 2 {
        tracing::warn!("Cancelled again: stopping now");
        handle.kill("cancelled");
    } else {
        tracing::info!("Cancelled: finishing in-flight requests");
        handle.stop("cancelled");
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Where a job's log goes: straight into the blob store's file, or a temporary file that
/// is uploaded at the end (and periodically, by [`upload_log`]).
struct LogTarget {
    job_id: String,
    key: String,
    temp: Option<PathBuf>,
}

impl LogTarget {
    fn open(control: &Control, job: &Job) -> Self {
        let key = job.log_key();
        let (path, temp) = match control.stores.blobs.local_path(&key) {
            Some(p) => (p, None),
            None => {
                let p = std::env::temp_dir().join(format!("trawl-{}.log", job.id));
                (p.clone(), Some(p))
            }
        };
        let level = job
            .settings
            .get("LOG_LEVEL")
            .map(|l| level_from_scrapy(l))
            .unwrap_or(tracing::Level::INFO);
        if let Err(e) = job_logs().open(&job.id, &path, level) {
            tracing::error!(job = %job.id, "cannot open the job log {}: {e}", path.display());
        }
        LogTarget {
            job_id: job.id.clone(),
            key,
            temp,
        }
    }

    async fn finish(self, control: &Control) {
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
