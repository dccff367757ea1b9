//! [`CrawlBuilder`]: a spider, settings, and optional extra middlewares, pipelines and
//! item sinks, validated into a [`Crawl`].

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::handle::Control;
use super::run::{Crawl, Resumed};
use super::task::Shared;
use super::CrawlError;
use crate::checkpoint::{CheckpointConfig, CheckpointStore, Checkpointer, Resume};
use crate::downloader::{DestinationPolicy, Downloader, FetchConfig, Fetcher, SlotConfig, Slots};
use crate::middleware::{self, DownloaderMiddleware, MiddlewareContext, SpiderMiddleware};
use crate::pipeline::{ItemPipeline, ItemSink};
use crate::scheduler::{QueueOrder, Scheduler, SchedulerState};
use crate::settings::{Priority, Settings};
use crate::spider::Spider;
use crate::stats::Stats;
use crate::workers::{JobTracker, WorkerPool};

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
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    checkpoint: Option<Resume>,
    labels: serde_json::Map<String, serde_json::Value>,
    router: Option<Arc<dyn super::RequestRouter>>,
    inject: Vec<crate::request::Request>,
    skip_starts: bool,
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
            checkpoints: None,
            checkpoint: None,
            labels: serde_json::Map::new(),
            router: None,
            inject: Vec::new(),
            skip_starts: false,
        }
    }

    /// Makes this crawl one partition of a larger one: requests `router` does not keep
    /// are handed to it instead of scheduled.
    pub fn router(mut self, router: Arc<dyn super::RequestRouter>) -> Self {
        self.router = Some(router);
        self
    }

    /// Requests to schedule when the crawl starts (after a checkpoint is restored),
    /// through the duplicate filter: a partition's inbox.
    pub fn inject(mut self, requests: Vec<crate::request::Request>) -> Self {
        self.inject.extend(requests);
        self
    }

    /// Does not ask the spider for start requests (a partition crawl: the job's start
    /// requests were routed to their partitions once).
    pub fn skip_start_requests(mut self) -> Self {
        self.skip_starts = true;
        self
    }

    /// Checkpoints the crawl to `store` every `CHECKPOINT_INTERVAL` and when it stops
    /// (see [`crate::checkpoint`]). Sinks must support positions (feeds do).
    pub fn checkpoints(mut self, store: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(store);
        self
    }

    /// Resumes from a checkpoint read with [`crate::checkpoint::load`]: its pending
    /// requests, seen fingerprints, stats, counters and elapsed time. The caller
    /// restores its sinks from [`Snapshot::sink`](crate::checkpoint::Snapshot::sink).
    /// Later checkpoints continue its numbering when [`checkpoints`](Self::checkpoints)
    /// names the same store.
    pub fn resume_from(mut self, checkpoint: Resume) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// Attaches a label to every checkpoint this crawl writes.
    pub fn checkpoint_label(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.labels.insert(key.to_string(), value.into());
        self
    }

    /// Limits where the crawl may connect (default: [`DestinationPolicy::allow_all`]).
    /// Crawls run on behalf of others use [`DestinationPolicy::public_only`].
    pub fn destinations(mut self, policy: DestinationPolicy) -> Self {
        self.destinations = policy;
        self
    }

    /// Runs callbacks on `pool` (shared between crawls) instead of a pool of its own.
    pub fn worker_pool(mut self, pool: Arc<WorkerPool>) -> Self {
        self.pool = Some(pool);
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
        let ck_cfg = CheckpointConfig::from_settings(s)?;
        let mut counters = (0, 0, 0);
        let mut resumed = None;
        let mut checkpointer = self.checkpoints.map(|store| Checkpointer {
            store,
            seq: 0,
            segments: 0,
            seen_count: 0,
            labels: self.labels,
            carry: Vec::new(),
        });
        let mut scheduler = match (self.checkpoint, self.resume) {
            (Some(ck), _) => {
                let snap = ck.snapshot;
                if snap.spider != self.spider.name() {
                    return Err(CrawlError::Checkpoint(format!(
                        "it is a checkpoint of spider '{}', not '{}'",
                        snap.spider,
                        self.spider.name()
                    )));
                }
                for (k, v) in &snap.stats {
                    stats.set(k, v.clone());
                }
                for m in downloader.middlewares() {
                    if let Some(state) = snap.middlewares.get(m.name()) {
                        m.restore_state(state);
                    }
                }
                counters = (snap.pages, snap.items, snap.errors);
                if let Some(c) = &mut checkpointer {
                    c.seq = snap.seq;
                    c.segments = snap.seen_segments;
                    c.seen_count = snap.seen_count;
                }
                resumed = Some(Resumed {
                    seq: snap.seq,
                    starts_consumed: snap.starts_consumed,
                    starts_done: snap.starts_done,
                    elapsed: Duration::from_secs_f64(snap.elapsed_secs.max(0.0)),
                });
                Scheduler::from_parts(snap.order, snap.pending, ck.seen)
            }
            (None, Some(state)) => Scheduler::from_state(state),
            (None, None) => Scheduler::new(QueueOrder::from_settings(s)?),
        };
        if checkpointer.is_some() {
            scheduler.track_new_seen();
        }
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
            pages: AtomicU64::new(counters.0),
            items: AtomicU64::new(counters.1),
            errors: AtomicU64::new(counters.2),
            gate: parking_lot::RwLock::new(()),
            inflight: checkpointer
                .is_some()
                .then(|| parking_lot::Mutex::new(Default::default())),
            outbox: parking_lot::Mutex::new(Vec::new()),
        });
        let checkpoint_every = checkpointer.as_ref().and(ck_cfg.every);
        Ok(Crawl {
            shared,
            scheduler,
            control,
            cfg,
            checkpoint_every,
            checkpointer: checkpointer.map(|c| Arc::new(tokio::sync::Mutex::new(c))),
            resumed,
            next_task: 0,
            starts_consumed: 0,
            router: self.router,
            inject: self.inject,
            skip_starts: self.skip_starts,
        })
    }
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

/// The engine loop's settings.
pub(super) struct EngineConfig {
    pub(super) concurrency: usize,
    pub(super) max_in_flight: usize,
    pub(super) close_timeout: Option<Duration>,
    pub(super) close_itemcount: u64,
    pub(super) close_pagecount: u64,
    pub(super) close_errorcount: u64,
    pub(super) logstats_interval: Option<Duration>,
    pub(super) dupefilter_debug: bool,
    pub(super) stats_dump: bool,
}
