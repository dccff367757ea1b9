//! Controlling a running crawl from outside ([`CrawlHandle`], [`Progress`]) and how it
//! ended ([`CrawlOutcome`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::finish::FinishReason;
use crate::scheduler::SchedulerState;
use crate::stats::Stats;

/// A request to stop a running crawl.
#[derive(Debug, Clone)]
pub(super) struct StopRequest {
    pub(super) reason: FinishReason,
    pub(super) force: bool,
    /// Stop to resume later: a crawl that checkpoints abandons its in-flight requests
    /// at once (its last checkpoint queues them again); one that does not stops
    /// gracefully.
    pub(super) pause: bool,
}

/// What the loop and its handles share.
pub(super) struct Control {
    pub(super) stop_tx: watch::Sender<Option<StopRequest>>,
    pub(super) stats: Arc<Stats>,
    pub(super) queued: AtomicUsize,
    pub(super) in_flight: AtomicUsize,
}

/// Controls a running crawl from outside: stop it, read its progress.
#[derive(Clone)]
pub struct CrawlHandle {
    pub(super) control: Arc<Control>,
}

/// A snapshot of a crawl's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Responses received.
    pub pages: u64,
    /// Items scraped.
    pub items: u64,
    /// Download errors (not requests a middleware dropped on purpose) plus spider errors.
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
            pause: false,
        }));
    }

    /// Pause, to resume later (finish reason `shutdown`): a crawl with a checkpoint
    /// store stops at once — requests in flight are in its last checkpoint and are
    /// downloaded again when it resumes — and one without stops as [`stop`](Self::stop)
    /// does. A second call stops at once in both cases.
    pub fn pause(&self) {
        let current = self.control.stop_tx.borrow().clone();
        // A crawl already stopping (a cancel) keeps its reason and stops at once.
        let request = match current {
            Some(r) => StopRequest {
                reason: r.reason,
                force: true,
                pause: r.pause,
            },
            None => StopRequest {
                reason: FinishReason::Shutdown,
                force: false,
                pause: true,
            },
        };
        self.control.stop_tx.send_replace(Some(request));
    }

    /// Forced stop: in-flight requests are abandoned; feeds still close.
    pub fn kill(&self, reason: FinishReason) {
        self.control.stop_tx.send_replace(Some(StopRequest {
            reason,
            force: true,
            pause: false,
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
            errors: crate::stats::error_count(|k| s.get_i64(k)) as u64,
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
    /// Whether the crawl was paused ([`CrawlHandle::pause`]) with work left and its
    /// last checkpoint written: a later run resumes from it, and the sinks were
    /// suspended rather than completed. (Any crawl with a checkpoint store can be
    /// resumed from its last checkpoint; only a paused one leaves its sinks open.)
    pub resumable: bool,
}
