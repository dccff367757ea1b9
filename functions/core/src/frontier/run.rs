//! A job crawled by `CONCURRENT_CRAWLERS` crawlers in this process, partition by
//! partition (see the module docs of [`crate::frontier`]).
//!
//! The job's start requests are put into their partitions' inboxes (batch ids derived
//! from the partition and position, so seeding again adds nothing). Then each crawler
//! loops: lease a partition with work, crawl it (checkpoint restored, inbox injected,
//! other partitions' requests sent to their inboxes before each checkpoint commits),
//! record what it consumed and whether work is left, hand it back. A crawler that
//! finds nothing to lease while the frontier's summary says the crawl is over stops;
//! when all have stopped, the partitions' item parts are put together into the job's
//! one feed and their stats summed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tracing::Instrument;
use trawl_engine::checkpoint::{self, CheckpointStore, StoreFuture};
use trawl_engine::feed::{FeedConfig, FeedFormat, FeedSink, UriParams};
use trawl_engine::{
    CrawlBuilder, CrawlHandle, CrawlOutcome, DestinationPolicy, FinishReason, Request,
    RequestRouter, Settings, Spider,
};

use super::{CloseCounts, InboxBatch, Lease, PartitionBy};
use crate::checkpoints::BlobCheckpoints;
use crate::control::Control;
use crate::model::{CancelLevel, Job};
use crate::ports::{BlobStore, FrontierStore};
use crate::runner::RunnerConfig;

/// Requests per inbox batch.
pub const BATCH_SIZE: usize = 500;

/// The most crawlers one job may use (`CONCURRENT_CRAWLERS` is capped to it).
pub const MAX_CRAWLERS: usize = 64;

/// How long a crawler waits before asking again for a partition when none is free
/// but the crawl is not over: doubling from the first to the last.
const IDLE_WAIT: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(1));

/// The longest lease (`FRONTIER_LEASE_TTL` is capped to it): a dead crawler's
/// partitions wait at most this long for another crawler.
const MAX_LEASE_TTL: Duration = Duration::from_secs(3600);

/// How often a partition crawl sends the requests it found for other partitions.
const SEND_EVERY: Duration = Duration::from_millis(200);

/// A crawler of its own process leaves when no partition was free this long.
const IDLE_LIMIT: Duration = Duration::from_secs(2);

/// A crawler of its own process leases no partition this close to its deadline.
const MIN_PARTITION_TIME: Duration = Duration::from_secs(5);

/// How long the crawler closing a job holds the close claim (another may take over
/// after it, if the first died closing): a Lambda function's longest run.
const CLOSE_TTL: Duration = Duration::from_secs(900);

/// How often, at most, a crawler starts crawlers for waiting partitions.
const SCALE_EVERY: Duration = Duration::from_secs(2);

/// How a crawler of its own process left the crawl.
enum Left {
    /// The crawl is over.
    Done,
    /// The job is closing (a cancel, CLOSESPIDER_ITEMCOUNT, a shutdown).
    Closing,
    /// No partition was free: the crawlers holding them go on.
    Idle,
    /// Its deadline is near.
    Deadline,
}

/// A job crawled over its partitions: what every crawler of it shares.
pub struct PartitionedRun {
    stores: crate::ports::Stores,
    destinations: DestinationPolicy,
    job: Job,
    spider: Arc<dyn Spider>,
    settings: Settings,
    pipeline: Option<Arc<dyn trawl_engine::pipeline::ItemPipeline>>,
    by: PartitionBy,
    ttl: Duration,
    cfg: RunnerConfig,
    /// Why the job is closing (a cancel, CLOSESPIDER_ITEMCOUNT), once it is.
    closing: Mutex<Option<FinishReason>>,
    /// Items, pages and errors per partition, counted across its crawls (the job's
    /// `CLOSESPIDER_*COUNT` in this process).
    counts: Mutex<HashMap<String, CloseCounts>>,
    /// The job's `CLOSESPIDER_*COUNT` limits (0: none).
    limits: CloseCounts,
    /// When the job's `CLOSESPIDER_TIMEOUT` runs out, counted from its start.
    close_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The partition crawls running now, to stop them all at once.
    running: Mutex<HashMap<String, CrawlHandle>>,
    cancels_seen: std::sync::atomic::AtomicU32,
    /// Frontier store calls, by kind (reported as `frontier/calls/...` stats).
    calls: Arc<Calls>,
    /// The job's `CONCURRENT_CRAWLERS` (capped).
    crawlers: usize,
    /// Whether the crawlers run in processes of their own (the poller starts them).
    dispatched: bool,
    kicker: Arc<dyn crate::ports::Kicker>,
    dispatcher: Arc<dyn crate::ports::Dispatcher>,
    max_proc: usize,
    last_scale: Mutex<Option<std::time::Instant>>,
    created: tokio::time::Instant,
}

/// Frontier store calls of a run.
#[derive(Default)]
struct Calls {
    leases: AtomicU64,
    renewals: AtomicU64,
    inbox_reads: AtomicU64,
    batches_sent: AtomicU64,
    commits: AtomicU64,
    summaries: AtomicU64,
}

impl Calls {
    fn stats(&self, out: &mut Map<String, Value>) {
        for (k, v) in [
            ("leases", &self.leases),
            ("renewals", &self.renewals),
            ("inbox_reads", &self.inbox_reads),
            ("batches_sent", &self.batches_sent),
            ("commits", &self.commits),
            ("summaries", &self.summaries),
        ] {
            out.insert(
                format!("frontier/calls/{k}"),
                v.load(Ordering::Relaxed).into(),
            );
        }
    }
}

impl PartitionedRun {
    /// Prepares the run of `job` with its loaded spider and effective settings.
    pub(crate) fn new(
        control: &Control,
        job: Job,
        loaded: &crate::runner::Loaded,
        cfg: &RunnerConfig,
        crawlers: usize,
    ) -> anyhow::Result<Arc<PartitionedRun>> {
        let settings = loaded.effective.clone();
        let by = PartitionBy::parse(&settings.get_str("FRONTIER_PARTITION"))
            .ok_or_else(|| anyhow::anyhow!("FRONTIER_PARTITION must be \"host\" or \"domain\""))?;
        let ttl = settings
            .get_duration("FRONTIER_LEASE_TTL")?
            .clamp(Duration::from_secs(1), MAX_LEASE_TTL);
        let limits = CloseCounts {
            items: settings.get_u64("CLOSESPIDER_ITEMCOUNT")?,
            pages: settings.get_u64("CLOSESPIDER_PAGECOUNT")?,
            errors: settings.get_u64("CLOSESPIDER_ERRORCOUNT")?,
        };
        let timeout = settings.get_duration("CLOSESPIDER_TIMEOUT")?;
        let close_at = match (job.started_at, chrono::Duration::from_std(timeout)) {
            (Some(started), Ok(t)) if !timeout.is_zero() => Some(started + t),
            _ => None,
        };
        Ok(Arc::new(PartitionedRun {
            stores: control.stores.clone(),
            destinations: DestinationPolicy::public_only()
                .allow_ranges(control.config().allowed_destinations.clone()),
            job,
            spider: loaded.spider.clone(),
            settings,
            pipeline: loaded
                .incremental
                .clone()
                .map(|p| p as Arc<dyn trawl_engine::pipeline::ItemPipeline>),
            by,
            ttl,
            cfg: cfg.clone(),
            closing: Mutex::new(None),
            counts: Mutex::new(HashMap::new()),
            limits,
            close_at,
            running: Mutex::new(HashMap::new()),
            cancels_seen: std::sync::atomic::AtomicU32::new(0),
            calls: Arc::default(),
            crawlers,
            dispatched: control.config().fan_out == crate::control::FanOut::Dispatched,
            kicker: control.kicker.clone(),
            dispatcher: control.dispatcher.clone(),
            max_proc: control.config().max_proc.max(1),
            last_scale: Mutex::new(None),
            created: tokio::time::Instant::now(),
        }))
    }

    fn frontier(&self) -> &Arc<dyn FrontierStore> {
        &self.stores.frontier
    }

    fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.stores.blobs
    }

    /// Runs the job with `crawlers` crawlers to its end: the outcome of the whole job
    /// (its items already put together under the job's items key).
    pub(crate) async fn run(self: &Arc<Self>, crawlers: usize) -> anyhow::Result<CrawlOutcome> {
        let started = std::time::Instant::now();
        self.seed().await?;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..crawlers {
            let me = self.clone();
            let name = format!("{}-c{i}", self.job.id);
            tasks
                .spawn(async move { me.crawler(&name).await }.instrument(tracing::Span::current()));
        }
        let mut failure = None;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!("crawler failed: {e:#}");
                    failure.get_or_insert(e);
                    self.close(FinishReason::Failed);
                }
                Err(e) => {
                    tracing::error!("crawler task failed: {e}");
                    self.close(FinishReason::Failed);
                }
            }
        }
        let reason = self
            .closing
            .lock()
            .clone()
            .unwrap_or(FinishReason::Finished);
        if reason == FinishReason::Shutdown && failure.is_none() {
            // Paused: the partitions keep their checkpoints and work for the next start.
            tracing::info!("Paused: the job's partitions continue at the next start");
            return Ok(CrawlOutcome {
                finish_reason: reason,
                stats: Map::new(),
                pending: None,
                resumable: true,
            });
        }
        let mut outcome = self.finish(reason, crawlers).await?;
        let elapsed = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        outcome
            .stats
            .insert("elapsed_time_seconds".into(), elapsed.into());
        self.cleanup().await;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(outcome)
    }

    /// Puts the finished crawl together: the partitions' items into the job's feed,
    /// their stats summed. The frontier and the parts stay until [`Self::cleanup`].
    async fn finish(&self, reason: FinishReason, crawlers: usize) -> anyhow::Result<CrawlOutcome> {
        let partitions = self.frontier().partitions(&self.job.id).await?;
        self.assemble_items(&partitions).await?;
        let mut stats = self.sum_stats(&partitions).await?;
        stats.insert("frontier/partitions".into(), partitions.len().into());
        stats.insert("frontier/crawlers".into(), crawlers.into());
        self.calls.stats(&mut stats);
        stats.insert("finish_reason".into(), reason.to_string().into());
        tracing::info!(
            "Job crawled over {} partition(s) by {crawlers} crawler(s): {reason}",
            partitions.len()
        );
        Ok(CrawlOutcome {
            finish_reason: reason,
            stats,
            pending: None,
            resumable: false,
        })
    }

    /// One crawler of a job whose crawlers each run in a process of their own
    /// ([`FanOut::Dispatched`](crate::control::FanOut::Dispatched)): crawls partitions
    /// until none is free for a while, its deadline nears, or the crawl is over. The
    /// crawler that proves the crawl over (or, after a cancel, finds every crawler
    /// stopped) and wins the close claim puts the job together: its outcome, to be
    /// recorded before [`Self::cleanup`]. None when the job goes on elsewhere.
    /// `seeded_empty`: the job's first crawler found no start request at all (an empty
    /// frontier is then a crawl to close, not one closed already).
    pub(crate) async fn join(
        self: &Arc<Self>,
        me: &str,
        seeded_empty: bool,
    ) -> anyhow::Result<Option<CrawlOutcome>> {
        let left = self.clone().crawl_as(me, true).await;
        let mut calls = Map::new();
        self.calls.stats(&mut calls);
        let calls: Vec<String> = calls
            .iter()
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("frontier/calls/")))
            .collect();
        tracing::info!("Frontier calls of this crawler: {}", calls.join(" "));
        let reason = match left? {
            Left::Done => FinishReason::Finished,
            Left::Idle | Left::Deadline => return Ok(None),
            Left::Closing => match self.closing.lock().clone() {
                None | Some(FinishReason::Shutdown) => return Ok(None),
                Some(reason) => reason,
            },
        };
        if reason != FinishReason::Finished && !self.wait_unleased().await? {
            return Ok(None);
        }
        let now = self.stores.clock.now();
        if !self
            .frontier()
            .claim_close(&self.job.id, me, now, CLOSE_TTL)
            .await?
        {
            tracing::info!("Another crawler closes the job");
            return Ok(None);
        }
        // A crawler that joined late may find the job closed already: its frontier is
        // gone (the claim with it), or the job no longer runs this attempt.
        let jobs = &self.stores.jobs;
        let running = jobs.heartbeat(&self.job.id, self.job.attempt, now).await?;
        let partitions = self.frontier().partitions(&self.job.id).await?;
        if running.is_none() || (partitions.is_empty() && !seeded_empty) {
            tracing::info!("The job was closed already");
            return Ok(None);
        }
        let mut outcome = self.finish(reason, self.crawlers).await?;
        if let Some(started) = self.job.started_at {
            // The job's time, not the partition crawls' summed.
            let elapsed = (self.stores.clock.now() - started).num_milliseconds() as f64 / 1000.0;
            outcome
                .stats
                .insert("elapsed_time_seconds".into(), elapsed.into());
        }
        Ok(Some(outcome))
    }

    /// Waits until no partition is leased (the other crawlers saw the job close and
    /// stopped); false when this crawler's deadline comes first.
    async fn wait_unleased(&self) -> anyhow::Result<bool> {
        loop {
            let now = self.stores.clock.now();
            self.calls.summaries.fetch_add(1, Ordering::Relaxed);
            if self
                .frontier()
                .frontier_summary(&self.job.id, now)
                .await?
                .leased
                == 0
            {
                return Ok(true);
            }
            if self.near_deadline(IDLE_WAIT.1 * 2) {
                return Ok(false);
            }
            tokio::time::sleep(IDLE_WAIT.1).await;
        }
    }

    /// The least time left for leasing one more partition: [`MIN_PARTITION_TIME`], or a
    /// quarter of this crawler's time when it has little.
    fn min_partition_time(&self) -> Duration {
        let budget = self
            .cfg
            .deadline
            .map(|d| d.saturating_duration_since(self.created))
            .unwrap_or(MIN_PARTITION_TIME * 4);
        MIN_PARTITION_TIME.min(budget / 4)
    }

    /// Whether the job's `CONCURRENT_CRAWLERS` already hold partitions (crawlers of
    /// their own are started by several scalers, none counting the others' starts in
    /// flight: a crawler checks before each lease, so that the limit is exceeded by at
    /// most a race between two leases, and only for one partition crawl).
    async fn enough_crawlers(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<bool> {
        self.calls.summaries.fetch_add(1, Ordering::Relaxed);
        let summary = self.frontier().frontier_summary(&self.job.id, now).await?;
        Ok(summary.leased >= self.crawlers.min(self.max_proc) as u64)
    }

    /// Whether the crawler's deadline is less than `margin` away.
    fn near_deadline(&self, margin: Duration) -> bool {
        self.cfg
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() + margin >= d)
    }

    /// Starts crawlers for the partitions that wait for one, as the poller does on
    /// every poll (crawlers of their own only; at most every [`SCALE_EVERY`] unless
    /// `force`): as many as wait, up to the job's crawlers (and `max_proc`) less the
    /// partitions held. Done here, the crawl does not wait for the poller's turn (its
    /// invocations run one at a time; a kick while it runs is retried seconds later).
    pub(crate) async fn scale(&self, force: bool) {
        if !self.dispatched {
            return;
        }
        {
            let mut last = self.last_scale.lock();
            if !force && last.is_some_and(|t| t.elapsed() < SCALE_EVERY) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let now = self.stores.clock.now();
        self.calls.summaries.fetch_add(1, Ordering::Relaxed);
        let summary = match self.frontier().frontier_summary(&self.job.id, now).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot read the frontier to start crawlers: {e}");
                self.kicker.kick();
                return;
            }
        };
        let want = summary.crawlers_wanted(self.crawlers.min(self.max_proc) as u64);
        for n in 0..want {
            if let Err(e) = self.dispatcher.dispatch_crawler(&self.job, n as u32).await {
                tracing::warn!("cannot start a crawler ({e:#}): the poller will");
                self.kicker.kick();
                return;
            }
        }
        if want > 0 {
            tracing::info!(
                "Asked {want} crawler(s) to join: {} partition(s) wait, {} held",
                summary.waiting,
                summary.leased
            );
        }
    }

    /// Puts the spider's start requests into their partitions' inboxes; the number of
    /// partitions they went to.
    pub(crate) async fn seed(&self) -> anyhow::Result<usize> {
        let mut by_partition: BTreeMap<String, Vec<Request>> = BTreeMap::new();
        for r in self.spider.start_requests()? {
            let key = self.by.key(&r.url);
            anyhow::ensure!(
                key.len() <= MAX_PARTITION_KEY,
                "start request {}: its host is longer than a DNS name can be",
                r.url
            );
            by_partition.entry(key).or_default().push(r);
        }
        let (mut new, partitions) = (0, by_partition.len());
        for (partition, requests) in by_partition {
            for (n, chunk) in batches_of(&requests).enumerate() {
                let batch = InboxBatch {
                    id: format!("start:{partition}:{n}"),
                    partition: partition.clone(),
                    requests: chunk.to_vec(),
                };
                self.calls.batches_sent.fetch_add(1, Ordering::Relaxed);
                new += usize::from(self.frontier().put_batch(&self.job.id, &batch).await?);
            }
        }
        tracing::info!("Start requests sent to their partitions ({new} new batch(es))");
        Ok(partitions)
    }

    /// Stops every partition crawl, for `reason` (the first reason wins).
    fn close(&self, reason: FinishReason) {
        let graceful = matches!(
            reason,
            FinishReason::Cancelled
                | FinishReason::ClosespiderItemcount
                | FinishReason::ClosespiderPagecount
                | FinishReason::ClosespiderErrorcount
                | FinishReason::ClosespiderTimeout
        );
        {
            let mut closing = self.closing.lock();
            if closing.is_some() && graceful {
                return;
            }
            closing.get_or_insert(reason.clone());
        }
        for h in self.running.lock().values() {
            if graceful {
                h.stop(reason.clone());
            } else {
                h.kill(reason.clone());
            }
        }
    }

    fn is_closing(&self) -> bool {
        self.closing.lock().is_some()
    }

    /// Pauses every partition crawl at a checkpoint and stops leasing: the job stays
    /// running and continues at the next start (a server shutting down).
    pub fn pause(&self) {
        self.closing.lock().get_or_insert(FinishReason::Shutdown);
        for h in self.running.lock().values() {
            h.pause();
        }
    }

    /// Stops the job with `reason`: gracefully, or at once with `now`.
    pub fn stop(&self, reason: FinishReason, now: bool) {
        self.close(reason.clone());
        if now {
            for h in self.running.lock().values() {
                h.kill(reason.clone());
            }
        }
    }

    /// Records that the job's cancel requests reached `n` (acted on already).
    pub(crate) fn cancels_seen(&self, n: u32) {
        self.cancels_seen.store(n, Ordering::Relaxed);
    }

    /// Whether the job is stopping.
    pub fn is_stopping(&self) -> bool {
        self.is_closing()
    }

    /// One crawler of this process: partitions one after another until the crawl is
    /// over.
    async fn crawler(self: Arc<Self>, me: &str) -> anyhow::Result<()> {
        self.crawl_as(me, false).await.map(|_| ())
    }

    /// Leases and crawls partitions one after another until the crawl is over or the
    /// job closes; with `may_leave` (a crawler of its own process), also until no
    /// partition was free for [`IDLE_LIMIT`] or the deadline nears.
    async fn crawl_as(self: Arc<Self>, me: &str, may_leave: bool) -> anyhow::Result<Left> {
        let mut idle = IDLE_WAIT.0;
        let mut idle_since: Option<tokio::time::Instant> = None;
        let mut done: Option<super::FrontierSummary> = None;
        loop {
            if self.is_closing() {
                return Ok(Left::Closing);
            }
            if may_leave && self.near_deadline(self.min_partition_time()) {
                tracing::info!("Leaving the crawl to other crawlers: this one's time is up");
                return Ok(Left::Deadline);
            }
            let now = self.stores.clock.now();
            if self.limit_reached().await? {
                return Ok(Left::Closing);
            }
            if may_leave && self.enough_crawlers(now).await? {
                tracing::info!(
                    "The job's {} crawler(s) hold partitions: leaving the crawl to them",
                    self.crawlers
                );
                return Ok(Left::Idle);
            }
            self.calls.leases.fetch_add(1, Ordering::Relaxed);
            let lease = self
                .frontier()
                .lease_partition(&self.job.id, me, now, self.ttl)
                .await?;
            if let Some(lease) = lease {
                (idle, idle_since, done) = (IDLE_WAIT.0, None, None);
                let span = tracing::info_span!(crate::joblog::CRAWLER_SPAN, crawler = %me);
                self.crawl_partition(lease).instrument(span).await?;
                continue;
            }
            self.calls.summaries.fetch_add(1, Ordering::Relaxed);
            let summary = self.frontier().frontier_summary(&self.job.id, now).await?;
            // Over only when a second done summary shows nothing happened in between
            // (a store may read its items one by one).
            if done.is_some_and(|d| summary.confirms(&d)) {
                return Ok(Left::Done);
            }
            if summary.is_done() {
                done = Some(summary);
                continue;
            }
            done = None;
            let since = *idle_since.get_or_insert_with(tokio::time::Instant::now);
            if may_leave && since.elapsed() >= IDLE_LIMIT {
                tracing::info!("No partition free: leaving the crawl to the crawlers holding them");
                return Ok(Left::Idle);
            }
            tokio::time::sleep(idle).await;
            idle = (idle * 2).min(IDLE_WAIT.1);
        }
    }

    fn checkpoints_of(&self, partition: &str) -> BlobCheckpoints {
        BlobCheckpoints::at(
            self.blobs().clone(),
            format!("{}p/{}/", self.job.checkpoint_prefix(), safe(partition)),
        )
    }

    fn part_key(&self, partition: &str) -> String {
        format!("{}.parts/{}.jl", self.job.items_key(), safe(partition))
    }

    /// Crawls one leased partition until it has nothing left or the job closes, then
    /// records what it consumed and hands it back.
    async fn crawl_partition(self: &Arc<Self>, lease: Lease) -> anyhow::Result<()> {
        let frontier = self.frontier().clone();
        self.calls.inbox_reads.fetch_add(1, Ordering::Relaxed);
        let batches = frontier.inbox(&lease).await?;
        let consumed: Vec<String> = batches.iter().map(|b| b.id.clone()).collect();
        // Requests from the inbox always pass the duplicate filter (even start requests,
        // which are `dont_filter`): a batch read again after a crash adds nothing.
        let injected: Vec<Request> = batches
            .into_iter()
            .flat_map(|b| b.requests)
            .map(|r| r.dont_filter(false))
            .collect();
        tracing::info!(
            partition = %lease.partition, crawler = %lease.crawler, lease = lease.token,
            "Crawling partition {} ({} request(s) from its inbox)",
            lease.partition, injected.len()
        );
        let router = Arc::new(Router {
            own: lease.partition.clone(),
            by: self.by,
            out: Mutex::new(BTreeMap::new()),
            flushing: tokio::sync::Mutex::new(()),
            sent: AtomicU64::new(0),
            lease: lease.clone(),
            frontier: frontier.clone(),
            calls: self.calls.clone(),
        });
        let ck = self.checkpoints_of(&lease.partition);
        let resume = checkpoint::load(&ck).await?;
        let store = Arc::new(FlushingCheckpoints {
            inner: ck,
            router: router.clone(),
            state_failed: std::sync::atomic::AtomicBool::new(false),
        });
        let mut settings = self.settings.clone();
        // The CLOSESPIDER_* limits are the whole job's (counted and timed here), not one
        // partition crawl's.
        for limit in [
            "CLOSESPIDER_ITEMCOUNT",
            "CLOSESPIDER_PAGECOUNT",
            "CLOSESPIDER_ERRORCOUNT",
            "CLOSESPIDER_TIMEOUT",
        ] {
            settings.set(limit, 0, trawl_engine::settings::Priority::Cmdline);
        }
        let blobs = self.blobs();
        let mut items = FeedConfig::new(
            &blobs.feed_uri(&self.part_key(&lease.partition)),
            FeedFormat::JsonLines,
        );
        items.overwrite = true;
        let params = UriParams::new(&self.job.spider).with("job", self.job.id.clone());
        let sink = Arc::new(match &resume {
            Some(r) => FeedSink::resume(
                vec![items],
                &blobs.feed_storages(),
                params,
                r.snapshot.sink(0),
            )?,
            None => FeedSink::new(vec![items], &blobs.feed_storages(), params)?,
        });
        let builder = CrawlBuilder::new(self.spider.clone(), settings)
            .destinations(self.destinations.clone())
            .checkpoints(store.clone())
            .router(router.clone())
            .skip_start_requests()
            .inject(injected);
        let builder = match resume {
            Some(r) => builder.resume_from(r),
            None => builder,
        };
        let builder = match &self.pipeline {
            Some(p) => builder.pipeline(p.clone()),
            None => builder,
        };
        let crawl = builder
            .sink(sink.clone())
            .worker_pool(self.cfg.pool.clone())
            .build()?;
        let handle = crawl.handle();
        self.running
            .lock()
            .insert(lease.partition.clone(), handle.clone());
        match self.closing.lock().clone() {
            Some(FinishReason::Shutdown) => handle.pause(),
            Some(reason) => handle.stop(reason),
            None => {}
        }
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = tokio::spawn(
            self.clone()
                .watch(lease.clone(), handle.clone(), sink, lost.clone())
                .instrument(tracing::Span::current()),
        );
        let (stop_sending, stopped) = tokio::sync::oneshot::channel::<()>();
        let sender = tokio::spawn(
            self.clone()
                .send(
                    lease.partition.clone(),
                    handle.clone(),
                    router.clone(),
                    stopped,
                )
                .instrument(tracing::Span::current()),
        );
        let progress = handle.clone();
        let outcome = crawl.run().await;
        watcher.abort();
        // The sender finishes the flush it may be in (never cut short: requests taken
        // out for sending would be lost).
        let _ = stop_sending.send(());
        let _ = sender.await;
        self.running.lock().remove(&lease.partition);
        self.counts.lock().insert(
            lease.partition.clone(),
            CloseCounts::of(&progress.progress()),
        );
        if lost.load(Ordering::Relaxed) {
            tracing::warn!(partition = %lease.partition, "Lease lost: the partition's next owner takes over from its checkpoint");
            return Ok(());
        }
        let killed = outcome.finish_reason == FinishReason::Shutdown && !outcome.resumable;
        if killed || store.state_failed.load(Ordering::Relaxed) {
            // The stored checkpoint may be older than the crawl (requests in flight when
            // it was killed, a failed last write): leave the partition as recorded; its
            // lease lapses and the next owner resumes from that checkpoint.
            tracing::warn!(partition = %lease.partition, "Partition not handed back: its last checkpoint does not hold the crawl's end");
            return Ok(());
        }
        router.flush().await?;
        // A paused crawl has work left in its checkpoint even when its scheduler was
        // empty (the requests in flight when it paused).
        let pending = outcome.pending.is_some() || outcome.resumable;
        self.calls.commits.fetch_add(1, Ordering::Relaxed);
        let committed = frontier
            .commit_partition(&lease, &consumed, pending, true)
            .await?;
        if !committed {
            tracing::warn!(partition = %lease.partition, "Lease lost before the partition was handed back");
        }
        if pending {
            // Handed back with work left (the deadline): another crawler takes it up.
            self.scale(true).await;
        }
        Ok(())
    }

    /// While a partition crawl runs: renews its lease (stopping the crawl before the
    /// lease lapses if it cannot), heartbeats the job (cancels), checks the job-wide
    /// item count, and flushes items.
    async fn watch(
        self: Arc<Self>,
        mut lease: Lease,
        handle: CrawlHandle,
        sink: Arc<FeedSink>,
        lost: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let every = (self.ttl / 3).min(self.cfg.heartbeat_every);
        let mut tick = tokio::time::interval(every);
        let stores = self.stores.clone();
        let mut deadline_hit = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = trawl_engine::engine::sleep_until_opt(self.cfg.deadline), if !deadline_hit => {
                    deadline_hit = true;
                    tracing::info!("Approaching the crawler's time limit: handing the partition back at a checkpoint");
                    handle.pause();
                    continue;
                }
            }
            sink.flush_async().await;
            crate::joblog::job_logs().flush(&self.job.id);
            let now = stores.clock.now();
            self.calls.renewals.fetch_add(1, Ordering::Relaxed);
            // A renewal that hangs counts as failed (below): the crawl stops before its
            // lease can lapse.
            let renewed =
                tokio::time::timeout(every, stores.frontier.renew_lease(&lease, now, self.ttl))
                    .await
                    .unwrap_or_else(|_| {
                        Err(crate::ports::StoreError::unavailable(
                            "lease renewal timed out",
                        ))
                    });
            match renewed {
                Ok(true) => {
                    lease.expires = now + chrono::Duration::from_std(self.ttl).unwrap_or_default()
                }
                Ok(false) => {
                    lost.store(true, Ordering::Relaxed);
                    handle.kill(FinishReason::Shutdown);
                    return;
                }
                Err(e) => {
                    tracing::warn!("cannot renew the partition's lease: {e}");
                    // Stop writing before the lease can lapse and someone else takes over.
                    if stores.clock.now() + chrono::Duration::from_std(every).unwrap_or_default()
                        >= lease.expires
                    {
                        lost.store(true, Ordering::Relaxed);
                        handle.kill(FinishReason::Shutdown);
                        return;
                    }
                }
            }
            match stores
                .jobs
                .heartbeat(&self.job.id, self.job.attempt, now)
                .await
            {
                Ok(Some(n)) if n > self.cancels_seen.load(Ordering::Relaxed) => {
                    self.cancels_seen.store(n, Ordering::Relaxed);
                    match CancelLevel::from_requests(n) {
                        Some(CancelLevel::Forced) => self.stop(FinishReason::Cancelled, true),
                        Some(CancelLevel::Graceful) => self.stop(FinishReason::Cancelled, false),
                        None => {}
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    // Paused at a checkpoint, not killed: the work in flight stays
                    // recorded for whoever resumes the job.
                    tracing::error!("The job is no longer running (reaped): pausing now");
                    self.pause();
                }
                Err(e) => tracing::warn!("heartbeat failed: {e}"),
            }
        }
    }

    /// While a partition crawl runs: sends the requests it found for other partitions
    /// every [`SEND_EVERY`] (sending early loses nothing: the receiver's duplicate filter
    /// drops repeats), starts crawlers for partitions that wait, and counts items
    /// towards `CLOSESPIDER_ITEMCOUNT`. Apart from [`Self::watch`], so that renewing the
    /// lease never waits behind a long send.
    async fn send(
        self: Arc<Self>,
        partition: String,
        handle: CrawlHandle,
        router: Arc<Router>,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) {
        let mut tick = tokio::time::interval(SEND_EVERY);
        // What this partition already counted (a resumed crawl starts with its
        // checkpoint's counts).
        let mut counted = CloseCounts::of(&handle.progress());
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => return,
            }
            match router.flush().await {
                Ok(0) => {}
                Ok(_) => self.scale(false).await,
                Err(e) => tracing::warn!("cannot send requests to other partitions yet: {e:#}"),
            }
            self.count(&partition, &handle, &mut counted).await;
            self.timed_out();
        }
    }

    /// Counts the partition crawl's new items, pages and errors towards
    /// `CLOSESPIDER_*COUNT` (over the whole job) and closes the job when one is reached:
    /// in this process's tally, or in the store's counts for crawlers of their own
    /// (written only when something grew).
    async fn count(&self, partition: &str, handle: &CrawlHandle, counted: &mut CloseCounts) {
        if !self.limits.any() {
            return;
        }
        let live = CloseCounts::of(&handle.progress());
        let total = if self.dispatched {
            let new = live.since(counted);
            if !new.any() {
                return;
            }
            match self.frontier().add_counts(&self.job.id, new).await {
                Ok(total) => {
                    *counted = live;
                    total
                }
                Err(e) => {
                    tracing::warn!("cannot count the job's items and pages: {e}");
                    return;
                }
            }
        } else {
            let mut counts = self.counts.lock();
            counts.insert(partition.to_string(), live);
            counts
                .values()
                .fold(CloseCounts::default(), |sum, c| sum.plus(c))
        };
        if let Some(reason) = total.reached(&self.limits) {
            self.close(reason);
        }
    }

    /// Whether the job's `CLOSESPIDER_TIMEOUT` (from the job's start) has passed; if so,
    /// the job closes.
    fn timed_out(&self) -> bool {
        let out = self.close_at.is_some_and(|t| self.stores.clock.now() >= t);
        if out {
            self.close(FinishReason::ClosespiderTimeout);
        }
        out
    }

    /// Whether the job's `CLOSESPIDER_TIMEOUT` (from the job's start) has passed, or a
    /// `CLOSESPIDER_*COUNT` was reached by the job's crawlers of their own; if so, the
    /// job closes with that reason.
    async fn limit_reached(&self) -> anyhow::Result<bool> {
        if self.timed_out() {
            return Ok(true);
        }
        if self.dispatched && self.limits.any() {
            let total = self
                .frontier()
                .add_counts(&self.job.id, CloseCounts::default())
                .await?;
            if let Some(reason) = total.reached(&self.limits) {
                self.close(reason);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Puts the partitions' item parts together, in partition order, into the job's
    /// one items feed (JSON lines: a concatenation).
    async fn assemble_items(&self, partitions: &[String]) -> anyhow::Result<()> {
        let blobs = self.blobs();
        let dest = blobs.local_path(&self.job.items_key());
        let parts: Option<Vec<_>> = partitions
            .iter()
            .map(|p| blobs.local_path(&self.part_key(p)))
            .collect();
        if let (Some(dest), Some(parts)) = (dest, parts) {
            // Files: streamed into a hidden file beside the feed, then renamed over it.
            use tokio::io::AsyncWriteExt;
            if let Some(dir) = dest.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let name = dest.file_name().unwrap_or_default().to_string_lossy();
            let tmp = dest.with_file_name(format!(".{name}.assembling"));
            let mut out = tokio::fs::File::create(&tmp).await?;
            for part in parts {
                let Ok(mut f) = tokio::fs::File::open(&part).await else {
                    continue; // a partition that never scraped an item
                };
                let n = tokio::io::copy(&mut f, &mut out).await?;
                if n > 0 && !ends_with_newline(&part).await? {
                    out.write_all(b"\n").await?;
                }
            }
            out.sync_all().await?;
            tokio::fs::rename(&tmp, &dest).await?;
            return Ok(());
        }
        let mut all = Vec::new();
        for p in partitions {
            if let Some(part) = blobs.get(&self.part_key(p)).await? {
                all.extend_from_slice(&part);
                if !part.is_empty() && !part.ends_with(b"\n") {
                    all.push(b'\n');
                }
            }
        }
        blobs.put(&self.job.items_key(), Bytes::from(all)).await?;
        Ok(())
    }

    /// The job's stats: each partition's last checkpoint's stats, counters summed
    /// (maxima for `*_max` and `memusage/*`, earliest `start_time`).
    async fn sum_stats(&self, partitions: &[String]) -> anyhow::Result<Map<String, Value>> {
        let mut out = Map::new();
        for p in partitions {
            let Some(raw) = self.checkpoints_of(p).get(checkpoint::STATE).await? else {
                continue;
            };
            let state: Value = serde_json::from_slice(&raw)?;
            let Some(stats) = state.get("stats").and_then(Value::as_object) else {
                continue;
            };
            for (k, v) in stats {
                merge_stat(&mut out, k, v);
            }
        }
        Ok(out)
    }

    /// Deletes the partitions' checkpoints and item parts, and the frontier.
    pub(crate) async fn cleanup(&self) {
        let partitions = match self.frontier().partitions(&self.job.id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("cannot list the job's partitions to delete them: {e}");
                return;
            }
        };
        for p in &partitions {
            if let Err(e) = self.checkpoints_of(p).clear().await {
                tracing::warn!("cannot delete partition {p}'s checkpoint: {e}");
            }
            if let Err(e) = self.blobs().delete(&self.part_key(p)).await {
                tracing::warn!("cannot delete partition {p}'s items: {e}");
            }
        }
        if let Err(e) = self.frontier().delete_frontier(&self.job.id).await {
            tracing::warn!("cannot delete the job's frontier: {e}");
        }
    }
}

/// The longest partition name: a DNS name (253) with a port. A crawled page's link to a
/// longer host is dropped (a store keys partitions by name: DynamoDB keys hold 1 KB).
const MAX_PARTITION_KEY: usize = 253 + 6;

/// The most bytes of serialised requests in one inbox batch (a DynamoDB item holds
/// 400 KB).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// `requests` cut into batches of at most [`BATCH_SIZE`] requests and, but for a single
/// request bigger than that, [`MAX_BATCH_BYTES`] bytes.
fn batches_of(requests: &[Request]) -> impl Iterator<Item = &[Request]> {
    let mut rest = requests;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (mut n, mut bytes) = (0, 0);
        while n < rest.len() && n < BATCH_SIZE {
            let size = serde_json::to_vec(&rest[n]).map_or(0, |v| v.len() + 1);
            if n > 0 && bytes + size > MAX_BATCH_BYTES {
                break;
            }
            bytes += size;
            n += 1;
        }
        let (batch, tail) = rest.split_at(n);
        rest = tail;
        Some(batch)
    })
}

/// Whether a non-empty file ends with a newline.
async fn ends_with_newline(path: &std::path::Path) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(path).await?;
    f.seek(std::io::SeekFrom::End(-1)).await?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last).await?;
    Ok(last[0] == b'\n')
}

fn merge_stat(out: &mut Map<String, Value>, k: &str, v: &Value) {
    match (out.get(k), v) {
        (None, _) => {
            out.insert(k.to_string(), v.clone());
        }
        (Some(Value::Number(a)), Value::Number(b)) => {
            let max = k.ends_with("_max") || k.starts_with("memusage/");
            let merged: Value = match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) if max => a.max(b).into(),
                (Some(a), Some(b)) => (a + b).into(),
                _ => {
                    let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                    if max { a.max(b) } else { a + b }.into()
                }
            };
            out.insert(k.to_string(), merged);
        }
        (Some(Value::String(a)), Value::String(b)) if k == "start_time" && b < a => {
            out.insert(k.to_string(), v.clone());
        }
        (Some(Value::String(a)), Value::String(b)) if k == "finish_time" && b > a => {
            out.insert(k.to_string(), v.clone());
        }
        _ => {}
    }
}

/// A partition or crawler name as a blob key segment, one-to-one: ASCII letters,
/// digits, `.` and `-` stay, every other byte is `_` and two hex digits (`_` too), and a
/// name of dots only (`.`, `..`) has its dots escaped; the empty name is `_`.
pub(crate) fn safe(name: &str) -> String {
    use std::fmt::Write as _;
    if name.is_empty() {
        return "_".into();
    }
    let dots_only = name.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || (b == b'.' && !dots_only) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    out
}

/// Keeps the partition's own requests; buffers the others per partition until the
/// next checkpoint commits (or the crawl ends), then puts them in their inboxes.
struct Router {
    own: String,
    by: PartitionBy,
    out: Mutex<BTreeMap<String, Vec<Request>>>,
    /// One flush at a time: a checkpoint's flush waits for the one in flight, so
    /// `state.json` is never written before requests taken out for sending are stored.
    flushing: tokio::sync::Mutex<()>,
    sent: AtomicU64,
    lease: Lease,
    frontier: Arc<dyn FrontierStore>,
    calls: Arc<Calls>,
}

impl RequestRouter for Router {
    fn keeps(&self, request: &Request) -> bool {
        self.by.key(&request.url) == self.own
    }

    fn divert(&self, request: Request) {
        let size = serde_json::to_vec(&request).map_or(usize::MAX, |v| v.len());
        if size > MAX_BATCH_BYTES {
            tracing::error!(
                "Dropped a request for another partition: {size} bytes serialised, more than an inbox batch holds ({MAX_BATCH_BYTES}): {}",
                request.url
            );
            return;
        }
        let key = self.by.key(&request.url);
        if key.len() > MAX_PARTITION_KEY {
            tracing::error!(
                "Dropped a request for another partition: its host is longer than a DNS name can be: {}",
                request.url
            );
            return;
        }
        self.out.lock().entry(key).or_default().push(request);
    }
}

impl Router {
    /// Puts the buffered requests into their partitions' inboxes. A batch put twice
    /// (a retry) is stored once; a redelivered one is filtered as duplicates.
    async fn flush(&self) -> anyhow::Result<usize> {
        let _one = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.out.lock());
        let mut left = taken.into_iter();
        let mut sent = 0;
        while let Some((partition, requests)) = left.next() {
            let mut done = 0;
            for chunk in batches_of(&requests) {
                let n = self.sent.fetch_add(1, Ordering::Relaxed);
                let batch = InboxBatch {
                    id: format!("{}:{}:{n}", self.own, self.lease.token),
                    partition: partition.clone(),
                    requests: chunk.to_vec(),
                };
                self.calls.batches_sent.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.frontier.put_batch(&self.lease.job, &batch).await {
                    // What was not stored goes back, ahead of what came since.
                    let mut out = self.out.lock();
                    let mut keep = |p: String, mut unsent: Vec<Request>| {
                        let newer = out.entry(p).or_default();
                        unsent.append(newer);
                        *newer = unsent;
                    };
                    keep(partition.clone(), requests[done..].to_vec());
                    for (p, rs) in left {
                        keep(p, rs);
                    }
                    return Err(e.into());
                }
                done += chunk.len();
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// A partition's checkpoint store that sends the requests found for other partitions
/// before a checkpoint commits (`state.json`): a checkpoint never marks a page done
/// whose links to other hosts could still be lost.
struct FlushingCheckpoints {
    inner: BlobCheckpoints,
    router: Arc<Router>,
    /// Whether the last `state.json` write failed: the stored checkpoint is older than
    /// the crawl, so the partition must not be committed from this crawl's outcome.
    state_failed: std::sync::atomic::AtomicBool,
}

impl CheckpointStore for FlushingCheckpoints {
    fn put<'a>(&'a self, name: &'a str, data: Vec<u8>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if name != checkpoint::STATE {
                return self.inner.put(name, data).await;
            }
            let written = match self.router.flush().await {
                Ok(_) => self.inner.put(name, data).await,
                Err(e) => Err(e),
            };
            self.state_failed.store(written.is_err(), Ordering::Relaxed);
            written
        })
    }

    fn get<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.get(name)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose `put_batch` fails for partition `b.example` while `fail` is set,
    /// recording the batches it stored.
    #[derive(Default)]
    struct FlakyInboxes {
        fail: std::sync::atomic::AtomicBool,
        stored: Mutex<Vec<InboxBatch>>,
    }

    #[async_trait::async_trait]
    impl FrontierStore for FlakyInboxes {
        async fn put_batch(&self, _: &str, b: &InboxBatch) -> crate::ports::StoreResult<bool> {
            if b.partition == "b.example" && self.fail.load(Ordering::Relaxed) {
                return Err(crate::ports::StoreError::unavailable("throttled"));
            }
            self.stored.lock().push(b.clone());
            Ok(true)
        }
        async fn lease_partition(
            &self,
            _: &str,
            _: &str,
            _: chrono::DateTime<chrono::Utc>,
            _: Duration,
        ) -> crate::ports::StoreResult<Option<Lease>> {
            Ok(None)
        }
        async fn renew_lease(
            &self,
            _: &Lease,
            _: chrono::DateTime<chrono::Utc>,
            _: Duration,
        ) -> crate::ports::StoreResult<bool> {
            Ok(true)
        }
        async fn inbox(&self, _: &Lease) -> crate::ports::StoreResult<Vec<InboxBatch>> {
            Ok(Vec::new())
        }
        async fn commit_partition(
            &self,
            _: &Lease,
            _: &[String],
            _: bool,
            _: bool,
        ) -> crate::ports::StoreResult<bool> {
            Ok(true)
        }
        async fn frontier_summary(
            &self,
            _: &str,
            _: chrono::DateTime<chrono::Utc>,
        ) -> crate::ports::StoreResult<super::super::FrontierSummary> {
            Ok(Default::default())
        }
        async fn partitions(&self, _: &str) -> crate::ports::StoreResult<Vec<String>> {
            Ok(Vec::new())
        }
        async fn claim_close(
            &self,
            _: &str,
            _: &str,
            _: chrono::DateTime<chrono::Utc>,
            _: Duration,
        ) -> crate::ports::StoreResult<bool> {
            Ok(true)
        }
        async fn add_counts(
            &self,
            _: &str,
            _: CloseCounts,
        ) -> crate::ports::StoreResult<CloseCounts> {
            Ok(CloseCounts::default())
        }
        async fn delete_frontier(&self, _: &str) -> crate::ports::StoreResult<()> {
            Ok(())
        }
    }

    fn urls(batches: &[InboxBatch], partition: &str) -> Vec<String> {
        batches
            .iter()
            .filter(|b| b.partition == partition)
            .flat_map(|b| b.requests.iter().map(|r| r.url.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_failed_send_keeps_the_requests_for_the_next() {
        let store = Arc::new(FlakyInboxes::default());
        let router = Router {
            own: "a.example".into(),
            by: PartitionBy::Host,
            out: Mutex::new(BTreeMap::new()),
            flushing: tokio::sync::Mutex::new(()),
            sent: AtomicU64::new(0),
            lease: Lease {
                job: "j".into(),
                partition: "a.example".into(),
                crawler: "c".into(),
                token: 1,
                expires: chrono::Utc::now(),
            },
            frontier: store.clone(),
            calls: Arc::default(),
        };
        let r = |u: &str| Request::parse(u).unwrap();
        assert!(router.keeps(&r("http://a.example/1")));
        for u in [
            "http://b.example/1",
            "http://c.example/1",
            "http://b.example/2",
        ] {
            router.divert(r(u));
        }
        store.fail.store(true, Ordering::Relaxed);
        assert!(router.flush().await.is_err());
        // Found while the send failed: queued behind what was not sent.
        router.divert(r("http://b.example/3"));
        store.fail.store(false, Ordering::Relaxed);
        router.flush().await.unwrap();
        let stored = store.stored.lock().clone();
        assert_eq!(
            urls(&stored, "b.example"),
            [
                "http://b.example/1",
                "http://b.example/2",
                "http://b.example/3"
            ]
        );
        assert_eq!(urls(&stored, "c.example"), ["http://c.example/1"]);
        // A link to a host no DNS name can be is dropped.
        router.divert(r(&format!("http://{}.example/", "a".repeat(300))));
        // A request too big for any batch is dropped, not retried forever.
        router.divert(r(&format!(
            "http://d.example/?{}",
            "x".repeat(MAX_BATCH_BYTES)
        )));
        assert_eq!(router.flush().await.unwrap(), 0);
    }

    #[test]
    fn key_segments_are_one_to_one_and_never_dots() {
        assert_eq!(safe("127.0.0.2:8080"), "127.0.0.2_3a8080");
        assert_ne!(safe("a.example:8080"), safe("a.example_8080"));
        assert_eq!(safe("a.example_8080"), "a.example_5f8080");
        assert_eq!(safe(".."), "_2e_2e");
        assert_eq!(safe(""), "_");
        assert_eq!(safe("crawler:ab/../x"), "crawler_3aab_2f.._2fx");
    }

    #[test]
    fn batches_are_cut_by_count_and_size() {
        let small: Vec<Request> = (0..1200)
            .map(|i| Request::parse(&format!("http://a.example/{i}")).unwrap())
            .collect();
        let sizes: Vec<usize> = batches_of(&small).map(<[Request]>::len).collect();
        assert_eq!(sizes, vec![500, 500, 200]);
        let big = "x".repeat(100 * 1024);
        let large: Vec<Request> = (0..7)
            .map(|i| Request::parse(&format!("http://a.example/{i}?{big}")).unwrap())
            .collect();
        let sizes: Vec<usize> = batches_of(&large).map(<[Request]>::len).collect();
        assert_eq!(sizes, vec![2, 2, 2, 1]);
        assert_eq!(batches_of(&[]).count(), 0);
    }
}
