//! The crawler function, triggered by the crawl queue (batch size 1, partial batch
//! failure reporting): claims and runs one started job with the engine — bundle from
//! S3, items streamed to S3, log uploaded periodically, heartbeats and cancels through
//! DynamoDB — and stops gracefully before the Lambda deadline (outcome `timeout`).
//! The work is in [`trawl_aws::crawler`]; a crawler with Rust spiders of its own passes
//! them instead of the empty registry.

use lambda_runtime::Error;
use trawl_engine::registry::SpiderRegistry;

/// mimalloc: the crawl allocates per page; it beats the system allocator here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_aws::crawler::run(SpiderRegistry::new()).await
}
