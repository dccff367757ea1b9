//! The outbox items and the one write that carries them: every transition goes to
//! DynamoDB as a `TransactWriteItems` of its conditional write and the `Put` of its
//! event (see the module docs of [`super`] for the key design).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use trawl_core::events::Event;
use trawl_core::ports::{OutboxEntry, StoreError, StoreResult};

use super::items::{self, get_n, get_s, get_time, n, s};
use super::keys::{self, GSI1PK, GSI1SK, PK, SK};
use super::{DynamoStore, Item};

/// The outbox item of a new event: due at the event's time, no round yet.
pub(crate) fn event_item(event: &Event) -> StoreResult<Item> {
    let body = serde_json::to_string(event).map_err(StoreError::backend)?;
    let written = Utc::now().timestamp_micros();
    Ok(Item::from([
        (PK.into(), s(keys::event_pk(&event.id))),
        (SK.into(), s(keys::EVENT_SK)),
        (GSI1PK.into(), s(keys::OUTBOX)),
        (GSI1SK.into(), s(keys::outbox_order(event.time, &event.id))),
        ("id".into(), s(&event.id)),
        ("body".into(), s(body)),
        ("attempts".into(), n(0)),
        ("next_at".into(), items::time(event.time)),
        ("delivered".into(), s("[]")),
        ("written".into(), n(written)),
    ]))
}

/// Reads an outbox item; its insertion time (the order of `due_events`) alongside.
pub(crate) fn entry_from_item(item: &Item) -> StoreResult<(i64, OutboxEntry)> {
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("{what}: {e}"));
    let body = get_s(item, "body")?;
    let delivered = get_s(item, "delivered")?;
    Ok((
        get_n(item, "written")?,
        OutboxEntry {
            event: serde_json::from_str(&body).map_err(|e| corrupt("outbox event", e))?,
            attempts: get_n(item, "attempts")?,
            next_at: get_time(item, "next_at")?,
            delivered: serde_json::from_str(&delivered)
                .map_err(|e| corrupt("outbox targets", e))?,
        },
    ))
}

/// The `Put` of `event`'s outbox item, for a transaction.
pub(crate) fn put_event(table: &str, event: &Event) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(event_item(event)?))
        .build()
        .map_err(StoreError::backend)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Expression attribute names and values of one write.
#[derive(Debug, Default)]
pub(crate) struct Expr {
    /// `#name` → attribute.
    pub names: HashMap<String, String>,
    /// `:value` → value.
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// An attribute name placeholder.
    pub fn name(mut self, k: &str, v: &str) -> Self {
        self.names.insert(k.into(), v.into());
        self
    }

    /// A value placeholder.
    pub fn value(mut self, k: &str, v: AttributeValue) -> Self {
        self.values.insert(k.into(), v);
        self
    }

    /// The names, `None` when there are none (DynamoDB refuses an empty map).
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values, `None` when there are none.
    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

impl DynamoStore {
    /// A transaction of `write` and, when there is one, the `Put` of `event`.
    pub(crate) async fn write_with_event(
        &self,
        write: TransactWriteItem,
        event: Option<&Event>,
    ) -> StoreResult<bool> {
        let mut writes = vec![write];
        if let Some(event) = event {
            writes.push(put_event(&self.table, event)?);
        }
        self.transact(writes).await
    }
}

/// The exclusive upper bound of the outbox keys due at `now`.
pub(crate) fn due_bound(now: DateTime<Utc>) -> String {
    keys::time_asc(now + chrono::Duration::microseconds(1))
}
