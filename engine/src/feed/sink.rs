//! [`FeedSink`]: every feed of a crawl, written from any thread.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use futures::FutureExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::uri::timestamp;
use super::{
    new_exporter, render_uri, FeedConfig, FeedError, FeedExporter, FeedFuture, FeedStorage,
    FeedStorages, FeedTarget, UriParams,
};
use crate::Item;

const BUFFER: usize = 64 * 1024;

/// One feed's checkpointed position.
#[derive(Debug, Serialize, Deserialize)]
struct FeedPosition {
    /// The feed's URI template (it must be the same feed on resume).
    uri: String,
    batch_id: u64,
    items: u64,
    success: u64,
    failed: u64,
    broken: bool,
    files: Vec<String>,
    open: Option<OpenPosition>,
}

/// The position of a feed's open file.
#[derive(Debug, Serialize, Deserialize)]
struct OpenPosition {
    uri: String,
    items: u64,
    exporter: Value,
    target: Value,
}

/// The feeds of one crawl. `Send + Sync`: call [`write_item`](Self::write_item) from any
/// thread; each feed has its own lock and a buffered writer. [`close`](Self::close)
/// finishes every file (`]`, `</items>`) and stores it; dropping an unclosed sink closes
/// it too, so outputs are complete even after a cancelled or panicking crawl.
///
/// From async code, [`flush_async`](Self::flush_async) and
/// [`close_async`](Self::close_async) wait for remote storages without blocking a
/// thread (the engine closes its sinks that way). A batch file finished by
/// `write_item` is completed in the background and awaited at the next flush or close,
/// so a writing thread never waits for a remote storage.
pub struct FeedSink {
    feeds: Vec<Feed>,
}

struct Feed {
    config: FeedConfig,
    storage: Arc<dyn FeedStorage>,
    params: UriParams,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open: Option<OpenFile>,
    batch_id: u64,
    items: u64,
    success: u64,
    failed: u64,
    broken: bool,
    closed: bool,
    files: Vec<String>,
    /// Batch files whose storage has not completed yet.
    pending: Vec<Pending>,
}

/// A finished batch file being stored.
struct Pending {
    uri: String,
    items: u64,
    stored: FeedFuture,
}

/// A file whose exporter is finished: its target, ready to be stored.
struct Closing {
    uri: String,
    items: u64,
    target: io::Result<Box<dyn FeedTarget>>,
}

struct OpenFile {
    uri: String,
    exporter: Box<dyn FeedExporter>,
    out: BufWriter<Box<dyn FeedTarget>>,
    items: u64,
}

impl Feed {
    /// Opens the next batch's file and writes the exporter's preamble.
    fn open_next(&self, st: &mut State) -> Result<(), FeedError> {
        let batch_id = st.batch_id + 1;
        let batch_time = timestamp(chrono::Utc::now(), true);
        let uri = render_uri(&self.config.uri, &self.params, batch_id, &batch_time)?;
        let target = self.storage.open(&uri, self.config.overwrite)?;
        let mut out = BufWriter::with_capacity(BUFFER, target);
        let mut exporter = new_exporter(self.config.format, self.config.export_options());
        exporter
            .start(&mut out)
            .map_err(|e| FeedError::io(&uri, e))?;
        st.batch_id = batch_id;
        st.files.push(uri.clone());
        st.open = Some(OpenFile {
            uri,
            exporter,
            out,
            items: 0,
        });
        Ok(())
    }

    /// Takes the open file, if any, and finishes its exporter (`]`, `</items>`).
    fn begin_finish(st: &mut State) -> Option<Closing> {
        let mut f = st.open.take()?;
        let target = f
            .exporter
            .finish(&mut f.out)
            .and_then(|()| f.out.into_inner().map_err(|e| e.into_error()));
        Some(Closing {
            uri: f.uri,
            items: f.items,
            target,
        })
    }

    /// Counts and logs the outcome of storing a file.
    fn record(
        &self,
        st: &mut State,
        uri: &str,
        items: u64,
        res: io::Result<()>,
    ) -> Result<(), FeedError> {
        match res {
            Ok(()) => {
                st.success += 1;
                tracing::info!(uri = %uri, items, "stored {} feed", self.config.format);
                Ok(())
            }
            Err(e) => {
                st.failed += 1;
                let e = FeedError::io(uri, e);
                tracing::error!(uri = %uri, "error storing feed: {e}");
                Err(e)
            }
        }
    }

    /// Finishes and stores the open file, if any, blocking until it is stored.
    fn finish_open(&self, st: &mut State) -> Result<(), FeedError> {
        let Some(c) = Self::begin_finish(st) else {
            return Ok(());
        };
        let res = c.target.and_then(|t| t.finish());
        self.record(st, &c.uri, c.items, res)
    }

    /// Finishes the open file (a full batch, or a file that gets no more items) without
    /// waiting for its storage: the outcome is recorded now when it is known, else at
    /// the next flush or close.
    fn finish_batch(&self, st: &mut State) -> Result<(), FeedError> {
        let Some(c) = Self::begin_finish(st) else {
            return Ok(());
        };
        let mut stored = match c.target {
            Ok(t) => t.finish_async(),
            Err(e) => return self.record(st, &c.uri, c.items, Err(e)),
        };
        match (&mut stored).now_or_never() {
            Some(res) => self.record(st, &c.uri, c.items, res),
            None => {
                st.pending.push(Pending {
                    uri: c.uri,
                    items: c.items,
                    stored,
                });
                Ok(())
            }
        }
    }

    /// Waits for the batch files being stored (taken from the state by the caller).
    async fn settle(&self, pending: Vec<Pending>) -> Result<(), FeedError> {
        let mut first = Ok(());
        for p in pending {
            let res = p.stored.await;
            let r = self.record(&mut self.state.lock(), &p.uri, p.items, res);
            first = first.and(r);
        }
        first
    }

    fn write(&self, item: &Item) {
        let mut st = self.state.lock();
        if st.broken || st.closed {
            return;
        }
        if st.open.is_none() {
            if let Err(e) = self.open_next(&mut st) {
                tracing::error!(uri = %self.config.uri, "cannot open feed: {e}");
                st.broken = true;
                st.failed += 1;
                return;
            }
        }
        let f = st.open.as_mut().expect("opened above");
        if let Err(e) = f.exporter.export_item(item, &mut f.out) {
            tracing::error!(uri = %f.uri, "error writing feed, no more items go to it: {e}");
            st.broken = true;
            let _ = self.finish_batch(&mut st);
            return;
        }
        f.items += 1;
        let batch_full =
            self.config.batch_item_count > 0 && f.items >= self.config.batch_item_count;
        st.items += 1;
        if batch_full && self.finish_batch(&mut st).is_err() {
            st.broken = true;
        }
    }
}

impl FeedSink {
    /// Builds the sink: resolves each feed's storage, checks its URI placeholders against
    /// `params`, and opens the first file of feeds that store empty outputs (so a bad
    /// path fails now, not at the first item).
    pub fn new(
        configs: Vec<FeedConfig>,
        storages: &FeedStorages,
        params: UriParams,
    ) -> Result<Self, FeedError> {
        let mut feeds = Vec::with_capacity(configs.len());
        for config in configs {
            let storage = storages.for_uri(&config.uri)?;
            render_uri(&config.uri, &params, 1, "0000-00-00T00-00-00.000000")?;
            feeds.push(Feed {
                config,
                storage,
                params: params.clone(),
                state: Mutex::new(State::default()),
            });
        }
        let sink = FeedSink { feeds };
        for feed in &sink.feeds {
            if feed.config.store_empty {
                feed.open_next(&mut feed.state.lock())?;
            }
        }
        Ok(sink)
    }

    /// Builds the sink at a checkpointed [`position`](Self::position) (`Null`: as
    /// [`new`](Self::new)): each feed's open file is reopened where the checkpoint left
    /// it, dropping what was written after, and its exporter continues (no second `[`
    /// or CSV header). The feeds must be the same, in the same order.
    pub fn resume(
        configs: Vec<FeedConfig>,
        storages: &FeedStorages,
        params: UriParams,
        position: &Value,
    ) -> Result<Self, FeedError> {
        if position.is_null() {
            return Self::new(configs, storages, params);
        }
        let positions: Vec<FeedPosition> =
            serde_json::from_value(position.clone()).map_err(|e| FeedError::Resume {
                uri: String::new(),
                message: format!("unreadable position: {e}"),
            })?;
        if positions.len() != configs.len() {
            return Err(FeedError::Resume {
                uri: configs.first().map(|c| c.uri.clone()).unwrap_or_default(),
                message: format!(
                    "{} feed(s) now, {} at the checkpoint",
                    configs.len(),
                    positions.len()
                ),
            });
        }
        let mut feeds = Vec::with_capacity(configs.len());
        for (config, pos) in configs.into_iter().zip(positions) {
            if pos.uri != config.uri {
                return Err(FeedError::Resume {
                    uri: config.uri,
                    message: format!("the checkpoint is of feed {:?}", pos.uri),
                });
            }
            let storage = storages.for_uri(&config.uri)?;
            let mut st = State {
                batch_id: pos.batch_id,
                items: pos.items,
                success: pos.success,
                failed: pos.failed,
                broken: pos.broken,
                files: pos.files,
                ..State::default()
            };
            if let Some(open) = pos.open {
                let target = storage.resume(&open.uri, &open.target)?;
                let mut exporter = new_exporter(config.format, config.export_options());
                exporter.restore(&open.exporter);
                st.open = Some(OpenFile {
                    uri: open.uri,
                    exporter,
                    out: BufWriter::with_capacity(BUFFER, target),
                    items: open.items,
                });
            }
            feeds.push(Feed {
                config,
                storage,
                params: params.clone(),
                state: Mutex::new(st),
            });
        }
        Ok(FeedSink { feeds })
    }

    /// Every feed's position, for a checkpoint (see
    /// [`ItemSink::position`](crate::pipeline::ItemSink::position)): buffers are
    /// flushed now; the future resolves once the storages hold the data.
    pub fn position(&self) -> super::PositionFuture {
        let mut parts = Vec::with_capacity(self.feeds.len());
        for feed in &self.feeds {
            let mut st = feed.state.lock();
            let mut target = None;
            let open = st.open.as_mut().map(|f| {
                target = Some(match f.out.flush() {
                    Ok(()) => f.out.get_mut().position(),
                    Err(e) => Box::pin(std::future::ready(Err(e.into()))),
                });
                OpenPosition {
                    uri: f.uri.clone(),
                    items: f.items,
                    exporter: f.exporter.state(),
                    target: Value::Null,
                }
            });
            let pos = FeedPosition {
                uri: feed.config.uri.clone(),
                batch_id: st.batch_id,
                items: st.items,
                success: st.success,
                failed: st.failed,
                broken: st.broken,
                files: st.files.clone(),
                open,
            };
            parts.push((pos, target));
        }
        Box::pin(async move {
            let mut out = Vec::with_capacity(parts.len());
            for (mut pos, target) in parts {
                if let (Some(open), Some(target)) = (pos.open.as_mut(), target) {
                    open.target = target.await?;
                }
                out.push(pos);
            }
            Ok(serde_json::to_value(out)?)
        })
    }

    /// A sink with no feeds: `write_item` does nothing.
    pub fn empty() -> Self {
        FeedSink { feeds: Vec::new() }
    }

    /// Whether there are no feeds.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// Writes `item` to every feed (starting a new batch file when one is full). Errors
    /// are logged and counted; a feed that fails stops receiving items.
    pub fn write_item(&self, item: &Item) {
        for feed in &self.feeds {
            feed.write(item);
        }
    }

    /// Flushes every feed's buffer to its storage without finishing it and without
    /// waiting for remote storages (see [`flush_async`](Self::flush_async)).
    pub fn flush(&self) {
        for feed in &self.feeds {
            if let Some(f) = feed.state.lock().open.as_mut() {
                if let Err(e) = f.out.flush() {
                    tracing::warn!(uri = %f.uri, "cannot flush feed: {e}");
                }
            }
        }
    }

    /// Flushes every feed and waits until what was written so far is stored durably
    /// ([`FeedTarget::checkpoint`]: a remote feed's checkpoint), and for batch files
    /// still being stored. Holds no lock while waiting: writers go on meanwhile.
    pub async fn flush_async(&self) {
        for feed in &self.feeds {
            let (checkpoint, pending) = {
                let mut st = feed.state.lock();
                let pending = std::mem::take(&mut st.pending);
                let checkpoint = st.open.as_mut().and_then(|f| match f.out.flush() {
                    Ok(()) => Some((f.uri.clone(), f.out.get_mut().checkpoint())),
                    Err(e) => {
                        tracing::warn!(uri = %f.uri, "cannot flush feed: {e}");
                        None
                    }
                });
                (checkpoint, pending)
            };
            // Failures are logged and counted by `settle`.
            let _ = feed.settle(pending).await;
            if let Some((uri, stored)) = checkpoint {
                if let Err(e) = stored.await {
                    tracing::warn!(uri = %uri, "cannot checkpoint feed: {e}");
                }
            }
        }
    }

    /// Finishes and stores every feed, blocking the calling thread until they are
    /// stored; later items are ignored. Idempotent. Returns the first error, after
    /// trying every feed. Async code should use [`close_async`](Self::close_async):
    /// remote storages may refuse to block a Tokio runtime's thread.
    pub fn close(&self) -> Result<(), FeedError> {
        let mut first = Ok(());
        for feed in &self.feeds {
            let pending = {
                let mut st = feed.state.lock();
                if st.closed {
                    continue;
                }
                st.closed = true;
                std::mem::take(&mut st.pending)
            };
            first = first.and(block_on(feed.settle(pending)));
            let mut st = feed.state.lock();
            first = first.and(feed.finish_open(&mut st));
        }
        first
    }

    /// As [`close_async`](Self::close_async), for a crawl paused at a checkpoint: each
    /// open file is let go of with [`FeedTarget::suspend`] (a remote upload stays open
    /// for the resumed crawl) instead of being completed.
    pub async fn suspend_async(&self) -> Result<(), FeedError> {
        self.end_async(true).await
    }

    /// As [`close`](Self::close), waiting for the storages asynchronously: no thread
    /// blocks on a remote storage, and no lock is held while waiting.
    pub async fn close_async(&self) -> Result<(), FeedError> {
        self.end_async(false).await
    }

    async fn end_async(&self, suspend: bool) -> Result<(), FeedError> {
        let mut first = Ok(());
        for feed in &self.feeds {
            let (closing, pending) = {
                let mut st = feed.state.lock();
                if st.closed {
                    continue;
                }
                st.closed = true;
                (Feed::begin_finish(&mut st), std::mem::take(&mut st.pending))
            };
            first = first.and(feed.settle(pending).await);
            if let Some(c) = closing {
                let res = match c.target {
                    Ok(t) if suspend => t.suspend().await,
                    Ok(t) => t.finish_async().await,
                    Err(e) => Err(e),
                };
                let r = feed.record(&mut feed.state.lock(), &c.uri, c.items, res);
                first = first.and(r);
            }
        }
        first
    }

    /// Stats as Scrapy names them: `feedexport/success_count/<storage>` and
    /// `feedexport/failed_count/<storage>` (stored files), plus
    /// `feedexport/item_count/<uri>` (items written to each feed).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        let mut stats = BTreeMap::new();
        for feed in &self.feeds {
            let st = feed.state.lock();
            let name = feed.storage.name();
            for (kind, n) in [("success_count", st.success), ("failed_count", st.failed)] {
                if n > 0 {
                    *stats
                        .entry(format!("feedexport/{kind}/{name}"))
                        .or_insert(0) += n;
                }
            }
            *stats
                .entry(format!("feedexport/item_count/{}", feed.config.uri))
                .or_insert(0) += st.items;
        }
        stats
    }

    /// Items written so far to each feed, by URI template.
    pub fn item_counts(&self) -> Vec<(String, u64)> {
        self.feeds
            .iter()
            .map(|f| (f.config.uri.clone(), f.state.lock().items))
            .collect()
    }

    /// The expanded URIs of every file opened so far, per feed, in order.
    pub fn files(&self) -> Vec<String> {
        self.feeds
            .iter()
            .flat_map(|f| f.state.lock().files.clone())
            .collect()
    }
}

/// Runs `fut` to completion on the calling thread, parked while it is pending.
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

impl Drop for FeedSink {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
