//! The poller function, invoked by an EventBridge `rate()` rule, by messages on the jobs
//! queue, and by async "kicks" after each schedule and each finished job: fires due cron
//! schedules, reaps crawlers whose heartbeat stopped, and sends pending jobs to the crawl
//! queue in global priority order within `max_proc` and the per-project limit.
//!
//! Deploy it with a reserved concurrency of 1: polls never overlap, so the limits hold.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use trawl_core::Control;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_core::joblog::install_function_logging();
    let aws = trawl_aws::AwsConfig::from_env().await?;
    let control = Arc::new(Control::new(
        aws.stores(),
        Arc::new(aws.dispatcher()),
        // The poller never needs to wake itself.
        Arc::new(trawl_aws::NoKick),
        trawl_core::envconfig::control_config_from_env()?,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let control = control.clone();
        async move { poll(&control, event).await }
    }))
    .await
}

async fn poll(control: &Control, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let source = event.payload["source"]
        .as_str()
        .or_else(|| event.payload["Records"][0]["eventSource"].as_str())
        .unwrap_or("unknown")
        .to_string();
    let report = control.poll_once(&event.context.request_id).await?;
    let pruned = control.prune().await?;
    tracing::info!(
        %source,
        fired = report.fired.len(),
        skipped = report.skipped,
        reaped = report.reaped.len(),
        started = report.started.len(),
        pruned,
        "poll"
    );
    Ok(json!({
        "fired": report.fired,
        "skipped": report.skipped,
        "reaped": report.reaped,
        "started": report.started,
        "pruned": pruned,
        // SQS-triggered invocations: every message handled.
        "batchItemFailures": [],
    }))
}
