//! The poller function, invoked by an EventBridge `rate()` rule, by messages on the jobs
//! queue, and by async "kicks" after each schedule and each finished job: fires due cron
//! schedules, reaps crawlers whose heartbeat stopped, and sends pending jobs to the crawl
//! queue in global priority order within `max_proc` and the per-project limit.
//!
//! Then it drains the event outbox (webhooks and the EventBridge bus), bounded: at most
//! [`DELIVER_MAX_EVENTS`] events and no new one after [`DELIVER_BUDGET`], so a run stays
//! short whatever the receivers do; what is left is due at the next run.
//!
//! Deploy it with a reserved concurrency of 1: polls never overlap, so the limits hold.

use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use trawl_core::events::Deliverer;
use trawl_core::Control;

/// Events delivered per run at most.
const DELIVER_MAX_EVENTS: usize = 200;

/// No event is started after this much of a run's delivery time (the function's
/// timeout is 60 s; one delivery takes at most `webhook_timeout` per webhook).
const DELIVER_BUDGET: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_core::joblog::install_function_logging();
    // The poller never needs to wake itself.
    let (control, aws) = trawl_aws::function::control(trawl_aws::function::Kick::Never).await?;
    let deliverer = aws.deliverer(&control)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (control, deliverer) = (control.clone(), deliverer.clone());
        async move { poll(&control, &deliverer, event).await }
    }))
    .await
}

async fn poll(
    control: &Control,
    deliverer: &Deliverer,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let source = event.payload["source"]
        .as_str()
        .or_else(|| event.payload["Records"][0]["eventSource"].as_str())
        .unwrap_or("unknown")
        .to_string();
    let report = control.poll_once(&event.context.request_id).await?;
    let pruned = control.prune().await?;
    // A failing store here must not fail the poll: the events stay due.
    let delivered = match deliverer
        .drain_bounded(DELIVER_MAX_EVENTS, DELIVER_BUDGET)
        .await
    {
        Ok(r) => json!({"delivered": r.delivered, "failed": r.failed, "done": r.done}),
        Err(e) => {
            tracing::warn!("draining the event outbox: {e}");
            json!({"error": e.to_string()})
        }
    };
    tracing::info!(
        %source,
        fired = report.fired.len(),
        skipped = report.skipped,
        reaped = report.reaped.len(),
        started = report.started.len(),
        pruned,
        %delivered,
        "poll"
    );
    Ok(json!({
        "fired": report.fired,
        "skipped": report.skipped,
        "reaped": report.reaped,
        "started": report.started,
        "pruned": pruned,
        "events": delivered,
        // SQS-triggered invocations: every message handled.
        "batchItemFailures": [],
    }))
}
