//! Kickers: wake the poller function now instead of at its next scheduled tick.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use tokio::runtime::Handle;
use trawl_core::ports::{Kicker, NoKick};

/// The payload of a kick: `{"source": "trawl.kick"}`.
pub const KICK_PAYLOAD: &str = r#"{"source":"trawl.kick"}"#;

/// Runs `fut` in the background on the current runtime, or on `fallback`.
fn spawn_detached<F>(fallback: &Option<Handle>, fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    match Handle::try_current().ok().or_else(|| fallback.clone()) {
        Some(h) => {
            h.spawn(fut);
        }
        None => tracing::warn!("cannot kick the poller: no Tokio runtime"),
    }
}

/// Invokes the poller function asynchronously (`InvocationType::Event`) with
/// [`KICK_PAYLOAD`]. Fire-and-forget: the invoke is spawned on the current runtime
/// (or the one current at construction) and errors are logged.
#[derive(Debug, Clone)]
pub struct LambdaKicker {
    client: aws_sdk_lambda::Client,
    function: String,
    handle: Option<Handle>,
}

impl LambdaKicker {
    /// A kicker of `function` (a name or ARN).
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        LambdaKicker {
            client,
            function: function.into(),
            handle: Handle::try_current().ok(),
        }
    }
}

impl Kicker for LambdaKicker {
    fn kick(&self) {
        let (client, function) = (self.client.clone(), self.function.clone());
        spawn_detached(&self.handle, async move {
            let res = client
                .invoke()
                .function_name(&function)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(KICK_PAYLOAD))
                .send()
                .await;
            if let Err(e) = res {
                tracing::warn!(
                    "kicking the poller {function}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(&e)
                );
            }
        });
    }
}

/// Sends [`KICK_PAYLOAD`] to the jobs queue (whose consumer is the poller).
/// Fire-and-forget like [`LambdaKicker`].
#[derive(Debug, Clone)]
pub struct SqsKicker {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    handle: Option<Handle>,
}

impl SqsKicker {
    /// A kicker sending to `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsKicker {
            client,
            queue_url: queue_url.into(),
            handle: Handle::try_current().ok(),
        }
    }
}

impl Kicker for SqsKicker {
    fn kick(&self) {
        let (client, queue_url) = (self.client.clone(), self.queue_url.clone());
        spawn_detached(&self.handle, async move {
            let res = client
                .send_message()
                .queue_url(&queue_url)
                .message_body(KICK_PAYLOAD)
                .send()
                .await;
            if let Err(e) = res {
                tracing::warn!(
                    "kicking the poller through {queue_url}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
            }
        });
    }
}

/// The deployment's kicker, chosen by [`AwsConfig::kicker`](crate::AwsConfig::kicker).
#[derive(Debug, Clone)]
pub enum AwsKicker {
    /// Invoke the poller function.
    Lambda(LambdaKicker),
    /// Message the jobs queue.
    Sqs(SqsKicker),
    /// No kicks.
    None(NoKick),
}

impl Kicker for AwsKicker {
    fn kick(&self) {
        match self {
            AwsKicker::Lambda(k) => k.kick(),
            AwsKicker::Sqs(k) => k.kick(),
            AwsKicker::None(k) => k.kick(),
        }
    }
}
