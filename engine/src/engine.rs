//! The engine loop: start requests → scheduler → downloader → callbacks → items and new
//! requests, until nothing is left or someone stops the crawl.
//!
//! One task owns the scheduler and the counters; each request runs as its own task
//! (downloader middlewares, slot, fetch) and hands its response to a bounded pool of
//! blocking threads for the callback, the spider middlewares and the item pipelines, so
//! HTML parsing never runs on the I/O threads. Tasks report back over channels; the loop
//! wakes on those reports, on a stop request, on the CLOSESPIDER_TIMEOUT deadline and on
//! the periodic stats log.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::downloader::{
    DestinationPolicy, DownloadError, DownloadOutcome, Downloader, FetchConfig, Fetcher,
    SlotConfig, Slots,
};
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::finish::FinishReason;
use crate::middleware::{self, DownloaderMiddleware, MiddlewareContext, SpiderMiddleware};
use crate::pipeline::{ItemPipeline, ItemSink};
use crate::request::Request;
use crate::response::Response;
use crate::scheduler::{QueueOrder, Rejected, Scheduler, SchedulerState};
use crate::settings::{Priority, SettingError, Settings};
use crate::spider::{Output, Spider, StartRequests};
use crate::stats::Stats;
use crate::workers::{JobTracker, WorkerPool};

/// Why a crawl could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// A setting has a bad value.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The HTTP client could not be built.
    #[error("downloader: {0}")]
    Downloader(#[from] DownloadError),
}

/// Builds a [`Crawl`]: a spider, settings, and optional extra middlewares, pipelines
/// and item sinks.
pub struct CrawlBuilder {
    spider: Arc<dyn Spider>,
    settings: Settings,
    downloader_mws: Vec<(i32, Arc<dyn DownloaderMiddleware>)>,
    spider_mws: Vec<(i32, Arc<dyn SpiderMiddleware>)>,
    pipelines: Vec<Arc<dyn ItemPipeline>>,
    sinks: Vec<Arc<dyn ItemSink>>,
    resume: Option<SchedulerState>,
    pool: Option<Arc<WorkerPool>>,
    destinations: DestinationPolicy,
}

impl CrawlBuilder {
    /// A crawl of `spider`; the spider's own settings are applied at spider priority
    /// (so job/command-line settings already in `settings` win).
    pub fn new(spider: Arc<dyn Spider>, mut settings: Settings) -> Self {
        settings.set_all(&spider.custom_settings(), Priority::Spider);
        CrawlBuilder {
            spider,
            settings,
            downloader_mws: Vec::new(),
            spider_mws: Vec::new(),
            pipelines: Vec::new(),
            sinks: Vec::new(),
            resume: None,
            pool: None,
            destinations: DestinationPolicy::allow_all(),
        }
    }

    /// Runs callbacks on `pool` (shared between crawls) instead of a pool of its own.
    pub fn worker_pool(mut self, pool: Arc<WorkerPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Limits where the crawl may connect (default: [`DestinationPolicy::allow_all`]).
    /// Crawls run on behalf of others use [`DestinationPolicy::public_only`].
    pub fn destinations(mut self, policy: DestinationPolicy) -> Self {
        self.destinations = policy;
        self
    }

    /// Adds a downloader middleware at `order` (Scrapy's numbers: 50 … 900).
    pub fn downloader_middleware(mut self, order: i32, mw: Arc<dyn DownloaderMiddleware>) -> Self {
        self.downloader_mws.push((order, mw));
        self
    }

    /// Adds a spider middleware at `order`.
    pub fn spider_middleware(mut self, order: i32, mw: Arc<dyn SpiderMiddleware>) -> Self {
        self.spider_mws.push((order, mw));
        self
    }

    /// Appends an item pipeline.
    pub fn pipeline(mut self, p: Arc<dyn ItemPipeline>) -> Self {
        self.pipelines.push(p);
        self
    }

    /// Adds an item sink (feed exports, a job's item store).
    pub fn sink(mut self, s: Arc<dyn ItemSink>) -> Self {
        self.sinks.push(s);
        self
    }

    /// Continues from a saved scheduler state (pending requests and seen fingerprints).
    pub fn resume(mut self, state: SchedulerState) -> Self {
        self.resume = Some(state);
        self
    }

    /// The effective settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Validates the settings and builds the crawl.
    pub fn build(self) -> Result<Crawl, CrawlError> {
        let s = &self.settings;
        for name in s.unknown_names() {
            tracing::warn!(setting = %name, "unknown setting name (ignored)");
        }
        let stats = Arc::new(Stats::new());
        let fetch_cfg = FetchConfig::from_settings(s)?;
        let fetcher = Arc::new(Fetcher::with_destinations(fetch_cfg, self.destinations)?);
        let ctx = MiddlewareContext {
            settings: Arc::new(self.settings.clone()),
            stats: stats.clone(),
            fetcher: fetcher.clone(),
            spider_name: self.spider.name().to_string(),
            allowed_domains: Arc::new(self.spider.allowed_domains()),
        };
        let dmws = middleware::downloader::downloader_middlewares(&ctx, self.downloader_mws)?;
        let smws = middleware::spider::spider_middlewares(&ctx, self.spider_mws)?;
        let downloader = Downloader::new(dmws, fetcher, Slots::new(SlotConfig::from_settings(s)?));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let concurrency = s.get_usize("CONCURRENT_REQUESTS")?.max(1);
        let cfg = EngineConfig {
            concurrency,
            max_in_flight: concurrency * 2 + cpus,
            close_timeout: nonzero(s.get_duration("CLOSESPIDER_TIMEOUT")?),
            close_itemcount: s.get_u64("CLOSESPIDER_ITEMCOUNT")?,
            close_pagecount: s.get_u64("CLOSESPIDER_PAGECOUNT")?,
            close_errorcount: s.get_u64("CLOSESPIDER_ERRORCOUNT")?,
            logstats_interval: nonzero(s.get_duration("LOGSTATS_INTERVAL")?),
            dupefilter_debug: s.get_bool("DUPEFILTER_DEBUG")?,
            stats_dump: s.get_bool("STATS_DUMP")?,
        };
        let scheduler = match self.resume {
            Some(state) => Scheduler::from_state(state),
            None => Scheduler::new(QueueOrder::from_settings(s)?),
        };
        let (stop_tx, _) = watch::channel(None);
        let control = Arc::new(Control {
            stop_tx,
            stats: stats.clone(),
            queued: AtomicUsize::new(scheduler.len()),
            in_flight: AtomicUsize::new(0),
        });
        let shared = Arc::new(Shared {
            spider: self.spider,
            downloader,
            spider_mws: smws,
            pipelines: self.pipelines,
            sinks: self.sinks,
            stats,
            pool: self.pool.unwrap_or_else(|| Arc::new(WorkerPool::new(cpus))),
            jobs: JobTracker::new(),
            pages: AtomicU64::new(0),
            items: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        Ok(Crawl {
            shared,
            scheduler,
            control,
            cfg,
        })
    }
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

struct EngineConfig {
    concurrency: usize,
    max_in_flight: usize,
    close_timeout: Option<Duration>,
    close_itemcount: u64,
    close_pagecount: u64,
    close_errorcount: u64,
    logstats_interval: Option<Duration>,
    dupefilter_debug: bool,
    stats_dump: bool,
}

/// A request to stop a running crawl.
#[derive(Debug, Clone)]
struct StopRequest {
    reason: FinishReason,
    force: bool,
}

struct Control {
    stop_tx: watch::Sender<Option<StopRequest>>,
    stats: Arc<Stats>,
    queued: AtomicUsize,
    in_flight: AtomicUsize,
}

/// Controls a running crawl from outside: stop it, read its progress.
#[derive(Clone)]
pub struct CrawlHandle {
    control: Arc<Control>,
}

/// A snapshot of a crawl's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Responses received.
    pub pages: u64,
    /// Items scraped.
    pub items: u64,
    /// Download errors plus spider errors.
    pub errors: u64,
    /// Requests waiting in the scheduler.
    pub queued: usize,
    /// Requests being downloaded or processed.
    pub in_flight: usize,
}

impl CrawlHandle {
    /// Graceful stop: no new requests start; in-flight ones finish; feeds close.
    /// A second call (or [`CrawlHandle::kill`]) stops at once.
    pub fn stop(&self, reason: FinishReason) {
        let already = self.control.stop_tx.borrow().is_some();
        self.control.stop_tx.send_replace(Some(StopRequest {
            reason,
            force: already,
        }));
    }

    /// Forced stop: in-flight requests are abandoned; feeds still close.
    pub fn kill(&self, reason: FinishReason) {
        self.control.stop_tx.send_replace(Some(StopRequest {
            reason,
            force: true,
        }));
    }

    /// Whether a stop was requested.
    pub fn is_stopping(&self) -> bool {
        self.control.stop_tx.borrow().is_some()
    }

    /// The live stats.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.control.stats
    }

    /// Pages, items, errors, queue size and in-flight count.
    pub fn progress(&self) -> Progress {
        let s = &self.control.stats;
        Progress {
            pages: s.get_i64("response_received_count") as u64,
            items: s.get_i64("item_scraped_count") as u64,
            errors: (s.get_i64("downloader/exception_count") + s.get_i64("spider_exceptions/count"))
                as u64,
            queued: self.control.queued.load(Ordering::Relaxed),
            in_flight: self.control.in_flight.load(Ordering::Relaxed),
        }
    }
}

/// How a crawl ended.
#[derive(Debug, Clone)]
pub struct CrawlOutcome {
    /// Scrapy's `finish_reason`: `finished`, `cancelled`, `shutdown`, `closespider_*`,
    /// `failed`.
    pub finish_reason: FinishReason,
    /// The final stats.
    pub stats: Map<String, Value>,
    /// The scheduler state when the crawl stopped with requests still pending.
    pub pending: Option<SchedulerState>,
}

/// Everything request tasks share.
struct Shared {
    spider: Arc<dyn Spider>,
    downloader: Downloader,
    spider_mws: Vec<Arc<dyn SpiderMiddleware>>,
    pipelines: Vec<Arc<dyn ItemPipeline>>,
    sinks: Vec<Arc<dyn ItemSink>>,
    stats: Arc<Stats>,
    pool: Arc<WorkerPool>,
    jobs: Arc<JobTracker>,
    pages: AtomicU64,
    items: AtomicU64,
    errors: AtomicU64,
}

/// What one request task hands back to the loop.
#[derive(Default)]
struct TaskOutput {
    requests: Vec<(Request, Option<Fingerprint>)>,
}

/// Tells the loop a download slot is free, even if the task is aborted.
struct DownloadToken(mpsc::UnboundedSender<()>);

impl Drop for DownloadToken {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// A crawl ready to run.
pub struct Crawl {
    shared: Arc<Shared>,
    scheduler: Scheduler,
    control: Arc<Control>,
    cfg: EngineConfig,
}

impl Crawl {
    /// A handle to stop the crawl or watch its progress.
    pub fn handle(&self) -> CrawlHandle {
        CrawlHandle {
            control: self.control.clone(),
        }
    }

    /// Runs the crawl to its end.
    pub async fn run(mut self) -> CrawlOutcome {
        let started = Instant::now();
        let stats = self.shared.stats.clone();
        let name = self.shared.spider.name().to_string();
        stats.set("start_time", timestamp());
        tracing::info!(spider = %name, "Spider opened");

        let mut failure = None;
        for p in &self.shared.pipelines {
            if let Err(e) = p.open(&name) {
                tracing::error!(pipeline = p.name(), "cannot open item pipeline: {e:#}");
                failure = Some(FinishReason::Failed);
            }
        }
        let mut starts: Option<StartRequests> = match failure {
            Some(_) => None,
            None => match self.shared.spider.start_requests() {
                Ok(it) => Some(it),
                Err(e) => {
                    tracing::error!("start requests failed: {e:#}");
                    failure = Some(FinishReason::Failed);
                    None
                }
            },
        };
        let mut closing: Option<FinishReason> = failure;
        let mut forced = false;

        let (slot_tx, mut slot_rx) = mpsc::unbounded_channel::<()>();
        let mut tasks: JoinSet<TaskOutput> = JoinSet::new();
        let mut downloading = 0usize;
        let mut stop_rx = self.control.stop_tx.subscribe();
        let deadline = self.cfg.close_timeout.map(|d| started + d);
        let log_every = self
            .cfg
            .logstats_interval
            .unwrap_or(Duration::from_secs(3600 * 24));
        let mut logstats = tokio::time::interval_at(started + log_every, log_every);
        let mut last_log = (started, 0u64, 0u64);

        loop {
            if closing.is_none() {
                self.pull_start_requests(&mut starts);
                while downloading < self.cfg.concurrency && tasks.len() < self.cfg.max_in_flight {
                    let Some(request) = self.scheduler.next_request() else {
                        break;
                    };
                    stats.inc("scheduler/dequeued", 1);
                    downloading += 1;
                    let token = DownloadToken(slot_tx.clone());
                    tasks.spawn(
                        run_request(self.shared.clone(), request, token)
                            .instrument(tracing::Span::current()),
                    );
                }
            }
            self.control
                .queued
                .store(self.scheduler.len(), Ordering::Relaxed);
            self.control.in_flight.store(tasks.len(), Ordering::Relaxed);
            if tasks.is_empty()
                && (closing.is_some() || (starts.is_none() && self.scheduler.is_empty()))
            {
                break;
            }

            tokio::select! {
                Some(()) = slot_rx.recv() => {
                    downloading = downloading.saturating_sub(1);
                }
                Some(joined) = tasks.join_next() => {
                    match joined {
                        Ok(out) => self.absorb(out, closing.is_some()),
                        Err(e) if e.is_cancelled() => {}
                        Err(e) => {
                            tracing::error!("request task panicked: {e}");
                            self.shared.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if closing.is_none() {
                        closing = self.closespider_reason();
                        if let Some(r) = &closing {
                            tracing::info!("Closing spider ({r})");
                        }
                    }
                }
                Ok(()) = stop_rx.changed() => {
                    let req = stop_rx.borrow_and_update().clone();
                    if let Some(req) = req {
                        if req.force && !forced {
                            forced = true;
                            tracing::warn!(reason = %req.reason, "Stopping now: abandoning {} request(s) in flight", tasks.len());
                            tasks.abort_all();
                            closing = Some(req.reason);
                        } else if closing.is_none() {
                            tracing::info!(reason = %req.reason, "Closing spider gracefully: waiting for {} request(s) in flight", tasks.len());
                            closing = Some(req.reason);
                        }
                    }
                }
                _ = sleep_until_opt(deadline), if closing.is_none() => {
                    tracing::info!("Closing spider: CLOSESPIDER_TIMEOUT reached");
                    closing = Some(FinishReason::ClosespiderTimeout);
                }
                _ = logstats.tick() => {
                    last_log = self.log_stats(last_log);
                }
            }
        }

        let reason = closing.unwrap_or(FinishReason::Finished);
        self.finish(reason, started).await
    }

    fn pull_start_requests(&mut self, starts: &mut Option<StartRequests>) {
        let Some(it) = starts.as_mut() else { return };
        while self.scheduler.len() < self.cfg.concurrency {
            let Some(mut request) = it.next() else {
                *starts = None;
                return;
            };
            if self
                .shared
                .spider_mws
                .iter()
                .all(|m| m.process_request(None, &mut request))
            {
                let fp = (!request.dont_filter).then(|| fingerprint(&request));
                self.enqueue(request, fp);
            }
        }
    }

    fn enqueue(&mut self, request: Request, fp: Option<Fingerprint>) {
        let url = self.cfg.dupefilter_debug.then(|| request.url.to_string());
        match self.scheduler.enqueue(request, fp) {
            Ok(()) => self.shared.stats.inc("scheduler/enqueued", 1),
            Err(Rejected::Duplicate) => {
                self.shared.stats.inc("dupefilter/filtered", 1);
                if let Some(url) = url {
                    tracing::debug!(%url, "Filtered duplicate request");
                }
            }
        }
    }

    fn absorb(&mut self, out: TaskOutput, closing: bool) {
        if closing {
            return;
        }
        for (request, fp) in out.requests {
            self.enqueue(request, fp);
        }
    }

    fn closespider_reason(&self) -> Option<FinishReason> {
        let s = &self.shared;
        let hit =
            |limit: u64, value: &AtomicU64| limit > 0 && value.load(Ordering::Relaxed) >= limit;
        if hit(self.cfg.close_itemcount, &s.items) {
            Some(FinishReason::ClosespiderItemcount)
        } else if hit(self.cfg.close_pagecount, &s.pages) {
            Some(FinishReason::ClosespiderPagecount)
        } else if hit(self.cfg.close_errorcount, &s.errors) {
            Some(FinishReason::ClosespiderErrorcount)
        } else {
            None
        }
    }

    fn log_stats(&self, (at, pages0, items0): (Instant, u64, u64)) -> (Instant, u64, u64) {
        let now = Instant::now();
        let pages = self.shared.pages.load(Ordering::Relaxed);
        let items = self.shared.items.load(Ordering::Relaxed);
        let minutes = (now - at).as_secs_f64() / 60.0;
        let rate = |n: u64| {
            if minutes > 0.0 {
                n as f64 / minutes
            } else {
                0.0
            }
        };
        tracing::info!(
            "Crawled {pages} pages (at {:.0} pages/min), scraped {items} items (at {:.0} items/min)",
            rate(pages - pages0),
            rate(items - items0)
        );
        (now, pages, items)
    }

    async fn finish(mut self, reason: FinishReason, started: Instant) -> CrawlOutcome {
        let shared = self.shared.clone();
        // Let callbacks already on the worker pool finish before the sinks close.
        shared.jobs.wait_idle().await;
        let spider = shared.spider.clone();
        let reason_c = reason.clone();
        let pipelines = shared.pipelines.clone();
        let sinks = shared.sinks.clone();
        let span = tracing::Span::current();
        let closed = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            spider.closed(reason_c.as_str());
            for p in &pipelines {
                p.close();
            }
            for s in &sinks {
                if let Err(e) = s.close() {
                    tracing::error!("closing item output failed: {e:#}");
                }
            }
        });
        if let Err(e) = closed.await {
            tracing::error!("closing the spider panicked: {e}");
        }
        let stats = &shared.stats;
        stats.set("finish_reason", reason.as_str());
        stats.set("finish_time", timestamp());
        stats.set(
            "elapsed_time_seconds",
            (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        );
        if let Some(rss) = peak_rss_bytes() {
            stats.set("memusage/max", rss);
        }
        if self.cfg.logstats_interval.is_some() {
            self.log_stats((started, 0, 0));
        }
        let snapshot = stats.snapshot();
        if self.cfg.stats_dump {
            let dump = crate::pyrepr::pformat_stats(&snapshot);
            tracing::info!("Dumping Scrapy stats:\n{dump}");
        }
        tracing::info!("Spider closed ({reason})");
        let pending = (!self.scheduler.is_empty()).then(|| self.scheduler.state());
        self.scheduler = Scheduler::new(QueueOrder::Lifo);
        CrawlOutcome {
            finish_reason: reason,
            stats: snapshot,
            pending,
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// One request's whole trip: download, then callback (or errback) on the blocking pool.
async fn run_request(shared: Arc<Shared>, request: Request, token: DownloadToken) -> TaskOutput {
    let outcome = shared.downloader.download(request).await;
    drop(token);
    match outcome {
        DownloadOutcome::Response(resp) => {
            on_blocking_pool(shared, move |sh| sh.handle_response(&resp)).await
        }
        DownloadOutcome::Reschedule(request) => {
            let fp = (!request.dont_filter).then(|| fingerprint(&request));
            TaskOutput {
                requests: vec![(*request, fp)],
            }
        }
        DownloadOutcome::Failed(request, error) => {
            on_blocking_pool(shared, move |sh| sh.handle_failure(&request, &error)).await
        }
    }
}

async fn on_blocking_pool<F>(shared: Arc<Shared>, f: F) -> TaskOutput
where
    F: FnOnce(&Shared) -> TaskOutput + Send + 'static,
{
    let sh = shared.clone();
    // Keep the caller's span (a control plane tags each job's log lines with it).
    let span = tracing::Span::current();
    match shared
        .pool
        .run(&shared.jobs, move || span.in_scope(|| f(&sh)))
        .await
    {
        Ok(out) => out,
        Err(e) => {
            tracing::error!("{e}");
            shared.errors.fetch_add(1, Ordering::Relaxed);
            shared.stats.inc("spider_exceptions/count", 1);
            shared.stats.inc("spider_exceptions/panic", 1);
            TaskOutput::default()
        }
    }
}

impl Shared {
    fn handle_response(&self, response: &Response) -> TaskOutput {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.stats.inc("response_received_count", 1);
        tracing::debug!(
            "Crawled ({}) <{} {}> (referer: {})",
            response.status,
            response.request.method,
            response.url,
            response
                .request
                .headers
                .get("referer")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("None")
        );
        for mw in &self.spider_mws {
            if let Err(reason) = mw.process_spider_input(response) {
                tracing::debug!("{reason}");
                return TaskOutput::default();
            }
        }
        let mut out = Output::new();
        let callback = response.request.callback_name();
        if let Err(e) = self.spider.parse(callback, response, &mut out) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            self.stats.inc("spider_exceptions/count", 1);
            tracing::error!(
                "Spider error processing <{} {}> (callback {callback}): {e:#}",
                response.request.method,
                response.url
            );
        }
        self.process_output(Some(response), out)
    }

    fn handle_failure(&self, request: &Request, error: &DownloadError) -> TaskOutput {
        if matches!(error, DownloadError::Ignored(_)) {
            tracing::debug!("Ignoring <{} {}>: {error}", request.method, request.url);
        } else {
            self.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                "Error downloading <{} {}>: {error}",
                request.method,
                request.url
            );
        }
        let Some(errback) = request.errback.as_deref() else {
            return TaskOutput::default();
        };
        let mut out = Output::new();
        if let Err(e) = self.spider.handle_error(errback, request, error, &mut out) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            self.stats.inc("spider_exceptions/count", 1);
            tracing::error!(
                "Spider error in errback {errback} for <{}>: {e:#}",
                request.url
            );
        }
        self.process_output(None, out)
    }

    fn process_output(&self, response: Option<&Response>, out: Output) -> TaskOutput {
        let mut requests = Vec::with_capacity(out.requests.len());
        for mut request in out.requests {
            if self
                .spider_mws
                .iter()
                .all(|m| m.process_request(response, &mut request))
            {
                let fp = (!request.dont_filter).then(|| fingerprint(&request));
                requests.push((request, fp));
            }
        }
        let (mut scraped, mut dropped) = (0i64, out.dropped.len() as i64);
        for reason in &out.dropped {
            self.stats
                .inc(&format!("item_dropped_reasons_count/{reason}"), 1);
            tracing::debug!("Dropped: {reason}");
        }
        'items: for mut item in out.items {
            if let Some(resp) = response {
                if !self
                    .spider_mws
                    .iter()
                    .all(|m| m.process_item(resp, &mut item))
                {
                    continue;
                }
            }
            for p in &self.pipelines {
                match p.process_item(item) {
                    Ok(i) => item = i,
                    Err(drop) => {
                        dropped += 1;
                        self.stats
                            .inc(&format!("item_dropped_reasons_count/{}", drop.reason), 1);
                        tracing::debug!(pipeline = p.name(), "Dropped: {drop}");
                        continue 'items;
                    }
                }
            }
            for sink in &self.sinks {
                if let Err(e) = sink.write_item(&item) {
                    tracing::error!("writing an item failed: {e:#}");
                    self.stats.inc("item_sink_errors", 1);
                }
            }
            if let Some(resp) = response {
                let item = crate::pyrepr::DictRepr(&item);
                tracing::debug!("Scraped from <{} {}>\n{item}", resp.status, resp.url);
            }
            scraped += 1;
        }
        if scraped > 0 {
            self.items.fetch_add(scraped as u64, Ordering::Relaxed);
            self.stats.inc("item_scraped_count", scraped);
        }
        if dropped > 0 {
            self.stats.inc("item_dropped_count", dropped);
        }
        TaskOutput { requests }
    }
}

/// Now as Scrapy's stats print it (UTC, ISO 8601).
fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
