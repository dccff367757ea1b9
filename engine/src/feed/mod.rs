//! Feed exports, as Scrapy's `FEEDS`: items streamed to files (or stdout, or any
//! registered [`FeedStorage`]) in `jsonlines`, `json`, `csv` or `xml`.
//!
//! * [`FeedConfig`] is one feed: parsed from the `FEEDS` setting
//!   ([`FeedConfig::from_settings`]) or a command-line `-o`/`-O` argument
//!   ([`FeedConfig::from_cli`]).
//! * [`FeedStorages`] maps URI schemes to [`FeedStorage`]s (`file`, `stdout` built in;
//!   others such as `s3` are registered by other crates).
//! * [`FeedSink`] is what the engine owns: `write_item` from any thread, `close` at the
//!   end (also done on drop, so JSON and XML files are always complete).

mod config;
mod error;
pub mod export;
mod format;
mod sink;
mod storage;
mod uri;

pub use config::{parse_feeds, FeedConfig, FeedDefaults};
pub use error::FeedError;
pub use export::{new_exporter, ExportOptions, FeedExporter};
pub use format::FeedFormat;
pub use sink::FeedSink;
pub use storage::{
    uri_scheme, FeedFuture, FeedStorage, FeedStorages, FeedTarget, FileStorage, PositionFuture,
    StdoutStorage,
};
pub use uri::{render_uri, UriParams};

#[cfg(test)]
mod tests;

impl crate::pipeline::ItemSink for FeedSink {
    fn write_item(&self, item: &crate::Item) -> anyhow::Result<()> {
        FeedSink::write_item(self, item);
        Ok(())
    }

    fn close(&self) -> anyhow::Result<()> {
        FeedSink::close(self).map_err(Into::into)
    }

    fn close_async(self: std::sync::Arc<Self>) -> crate::pipeline::SinkFuture {
        Box::pin(async move { FeedSink::close_async(&self).await.map_err(Into::into) })
    }

    fn position(&self) -> crate::pipeline::PositionFuture {
        FeedSink::position(self)
    }

    fn suspend_async(self: std::sync::Arc<Self>) -> crate::pipeline::SinkFuture {
        Box::pin(async move { FeedSink::suspend_async(&self).await.map_err(Into::into) })
    }
}
