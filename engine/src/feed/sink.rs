//! [`FeedSink`]: every feed of a crawl, written from any thread.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use parking_lot::Mutex;

use super::uri::timestamp;
use super::{
    new_exporter, render_uri, FeedConfig, FeedError, FeedExporter, FeedStorage, FeedStorages,
    FeedTarget, UriParams,
};
use crate::Item;

const BUFFER: usize = 64 * 1024;

/// The feeds of one crawl. `Send + Sync`: call [`write_item`](Self::write_item) from any
/// thread; each feed has its own lock and a buffered writer. [`close`](Self::close)
/// finishes every file (`]`, `</items>`) and stores it; dropping an unclosed sink closes
/// it too, so outputs are complete even after a cancelled or panicking crawl.
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

    /// Finishes and stores the open file, if any, counting success or failure.
    fn finish_open(&self, st: &mut State) -> Result<(), FeedError> {
        let Some(mut f) = st.open.take() else {
            return Ok(());
        };
        let res = f
            .exporter
            .finish(&mut f.out)
            .and_then(|()| f.out.into_inner().map_err(|e| e.into_error()))
            .and_then(|target| target.finish())
            .map_err(|e| FeedError::io(&f.uri, e));
        match &res {
            Ok(()) => {
                st.success += 1;
                tracing::info!(uri = %f.uri, items = f.items, "stored {} feed", self.config.format);
            }
            Err(e) => {
                st.failed += 1;
                tracing::error!(uri = %f.uri, "error storing feed: {e}");
            }
        }
        res
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
            let _ = self.finish_open(&mut st);
            return;
        }
        f.items += 1;
        let batch_full =
            self.config.batch_item_count > 0 && f.items >= self.config.batch_item_count;
        st.items += 1;
        if batch_full && self.finish_open(&mut st).is_err() {
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

    /// Flushes every feed's buffer without finishing it (e.g. on a stats tick).
    pub fn flush(&self) {
        for feed in &self.feeds {
            if let Some(f) = feed.state.lock().open.as_mut() {
                if let Err(e) = f.out.flush() {
                    tracing::warn!(uri = %f.uri, "cannot flush feed: {e}");
                }
            }
        }
    }

    /// Finishes and stores every feed; later items are ignored. Idempotent. Returns the
    /// first error, after trying every feed.
    pub fn close(&self) -> Result<(), FeedError> {
        let mut first = Ok(());
        for feed in &self.feeds {
            let mut st = feed.state.lock();
            if st.closed {
                continue;
            }
            st.closed = true;
            if let Err(e) = feed.finish_open(&mut st) {
                if first.is_ok() {
                    first = Err(e);
                }
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

impl Drop for FeedSink {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
