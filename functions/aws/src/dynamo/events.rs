//! [`EventStore`] on the table: the outbox (written by the transitions through
//! [`super::outbox`]), webhooks and their delivery records.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use trawl_core::events::{Delivery, Webhook, DELIVERIES_KEPT};
use trawl_core::ports::{EventStore, OutboxEntry, StoreError, StoreResult};

use super::items::{self, get_s, n, s};
use super::keys::{self, GSI1SK, PK, SK};
use super::outbox::{due_bound, entry_from_item};
use super::{is_condition_failed, sdk_error, DynamoStore, Item};

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::backend)
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl DynamoStore {
    fn key(pk: String, sk: String) -> Item {
        Item::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
    }

    /// Deletes every delivery record of `webhook`.
    async fn delete_deliveries(&self, webhook: &str) -> StoreResult<()> {
        let items = self
            .query_all(
                None,
                "PK = :pk",
                &[],
                vec![(":pk", s(keys::deliveries_pk(webhook)))],
                true,
                true,
            )
            .await?;
        self.delete_keys(&items).await
    }

    /// Deletes the items whose keys `items` carry.
    async fn delete_keys(&self, items: &[Item]) -> StoreResult<()> {
        for item in items {
            let key = Self::key(get_s(item, PK)?, get_s(item, SK)?);
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn due_events(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        // One key range of GSI1 (due time, then id), read up to `limit` items; the batch
        // is then put in the order the events were written.
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        while found.len() < limit {
            let want = i32::try_from(limit - found.len()).unwrap_or(i32::MAX);
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("GSI1PK = :pk AND GSI1SK < :due")
                .expression_attribute_values(":pk", s(keys::OUTBOX))
                .expression_attribute_values(":due", s(due_bound(now)))
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                found.push(entry_from_item(&item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        found.sort_by(|a, b| (a.0, &a.1.event.id).cmp(&(b.0, &b.1.event.id)));
        found.truncate(limit);
        Ok(found.into_iter().map(|(_, e)| e).collect())
    }

    async fn retry_event(
        &self,
        id: &str,
        attempts: u32,
        next_at: DateTime<Utc>,
        delivered: &[String],
    ) -> StoreResult<bool> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(keys::event_pk(id), keys::EVENT_SK.into())))
            .update_expression(
                "SET attempts = attempts + :one, next_at = :next, delivered = :d, #sk = :sk",
            )
            .condition_expression("attempts = :a")
            .expression_attribute_names("#sk", GSI1SK)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":a", n(attempts))
            .expression_attribute_values(":next", items::time(next_at))
            .expression_attribute_values(":d", s(json(&delivered)?))
            .expression_attribute_values(":sk", s(keys::outbox_order(next_at, id)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn remove_event(&self, id: &str) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(keys::event_pk(id), keys::EVENT_SK.into())))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn put_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let mut item = Self::key(
            keys::webhooks_pk(&webhook.project),
            keys::webhook_sk(&webhook.id),
        );
        item.insert("body".into(), s(json(webhook)?));
        item.insert("created_at".into(), items::time(webhook.created_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn webhooks(&self, project: &str) -> StoreResult<Vec<Webhook>> {
        let items = self
            .query_all(
                None,
                "PK = :pk",
                &[],
                vec![(":pk", s(keys::webhooks_pk(project)))],
                true,
                true,
            )
            .await?;
        let mut hooks = items
            .iter()
            .map(|i| parse::<Webhook>("webhook", &get_s(i, "body")?))
            .collect::<StoreResult<Vec<_>>>()?;
        hooks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(hooks)
    }

    async fn delete_webhook(&self, project: &str, id: &str) -> StoreResult<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                keys::webhooks_pk(project),
                keys::webhook_sk(id),
            )))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        let existed = out.attributes.is_some_and(|a| !a.is_empty());
        if existed {
            self.delete_deliveries(id).await?;
        }
        Ok(existed)
    }

    async fn record_delivery(&self, webhook: &str, delivery: &Delivery) -> StoreResult<()> {
        // Newest first in key order: the write time reversed, then 64 random bits.
        let sk = format!(
            "{}#{:016x}",
            keys::time_desc(Utc::now()),
            rand_bits(delivery)
        );
        let mut item = Self::key(keys::deliveries_pk(webhook), sk);
        item.insert("body".into(), s(json(delivery)?));
        item.insert(keys::EXPIRES_AT.into(), n(self.expires_at()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        // Trim to the newest DELIVERIES_KEPT (one key-only read of ~21 small items).
        let kept = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::deliveries_pk(webhook)))
            .projection_expression("PK, SK")
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let old: Vec<Item> = kept
            .items
            .unwrap_or_default()
            .into_iter()
            .skip(DELIVERIES_KEPT)
            .collect();
        self.delete_keys(&old).await
    }

    async fn deliveries(&self, webhook: &str) -> StoreResult<Vec<Delivery>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::deliveries_pk(webhook)))
            .consistent_read(true)
            .limit(i32::try_from(DELIVERIES_KEPT).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk_error)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(|i| parse("delivery", &get_s(i, "body")?))
            .collect()
    }
}

/// Bits that tell apart two records written in the same microsecond.
fn rand_bits(delivery: &Delivery) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    delivery.event_id.hash(&mut h);
    delivery.attempt.hash(&mut h);
    h.finish()
}
