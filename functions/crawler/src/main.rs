//! The crawler function, triggered by the crawl queue (batch size 1, partial batch
//! failure reporting): claims and runs one started job with the engine — bundle from
//! S3, items streamed to S3, log uploaded periodically, heartbeats and cancels through
//! DynamoDB — and stops gracefully before the Lambda deadline (outcome `timeout`).
//! The work is in [`trawl_aws::crawler`].

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use trawl_engine::workers::WorkerPool;

/// mimalloc: the crawl allocates per page; it beats the system allocator here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_core::joblog::install_function_logging();
    let (control, _aws) = trawl_aws::function::control(trawl_aws::function::Kick::Poller).await?;
    let pool = Arc::new(WorkerPool::per_core());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let (control, pool) = (control.clone(), pool.clone());
        async move { Ok::<_, Error>(trawl_aws::crawler::handle_batch(&control, pool, event).await) }
    }))
    .await
}
