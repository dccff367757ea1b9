//! The storage contract and the AWS adapters against a real LocalStack (never mocked).
//!
//! Needs `AWS_ENDPOINT_URL` and credentials: `localstack/run.sh start` then
//! `eval "$(localstack/run.sh env)"`. Each test makes its own table, bucket, queue or
//! parameter, behind a guard that deletes it when the test ends, passed or failed. The
//! storage contract runs one test per case on a table (`dynamo::...`) or bucket
//! (`s3::...`, `s3_prefixed::...`) of its own. The S3 feed storage has its own file,
//! `s3_feed.rs`.

mod common;

use common::{localstack, unique};
use std::ops::Deref;
use std::sync::Arc;

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

/// Something a test made on LocalStack.
enum Resource {
    Table(String),
    Bucket(String),
    Queue(String),
    Parameter(String),
}

impl Resource {
    /// Deletes it (a bucket with its objects and unfinished uploads), with clients of
    /// its own: it runs on a runtime of its own.
    async fn delete(&self) -> anyhow::Result<()> {
        let sdk = load_sdk_config().await;
        match self {
            Resource::Table(name) => {
                delete_table(&aws_sdk_dynamodb::Client::new(&sdk), name).await?;
            }
            Resource::Bucket(bucket) => empty_and_delete_bucket(&s3_client(&sdk), bucket).await?,
            Resource::Queue(url) => {
                aws_sdk_sqs::Client::new(&sdk)
                    .delete_queue()
                    .queue_url(url)
                    .send()
                    .await?;
            }
            Resource::Parameter(name) => {
                aws_sdk_ssm::Client::new(&sdk)
                    .delete_parameter()
                    .name(name)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match self {
            Resource::Table(name) => format!("table {name}"),
            Resource::Bucket(name) => format!("bucket {name}"),
            Resource::Queue(url) => format!("queue {url}"),
            Resource::Parameter(name) => format!("parameter {name}"),
        }
    }
}

async fn empty_and_delete_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<()> {
    let uploads = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await?;
    for upload in uploads.uploads() {
        client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(upload.key().unwrap_or_default())
            .upload_id(upload.upload_id().unwrap_or_default())
            .send()
            .await?;
    }
    loop {
        let listed = client.list_objects_v2().bucket(bucket).send().await?;
        if listed.contents().is_empty() {
            break;
        }
        for object in listed.contents() {
            client
                .delete_object()
                .bucket(bucket)
                .key(object.key().unwrap_or_default())
                .send()
                .await?;
        }
    }
    client.delete_bucket().bucket(bucket).send().await?;
    Ok(())
}

/// Deletes its resource when dropped, also when the test panics. The deletion runs on
/// a thread and a runtime of its own, so it works from a test's runtime, blocked or
/// unwinding. A failed deletion fails the test, unless it is already failing.
struct Cleanup(Resource);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let resource = std::mem::replace(&mut self.0, Resource::Table(String::new()));
        let what = resource.describe();
        let result = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup")
                .block_on(resource.delete())
        })
        .join();
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "the cleanup thread panicked".to_string(),
        };
        if std::thread::panicking() {
            eprintln!("deleting {what}: {error}");
        } else {
            panic!("deleting {what}: {error}");
        }
    }
}

/// A DynamoDB store on a table of its own, deleted when this is dropped.
struct Table {
    store: DynamoStore,
    _cleanup: Cleanup,
}

impl Deref for Table {
    type Target = DynamoStore;

    fn deref(&self) -> &DynamoStore {
        &self.store
    }
}

async fn fresh_table(sdk: &SdkConfig, what: &str) -> Table {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let name = unique(&format!("trawl-test-{what}"));
    create_table(&client, &name).await.expect("create_table");
    Table {
        _cleanup: Cleanup(Resource::Table(name.clone())),
        store: DynamoStore::new(client, name),
    }
}

/// A fresh table, for the contract tests.
async fn contract_table() -> Table {
    fresh_table(&localstack().await, "contract").await
}

/// A bucket of its own, deleted (with its objects) when this is dropped.
struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
    _cleanup: Cleanup,
}

async fn fresh_bucket(sdk: &SdkConfig) -> Bucket {
    let client = s3_client(sdk);
    let name = unique("trawl-test");
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create_bucket");
    Bucket {
        client,
        _cleanup: Cleanup(Resource::Bucket(name.clone())),
        name,
    }
}

/// An S3 blob store in a bucket of its own.
struct Blobs {
    store: S3BlobStore,
    _bucket: Bucket,
}

impl Deref for Blobs {
    type Target = S3BlobStore;

    fn deref(&self) -> &S3BlobStore {
        &self.store
    }
}

/// A fresh S3 blob store whose keys start with `prefix`, for the contract tests.
async fn contract_blobs(prefix: &str) -> Blobs {
    let bucket = fresh_bucket(&localstack().await).await;
    Blobs {
        store: S3BlobStore::new(bucket.client.clone(), &bucket.name, prefix),
        _bucket: bucket,
    }
}

/// A queue of its own, deleted when this is dropped.
struct Queue {
    url: String,
    _cleanup: Cleanup,
}

async fn fresh_queue(client: &aws_sdk_sqs::Client, what: &str) -> Queue {
    let queue = client
        .create_queue()
        .queue_name(unique(&format!("trawl-test-{what}")))
        .send()
        .await
        .expect("create_queue");
    let url = queue.queue_url().unwrap().to_string();
    Queue {
        _cleanup: Cleanup(Resource::Queue(url.clone())),
        url,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_test_leaves_no_table_or_bucket() {
    let sdk = localstack().await;
    let made = Arc::new(std::sync::Mutex::new(None));
    let names = made.clone();
    let sdk2 = sdk.clone();
    let failed = tokio::spawn(async move {
        let table = fresh_table(&sdk2, "fails").await;
        let bucket = fresh_bucket(&sdk2).await;
        *names.lock().unwrap() = Some((table.table().to_string(), bucket.name.clone()));
        bucket
            .client
            .put_object()
            .bucket(&bucket.name)
            .key("a/b.txt")
            .body(bytes::Bytes::from_static(b"x").into())
            .send()
            .await
            .unwrap();
        panic!("a failing test");
    })
    .await;
    assert!(failed.unwrap_err().is_panic());
    let (table, bucket) = made.lock().unwrap().clone().expect("the task made both");
    let described = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect_err("the table is gone");
    assert!(
        described
            .into_service_error()
            .is_resource_not_found_exception(),
        "table {table} deleted"
    );
    let head = s3_client(&sdk)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect_err("the bucket is gone");
    assert!(
        head.into_service_error().is_not_found(),
        "bucket {bucket} deleted, with its object"
    );
}

mod dynamo {
    trawl_core::job_store_contract_tests!(super::contract_table().await);
    trawl_core::schedule_store_contract_tests!(super::contract_table().await);
    trawl_core::project_store_contract_tests!(super::contract_table().await);
    trawl_core::item_history_contract_tests!(super::contract_table().await);
    trawl_core::event_store_contract_tests!(super::contract_table().await);
    trawl_core::frontier_store_contract_tests!(super::contract_table().await);
}

mod s3 {
    trawl_core::blob_store_contract_tests!(super::contract_blobs("").await);
}

mod s3_prefixed {
    trawl_core::blob_store_contract_tests!(super::contract_blobs("deploy/").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_one_table_for_all_six_stores() {
    // The six stores share one table in production: their items must not mix.
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "shared").await;
    contract::project_store_contract(&*store).await;
    contract::schedule_store_contract(&*store).await;
    contract::job_store_contract(&*store).await;
    contract::item_history_contract(&*store).await;
    contract::event_store_contract(&*store).await;
    contract::frontier_store_contract(&*store).await;
}

/// A frontier batch of `n` requests to `partition`.
fn frontier_batch(partition: &str, id: &str, n: usize) -> trawl_core::frontier::InboxBatch {
    let url = |i: usize| format!("http://example.com/{partition}/{id}/{i}");
    trawl_core::frontier::InboxBatch {
        partition: partition.into(),
        id: id.into(),
        requests: (0..n)
            .map(|i| trawl_engine::Request::parse(&url(i)).expect("a URL"))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_frontier_partition_names_do_not_mix() {
    // `#` and `%` in partition names: no partition's batch keys start with another's.
    use trawl_core::ports::FrontierStore;
    let store = fresh_table(&localstack().await, "frontier-names").await;
    let names = ["a", "a#b", "a%23b", "a#", "127.0.0.2:8080"];
    for p in names {
        assert!(store
            .put_batch("j", &frontier_batch(p, p, 1))
            .await
            .unwrap());
    }
    let now = chrono::Utc::now();
    let ttl = std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    while let Some(l) = store.lease_partition("j", "c", now, ttl).await.unwrap() {
        let ids: Vec<String> = store
            .inbox(&l)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(
            ids,
            vec![l.partition.clone()],
            "the inbox of {:?}",
            l.partition
        );
        seen.push(l.partition);
    }
    seen.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
    let mut listed = store.partitions("j").await.unwrap();
    listed.sort();
    assert_eq!(listed, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_frontier_commit_spans_transactions() {
    // More batches than one transaction holds; a batch too large for an item; one
    // lease among concurrent leasers.
    use trawl_core::ports::{FrontierStore, StoreError};
    let store = Arc::new(fresh_table(&localstack().await, "frontier-many").await);
    let (now, ttl) = (chrono::Utc::now(), std::time::Duration::from_secs(60));
    let ids: Vec<String> = (0..250).map(|i| format!("z{:03}", 250 - i)).collect();
    for id in &ids {
        assert!(store
            .put_batch("j", &frontier_batch("p", id, 2))
            .await
            .unwrap());
    }
    let big = frontier_batch("p", "big", 8_000);
    match store.put_batch("j", &big).await {
        Err(StoreError::Backend(e)) => assert!(e.to_string().contains("split"), "{e}"),
        other => panic!("a batch too large for an item is refused: {other:?}"),
    }
    let leasers = (0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .lease_partition("j", &format!("c{i}"), now, ttl)
                .await
                .unwrap()
        })
    });
    let mut leases = Vec::new();
    for l in leasers {
        leases.extend(l.await.unwrap());
    }
    assert_eq!(leases.len(), 1, "one leaser wins: {leases:?}");
    let lease = leases.remove(0);
    let inbox: Vec<String> = store
        .inbox(&lease)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(inbox, ids, "250 batches, in put order");
    let mut named = ids.clone();
    named.push("never-put".into());
    named.push(ids[0].clone());
    assert!(store
        .commit_partition(&lease, &named, false, true)
        .await
        .unwrap());
    let s = store.frontier_summary("j", now).await.unwrap();
    assert_eq!(s.counts(), (1, 0, 0, 0, 0), "everything consumed: {s:?}");
    assert!(store
        .lease_partition("j", "c", now, ttl)
        .await
        .unwrap()
        .is_none());
    assert!(!store
        .put_batch("j", &frontier_batch("p", &ids[7], 2))
        .await
        .unwrap());
    store.delete_frontier("j").await.unwrap();
    assert!(store.partitions("j").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_item_history_spans_chunk_items() {
    let sdk = localstack().await;
    let store = fresh_table(&sdk, "history").await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_feed_uri_and_local_path() {
    let bucket = fresh_bucket(&localstack().await).await;
    let prefixed = S3BlobStore::new(bucket.client.clone(), &bucket.name, "deploy/");
    assert_eq!(
        prefixed.feed_uri("items/p/s/j.jl"),
        format!("s3://{}/deploy/items/p/s/j.jl", bucket.name)
    );
    assert_eq!(prefixed.local_path("logs/x.log"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_dispatch_round_trip() {
    let sdk = localstack().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let queue = fresh_queue(&client, "crawl").await;
    let url = queue.url.clone();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_config_assembles_the_ports_and_the_sqs_kicker_sends() {
    let sdk = localstack().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = fresh_queue(&sqs, "jobs").await;
    let url = queue.url.clone();
    let table = fresh_table(&sdk, "config").await;
    let made = fresh_bucket(&sdk).await;
    let bucket = made.name.clone();
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
    let _parameter = Cleanup(Resource::Parameter(name.clone()));
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
}
