//! A storage that completes asynchronously (as remote ones do): writers never wait for
//! it, `flush_async` and `close_async` do.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use super::items;
use crate::feed::{
    FeedConfig, FeedError, FeedFormat, FeedFuture, FeedSink, FeedStorage, FeedStorages, FeedTarget,
    UriParams,
};

/// `mem://` feeds: stored in a map once the gate lets their finish through; each
/// checkpoint records the bytes written so far.
#[derive(Clone)]
struct Deferred {
    gate: Arc<Semaphore>,
    stored: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    checkpoints: Arc<Mutex<Vec<Vec<u8>>>>,
}

struct DeferredTarget {
    uri: String,
    buf: Vec<u8>,
    storage: Deferred,
}

impl Write for DeferredTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FeedTarget for DeferredTarget {
    fn finish(self: Box<Self>) -> io::Result<()> {
        crate::feed::sink::block_on(self.finish_async())
    }

    fn checkpoint(&mut self) -> FeedFuture {
        self.storage.checkpoints.lock().push(self.buf.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn finish_async(self: Box<Self>) -> FeedFuture {
        Box::pin(async move {
            let permit = self.storage.gate.acquire().await.expect("gate open");
            permit.forget();
            self.storage.stored.lock().insert(self.uri, self.buf);
            Ok(())
        })
    }
}

impl FeedStorage for Deferred {
    fn name(&self) -> &str {
        "DeferredFeedStorage"
    }
    fn open(&self, uri: &str, _overwrite: bool) -> Result<Box<dyn FeedTarget>, FeedError> {
        Ok(Box::new(DeferredTarget {
            uri: uri.to_string(),
            buf: Vec::new(),
            storage: self.clone(),
        }))
    }
}

fn deferred_sink(batch_item_count: u64) -> (Deferred, FeedSink) {
    let storage = Deferred {
        gate: Arc::new(Semaphore::new(0)),
        stored: Arc::default(),
        checkpoints: Arc::default(),
    };
    let mut storages = FeedStorages::builtin();
    storages.register("mem", Arc::new(storage.clone()));
    let mut config = FeedConfig::new("mem://out/%(batch_id)d.jl", FeedFormat::JsonLines);
    config.batch_item_count = batch_item_count;
    let sink = FeedSink::new(vec![config], &storages, UriParams::new("shop")).unwrap();
    (storage, sink)
}

#[tokio::test]
async fn batch_files_are_stored_in_the_background_and_settled_on_close() {
    let (storage, sink) = deferred_sink(1);
    // Each item fills a batch: its file is finished without waiting for the storage.
    for it in items() {
        sink.write_item(&it);
    }
    assert!(storage.stored.lock().is_empty(), "nothing stored yet");
    assert_eq!(
        sink.stats()
            .get("feedexport/success_count/DeferredFeedStorage"),
        None
    );
    storage.gate.add_permits(2);
    sink.close_async().await.unwrap();
    let stored = storage.stored.lock().clone();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        ["mem://out/1.jl", "mem://out/2.jl"]
    );
    assert!(stored.values().all(|b| b.ends_with(b"}\n")));
    assert_eq!(
        sink.stats()["feedexport/success_count/DeferredFeedStorage"],
        2
    );
}

#[tokio::test]
async fn flush_async_checkpoints_and_blocking_close_waits_for_the_storage() {
    let (storage, sink) = deferred_sink(0);
    let sink = Arc::new(sink);
    for it in items() {
        sink.write_item(&it);
    }
    sink.flush_async().await;
    let checkpoints = storage.checkpoints.lock().clone();
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0].iter().filter(|&&b| b == b'\n').count(), 2);
    // The blocking close, on a plain thread, returns once the storage lets it through.
    let s = sink.clone();
    let closing = std::thread::spawn(move || s.close());
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!closing.is_finished(), "waits for the storage");
    storage.gate.add_permits(1);
    tokio::task::spawn_blocking(move || closing.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(storage.stored.lock()["mem://out/1.jl"], checkpoints[0]);
}
