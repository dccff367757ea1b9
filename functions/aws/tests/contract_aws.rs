//! The storage contract and the AWS adapters against a real LocalStack (never mocked).
//!
//! Needs `AWS_ENDPOINT_URL` and credentials: `localstack/run.sh start` then
//! `eval "$(localstack/run.sh env)"`. Each test makes its own table, bucket or queue.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use serde_json::{json, Value};
use trawl_aws::config::s3_client;
use trawl_aws::{
    create_table, delete_table, load_sdk_config, AwsConfig, AwsKicker, AwsSettings, DynamoStore,
    S3BlobStore, SqsDispatcher,
};
use trawl_core::contract;
use trawl_core::model::Job;
use trawl_core::ports::{BlobStore, Dispatcher, Kicker};
use trawl_engine::feed::{FeedConfig, FeedDefaults, FeedSink, FeedStorages, UriParams};
use trawl_engine::Item;

/// The SDK configuration for LocalStack; fails (never skips) without one.
async fn localstack() -> SdkConfig {
    if std::env::var("AWS_ENDPOINT_URL").map_or(true, |v| v.is_empty()) {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests need LocalStack. Run \
             `localstack/run.sh start` and `eval \"$(localstack/run.sh env)\"`, then \
             `cargo test -p trawl-aws` again."
        );
    }
    load_sdk_config().await
}

/// A name unique to this run.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{nanos:x}-{n}")
}

async fn fresh_table(sdk: &SdkConfig, what: &str) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let name = unique(&format!("trawl-test-{what}"));
    create_table(&client, &name).await.expect("create_table");
    DynamoStore::new(client, name)
}

async fn drop_table(store: &DynamoStore) {
    delete_table(store.client(), store.table())
        .await
        .expect("delete_table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_job_store_contract() {
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "jobs").await;
    contract::job_store_contract(&store).await;
    drop_table(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_schedule_store_contract() {
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "schedules").await;
    contract::schedule_store_contract(&store).await;
    drop_table(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_project_store_contract() {
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "projects").await;
    contract::project_store_contract(&store).await;
    drop_table(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_one_table_for_all_four_stores() {
    // The three stores share one table in production: their items must not mix.
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "shared").await;
    contract::project_store_contract(&store).await;
    contract::schedule_store_contract(&store).await;
    contract::job_store_contract(&store).await;
    contract::item_history_contract(&store).await;
    drop_table(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_item_history_contract() {
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "history").await;
    contract::item_history_contract(&store).await;
    // More than one chunk item per call, and a spider whose name extends another's.
    use trawl_core::ports::ItemHistory;
    let many: Vec<[u8; 20]> = (0..40_000u32)
        .map(|i| {
            let mut f = [7u8; 20];
            f[..4].copy_from_slice(&i.to_be_bytes());
            f
        })
        .collect();
    store.add_seen_items("p", "s", &many).await.unwrap();
    store.add_seen_items("p", "s#x", &[[1; 20]]).await.unwrap();
    let mut seen = store.seen_items("p", "s").await.unwrap();
    seen.sort();
    assert_eq!(seen, many, "40k fingerprints across chunk items");
    assert_eq!(store.seen_items("p", "s#x").await.unwrap(), vec![[1; 20]]);
    store.forget_items("p").await.unwrap();
    assert!(store.seen_items("p", "s").await.unwrap().is_empty());
    drop_table(&store).await;
}

async fn fresh_bucket(sdk: &SdkConfig) -> (aws_sdk_s3::Client, String) {
    let client = s3_client(sdk);
    let bucket = unique("trawl-test");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create_bucket");
    (client, bucket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_blob_store_contract() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    contract::blob_store_contract(&S3BlobStore::new(client.clone(), &bucket, "")).await;
    let prefixed = S3BlobStore::new(client.clone(), &bucket, "deploy/");
    contract::blob_store_contract(&prefixed).await;
    assert_eq!(
        prefixed.feed_uri("items/p/s/j.jl"),
        format!("s3://{bucket}/deploy/items/p/s/j.jl")
    );
    assert_eq!(prefixed.local_path("logs/x.log"), None);
}

/// An item of about `size` bytes of JSON.
fn item(i: usize, size: usize) -> Item {
    let v = json!({"n": i, "pad": "é".repeat(size / 2), "nested": {"i": i}});
    v.as_object().unwrap().clone()
}

/// Writes `items` through a `FeedSink` to `uri`, from the calling thread.
fn write_feed(storages: &FeedStorages, uri: &str, items: &[Item]) {
    let config = FeedConfig::from_cli(uri, true, &FeedDefaults::default()).expect("feed config");
    let sink = FeedSink::new(vec![config], storages, UriParams::new("spider")).expect("sink");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_streams_large_feeds_as_multipart_uploads() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "p/");
    // About 12 MiB of JSON lines: 5 + 5 + 2 MiB parts.
    let items: Arc<Vec<Item>> = Arc::new((0..12 * 1024).map(|i| item(i, 1000)).collect());
    let expected = expected_bytes(&items, "jl");
    assert!(expected.len() > 10 * 1024 * 1024 && expected.len() < 15 * 1024 * 1024);
    let uri = blobs.feed_uri("items/big.jl");
    let storages = blobs.feed_storages();
    // As the engine does: written from a thread that is not the runtime's.
    let (u, its) = (uri.clone(), items.clone());
    tokio::task::spawn_blocking(move || write_feed(&storages, &u, &its))
        .await
        .unwrap();
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
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "no upload left open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_tiny_feed_is_one_put_even_from_a_runtime_thread() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "");
    let items: Vec<Item> = (0..3).map(|i| item(i, 10)).collect();
    let expected = expected_bytes(&items, "json");
    // Written on a runtime worker thread (block_in_place path).
    write_feed(
        &blobs.feed_storages(),
        &blobs.feed_uri("items/tiny.json"),
        &items,
    );
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
async fn s3_feed_dropped_unfinished_aborts_the_upload() {
    let sdk = localstack().await;
    let (client, bucket) = fresh_bucket(&sdk).await;
    let blobs = S3BlobStore::new(client.clone(), &bucket, "");
    let storage = blobs.feed_storages().for_uri("s3://x/y").unwrap();
    let uri = blobs.feed_uri("items/abandoned.jl");
    tokio::task::spawn_blocking(move || {
        let mut target = storage.open(&uri, true).unwrap();
        std::io::Write::write_all(&mut target, &vec![b'x'; 6 * 1024 * 1024]).unwrap();
        drop(target);
    })
    .await
    .unwrap();
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "the upload was aborted");
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
        let uri = blobs.feed_uri(key);
        let head = vec![b'a'; first_part];
        let (h, u) = (head.clone(), uri.clone());
        tokio::task::spawn_blocking(move || {
            let mut target = storage.open(&u, true).unwrap();
            use std::io::Write;
            target.write_all(&h).unwrap();
            target.write_all(b"flushed line\n").unwrap();
            target.flush().unwrap();
            target.write_all(b"lost line\n").unwrap();
            // A crash: no finish, no drop.
            std::mem::forget(target);
        })
        .await
        .unwrap();
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
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "no upload left open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_dispatch_round_trip() {
    let sdk = localstack().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let queue = client
        .create_queue()
        .queue_name(unique("trawl-test-crawl"))
        .send()
        .await
        .expect("create_queue");
    let url = queue.queue_url().unwrap().to_string();
    let dispatcher = SqsDispatcher::new(client.clone(), &url);
    let mut job = Job::new("job-1".into(), "p".into(), "s".into(), chrono::Utc::now());
    job.attempt = 2;
    job.runner = Some("poller-7".into());
    dispatcher.dispatch(&job).await.expect("dispatch");
    dispatcher.notify_cancel("job-1", 1).await;
    let got = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let messages = got.messages();
    assert_eq!(messages.len(), 1, "one message per dispatch");
    let body: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"job_id": "job-1", "attempt": 2, "runner": "poller-7"})
    );
    client
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete_queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_config_assembles_the_ports_and_the_sqs_kicker_sends() {
    let sdk = localstack().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(unique("trawl-test-jobs"))
        .send()
        .await
        .expect("create_queue");
    let url = queue.queue_url().unwrap().to_string();
    let table = fresh_table(&sdk, "config").await;
    let (_, bucket) = fresh_bucket(&sdk).await;
    let vars = [
        ("TRAWL_TABLE", table.table().to_string()),
        ("TRAWL_BUCKET", bucket.clone()),
        ("TRAWL_CRAWL_QUEUE_URL", url.clone()),
        ("TRAWL_JOBS_QUEUE_URL", url.clone()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566".to_string()),
    ];
    let settings =
        AwsSettings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let aws = AwsConfig::new(settings, &sdk);
    assert_eq!(
        aws.basic_auth().await.unwrap(),
        None,
        "no auth parameter: no auth"
    );
    let stores = aws.stores();
    assert_eq!(stores.jobs.count_jobs().await.unwrap().pending, 0);
    stores
        .blobs
        .put("logs/x.log", bytes::Bytes::from_static(b"hi"))
        .await
        .unwrap();
    assert_eq!(
        stores.blobs.feed_uri("items/a.jl"),
        format!("s3://{bucket}/items/a.jl")
    );
    let kicker = aws.kicker();
    assert!(
        matches!(kicker, AwsKicker::Sqs(_)),
        "a jobs queue gives an SQS kicker"
    );
    kicker.kick();
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let body: Value = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body, json!({"source": "trawl.kick"}));
    drop_table(&table).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_from_ssm() {
    let sdk = localstack().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let name = format!("/{}/auth", unique("trawl-test"));
    ssm.put_parameter()
        .name(&name)
        .value("alice:s3:cret")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put_parameter");
    for given in [name.clone(), name.trim_start_matches('/').to_string()] {
        let settings = AwsSettings::from_lookup(|k| match k {
            "TRAWL_TABLE" | "TRAWL_BUCKET" | "TRAWL_CRAWL_QUEUE_URL" => Some("x".into()),
            "TRAWL_AUTH_PARAMETER" => Some(given.clone()),
            _ => None,
        })
        .unwrap();
        let aws = AwsConfig::new(settings, &sdk);
        assert_eq!(
            aws.basic_auth().await.unwrap(),
            Some(("alice".into(), "s3:cret".into())),
            "parameter {given}"
        );
    }
    ssm.delete_parameter().name(&name).send().await.unwrap();
}
