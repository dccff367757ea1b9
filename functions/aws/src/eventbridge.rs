//! [`EventBridgeSink`]: every event also goes to an EventBridge bus, as source `trawl`,
//! detail-type [`trawl_core::events::detail_type`] and the event JSON as detail, so
//! rules route job, schedule and deploy events to SNS, Step Functions, queues, ...

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use trawl_core::events::{detail_type, Event};
use trawl_core::ports::EventSink;

/// The `source` of Trawl's events on the bus.
pub const EVENT_SOURCE: &str = "trawl";

/// Puts events on one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeSink {
    /// A sink putting events on `bus` (a name or an ARN).
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        EventBridgeSink {
            client,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventSink for EventBridgeSink {
    fn id(&self) -> &str {
        "eventbridge"
    }

    async fn publish(&self, event: &Event, body: &str) -> anyhow::Result<()> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(detail_type(event.kind))
            .detail(body)
            .time(aws_smithy_types::DateTime::from_millis(
                event.time.timestamp_millis(),
            ))
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "eventbridge put_events on {}: {}",
                    self.bus,
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                )
            })?;
        if out.failed_entry_count > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            anyhow::bail!("eventbridge refused the event on {}: {why}", self.bus);
        }
        Ok(())
    }
}
