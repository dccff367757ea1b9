//! The `s3` feed storage against a real LocalStack (never mocked): streamed multipart
//! uploads, checkpoints, recovery of a crashed writer's feed.
//!
//! Needs `AWS_ENDPOINT_URL` and credentials: `localstack/run.sh start` then
//! `eval "$(localstack/run.sh env)"`. Each test makes its own bucket.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::{fresh_bucket, localstack, unique};
use serde_json::json;
use trawl_aws::S3BlobStore;
use trawl_core::ports::BlobStore;
use trawl_engine::feed::{FeedConfig, FeedDefaults, FeedSink, FeedStorages, UriParams};
use trawl_engine::Item;

/// An item of about `size` bytes of JSON.
fn item(i: usize, size: usize) -> Item {
    let v = json!({"n": i, "pad": "é".repeat(size / 2), "nested": {"i": i}});
    v.as_object().unwrap().clone()
}

/// A feed sink writing to `uri` only.
fn sink(storages: &FeedStorages, uri: &str) -> Arc<FeedSink> {
    let config = FeedConfig::from_cli(uri, true, &FeedDefaults::default()).expect("feed config");
    Arc::new(FeedSink::new(vec![config], storages, UriParams::new("spider")).expect("sink"))
}

/// Writes `items` through a `FeedSink` to `uri` and closes it, blocking the calling
/// thread.
fn write_feed(storages: &FeedStorages, uri: &str, items: &[Item]) {
    let sink = sink(storages, uri);
    for it in items {
        sink.write_item(it);
    }
    sink.close().expect("close the feed");
}

/// The bytes the same feed has as a local file.
fn expected_bytes(items: &[Item], ext: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(unique("trawl-aws-feed"));
    let path = dir.join(format!("feed.{ext}"));
    write_feed(&FeedStorages::builtin(), path.to_str().unwrap(), items);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    bytes
}

/// Runs `f` on a plain thread, outside any Tokio runtime, as the engine's callback
/// threads are, without blocking the test's runtime.
async fn on_plain_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.expect("the thread panicked")
}

/// Waits until `check` holds, polling every 100 ms, for at most 60 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The parts uploaded so far to the bucket's only open multipart upload, if any.
async fn open_upload_parts(client: &aws_sdk_s3::Client, bucket: &str) -> Option<usize> {
    let uploads = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let upload = uploads.uploads().first()?;
    let parts = client
        .list_parts()
        .bucket(bucket)
        .key(upload.key().unwrap())
        .upload_id(upload.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    Some(parts.parts().len())
}

async fn no_open_upload(client: &aws_sdk_s3::Client, bucket: &str) -> bool {
    let uploads = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    uploads.uploads().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_streams_large_feeds_as_multipart_uploads() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "p/");
    // About 12 MiB of JSON lines: 5 + 5 + 2 MiB parts.
    let items: Arc<Vec<Item>> = Arc::new((0..12 * 1024).map(|i| item(i, 1000)).collect());
    let expected = expected_bytes(&items, "jl");
    assert!(expected.len() > 10 * 1024 * 1024 && expected.len() < 15 * 1024 * 1024);
    let sink = sink(&blobs.feed_storages(), &blobs.feed_uri("items/big.jl"));
    // As the engine does: items written on plain threads, the sink closed from async code.
    let (s, its) = (sink.clone(), items.clone());
    on_plain_thread(move || its.iter().for_each(|it| s.write_item(it))).await;
    sink.close_async().await.expect("close the feed");
    assert_eq!(
        sink.stats().get("feedexport/success_count/S3FeedStorage"),
        Some(&1)
    );
    let got = blobs
        .get("items/big.jl")
        .await
        .unwrap()
        .expect("feed object");
    assert_eq!(got.len(), expected.len(), "feed size");
    assert!(got == expected, "the S3 feed equals the local one");
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("p/items/big.jl")
        .send()
        .await
        .unwrap();
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    assert!(
        etag.ends_with("-3"),
        "a 12 MiB feed is a multipart upload of 3 parts (ETag {etag})"
    );
    assert!(
        no_open_upload(&client, &bucket).await,
        "no upload left open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_tiny_feed_closed_from_a_plain_thread_is_one_put() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "");
    let items: Vec<Item> = (0..3).map(|i| item(i, 10)).collect();
    let expected = expected_bytes(&items, "json");
    // The blocking close, from a thread outside any runtime.
    let (storages, uri) = (blobs.feed_storages(), blobs.feed_uri("items/tiny.json"));
    let its = items.clone();
    on_plain_thread(move || write_feed(&storages, &uri, &its)).await;
    let got = blobs
        .get("items/tiny.json")
        .await
        .unwrap()
        .expect("feed object");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected)
    );
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("items/tiny.json")
        .send()
        .await
        .unwrap();
    assert!(
        !head.e_tag().unwrap_or_default().contains('-'),
        "a small feed is a single PutObject"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_blocking_close_on_a_runtime_thread_is_refused() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client, &bucket, "");
    let sink = sink(&blobs.feed_storages(), &blobs.feed_uri("items/refused.jl"));
    sink.write_item(&item(1, 10));
    let err = sink.close().expect_err("a runtime thread must not block");
    assert!(err.to_string().contains("close_async"), "{err}");
    assert_eq!(
        sink.stats().get("feedexport/failed_count/S3FeedStorage"),
        Some(&1)
    );
    assert_eq!(blobs.get("items/refused.jl").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_dropped_unfinished_aborts_the_upload() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "");
    let storage = blobs.feed_storages().for_uri("s3://x/y").unwrap();
    let uri = blobs.feed_uri("items/abandoned.jl");
    let mut target = storage.open(&uri, true).unwrap();
    let target = on_plain_thread(move || {
        target.write_all(&vec![b'x'; 6 * 1024 * 1024]).unwrap();
        target
    })
    .await;
    eventually("the first part is uploaded", || async {
        open_upload_parts(&client, &bucket).await == Some(1)
    })
    .await;
    drop(target);
    eventually("the upload is aborted", || no_open_upload(&client, &bucket)).await;
    assert_eq!(blobs.get("items/abandoned.jl").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_of_a_crashed_writer_is_recovered_up_to_its_last_flush() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "p/");
    for (key, first_part) in [
        ("items/small.jl", 0usize),
        ("items/large.jl", 6 * 1024 * 1024),
    ] {
        let storage = blobs.feed_storages().for_uri("s3://x/y").unwrap();
        let mut target = storage.open(&blobs.feed_uri(key), true).unwrap();
        let head = vec![b'a'; first_part];
        let h = head.clone();
        let (mut target, stored) = on_plain_thread(move || {
            target.write_all(&h).unwrap();
            target.write_all(b"flushed line\n").unwrap();
            let stored = target.checkpoint();
            (target, stored)
        })
        .await;
        stored.await.expect("checkpoint stored");
        target.write_all(b"lost line\n").unwrap();
        // A crash: no finish, no drop.
        std::mem::forget(target);
        assert_eq!(
            blobs.get(key).await.unwrap(),
            None,
            "{key}: not complete yet"
        );
        assert!(blobs.recover_feed(key).await.unwrap(), "{key}: recovered");
        let mut expected = head;
        expected.extend_from_slice(b"flushed line\n");
        let got = blobs.get(key).await.unwrap().expect("recovered object");
        assert!(
            got == expected,
            "{key}: everything up to the last flush, nothing after"
        );
        assert!(
            !blobs.recover_feed(key).await.unwrap(),
            "{key}: nothing left to recover"
        );
    }
    assert!(
        no_open_upload(&client, &bucket).await,
        "no upload left open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_recovery_ignores_parts_uploaded_after_the_checkpoint() {
    // Part 2 starts with the checkpoint's bytes: recovering parts 1 and 2 plus the
    // checkpoint would repeat them.
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "");
    let key = "items/stale.jl";
    let storage = blobs.feed_storages().for_uri("s3://x/y").unwrap();
    let mut target = storage.open(&blobs.feed_uri(key), true).unwrap();
    let mb = 1024 * 1024;
    let (mut target, stored) = on_plain_thread(move || {
        target.write_all(&vec![b'a'; 6 * mb]).unwrap();
        let stored = target.checkpoint();
        (target, stored)
    })
    .await;
    stored.await.expect("checkpoint stored");
    let target = on_plain_thread(move || {
        target.write_all(&vec![b'b'; 5 * mb]).unwrap();
        target
    })
    .await;
    eventually("the second part is uploaded", || async {
        open_upload_parts(&client, &bucket).await == Some(2)
    })
    .await;
    std::mem::forget(target);
    assert!(blobs.recover_feed(key).await.unwrap());
    let got = blobs.get(key).await.unwrap().expect("recovered object");
    assert_eq!(got.len(), 6 * mb, "the 6 MiB written before the checkpoint");
    assert!(got.iter().all(|&b| b == b'a'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_sink_flush_async_stores_a_checkpoint() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client, &bucket, "");
    let sink = sink(&blobs.feed_storages(), &blobs.feed_uri("items/live.jl"));
    let items: Vec<Item> = (0..5).map(|i| item(i, 10)).collect();
    let (s, its) = (sink.clone(), items.clone());
    on_plain_thread(move || its.iter().for_each(|it| s.write_item(it))).await;
    sink.flush_async().await;
    let partial = blobs
        .get(&trawl_aws::s3::checkpoint_key("items/live.jl"))
        .await
        .unwrap()
        .expect("a checkpoint after flush_async");
    assert_eq!(partial, expected_bytes(&items, "jl"), "every item flushed");
    sink.close_async().await.unwrap();
    assert_eq!(
        blobs.get("items/live.jl").await.unwrap().as_deref(),
        Some(&partial[..])
    );
    assert_eq!(
        blobs
            .get(&trawl_aws::s3::checkpoint_key("items/live.jl"))
            .await
            .unwrap(),
        None,
        "the checkpoint is deleted once the feed is complete"
    );
}
