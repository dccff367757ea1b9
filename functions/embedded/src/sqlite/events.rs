//! [`EventStore`] on SQLite: the `outbox` table (written by the transitions, in their
//! transaction, through [`push_event`]), `webhooks` and `deliveries`.

use async_trait::async_trait;
use rusqlite::{params, Transaction};

use trawl_core::events::{Delivery, Event, Webhook, DELIVERIES_KEPT};
use trawl_core::ports::{EventStore, OutboxEntry, StoreError, StoreResult};

use super::*;

/// Adds `event` to the outbox inside the transition's transaction `tx`.
pub(super) fn push_event(tx: &Transaction, event: &Event) -> StoreResult<()> {
    let body = serde_json::to_string(event).map_err(StoreError::backend)?;
    tx.prepare_cached("INSERT INTO outbox (id, body, next_at) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![event.id, body, micros(event.time)]))
        .db()?;
    Ok(())
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::backend)
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn due_events(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let (now, limit) = (micros(now), i64::try_from(limit).unwrap_or(i64::MAX));
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT body, attempts, next_at, delivered FROM outbox
                     WHERE next_at <= ?1 ORDER BY seq LIMIT ?2",
                )
                .db()?;
            let rows = s
                .query_map(params![now, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        time_at(r, 2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()?;
            rows.into_iter()
                .map(|(body, attempts, next_at, delivered)| {
                    Ok(OutboxEntry {
                        event: parse("outbox event", &body)?,
                        attempts,
                        next_at,
                        delivered: parse("outbox targets", &delivered)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn retry_event(
        &self,
        id: &str,
        attempts: u32,
        next_at: DateTime<Utc>,
        delivered: &[String],
    ) -> StoreResult<bool> {
        let (id, next_at, delivered) = (id.to_string(), micros(next_at), json(&delivered)?);
        self.run(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, next_at = ?3, delivered = ?4
                     WHERE id = ?1 AND attempts = ?2",
                )
                .and_then(|mut s| s.execute(params![id, attempts, next_at, delivered]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn remove_event(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.run(move |c| {
            let n = c
                .prepare_cached("DELETE FROM outbox WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn put_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let (w, body) = (webhook.clone(), json(webhook)?);
        self.run(move |c| {
            c.prepare_cached(
                "INSERT INTO webhooks (id, project, body, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET project = excluded.project, body = excluded.body",
            )
            .and_then(|mut s| s.execute(params![w.id, w.project, body, micros(w.created_at)]))
            .db()?;
            Ok(())
        })
        .await
    }

    async fn webhooks(&self, project: &str) -> StoreResult<Vec<Webhook>> {
        let project = project.to_string();
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT body FROM webhooks WHERE project = ?1 ORDER BY created_at, rowid",
                )
                .db()?;
            let rows = s
                .query_map([project], |r| r.get::<_, String>(0))
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()?;
            rows.iter().map(|b| parse("webhook", b)).collect()
        })
        .await
    }

    async fn delete_webhook(&self, project: &str, id: &str) -> StoreResult<bool> {
        let (project, id) = (project.to_string(), id.to_string());
        self.run(move |c| {
            let tx = c.transaction().db()?;
            let n = tx
                .prepare_cached("DELETE FROM webhooks WHERE id = ?1 AND project = ?2")
                .and_then(|mut s| s.execute([&id, &project]))
                .db()?;
            if n == 1 {
                tx.prepare_cached("DELETE FROM deliveries WHERE webhook_id = ?1")
                    .and_then(|mut s| s.execute([&id]))
                    .db()?;
            }
            tx.commit().db()?;
            Ok(n == 1)
        })
        .await
    }

    async fn record_delivery(&self, webhook: &str, delivery: &Delivery) -> StoreResult<()> {
        let (webhook, body) = (webhook.to_string(), json(delivery)?);
        self.run(move |c| {
            let tx = c.transaction().db()?;
            tx.prepare_cached("INSERT INTO deliveries (webhook_id, body) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute([&webhook, &body]))
                .db()?;
            tx.prepare_cached(
                "DELETE FROM deliveries WHERE webhook_id = ?1 AND seq <= (
                   SELECT seq FROM deliveries WHERE webhook_id = ?1
                   ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
            )
            .and_then(|mut s| s.execute(params![webhook, DELIVERIES_KEPT as i64]))
            .db()?;
            tx.commit().db()?;
            Ok(())
        })
        .await
    }

    async fn deliveries(&self, webhook: &str) -> StoreResult<Vec<Delivery>> {
        let webhook = webhook.to_string();
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT body FROM deliveries WHERE webhook_id = ?1 ORDER BY seq DESC LIMIT ?2",
                )
                .db()?;
            let rows = s
                .query_map(params![webhook, DELIVERIES_KEPT as i64], |r| {
                    r.get::<_, String>(0)
                })
                .db()?
                .collect::<rusqlite::Result<Vec<_>>>()
                .db()?;
            rows.iter().map(|b| parse("delivery", b)).collect()
        })
        .await
    }
}
