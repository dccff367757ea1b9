//! One request as a tokio task: the downloader, then the callback (or errback), the
//! spider middlewares, the item pipelines and the sinks on the worker pool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use tokio::sync::mpsc;

use crate::downloader::{DownloadError, DownloadOutcome, Downloader};
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::middleware::SpiderMiddleware;
use crate::pipeline::{ItemPipeline, ItemSink};
use crate::request::Request;
use crate::response::Response;
use crate::spider::{Output, Spider};
use crate::stats::Stats;
use crate::workers::{JobTracker, WorkerPool};

/// Everything request tasks share.
pub(super) struct Shared {
    pub(super) spider: Arc<dyn Spider>,
    pub(super) downloader: Downloader,
    pub(super) spider_mws: Vec<Arc<dyn SpiderMiddleware>>,
    pub(super) pipelines: Vec<Arc<dyn ItemPipeline>>,
    pub(super) sinks: Vec<Arc<dyn ItemSink>>,
    pub(super) stats: Arc<Stats>,
    pub(super) pool: Arc<WorkerPool>,
    pub(super) jobs: Arc<JobTracker>,
    pub(super) pages: AtomicU64,
    pub(super) items: AtomicU64,
    pub(super) errors: AtomicU64,
    /// Held (shared) while a task emits its items and hands over its requests; a
    /// checkpoint holds it exclusively, so it sees every task either before or after.
    pub(super) gate: RwLock<()>,
    /// Requests whose task has not handed over its output yet, by task id (tracked only
    /// when the crawl checkpoints): a checkpoint queues them again.
    pub(super) inflight: Option<Mutex<HashMap<u64, Request>>>,
    /// Requests tasks produced, waiting for the loop to queue them.
    pub(super) outbox: Mutex<Vec<(Request, Option<Fingerprint>)>>,
}

/// A request task's identity, for [`Shared::inflight`].
pub(super) type TaskId = u64;

/// Tells the loop a download slot is free, even if the task is aborted.
pub(super) struct DownloadToken(pub(super) mpsc::UnboundedSender<()>);

impl Drop for DownloadToken {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// One request's whole trip: download, then callback (or errback) on the blocking pool.
/// Its output (new requests) goes to [`Shared::outbox`].
pub(super) async fn run_request(
    shared: Arc<Shared>,
    id: TaskId,
    request: Request,
    token: DownloadToken,
) {
    let outcome = shared.downloader.download(request).await;
    drop(token);
    match outcome {
        DownloadOutcome::Response(resp) => {
            on_blocking_pool(shared, id, move |sh| sh.handle_response(id, &resp)).await
        }
        DownloadOutcome::Reschedule(request) => {
            let fp = (!request.dont_filter).then(|| fingerprint(&request));
            let _emitting = shared.gate.read();
            shared.hand_over(id, vec![(*request, fp)]);
        }
        DownloadOutcome::Failed(request, error) => {
            on_blocking_pool(shared, id, move |sh| {
                sh.handle_failure(id, &request, &error)
            })
            .await
        }
    }
}

async fn on_blocking_pool<F>(shared: Arc<Shared>, id: TaskId, f: F)
where
    F: FnOnce(&Shared) + Send + 'static,
{
    let sh = shared.clone();
    // Keep the caller's span (a control plane tags each job's log lines with it).
    let span = tracing::Span::current();
    match shared
        .pool
        .run(&shared.jobs, move || span.in_scope(|| f(&sh)))
        .await
    {
        Ok(()) => {}
        Err(e) => {
            tracing::error!("{e}");
            let _emitting = shared.gate.read();
            shared.errors.fetch_add(1, Ordering::Relaxed);
            shared.stats.inc("spider_exceptions/count", 1);
            shared.stats.inc("spider_exceptions/panic", 1);
            shared.hand_over(id, Vec::new());
        }
    }
}

impl Shared {
    /// Ends task `id`: its requests go to the loop and it is no longer in flight. The
    /// caller holds [`Shared::gate`] (shared), together with the items it emitted.
    fn hand_over(&self, id: TaskId, requests: Vec<(Request, Option<Fingerprint>)>) {
        if !requests.is_empty() {
            self.outbox.lock().extend(requests);
        }
        if let Some(inflight) = &self.inflight {
            inflight.lock().remove(&id);
        }
    }

    fn handle_response(&self, id: TaskId, response: &Response) {
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
                let _emitting = self.gate.read();
                return self.hand_over(id, Vec::new());
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
        self.process_output(id, Some(response), out)
    }

    fn handle_failure(&self, id: TaskId, request: &Request, error: &DownloadError) {
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
            let _emitting = self.gate.read();
            return self.hand_over(id, Vec::new());
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
        self.process_output(id, None, out)
    }

    fn process_output(&self, id: TaskId, response: Option<&Response>, out: Output) {
        let mut requests = Vec::with_capacity(out.requests.len());
        for mut request in out.requests {
            if self
                .spider_mws
                .iter()
                .all(|m| m.process_request(response, &mut request))
                && self
                    .downloader
                    .middlewares()
                    .iter()
                    .all(|m| m.request_scheduled(&request))
            {
                let fp = (!request.dont_filter).then(|| fingerprint(&request));
                requests.push((request, fp));
            }
        }
        // Items, stats and the hand-over happen together, between checkpoints.
        let _emitting = self.gate.read();
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
        self.hand_over(id, requests);
    }
}
