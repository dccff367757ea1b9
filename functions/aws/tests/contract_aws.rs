//! The storage contract and the AWS adapters against a real LocalStack (never mocked).
//!
//! Needs `AWS_ENDPOINT_URL` and credentials: `localstack/run.sh start` then
//! `eval "$(localstack/run.sh env)"`. Each test makes its own table, bucket or queue.
//! The S3 feed storage has its own file, `s3_feed.rs`.

mod common;

use aws_config::SdkConfig;
use common::{fresh_bucket, localstack, unique};
use serde_json::{json, Value};
use trawl_aws::{
    create_table, delete_table, AwsConfig, AwsKicker, AwsSettings, DynamoStore, S3BlobStore,
    SqsDispatcher,
};
use trawl_core::contract;
use trawl_core::model::Job;
use trawl_core::ports::{BlobStore, Dispatcher, Kicker};

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
