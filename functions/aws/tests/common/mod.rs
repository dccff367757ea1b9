//! Helpers shared by the LocalStack test files.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use trawl_aws::config::s3_client;
use trawl_aws::load_sdk_config;

/// The SDK configuration for LocalStack; fails (never skips) without one.
pub async fn localstack() -> SdkConfig {
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
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{nanos:x}-{n}")
}

/// A new bucket.
#[allow(dead_code)] // not every test file uses every helper
pub async fn fresh_bucket(sdk: &SdkConfig) -> (aws_sdk_s3::Client, String) {
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
