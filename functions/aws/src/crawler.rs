//! The crawler function's work, for its thin `main`: each message of the crawl queue is
//! a [`Dispatch`]; the control plane claims the job and runs it
//! ([`Control::claim_and_run`]) and stops gracefully before the Lambda deadline.
//!
//! A message is acknowledged when the job ran or was not this crawler's to run (a
//! redelivery of a job already claimed or finished). It is reported as a batch item
//! failure, so SQS delivers it again (and in the end to the dead-letter queue), when it
//! cannot be read or when a store error stopped the claim before anything ran.
//!
//! [`run`] is a whole crawler function: a crawler with Rust spiders of its own is
//!
//! ```no_run
//! # fn spiders() -> trawl_engine::registry::SpiderRegistry { unimplemented!() }
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     trawl_aws::crawler::run(spiders()).await
//! }
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use trawl_core::model::Dispatch;
use trawl_core::runner::{RunResult, RunnerConfig};
use trawl_core::Control;
use trawl_engine::registry::SpiderRegistry;
use trawl_engine::workers::WorkerPool;

use crate::function::{control_with_spiders, Kick};

/// Stop this long before the Lambda deadline (at most), to close feeds and record the
/// outcome; short timeouts keep three quarters of their time for crawling.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The crawler function: installs the function logging, assembles the control plane
/// from the environment with `spiders` (the Rust spiders its jobs may run, next to the
/// bundles' specs), and serves the crawl queue's batches until the Lambda runtime stops.
pub async fn run(spiders: SpiderRegistry) -> Result<(), lambda_runtime::Error> {
    trawl_core::joblog::install_function_logging();
    let (control, _aws) = control_with_spiders(Kick::Poller, spiders).await?;
    let pool = Arc::new(WorkerPool::per_core());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (control, pool) = (control.clone(), pool.clone());
        async move { handle_event(&control, pool, event).await }
    }))
    .await
}

/// Handles one invocation: a batch of the crawl queue, or a join message (a
/// [`Dispatch`] with `crawler` set, which the poller sends by asynchronous invocation).
pub async fn handle_event(
    control: &Control,
    pool: Arc<WorkerPool>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let (payload, context) = event.into_parts();
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload)?;
        let response = handle_batch(control, pool, LambdaEvent::new(batch, context)).await;
        return Ok(serde_json::to_value(response)?);
    }
    let dispatch: Dispatch = serde_json::from_value(payload)
        .map_err(|e| format!("neither a crawl-queue batch nor a join message: {e}"))?;
    let cfg = RunnerConfig {
        deadline: deadline(context.deadline),
        pool,
        ..RunnerConfig::default()
    };
    let me = format!("crawler:{}", context.request_id);
    if !run_dispatch(control, &dispatch, &me, &cfg).await {
        // Not retried: the next poll asks again while partitions wait.
        tracing::error!(job = %dispatch.job_id, "join message dropped");
    }
    Ok(serde_json::Value::Null)
}

/// Handles one batch of the crawl queue (batch size 1 in the template; any size works).
pub async fn handle_batch(
    control: &Control,
    pool: Arc<WorkerPool>,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let deadline = deadline(event.context.deadline);
    let me = format!("crawler:{}", event.context.request_id);
    let mut failures = Vec::new();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or("");
        let dispatch: Dispatch = match serde_json::from_str(body) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(message = %id, "unreadable crawl message {body:?}: {e}");
                failures.push(failure(id));
                continue;
            }
        };
        let cfg = RunnerConfig {
            deadline,
            pool: pool.clone(),
            ..RunnerConfig::default()
        };
        if !run_dispatch(control, &dispatch, &me, &cfg).await {
            failures.push(failure(id));
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// Runs one dispatched job (or this crawler's part of it); false when nothing ran
/// because of a store error (the message should be delivered again).
async fn run_dispatch(
    control: &Control,
    dispatch: &Dispatch,
    me: &str,
    cfg: &RunnerConfig,
) -> bool {
    let job = &dispatch.job_id;
    match control.claim_and_run(dispatch, me, cfg).await {
        Ok(RunResult::Ran(o)) => {
            tracing::info!(job = %job, reason = %o.finish_reason, items = o.items_scraped(), "job ended")
        }
        Ok(RunResult::Continues) => {
            tracing::info!(job = %job, "this crawler's part is over: the job goes on in other crawlers")
        }
        Ok(RunResult::Paused) => {
            tracing::info!(job = %job, "job paused at a checkpoint: continues in a new segment")
        }
        Ok(RunResult::Skipped(why)) => tracing::warn!(job = %job, "message dropped: {why}"),
        Err(e) => {
            // Nothing ran: leave the message for redelivery.
            tracing::error!(job = %job, retryable = e.is_retryable(), "cannot claim the job: {e}");
            return false;
        }
    }
    true
}

fn failure(id: String) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id;
    f
}

/// The Lambda deadline (epoch milliseconds) as a tokio instant, minus the margin.
pub fn deadline(deadline_ms: u64) -> Option<tokio::time::Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = Duration::from_millis(deadline_ms.checked_sub(now_ms)?);
    let margin = DEADLINE_MARGIN.min(left / 4);
    Some(tokio::time::Instant::now() + left.saturating_sub(margin))
}
