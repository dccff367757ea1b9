//! The engine loop: start requests → scheduler → downloader → callbacks → items and new
//! requests, until nothing is left or someone stops the crawl.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::builder::EngineConfig;
use super::handle::{Control, CrawlHandle, CrawlOutcome};
use super::task::{run_request, DownloadToken, Shared, TaskId};
use super::{peak_rss_bytes, sleep_until_opt, timestamp};
use crate::checkpoint::{CheckpointError, Checkpointer, Snapshot};
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::finish::FinishReason;
use crate::pipeline::PositionFuture;
use crate::request::Request;
use crate::scheduler::{QueueOrder, Rejected, Scheduler};
use crate::spider::StartRequests;

/// A crawl ready to run.
pub struct Crawl {
    pub(super) shared: Arc<Shared>,
    pub(super) scheduler: Scheduler,
    pub(super) control: Arc<Control>,
    pub(super) cfg: EngineConfig,
    pub(super) checkpointer: Option<Arc<tokio::sync::Mutex<Checkpointer>>>,
    pub(super) checkpoint_every: Option<Duration>,
    pub(super) resumed: Option<Resumed>,
    pub(super) next_task: TaskId,
    pub(super) starts_consumed: u64,
    pub(super) router: Option<Arc<dyn super::RequestRouter>>,
    pub(super) inject: Vec<Request>,
    pub(super) skip_starts: bool,
}

/// A checkpoint captured with emission paused, to be written.
struct Capture {
    snapshot: Snapshot,
    new_seen: Vec<Fingerprint>,
    positions: Vec<PositionFuture>,
}

/// Waits for the sinks' positions and commits the checkpoint; returns whether the crawl
/// had nothing left to do.
async fn write_checkpoint(
    writer: &mut Checkpointer,
    capture: Capture,
    stats: &crate::stats::Stats,
) -> Result<bool, CheckpointError> {
    let t0 = Instant::now();
    let Capture {
        mut snapshot,
        new_seen,
        positions,
    } = capture;
    let (pending, finished) = (snapshot.pending.len(), snapshot.finished);
    for p in positions {
        match p.await {
            Ok(v) => snapshot.sinks.push(v),
            Err(source) => {
                // The fingerprints go out with the next checkpoint.
                writer.carry.extend(new_seen);
                return Err(CheckpointError::Store {
                    store: "item sink".into(),
                    source,
                });
            }
        }
    }
    writer.commit(snapshot, new_seen).await?;
    stats.inc("checkpoint/count", 1);
    tracing::debug!(
        "Checkpoint {} written in {:.1} ms ({pending} request(s) pending)",
        writer.seq,
        t0.elapsed().as_secs_f64() * 1000.0
    );
    Ok(finished)
}

/// Where a resumed crawl picks up.
pub(super) struct Resumed {
    pub(super) seq: u64,
    pub(super) starts_consumed: u64,
    pub(super) starts_done: bool,
    pub(super) elapsed: Duration,
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
        let before = self.resumed.as_ref().map_or(Duration::ZERO, |r| r.elapsed);
        match &self.resumed {
            Some(r) => tracing::info!(
                spider = %name,
                "Spider opened, resuming from checkpoint {} ({} request(s) pending, {} seen, {:.0} s crawled before)",
                r.seq, self.scheduler.len(), self.scheduler.seen_count(), r.elapsed.as_secs_f64()
            ),
            None => {
                stats.set("start_time", timestamp());
                tracing::info!(spider = %name, "Spider opened");
            }
        }

        let mut failure = None;
        for p in &self.shared.pipelines {
            if let Err(e) = p.open(&name) {
                tracing::error!(pipeline = p.name(), "cannot open item pipeline: {e:#}");
                failure = Some(FinishReason::Failed);
            }
        }
        let starts_done = self.skip_starts || self.resumed.as_ref().is_some_and(|r| r.starts_done);
        for request in std::mem::take(&mut self.inject) {
            stats.inc("frontier/received", 1);
            let fp = (!request.dont_filter).then(|| fingerprint(&request));
            self.enqueue(request, fp);
        }
        let mut starts: Option<StartRequests> = match failure {
            Some(_) => None,
            None if starts_done => None,
            None => match self.shared.spider.start_requests() {
                Ok(it) => Some(self.skip_consumed_starts(it)),
                Err(e) => {
                    tracing::error!("start requests failed: {e:#}");
                    failure = Some(FinishReason::Failed);
                    None
                }
            },
        };
        let mut closing: Option<FinishReason> = failure;
        let mut forced = false;
        let mut paused = false;

        let (slot_tx, mut slot_rx) = mpsc::unbounded_channel::<()>();
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut downloading = 0usize;
        let mut stop_rx = self.control.stop_tx.subscribe();
        // CLOSESPIDER_TIMEOUT counts the time of every run of a resumed crawl.
        let deadline = self
            .cfg
            .close_timeout
            .map(|d| started + d.saturating_sub(before));
        let ck_every = self
            .checkpoint_every
            .unwrap_or(Duration::from_secs(3600 * 24 * 365));
        let mut ck_tick = tokio::time::interval_at(started + ck_every, ck_every);
        ck_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                    let id = self.next_task;
                    self.next_task += 1;
                    if let Some(inflight) = &self.shared.inflight {
                        inflight.lock().insert(id, request.clone());
                    }
                    tasks.spawn(
                        run_request(self.shared.clone(), id, request, token)
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
                    self.absorb();
                    match joined {
                        Ok(()) => {}
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
                        if req.pause && closing.is_none() {
                            paused = true;
                        }
                        if req.pause && !req.force && !forced && self.checkpointer.is_some() {
                            forced = true;
                            tracing::info!("Pausing: {} request(s) in flight go back to the queue", tasks.len());
                            tasks.abort_all();
                            closing = Some(req.reason);
                        } else if req.force && !forced {
                            forced = true;
                            tracing::warn!(reason = %req.reason, "Stopping now: abandoning {} request(s) in flight", tasks.len());
                            tasks.abort_all();
                            // A crawl already closing keeps its reason (a cancel stays a
                            // cancel when the deadline then forces it).
                            closing.get_or_insert(req.reason);
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
                _ = ck_tick.tick(), if closing.is_none() && self.checkpoint_every.is_some() => {
                    self.checkpoint_in_background(starts.is_none(), before + started.elapsed());
                }
            }
        }

        self.absorb();
        let reason = closing.unwrap_or(FinishReason::Finished);
        self.finish(reason, started, before, starts.is_none(), paused)
            .await
    }

    /// Skips the start requests a resumed crawl consumed before its checkpoint.
    fn skip_consumed_starts(&mut self, mut it: StartRequests) -> StartRequests {
        let n = self.resumed.as_ref().map_or(0, |r| r.starts_consumed);
        for _ in 0..n {
            if it.next().is_none() {
                break;
            }
        }
        self.starts_consumed = n;
        it
    }

    /// Captures a checkpoint with emission paused (see [`Crawl::capture`]) and writes
    /// it in the background while the crawl goes on; skipped while the previous one is
    /// still being written.
    fn checkpoint_in_background(&mut self, starts_done: bool, elapsed: Duration) {
        let Some(ck) = self.checkpointer.clone() else {
            return;
        };
        let Ok(mut writer) = ck.try_lock_owned() else {
            tracing::debug!("the previous checkpoint is still being written: skipped");
            return;
        };
        let capture = self.capture(starts_done, elapsed);
        let stats = self.shared.stats.clone();
        tokio::spawn(
            async move {
                if let Err(e) = write_checkpoint(&mut writer, capture, &stats).await {
                    tracing::error!("checkpoint failed (the crawl goes on): {e}");
                    stats.inc("checkpoint/failed_count", 1);
                }
            }
            .instrument(tracing::Span::current()),
        );
    }

    /// Captures and writes a checkpoint, after any still being written; returns whether
    /// the crawl had nothing left to do.
    async fn checkpoint(
        &mut self,
        starts_done: bool,
        elapsed: Duration,
    ) -> Result<bool, CheckpointError> {
        let Some(ck) = self.checkpointer.clone() else {
            return Ok(false);
        };
        let mut writer = ck.lock_owned().await;
        let capture = self.capture(starts_done, elapsed);
        write_checkpoint(&mut writer, capture, &self.shared.stats).await
    }

    /// With emission paused ([`Shared::gate`] held exclusively): the queued, in-flight
    /// and handed-over requests, the new fingerprints, the stats, the middlewares'
    /// state and every sink's position (whose futures resolve once stored).
    fn capture(&mut self, starts_done: bool, elapsed: Duration) -> Capture {
        let shared = self.shared.clone();
        let _paused = shared.gate.write();
        self.absorb();
        let mut pending: Vec<Request> = Vec::new();
        if let Some(inflight) = &shared.inflight {
            let inflight = inflight.lock();
            let mut ids: Vec<&TaskId> = inflight.keys().collect();
            ids.sort_unstable();
            pending.extend(ids.into_iter().map(|id| inflight[id].clone()));
        }
        pending.extend(self.scheduler.pending());
        let positions: Vec<PositionFuture> = shared.sinks.iter().map(|s| s.position()).collect();
        let finished = starts_done && pending.is_empty();
        let snapshot = Snapshot {
            format: crate::checkpoint::FORMAT,
            seq: 0,
            written_at: timestamp(),
            spider: shared.spider.name().to_string(),
            finished,
            order: self.scheduler.order(),
            pending,
            seen_segments: 0,
            seen_count: 0,
            starts_consumed: self.starts_consumed,
            starts_done,
            stats: shared.stats.snapshot(),
            pages: shared.pages.load(Ordering::Relaxed),
            items: shared.items.load(Ordering::Relaxed),
            errors: shared.errors.load(Ordering::Relaxed),
            elapsed_secs: elapsed.as_secs_f64(),
            sinks: Vec::new(),
            middlewares: shared
                .downloader
                .middlewares()
                .iter()
                .filter_map(|m| Some((m.name().to_string(), m.checkpoint_state()?)))
                .collect(),
            labels: Default::default(),
        };
        Capture {
            snapshot,
            new_seen: self.scheduler.take_new_seen(),
            positions,
        }
    }

    fn pull_start_requests(&mut self, starts: &mut Option<StartRequests>) {
        let Some(it) = starts.as_mut() else { return };
        while self.scheduler.len() < self.cfg.concurrency {
            let Some(mut request) = it.next() else {
                *starts = None;
                return;
            };
            self.starts_consumed += 1;
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
        if let Some(router) = &self.router {
            if !router.keeps(&request) {
                self.shared.stats.inc("frontier/diverted", 1);
                router.divert(request);
                return;
            }
        }
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

    /// Queues the requests tasks handed over (also while closing: a checkpoint keeps
    /// them).
    fn absorb(&mut self) {
        let handed = std::mem::take(&mut *self.shared.outbox.lock());
        for (request, fp) in handed {
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

    async fn finish(
        mut self,
        reason: FinishReason,
        started: Instant,
        before: Duration,
        starts_done: bool,
        paused: bool,
    ) -> CrawlOutcome {
        let shared = self.shared.clone();
        // Let callbacks already on the worker pool finish before the sinks close.
        shared.jobs.wait_idle().await;
        // The last checkpoint: what is left to do (nothing, when the crawl is complete),
        // and the sinks' positions before they are finished.
        let mut resumable = false;
        if self.checkpointer.is_some() {
            self.shared.stats.set(
                "elapsed_time_seconds",
                (started.elapsed() + before).as_secs_f64(),
            );
            match self
                .checkpoint(starts_done, before + started.elapsed())
                .await
            {
                Ok(finished) => resumable = paused && !finished,
                Err(e) => tracing::error!("the final checkpoint failed: {e}"),
            }
        }
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
        });
        if let Err(e) = closed.await {
            tracing::error!("closing the spider panicked: {e}");
        }
        // Sinks close asynchronously: remote feeds are awaited, not blocked on.
        for s in sinks {
            let ended = if resumable {
                crate::pipeline::ItemSink::suspend_async(s).await
            } else {
                crate::pipeline::ItemSink::close_async(s).await
            };
            if let Err(e) = ended {
                tracing::error!("closing item output failed: {e:#}");
            }
        }
        let stats = &shared.stats;
        stats.set("finish_reason", reason.as_str());
        stats.set("finish_time", timestamp());
        stats.set(
            "elapsed_time_seconds",
            ((started.elapsed() + before).as_secs_f64() * 1000.0).round() / 1000.0,
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
            resumable,
        }
    }
}
