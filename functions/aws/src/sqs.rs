//! [`SqsDispatcher`]: hands started jobs to crawlers through the crawl queue.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use trawl_core::model::{Dispatch, Job};
use trawl_core::ports::Dispatcher;

/// The message body of a dispatched job: a [`Dispatch`] as JSON
/// (`{"job_id": ..., "attempt": ..., "runner": ...}`).
pub fn dispatch_body(job: &Job) -> String {
    serde_json::to_string(&Dispatch::of(job)).expect("a dispatch serialises")
}

/// Sends each started job to the crawl queue, whose consumer (the crawler function)
/// runs it.
///
/// [`Dispatcher::notify_cancel`] does nothing: a crawler learns of cancel requests
/// from its heartbeat ([`JobStore::heartbeat`](trawl_core::ports::JobStore::heartbeat)
/// returns the count), which is as soon as it can act on one anyway.
#[derive(Debug, Clone)]
pub struct SqsDispatcher {
    client: Client,
    queue_url: String,
    /// The crawler function, invoked asynchronously with join messages.
    crawler: Option<(aws_sdk_lambda::Client, String)>,
}

impl SqsDispatcher {
    /// A dispatcher sending to `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsDispatcher {
            client,
            queue_url: queue_url.into(),
            crawler: None,
        }
    }

    /// Sends join messages ([`Dispatch::join`]) as asynchronous invocations of the
    /// crawler function `function` instead of through the queue: each starts a crawler
    /// at once, where a queue's event source mapping scales its consumers up step by
    /// step (and LocalStack's runs one at a time). A lost join is sent again by the
    /// next poll while partitions still wait.
    pub fn with_crawler_function(
        mut self,
        lambda: aws_sdk_lambda::Client,
        function: impl Into<String>,
    ) -> Self {
        self.crawler = Some((lambda, function.into()));
        self
    }

    /// The crawl queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl Dispatcher for SqsDispatcher {
    async fn dispatch(&self, job: &Job) -> anyhow::Result<()> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(dispatch_body(job))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "dispatching job {} to {}: {}",
                    job.id,
                    self.queue_url,
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(())
    }

    /// A no-op: crawlers learn of cancels from their heartbeat.
    async fn notify_cancel(&self, _job_id: &str, _requests: u32) {}

    /// Sends a join message ([`Dispatch::join`]): one more crawler function takes part
    /// in the job's partitioned crawl.
    async fn dispatch_crawler(&self, job: &Job, n: u32) -> anyhow::Result<()> {
        let body = serde_json::to_string(&Dispatch::join(job, n))?;
        if let Some((lambda, function)) = &self.crawler {
            lambda
                .invoke()
                .function_name(function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(body))
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "asking crawler {n} to join job {} through {function}: {}",
                        job.id,
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    )
                })?;
            return Ok(());
        }
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "asking crawler {n} to join job {} on {}: {}",
                    job.id,
                    self.queue_url,
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(())
    }
}
