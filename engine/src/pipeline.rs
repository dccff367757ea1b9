//! Item pipelines and item sinks: where scraped items go after a callback.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Item;

/// Why a pipeline dropped an item (Scrapy's `DropItem`); the reason feeds
/// `item_dropped_reasons_count/<reason>`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct DropItem {
    /// A short reason (used as a stats key suffix).
    pub reason: String,
}

impl DropItem {
    /// Drops an item for `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        DropItem {
            reason: reason.into(),
        }
    }
}

/// An item pipeline, as Scrapy's: each item passes through every pipeline in order.
///
/// `process_item` runs on the callback thread pool, concurrently for different items.
pub trait ItemPipeline: Send + Sync {
    /// The name used in logs.
    fn name(&self) -> &str;

    /// Called once before the first item.
    fn open(&self, _spider_name: &str) -> anyhow::Result<()> {
        Ok(())
    }

    /// Transforms the item, or drops it.
    fn process_item(&self, item: Item) -> Result<Item, DropItem>;

    /// Called once when the crawl ends.
    fn close(&self) {}
}

/// The completion of [`ItemSink::close_async`].
pub type SinkFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'static>>;

/// A sink's position for a checkpoint ([`ItemSink::position`]), once it is durable.
pub type PositionFuture =
    Pin<Box<dyn Future<Output = anyhow::Result<serde_json::Value>> + Send + 'static>>;

/// The end of the item path: feed exports, a job's item store, a test collector.
pub trait ItemSink: Send + Sync + 'static {
    /// Writes one item; an error is logged and counted, the crawl goes on. Called on
    /// the callback threads: it should not wait on the network.
    fn write_item(&self, item: &Item) -> anyhow::Result<()>;

    /// Finishes every output (closing JSON arrays, flushing, uploading), blocking the
    /// calling thread. Called once, also when the crawl is cancelled or fails.
    fn close(&self) -> anyhow::Result<()>;

    /// Where the sink stands, for a checkpoint: called with item emission paused, it
    /// records what was written so far (e.g. a file's length) and returns a future that
    /// resolves once that is durable. The default: `Null` (nothing to restore; a sink
    /// that cannot roll back repeats the items written after the last checkpoint).
    fn position(&self) -> PositionFuture {
        Box::pin(std::future::ready(Ok(serde_json::Value::Null)))
    }

    /// How the engine lets go of the sink when the crawl paused at a checkpoint (it will
    /// be resumed from its [`position`](Self::position)): by default, as
    /// [`close_async`](Self::close_async).
    fn suspend_async(self: Arc<Self>) -> SinkFuture {
        self.close_async()
    }

    /// How the engine closes the sink: by default [`close`](Self::close) on a blocking
    /// thread. Sinks that store over the network override it to wait asynchronously.
    fn close_async(self: Arc<Self>) -> SinkFuture {
        let span = tracing::Span::current();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || span.in_scope(|| self.close()))
                .await
                .map_err(|e| anyhow::anyhow!("closing an item sink panicked: {e}"))?
        })
    }
}

/// An [`ItemSink`] that keeps items in memory (for `trawl parse`, tests and embedding).
#[derive(Debug, Default)]
pub struct MemorySink {
    items: parking_lot::Mutex<Vec<Item>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The items written so far.
    pub fn items(&self) -> Vec<Item> {
        self.items.lock().clone()
    }
}

impl ItemSink for MemorySink {
    fn write_item(&self, item: &Item) -> anyhow::Result<()> {
        self.items.lock().push(item.clone());
        Ok(())
    }

    fn close(&self) -> anyhow::Result<()> {
        Ok(())
    }
}
