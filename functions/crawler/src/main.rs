//! The crawler function, triggered by the crawl queue (batch size 1, partial batch
//! failure reporting): runs one started job with the engine — bundle from S3, items
//! streamed to S3, log uploaded periodically, heartbeats and cancels through DynamoDB —
//! and stops gracefully before the Lambda deadline (outcome `timeout`).
//!
//! A message for a job that is not running with the message's attempt (a redelivery of
//! a job that already ran, or one that was cancelled or reaped) is acknowledged without
//! running anything.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use trawl_core::model::JobState;
use trawl_core::runner::RunnerConfig;
use trawl_core::Control;
use trawl_engine::workers::WorkerPool;

/// mimalloc: the crawl allocates per page; it beats the system allocator here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stop this long before the Lambda deadline (at most), to close feeds and record the
/// outcome; short timeouts keep three quarters of their time for crawling.
const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// The crawl queue's message.
#[derive(Debug, Deserialize)]
struct CrawlMessage {
    job_id: String,
    attempt: u32,
    /// Who dispatched it (the job's runner until a crawler claims it).
    runner: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    trawl_core::joblog::install_function_logging();
    let (control, _aws) = trawl_aws::function::control(trawl_aws::function::Kick::Poller).await?;
    let pool = Arc::new(WorkerPool::per_core());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (control, pool) = (control.clone(), pool.clone());
        async move { handle(&control, pool, event).await }
    }))
    .await
}

async fn handle(
    control: &Control,
    pool: Arc<WorkerPool>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let deadline = deadline(event.context.deadline);
    let mut failures = Vec::new();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or("");
        let msg: CrawlMessage = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => {
                // A poisoned message: fail it so it ends in the dead-letter queue.
                tracing::error!(message = %id, "unreadable crawl message {body:?}: {e}");
                failures.push(failure(id));
                continue;
            }
        };
        let me = format!("crawler:{}", event.context.request_id);
        if let Err(e) = run(control, pool.clone(), &msg, &me, deadline).await {
            tracing::error!(job = %msg.job_id, "crawl failed: {e:#}");
            failures.push(failure(id));
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}

fn failure(id: String) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id;
    f
}

async fn run(
    control: &Control,
    pool: Arc<WorkerPool>,
    msg: &CrawlMessage,
    me: &str,
    deadline: Option<tokio::time::Instant>,
) -> anyhow::Result<()> {
    let Some(job) = control.stores().jobs.get_job(&msg.job_id).await? else {
        tracing::warn!(job = %msg.job_id, "unknown job: message dropped");
        return Ok(());
    };
    if job.state != JobState::Running || job.attempt != msg.attempt {
        tracing::warn!(job = %job.id, state = job.state.as_str(), "job not running with this attempt: already handled");
        return Ok(());
    }
    // Take the job from its dispatcher; a second delivery of the message finds it taken
    // (by a crawler that may have died: the poller reaps that one, it is not rerun).
    let from = msg.runner.as_deref().unwrap_or_default();
    let now = control.stores().clock.now();
    if !control
        .stores()
        .jobs
        .claim_job(&job.id, job.attempt, from, me, now)
        .await?
    {
        tracing::warn!(job = %job.id, "job already taken by another crawler: message dropped");
        return Ok(());
    }
    let mut job = job;
    job.runner = Some(me.to_string());
    let cfg = RunnerConfig {
        deadline,
        pool,
        ..RunnerConfig::default()
    };
    let outcome = control.run_job(job, &cfg, |_| {}).await;
    if let Some(o) = outcome {
        tracing::info!(job = %msg.job_id, reason = %o.finish_reason, items = o.items_scraped(), "job ended");
    }
    Ok(())
}

/// The Lambda deadline (epoch milliseconds) as a tokio instant, minus the margin.
fn deadline(deadline_ms: u64) -> Option<tokio::time::Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = Duration::from_millis(deadline_ms.checked_sub(now_ms)?);
    let margin = DEADLINE_MARGIN.min(left / 4);
    Some(tokio::time::Instant::now() + left.saturating_sub(margin))
}
