//! [`NoOutbox`]: the event store of a deployment whose job store keeps no outbox yet
//! (the DynamoDB stores): no event is kept, and registering a webhook fails with a
//! message saying so, rather than accepting webhooks that would never be called.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Delivery, Webhook};
use crate::ports::{EventStore, OutboxEntry, StoreError, StoreResult};

/// An event store without events (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOutbox;

#[async_trait]
impl EventStore for NoOutbox {
    async fn due_events(
        &self,
        _now: DateTime<Utc>,
        _limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        Ok(Vec::new())
    }

    async fn retry_event(
        &self,
        _id: &str,
        _attempts: u32,
        _next_at: DateTime<Utc>,
        _delivered: &[String],
    ) -> StoreResult<bool> {
        Ok(false)
    }

    async fn remove_event(&self, _id: &str) -> StoreResult<bool> {
        Ok(false)
    }

    async fn put_webhook(&self, _webhook: &Webhook) -> StoreResult<()> {
        Err(StoreError::backend(
            "webhooks are not available on this deployment yet (its job store keeps no event outbox)",
        ))
    }

    async fn webhooks(&self, _project: &str) -> StoreResult<Vec<Webhook>> {
        Ok(Vec::new())
    }

    async fn delete_webhook(&self, _project: &str, _id: &str) -> StoreResult<bool> {
        Ok(false)
    }

    async fn record_delivery(&self, _webhook: &str, _delivery: &Delivery) -> StoreResult<()> {
        Ok(())
    }

    async fn deliveries(&self, _webhook: &str) -> StoreResult<Vec<Delivery>> {
        Ok(Vec::new())
    }
}
